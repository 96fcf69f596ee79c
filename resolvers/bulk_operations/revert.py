"""Revert: an operation that puts back what a revertible one changed, once.

A lead whose value is no longer what the operation wrote was changed since by someone
else: it is kept as it is and reported as a CONFLICT, unless ``force``. A revert is an
audited operation of its own (change log, events, items) and is not revertible itself.
"""

from __future__ import annotations

from typing import Any

from models.operations import BulkOperation, BulkOperationItem, OperationStatus
from resolvers.bulk import ErrorPolicy
from resolvers.bulk_operations import engine
from resolvers.bulk_operations.kinds import Batch, ItemOutcome, Kind, kind_of, register
from resolvers.bulk_operations.lead_writes import (
    audit,
    failure,
    from_text,
    not_found,
    read_leads,
    texts,
    write_values,
)
from resolvers.context import Scope
from resolvers.errors import WrongState
from resolvers.selections import Selected, SelectedItem

KIND = "revert"


async def revert_operation(
    scope: Scope, operation_id: int, *, force: bool = False, idempotency_key: str | None = None
) -> BulkOperation:
    scope.require_write()
    target = await scope.get(BulkOperation, operation_id)
    kind = kind_of(target.kind)
    if kind.revert is None:
        raise WrongState(f"a {target.kind} operation cannot be reverted", field="id")
    if target.reverted_by_id is not None:
        previous = await scope.query(BulkOperation).filter(id=target.reverted_by_id).first()
        if previous is not None and idempotency_key and previous.idempotency_key == idempotency_key:
            return previous
        raise WrongState("this operation was already reverted", field="id")
    if target.status != OperationStatus.DONE:
        raise WrongState(
            f"only a DONE operation can be reverted (this one is {target.status.value})", field="id"
        )
    changed: list[int] = (
        await BulkOperationItem.filter(operation_id=target.id, outcome__in=list(kind.changes))
        .order_by("position")
        .values_list("lead_id", flat=True)  # type: ignore[assignment]
    )
    selected = Selected([SelectedItem(i, pk) for i, pk in enumerate(changed)])
    return await engine.start_operation(
        scope,
        KIND,
        selected,
        arguments={"operation": target.id, "force": force},
        policy=ErrorPolicy.REJECT_FAILED_ROWS,  # conflicts are kept, the rest reverted
        idempotency_key=idempotency_key,
        by_ids=False,
        reverts=target,
    )


async def _process(batch: Batch) -> list[ItemOutcome]:
    target = await BulkOperation.get(id=batch.arguments["operation"])
    revert = kind_of(target.kind).revert
    assert revert is not None
    return await revert(batch, target, bool(batch.arguments.get("force")))


async def _originals(batch: Batch, target: BulkOperation) -> dict[int, BulkOperationItem]:
    """``target``'s items of the batch's leads, by lead id."""
    items = await BulkOperationItem.filter(operation_id=target.id, lead_id__in=batch.lead_ids)
    return {item.lead_id: item for item in items if item.lead_id is not None}


async def revert_values(batch: Batch, target: BulkOperation, force: bool) -> list[ItemOutcome]:
    """Puts back ``old_values`` where the lead still has ``new_values`` (or ``force``)."""
    originals = await _originals(batch, target)
    names = {name for item in originals.values() for name in item.new_values or {}}
    leads = await read_leads(batch, names)
    outcomes, writes = [], []
    for item in batch.items:
        lead, original = leads.get(item.lead_id), originals.get(item.lead_id)
        if lead is None or original is None:
            outcomes.append(not_found(item))
            continue
        wrote: dict[str, Any] = original.new_values or {}
        previous: dict[str, Any] = original.old_values or {}
        current = texts({name: lead[name] for name in wrote})
        if "deleted_at" in wrote and lead["merged_into_id"] is not None:
            outcomes.append(failure(item, "WRONG_STATE", "merged since: undo the merge first"))
            continue
        if current != wrote and not force:
            changed = sorted(n for n in wrote if current[n] != wrote[n])
            outcomes.append(
                failure(item, "CONFLICT", f"changed since the operation: {', '.join(changed)}")
            )
            continue
        restore = {n: previous.get(n) for n in wrote if current[n] != previous.get(n)}
        if not restore:
            outcomes.append(ItemOutcome(item.position, item.lead_id, "UNCHANGED"))
            continue
        outcome = ItemOutcome(
            item.position,
            item.lead_id,
            "REVERTED",
            old_values={n: current[n] for n in restore},
            new_values=restore,
        )
        outcomes.append(outcome)
        writes.append((item.lead_id, {n: from_text(n, t) for n, t in restore.items()}))
    await write_values(batch, writes)
    reverted = [o for o in outcomes if o.outcome == "REVERTED"]
    for event, done in _by_event(reverted).items():
        await audit(batch, done, action="revert", event=event)
    return outcomes


def _by_event(outcomes: list[ItemOutcome]) -> dict[str, list[ItemOutcome]]:
    """A revert that deletes or restores a lead is that event, a value change an update."""
    events: dict[str, list[ItemOutcome]] = {}
    for outcome in outcomes:
        values = outcome.new_values or {}
        if "deleted_at" in values:
            event = "lead.restored" if values["deleted_at"] is None else "lead.deleted"
        else:
            event = "lead.updated"
        events.setdefault(event, []).append(outcome)
    return events


async def _reverted(operation: BulkOperation) -> None:
    """The revert is DONE: its target is REVERTED."""
    await BulkOperation.filter(id=operation.reverts_id).update(status=OperationStatus.REVERTED)


register(Kind(KIND, _process, on_done=_reverted, large_batches=True))
