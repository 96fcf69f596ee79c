"""One lead written (SPEC §7): the shared write rules (a versioned update, a creation,
a soft delete, each with its change log and events) and the record view's actions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tortoise.expressions import F

from models.audit import ChangeLogEntry
from models.leads import Lead, LeadStatus, WaitlistStatus
from resolvers.audit import (
    as_text,
    change_log,
    log_changes,
    record_action,
    record_changes,
    snapshot,
)
from resolvers.context import Scope
from resolvers.errors import StaleVersion, ValidationFailed, WrongState
from resolvers.events import emit_event
from resolvers.leads.fields import (
    EDITABLE_FIELDS,
    STORE_FIELDS,
    WAITLIST_FIELDS,
    clean_changes,
    duplicate_keys,
    parse_value,
)
from resolvers.runtime import atomic, now

RECORD_TYPE = "lead"
EVENT_TYPES = (
    "lead.created",
    "lead.updated",
    "lead.waitlist_status_changed",
    "lead.merged",
    "lead.merge_undone",
    "lead.converted",
    "lead.deleted",
    "lead.restored",
    "lead.related_linked",  # a note, task or document attached (resolvers/subpanels/related.py)
    "lead.related_unlinked",
    "lead.emailed",  # a bulk email or waiting-list notification (resolvers/bulk_operations/emails.py)
)


# --- the shared write rules ------------------------------------------------------------------


async def save_changes(
    scope: Scope,
    lead: Lead,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
    action: str = "update",
    reason: str = "",
    log: bool = True,
) -> dict[str, Any]:
    """Apply ``changes`` with a conditional UPDATE on the version; log and emit; the diff.
    ``log=False``: the caller logs the fields itself (a merge, per lead they came from)."""
    version = lead.version if expected_version is None else expected_version
    if lead.version != version:
        raise StaleVersion("this lead was changed by someone else: reload it", field="version")
    diff = {name: value for name, value in changes.items() if getattr(lead, name) != value}
    if not diff:
        return {}
    before = snapshot(lead, diff)
    for name, value in diff.items():
        setattr(lead, name, value)
    keys = duplicate_keys(lead)
    at = now()
    updated = (
        await scope.query(Lead)
        .filter(id=lead.id, version=version)
        .update(**diff, **keys, version=F("version") + 1, updated_at=at)
    )
    if not updated:
        raise StaleVersion("this lead was changed by someone else: reload it", field="version")
    lead.version, lead.updated_at = version + 1, at
    for name, value in keys.items():
        setattr(lead, name, value)
    payload = {"fields": sorted(diff), "version": lead.version}
    if log:
        await record_changes(
            scope,
            RECORD_TYPE,
            lead.id,
            before,
            diff,
            event="lead.updated",
            payload=payload,
            action=action,
            reason=reason,
        )
    else:
        await emit_event(scope, "lead.updated", RECORD_TYPE, lead.id, payload)
    if "waitlist_status" in diff:
        await emit_waitlist_status(scope, lead, before.get("waitlist_status"))
    return diff


async def emit_waitlist_status(scope: Scope, lead: Lead, previous: WaitlistStatus | None) -> None:
    await emit_event(
        scope,
        "lead.waitlist_status_changed",
        RECORD_TYPE,
        lead.id,
        {"from": as_text(previous), "to": as_text(lead.waitlist_status)},
    )


async def create_lead(
    scope: Scope, values: Mapping[str, Any], *, reason: str = "", action: str = "create"
) -> Lead:
    """A new lead (inside the caller's transaction), its creation logged field by field."""
    lead = Lead(organization_id=scope.organization_id, **values)
    for name, value in duplicate_keys(lead).items():
        setattr(lead, name, value)
    await lead.save()
    await record_action(
        scope,
        RECORD_TYPE,
        lead.id,
        action,
        reason=reason,
        event="lead.created",
        payload={"reason": reason},
    )
    initial = {name: getattr(lead, name) for name in (*EDITABLE_FIELDS, *STORE_FIELDS)}
    await log_changes(scope, RECORD_TYPE, lead.id, {}, initial, action=action, reason=reason)
    if lead.waitlist_status is not None:
        await emit_waitlist_status(scope, lead, None)
    return lead


async def mark_deleted(
    scope: Scope, lead: Lead, deleted_at: datetime | None, *, merged_into: int | None
) -> None:
    """Soft delete (a time) or restore (None); the row is locked by the caller."""
    lead.deleted_at, lead.merged_into_id = deleted_at, merged_into
    lead.version += 1
    lead.updated_at = now()
    await (
        scope.query(Lead)
        .filter(id=lead.id)
        .update(
            deleted_at=deleted_at,
            merged_into_id=merged_into,
            version=lead.version,
            updated_at=lead.updated_at,
        )
    )


# --- record actions --------------------------------------------------------------------------


async def get_lead(scope: Scope, lead_id: int, *, for_update: bool = False) -> Lead:
    return await scope.get(Lead, lead_id, for_update=for_update)


async def create_manual_lead(scope: Scope, values: Mapping[str, Any]) -> Lead:
    scope.require_write()
    cleaned = await clean_changes(scope, values)
    async with atomic():
        return await create_lead(scope, cleaned)


async def update_lead(scope: Scope, lead_id: int, version: int, changes: Mapping[str, Any]) -> Lead:
    """Partial update; the fields absent from ``changes`` keep their values."""
    scope.require_write()
    for name in changes:
        if name in STORE_FIELDS:
            raise ValidationFailed(f"{name} is set by the store and cannot be edited", field=name)
    cleaned = await clean_changes(scope, changes)
    async with atomic():
        lead = await get_lead(scope, lead_id, for_update=True)
        if lead.deleted_at is not None:
            raise WrongState("this lead is deleted: restore it first", field="id")
        await save_changes(scope, lead, cleaned, expected_version=version)
    return lead


async def update_lead_field(
    scope: Scope, lead_id: int, version: int, field: str, raw: str | None
) -> Lead:
    """Inline edit of one field given as text (the record view's pencil)."""
    if field in STORE_FIELDS:
        raise ValidationFailed(f"{field} is set by the store and cannot be edited", field=field)
    return await update_lead(scope, lead_id, version, {field: parse_value(field, raw)})


async def duplicate_lead(scope: Scope, lead_id: int) -> Lead:
    """A copy of the editable fields, without the store identifiers and waitlist link."""
    scope.require_write()
    async with atomic():
        source = await get_lead(scope, lead_id)
        values = snapshot(source, EDITABLE_FIELDS)
        values.update(
            {name: Lead._meta.fields_map[name].default for name in WAITLIST_FIELDS},
            status=LeadStatus.NEW,
        )
        return await create_lead(scope, values, reason=f"duplicated from lead {source.id}")


async def delete_lead(scope: Scope, lead_id: int) -> Lead:
    scope.require_write()
    async with atomic():
        lead = await get_lead(scope, lead_id, for_update=True)
        if lead.deleted_at is not None:
            raise WrongState("this lead is already deleted", field="id")
        await mark_deleted(scope, lead, now(), merged_into=None)
        await record_action(scope, RECORD_TYPE, lead.id, "delete", event="lead.deleted", payload={})
    return lead


async def restore_lead(scope: Scope, lead_id: int) -> Lead:
    scope.require_write()
    async with atomic():
        lead = await get_lead(scope, lead_id, for_update=True)
        if lead.deleted_at is None:
            raise WrongState("this lead is not deleted", field="id")
        if lead.merged_into_id is not None:
            raise WrongState("this lead was merged: undo the merge to restore it", field="id")
        await mark_deleted(scope, lead, None, merged_into=None)
        await record_action(
            scope, RECORD_TYPE, lead.id, "restore", event="lead.restored", payload={}
        )
    return lead


async def lead_change_log(scope: Scope, lead_id: int) -> list[ChangeLogEntry]:
    lead = await get_lead(scope, lead_id)
    return await change_log(scope, RECORD_TYPE, lead.id)
