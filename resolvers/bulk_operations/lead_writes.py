"""Set-based writes of a batch of leads, shared by the kinds: read the batch's leads (one
SELECT … FOR UPDATE), write new values (one UPDATE per distinct set of values, version
bumped), their change-log rows tagged with the operation and one event per lead (one
INSERT each), and put text forms back into values for a revert."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from tortoise import fields as tortoise_fields
from tortoise.expressions import F

from models.audit import ChangeLogEntry
from models.leads import Lead
from resolvers.audit import as_text
from resolvers.bulk import ItemError
from resolvers.bulk_operations.kinds import Batch, BatchItem, ItemOutcome
from resolvers.events import emit_events
from resolvers.leads.fields import fold
from resolvers.leads.records import RECORD_TYPE
from resolvers.rows import insert_rows
from resolvers.runtime import now


async def read_leads(batch: Batch, names: Iterable[str]) -> dict[int, dict[str, Any]]:
    """The batch's leads (id, version, deleted/merged state and ``names``), locked."""
    columns = {"id", "version", "deleted_at", "merged_into_id", *names}
    rows = (
        await batch.scope.query(Lead)
        .filter(id__in=batch.lead_ids)
        .select_for_update()
        .values(*sorted(columns))
    )
    return {row["id"]: row for row in rows}


def not_found(item: BatchItem) -> ItemOutcome:
    return ItemOutcome(
        item.position, item.lead_id, errors=[ItemError("NOT_FOUND", "lead not found")]
    )


def failure(item: BatchItem, code: str, message: str) -> ItemOutcome:
    return ItemOutcome(item.position, item.lead_id, errors=[ItemError(code, message)])


def derived_keys(values: Mapping[str, Any]) -> dict[str, Any]:
    """Duplicate-detection keys that follow from the values alone (an account name's)."""
    return {"account_norm": fold(values["account_name"])} if "account_name" in values else {}


async def write_values(batch: Batch, changes: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """Each (lead id, values) written, leads with the same values in one UPDATE."""
    groups: dict[tuple[tuple[str, Any], ...], list[int]] = defaultdict(list)
    for lead_id, values in changes:
        groups[tuple(sorted(values.items(), key=lambda kv: kv[0]))].append(lead_id)
    at = now()
    for values_key, ids in groups.items():
        values = dict(values_key)
        await (
            batch.scope.query(Lead)
            .filter(id__in=ids)
            .update(**values, **derived_keys(values), version=F("version") + 1, updated_at=at)
        )


async def audit(
    batch: Batch,
    changed: Sequence[ItemOutcome],
    *,
    action: str,
    event: str,
    whole_record: bool = False,
    summary: Callable[[ItemOutcome], str] | None = None,
) -> None:
    """Change-log rows (one per changed field, or one per lead for a whole-record
    action, its new value ``summary(item)``) tagged with the operation, and one
    ``event`` per lead."""
    if not changed:
        return
    scope, at = batch.scope, now()
    actor = scope.actor
    common = {
        "organization_id": scope.organization_id,
        "record_type": RECORD_TYPE,
        "action": action,
        "actor_kind": actor.kind.value,
        "actor_id": actor.id,
        "actor_label": actor.label,
        "bulk_job_id": batch.tag,
        "reason": f"bulk operation {batch.operation.id}",
        "at": at,
    }
    entries = []
    for item in changed:
        old, new = item.old_values or {}, item.new_values or {}
        if whole_record:
            entries.append(
                {
                    **common,
                    "record_id": item.lead_id,
                    "field": "",
                    "old_value": None,
                    "new_value": summary(item) if summary else None,
                }
            )
            continue
        entries += [
            {
                **common,
                "record_id": item.lead_id,
                "field": name,
                "old_value": old.get(name),
                "new_value": new[name],
            }
            for name in sorted(new)
        ]
    await insert_rows(ChangeLogEntry, entries)
    payloads = {
        item.lead_id: {
            "id": item.lead_id,
            "fields": sorted(item.new_values or {}),
            "operationId": batch.operation.id,
        }
        for item in changed
        if item.lead_id is not None  # a changed item always names its lead
    }
    await emit_events(scope, event, RECORD_TYPE, payloads)


def from_text(name: str, text: str | None) -> Any:
    """A lead column's value from its change-log text form (``resolvers.audit.as_text``)."""
    field = Lead._meta.fields_map[name]
    if text is None:
        return None
    if isinstance(field, tortoise_fields.DatetimeField):
        return datetime.fromisoformat(text)
    if isinstance(field, tortoise_fields.DateField):
        return date.fromisoformat(text)
    if isinstance(field, tortoise_fields.DecimalField):
        return Decimal(text)
    if isinstance(field, tortoise_fields.BooleanField):
        return text == "True"
    if isinstance(field, tortoise_fields.IntField | tortoise_fields.BigIntField) or name.endswith(
        "_id"
    ):
        return int(text)
    enum_type = getattr(field, "enum_type", None)
    if enum_type is not None and issubclass(enum_type, Enum):
        return enum_type(text)
    return text


def texts(values: Mapping[str, Any]) -> dict[str, str | None]:
    return {name: as_text(value) for name, value in values.items()}
