"""Mass update of leads (SPEC §7): the same values set on every selected lead, one UPDATE
per batch (not a loop of saves), each lead's version bumped, change-log rows tagged with
the operation (old and new value per field) and one event per lead changed; a dry run
says what would change, writing nothing.

Only fields a mass update makes sense for, as in SuiteCRM's mass update: the store's and
the waiting list's fields stay read-only, and a person's own details (name, email,
phones) are edited one lead at a time (they also feed duplicate detection)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from strawberry.utils.str_converters import to_camel_case

from models.leads import Lead
from models.operations import BulkOperation
from resolvers.bulk import ErrorPolicy
from resolvers.bulk_operations import engine, one_statement
from resolvers.bulk_operations.kinds import Batch, BatchItem, ItemOutcome, Kind, register
from resolvers.bulk_operations.lead_writes import (
    audit,
    failure,
    from_text,
    not_found,
    read_leads,
    texts,
    write_values,
)
from resolvers.bulk_operations.revert import revert_values
from resolvers.context import Scope
from resolvers.errors import ValidationFailed
from resolvers.leads.fields import STORE_FIELDS, WAITLIST_FIELDS, clean_changes
from resolvers.leads.listing import LeadFilter, filtered_leads
from resolvers.selections import Selection, select

KIND = "mass_update_leads"
PERSONAL_FIELDS = ("first_name", "last_name", "email", "office_phone", "mobile", "fax")
SAMPLES = 5


async def _checked(scope: Scope, changes: dict[str, Any]) -> dict[str, Any]:
    if not changes:
        raise ValidationFailed("set at least one field", field="set")
    for name in changes:
        path = f"set.{to_camel_case(name)}"
        if name in STORE_FIELDS or name in WAITLIST_FIELDS:
            raise ValidationFailed(
                f"{to_camel_case(name)} belongs to the store's waiting list and cannot be "
                "mass-updated",
                field=path,
            )
        if name in PERSONAL_FIELDS:
            raise ValidationFailed(
                f"{to_camel_case(name)} is one person's own detail: edit it lead by lead",
                field=path,
            )
    if changes.get("opportunity_amount") is not None:
        changes["opportunity_amount"] = Decimal(changes["opportunity_amount"]).quantize(
            Decimal("0.01")
        )
    return await clean_changes(scope, changes)


async def _selected(scope: Scope, selection: Selection[LeadFilter]) -> Any:
    return await select(scope, Lead, selection, lambda f: filtered_leads(scope, f))


async def start(
    scope: Scope,
    selection: Selection[LeadFilter],
    changes: dict[str, Any],
    *,
    policy: ErrorPolicy,
    idempotency_key: str | None,
) -> BulkOperation:
    scope.require_write()
    wanted = await _checked(scope, dict(changes))
    return await engine.start_operation(
        scope,
        KIND,
        await _selected(scope, selection),
        arguments={"set": texts(wanted)},
        policy=policy,
        idempotency_key=idempotency_key,
        by_ids=selection.ids is not None,
    )


def _outcome(
    item: BatchItem, lead: dict[str, Any] | None, wanted: dict[str, str | None]
) -> ItemOutcome:
    if lead is None:
        return not_found(item)
    if lead["deleted_at"] is not None:
        return failure(item, "WRONG_STATE", "this lead is deleted: restore it first")
    current = texts({name: lead[name] for name in wanted})
    diff = [name for name in wanted if current[name] != wanted[name]]
    if not diff:
        return ItemOutcome(item.position, item.lead_id, "UNCHANGED")
    return ItemOutcome(
        item.position,
        item.lead_id,
        "UPDATED",
        old_values={n: current[n] for n in diff},
        new_values={n: wanted[n] for n in diff},
    )


async def _process(batch: Batch) -> list[ItemOutcome]:
    wanted: dict[str, str | None] = batch.arguments["set"]
    values = {name: from_text(name, text) for name, text in wanted.items()}
    if one_statement.applies(values):
        return await one_statement.update_batch(
            batch, values, wanted, action="mass_update", event_type="lead.updated"
        )
    leads = await read_leads(batch, wanted)
    outcomes = [_outcome(item, leads.get(item.lead_id), wanted) for item in batch.items]
    updated = [o for o in outcomes if o.outcome == "UPDATED"]
    # Every changed lead gets the same values: one UPDATE for the batch.
    await write_values(batch, [(o.lead_id, values) for o in updated if o.lead_id])
    await audit(batch, updated, action="mass_update", event="lead.updated")
    return outcomes


async def _revert(batch: Batch, target: BulkOperation, force: bool) -> list[ItemOutcome]:
    """What ``target`` set, put back: in one statement per batch where ``_process`` took
    that path too (and no key derives from the values), else through Python."""
    names = list(target.arguments["set"])
    if one_statement.applies(names, restoring=True):
        return await one_statement.revert_batch(batch, target, names, force)
    return await revert_values(batch, target, force)


register(Kind(KIND, _process, revert=_revert, changes=("UPDATED",), large_batches=True))


@dataclass
class FieldPreview:
    field: str
    would_change: int = 0
    samples: list[tuple[int, str | None, str | None]] = dataclasses.field(default_factory=list)


@dataclass
class DryRun:
    total: int = 0
    would_change: int = 0
    unchanged: int = 0
    failed: int = 0
    fields: dict[str, FieldPreview] = dataclasses.field(default_factory=dict)
    errors: list[tuple[int, str, str]] = dataclasses.field(
        default_factory=list
    )  # position, code, message


async def dry_run(
    scope: Scope, selection: Selection[LeadFilter], changes: dict[str, Any]
) -> DryRun:
    """What ``start`` would do, read only: counts, per field how many leads would change
    and a few samples before → after, the items that would fail."""
    scope.require_write()
    wanted = texts(await _checked(scope, dict(changes)))
    selected = await _selected(scope, selection)
    preview = DryRun(total=len(selected.items))
    preview.fields = {name: FieldPreview(name) for name in wanted}
    items = selected.items
    for start_at in range(0, len(items), engine.BATCH_SIZE):
        chunk = items[start_at : start_at + engine.BATCH_SIZE]
        ids = [i.record_id for i in chunk if i.record_id is not None]
        rows = {
            row["id"]: row
            for row in await scope.query(Lead)
            .filter(id__in=ids)
            .values("id", "deleted_at", *wanted)
        }
        for item in chunk:
            if item.record_id is None:
                assert item.error is not None
                preview.failed += 1
                preview.errors.append((item.index, item.error.code, item.error.message))
                continue
            outcome = _outcome(
                BatchItem(item.index, item.record_id), rows.get(item.record_id), wanted
            )
            if outcome.failed:
                preview.failed += 1
                preview.errors += [(item.index, e.code, e.message) for e in outcome.errors]
            elif outcome.outcome == "UNCHANGED":
                preview.unchanged += 1
            else:
                preview.would_change += 1
                for name, new in (outcome.new_values or {}).items():
                    entry = preview.fields[name]
                    entry.would_change += 1
                    if len(entry.samples) < SAMPLES:
                        old = (outcome.old_values or {}).get(name)
                        entry.samples.append((item.record_id, old, new))
    return preview
