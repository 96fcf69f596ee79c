"""Bulk actions on leads: each starts a ``BulkOperation`` (run in the request up to 500
items, else queued) and answers it; ``errorPolicy`` and ``idempotencyKey`` as in the
bulk contract (a retry with the same key answers the first operation)."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.utils.str_converters import to_camel_case

from models.operations import BulkOperation as OperationRow
from resolvers import bulk
from resolvers.bulk_operations import deletion, mass_update, revert
from schema.bulk import ErrorPolicy
from schema.bulk_operations.types import (
    POLICY,
    BulkItemResultError,
    BulkOperation,
    FieldChangePreview,
    FieldChangeSample,
    MassUpdateDryRun,
    MassUpdateLeadsPayload,
    previewed_or_started,
)
from schema.context import Info
from schema.leads.inputs import LeadInput, LeadSelection
from schema.relay import db_id


def _dry_run(preview: mass_update.DryRun) -> MassUpdateDryRun:
    return MassUpdateDryRun(
        total=preview.total,
        would_change=preview.would_change,
        unchanged=preview.unchanged,
        failed=preview.failed,
        fields=[
            FieldChangePreview(
                field=to_camel_case(f.field),
                would_change=f.would_change,
                samples=[
                    FieldChangeSample(id=relay.GlobalID("Lead", str(pk)), before=old, after=new)
                    for pk, old, new in f.samples
                ],
            )
            for f in preview.fields.values()
        ],
        errors=[BulkItemResultError(index=i, code=c, message=m) for i, c, m in preview.errors],
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Set the same values on the selected leads: one UPDATE per batch of 500, "
        "versions bumped, change log tagged with the operation. Only fields shared across "
        "leads (status, assignee, lead source, campaign…): the store's and waiting list's "
        "fields and a person's own details are refused, naming the field. Items: UPDATED, "
        "UNCHANGED or their errors. `dryRun`: the counts, per field how many leads would "
        "change and samples, writing nothing."
    )
    async def mass_update_leads(
        self,
        info: Info,
        selection: LeadSelection,
        set: LeadInput,
        dry_run: bool = False,
        error_policy: ErrorPolicy = POLICY,  # type: ignore[valid-type]
        idempotency_key: str | None = None,
    ) -> MassUpdateLeadsPayload:
        scope, chosen, changes = (
            info.context.require_writer(),
            selection.to_selection(),
            set.changes(),
        )

        async def preview() -> MassUpdateDryRun:
            return _dry_run(await mass_update.dry_run(scope, chosen, changes))

        return await previewed_or_started(
            MassUpdateLeadsPayload,
            dry_run,
            preview,
            lambda: mass_update.start(
                scope, chosen, changes, policy=error_policy, idempotency_key=idempotency_key
            ),
        )

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
        return await _deletion(info, deletion.DELETE, selection, error_policy, idempotency_key)

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
        return await _deletion(info, deletion.RESTORE, selection, error_policy, idempotency_key)

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


async def _deletion(
    info: Info, kind: str, selection: LeadSelection, policy: bulk.ErrorPolicy, key: str | None
) -> BulkOperation:
    """deleteLeads and restoreLeads differ only in their kind."""
    row = await deletion.start(
        info.context.require_writer(),
        kind,
        selection.to_selection(),
        policy=policy,
        idempotency_key=key,
    )
    return BulkOperation.from_row(row)
