"""The change log: who changed which field of which record, from what to what."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from models.audit import ChangeLogEntry
from resolvers.context import Scope
from resolvers.events import emit_event
from resolvers.runtime import now


def as_text(value: Any) -> str | None:
    """A stable text form of a field value for the log."""
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool | int | float | Decimal | str):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


def snapshot(record: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(record, name) for name in fields}


def _entry(
    scope: Scope, record_type: str, record_id: int, action: str, **kw: Any
) -> ChangeLogEntry:
    actor = scope.actor
    return ChangeLogEntry(
        organization_id=scope.organization_id,
        record_type=record_type,
        record_id=record_id,
        action=action,
        actor_kind=actor.kind.value,
        actor_id=actor.id,
        actor_label=actor.label,
        at=now(),  # the runtime clock (the column's auto default reads the system clock)
        **kw,
    )


async def log_action(
    scope: Scope,
    record_type: str,
    record_id: int,
    action: str,
    *,
    reason: str = "",
    new_value: Any = None,
    bulk_job_id: str | None = None,
) -> None:
    """A whole-record action (create, delete, restore, merge…)."""
    await _entry(
        scope,
        record_type,
        record_id,
        action,
        reason=reason,
        new_value=as_text(new_value),
        bulk_job_id=bulk_job_id,
    ).save()


async def log_changes(
    scope: Scope,
    record_type: str,
    record_id: int,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    action: str = "update",
    reason: str = "",
    bulk_job_id: str | None = None,
) -> int:
    """One row per field whose text form changed; returns how many were written."""
    entries = [
        _entry(
            scope,
            record_type,
            record_id,
            action,
            field=name,
            old_value=old,
            new_value=new,
            reason=reason,
            bulk_job_id=bulk_job_id,
        )
        for name in after
        if (old := as_text(before.get(name))) != (new := as_text(after[name]))
    ]
    if entries:
        await ChangeLogEntry.bulk_create(entries)
    return len(entries)


async def record_action(
    scope: Scope,
    record_type: str,
    record_id: int,
    action: str,
    *,
    event: str,
    payload: dict[str, Any] | None = None,
    reason: str = "",
    new_value: Any = None,
    bulk_job_id: str | None = None,
) -> None:
    """A whole-record action as partners and the change log see it: one log row and its
    domain event (payload ``{"id": record_id}`` unless given), in the caller's transaction."""
    await log_action(
        scope,
        record_type,
        record_id,
        action,
        reason=reason,
        new_value=new_value,
        bulk_job_id=bulk_job_id,
    )
    await emit_event(scope, event, record_type, record_id, _payload(record_id, payload))


async def record_changes(
    scope: Scope,
    record_type: str,
    record_id: int,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    event: str,
    payload: dict[str, Any] | None = None,
    action: str = "update",
    reason: str = "",
    bulk_job_id: str | None = None,
) -> int:
    """The changed fields in the log and, if any changed, one domain event (payload
    ``{"id", "fields"}`` unless given); returns how many fields changed."""
    changed = await log_changes(
        scope,
        record_type,
        record_id,
        before,
        after,
        action=action,
        reason=reason,
        bulk_job_id=bulk_job_id,
    )
    if changed:
        fields = sorted(n for n in after if as_text(before.get(n)) != as_text(after[n]))
        default = {"id": record_id, "fields": fields}
        await emit_event(scope, event, record_type, record_id, payload or default)
    return changed


def _payload(record_id: int, payload: dict[str, Any] | None) -> dict[str, Any]:
    return {"id": record_id} if payload is None else payload


async def change_log(scope: Scope, record_type: str, record_id: int) -> list[ChangeLogEntry]:
    return (
        await scope.query(ChangeLogEntry)
        .filter(record_type=record_type, record_id=record_id)
        .order_by("at", "id")
    )
