"""Bulk soft delete and restore of leads (revertible: a revert restores or deletes again)."""

from __future__ import annotations

from dataclasses import replace

from models.leads import Lead
from models.operations import BulkOperation
from resolvers.bulk import ErrorPolicy
from resolvers.bulk_operations import engine
from resolvers.bulk_operations.kinds import Batch, ItemOutcome, Kind, register
from resolvers.bulk_operations.lead_writes import (
    audit,
    failure,
    not_found,
    read_leads,
    texts,
    write_values,
)
from resolvers.bulk_operations.revert import revert_values
from resolvers.context import Scope
from resolvers.leads.listing import LeadFilter, filtered_leads
from resolvers.runtime import now
from resolvers.selections import Selection, select

DELETE, RESTORE = "delete_leads", "restore_leads"


async def start(
    scope: Scope,
    kind: str,
    selection: Selection[LeadFilter],
    *,
    policy: ErrorPolicy,
    idempotency_key: str | None,
) -> BulkOperation:
    scope.require_write()
    if kind == RESTORE and selection.filter is not None:
        # Restoring works on deleted leads: the filter must see them.
        selection = Selection(
            filter=_with_deleted(selection.filter), exclude_ids=selection.exclude_ids
        )
    selected = await select(scope, Lead, selection, lambda f: filtered_leads(scope, f))
    return await engine.start_operation(
        scope,
        kind,
        selected,
        policy=policy,
        idempotency_key=idempotency_key,
        by_ids=selection.ids is not None,
    )


def _with_deleted(wanted: LeadFilter) -> LeadFilter:
    return replace(wanted, include_deleted=True)


async def _delete(batch: Batch) -> list[ItemOutcome]:
    leads = await read_leads(batch, ())
    deleted_at = now()
    at = texts({"deleted_at": deleted_at})["deleted_at"]
    outcomes = []
    for item in batch.items:
        lead = leads.get(item.lead_id)
        if lead is None:
            outcomes.append(not_found(item))
        elif lead["deleted_at"] is not None:
            outcomes.append(ItemOutcome(item.position, item.lead_id, "UNCHANGED"))
        else:
            outcomes.append(
                ItemOutcome(
                    item.position,
                    item.lead_id,
                    "DELETED",
                    old_values={"deleted_at": None},
                    new_values={"deleted_at": at},
                )
            )
    changed = [o for o in outcomes if o.outcome == "DELETED"]
    await write_values(
        batch, [(o.lead_id, {"deleted_at": deleted_at}) for o in changed if o.lead_id]
    )
    await audit(batch, changed, action="delete", event="lead.deleted", whole_record=True)
    return outcomes


async def _restore(batch: Batch) -> list[ItemOutcome]:
    leads = await read_leads(batch, ())
    outcomes = []
    for item in batch.items:
        lead = leads.get(item.lead_id)
        if lead is None:
            outcomes.append(not_found(item))
        elif lead["deleted_at"] is None:
            outcomes.append(ItemOutcome(item.position, item.lead_id, "UNCHANGED"))
        elif lead["merged_into_id"] is not None:
            outcomes.append(
                failure(item, "WRONG_STATE", "this lead was merged: undo the merge to restore it")
            )
        else:
            outcomes.append(
                ItemOutcome(
                    item.position,
                    item.lead_id,
                    "RESTORED",
                    old_values=texts({"deleted_at": lead["deleted_at"]}),
                    new_values={"deleted_at": None},
                )
            )
    changed = [o for o in outcomes if o.outcome == "RESTORED"]
    await write_values(batch, [(o.lead_id, {"deleted_at": None}) for o in changed if o.lead_id])
    await audit(batch, changed, action="restore", event="lead.restored", whole_record=True)
    return outcomes


register(Kind(DELETE, _delete, revert=revert_values, changes=("DELETED",)))
register(Kind(RESTORE, _restore, revert=revert_values, changes=("RESTORED",)))
