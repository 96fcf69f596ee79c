"""Bulk actions on leads: each starts a ``BulkOperation`` (run in the request up to 500
items, else queued) and answers it; ``errorPolicy`` and ``idempotencyKey`` as in the
bulk contract (a retry with the same key answers the first operation)."""

from __future__ import annotations

import strawberry
from strawberry import relay

from models.operations import BulkOperation as OperationRow
from resolvers import bulk
from resolvers.bulk_operations import deletion, revert
from schema.bulk import ErrorPolicy
from schema.bulk_operations.types import BulkOperation
from schema.context import Info
from schema.leads.inputs import LeadSelection
from schema.relay import db_id

POLICY = bulk.ErrorPolicy.REJECT_EVERYTHING


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Soft-delete the selected leads (items DELETED, or UNCHANGED when "
        "already deleted); revertBulkOperation restores them."
    )
    async def delete_leads(
        self,
        info: Info,
        selection: LeadSelection,
        error_policy: ErrorPolicy = POLICY,  # type: ignore[valid-type]
        idempotency_key: str | None = None,
    ) -> BulkOperation:
        row = await deletion.start(
            info.context.require_writer(),
            deletion.DELETE,
            selection.to_selection(),
            policy=error_policy,
            idempotency_key=idempotency_key,
        )
        return BulkOperation.from_row(row)

    @strawberry.mutation(
        description="Restore soft-deleted leads (a filter sees deleted ones here); a merged "
        "lead is an item error (undo the merge instead)."
    )
    async def restore_leads(
        self,
        info: Info,
        selection: LeadSelection,
        error_policy: ErrorPolicy = POLICY,  # type: ignore[valid-type]
        idempotency_key: str | None = None,
    ) -> BulkOperation:
        row = await deletion.start(
            info.context.require_writer(),
            deletion.RESTORE,
            selection.to_selection(),
            policy=error_policy,
            idempotency_key=idempotency_key,
        )
        return BulkOperation.from_row(row)

    @strawberry.mutation(
        description="Put back what a DONE mass update, delete or restore changed, once. A "
        "lead changed since is kept and reported as a CONFLICT item, unless `force`."
    )
    async def revert_bulk_operation(
        self,
        info: Info,
        id: relay.GlobalID,
        force: bool = False,
        idempotency_key: str | None = None,
    ) -> BulkOperation:
        row = await revert.revert_operation(
            info.context.require_writer(),
            db_id(id, OperationRow),
            force=force,
            idempotency_key=idempotency_key,
        )
        return BulkOperation.from_row(row)
