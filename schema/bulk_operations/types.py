"""The ``BulkOperation`` node, its items (the bulk contract's results, paginated) and the
payloads of the bulk actions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.utils.str_converters import to_camel_case

from models.leads import Lead as LeadRow
from models.operations import BulkOperation as OperationRow
from models.operations import BulkOperationItem as ItemRow
from models.operations import OperationStatus
from resolvers import bulk, dataloaders
from resolvers.bulk_operations import queries
from schema.auth import User
from schema.bulk import BulkItemError
from schema.context import Info
from schema.leads.types import Lead
from schema.pagination import Connection, build_connection, decode_cursor, page_size

POLICY = bulk.ErrorPolicy.REJECT_EVERYTHING  # the bulk actions' default errorPolicy
Payload = TypeVar("Payload")

BulkOperationStatus = strawberry.enum(
    OperationStatus,
    name="BulkOperationStatus",
    description="QUEUED (waiting for the worker), RUNNING, DONE, FAILED (rejected as a "
    "whole or stopped), REVERTED (DONE, then put back).",
)


def _camel_values(values: dict[str, object] | None) -> JSON | None:
    if values is None:
        return None
    camel: JSON = {to_camel_case(k): v for k, v in values.items()}  # type: ignore[assignment]
    return camel


@strawberry.type(
    description="One position of the operation's selection, as processed (the bulk "
    "contract's item): the lead, what was done (`outcome`) or why not (`errors`)."
)
class BulkOperationItem:
    index: int = strawberry.field(description="Position in the frozen selection.")
    id: relay.GlobalID | None = strawberry.field(description="The lead; null: none.")
    record: Lead | None
    outcome: str | None = strawberry.field(
        description="UPDATED, UNCHANGED, DELETED, RESTORED, REVERTED, SENT, SKIPPED…; null "
        "when it failed."
    )
    reason: str = strawberry.field(
        description="Why a SKIPPED item was skipped (NO_EMAIL, DUPLICATE_ADDRESS…); else empty."
    )
    errors: list[BulkItemError]
    old_values: JSON | None = strawberry.field(description="Values before (camelCase names).")
    new_values: JSON | None = strawberry.field(description="Values written.")

    @classmethod
    def from_row(cls, row: ItemRow, lead: LeadRow | None) -> BulkOperationItem:
        return cls(
            index=row.position,
            id=relay.GlobalID("Lead", str(row.lead_id)) if row.lead_id else None,
            record=Lead.from_row(lead) if lead else None,
            outcome=row.outcome,
            reason=row.reason,
            errors=[
                BulkItemError(code=e["code"], field=e.get("field"), message=e["message"])
                for e in row.errors
            ],
            old_values=_camel_values(row.old_values),
            new_values=_camel_values(row.new_values),
        )


@strawberry.type(
    description="A bulk action on a frozen selection of leads, with its progress. Up to "
    "500 items it runs inside the request; larger ones are QUEUED to the worker: follow "
    "them with node(id) or the bulkOperationChanged(id) subscription."
)
class BulkOperation(relay.Node):
    id: relay.NodeID[int]
    kind: str
    status: BulkOperationStatus  # type: ignore[valid-type]
    error_policy: str
    total: int
    processed: int
    succeeded: int
    failed: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str = strawberry.field(description="Why it FAILED as a whole; empty otherwise.")
    actor_label: str
    _row: strawberry.Private[OperationRow]

    @classmethod
    def from_row(cls, row: OperationRow) -> BulkOperation:
        return cls(
            id=row.id,
            kind=row.kind,
            status=row.status,
            error_policy=row.error_policy,
            total=row.total,
            processed=row.processed,
            succeeded=row.succeeded,
            failed=row.failed,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            error=row.error,
            actor_label=row.actor_label,
            _row=row,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list[BulkOperation | None]:
        rows = await info.context.require_scope().get_many(OperationRow, node_ids)
        return [cls.from_row(row) if row else None for row in rows]

    @strawberry.field
    async def created_by(self, info: Info) -> User | None:
        if self._row.created_by_id is None:
            return None
        row = await info.context.loader(dataloaders.users_by_id).load(self._row.created_by_id)
        return User.from_row(row) if row else None

    @strawberry.field(description="The operation this one reverts.")
    async def reverts(self, info: Info) -> BulkOperation | None:
        return await _operation(info, self._row.reverts_id)

    @strawberry.field(description="The operation that reverted this one.")
    async def reverted_by(self, info: Info) -> BulkOperation | None:
        return await _operation(info, self._row.reverted_by_id)

    @strawberry.field(
        description="Per-item results in position order; `onlyErrors`: the failed ones."
    )
    async def items(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        only_errors: bool = False,
    ) -> Connection[BulkOperationItem]:
        scope = info.context.require_scope()
        size, offset = page_size(first), decode_cursor(after)
        qs = queries.operation_items(self._row, only_errors=only_errors)
        rows = await qs.offset(offset).limit(size + 1)
        leads = await scope.get_many(LeadRow, [r.lead_id or 0 for r in rows[:size]])
        return build_connection(
            [
                BulkOperationItem.from_row(r, lead)
                for r, lead in zip(rows[:size], leads, strict=True)
            ],
            offset,
            size,
            len(rows) > size,
            qs.count,
        )


async def _operation(info: Info, operation_id: int | None) -> BulkOperation | None:
    if operation_id is None:
        return None
    row = await info.context.require_scope().query(OperationRow).filter(id=operation_id).first()
    return BulkOperation.from_row(row) if row else None


@strawberry.type(description="One lead's value of a field before and after.")
class FieldChangeSample:
    id: relay.GlobalID
    before: str | None
    after: str | None


@strawberry.type(description="How many leads a field would change on, and a few samples.")
class FieldChangePreview:
    field: str
    would_change: int
    samples: list[FieldChangeSample]


@strawberry.type(description="What a mass update would do; nothing was written.")
class MassUpdateDryRun:
    total: int
    would_change: int
    unchanged: int
    failed: int
    fields: list[FieldChangePreview]
    errors: list[BulkItemResultError]


@strawberry.type(description="An item that would fail, by its position in the selection.")
class BulkItemResultError:
    index: int
    code: str
    message: str


@strawberry.type
class MassUpdateLeadsPayload:
    operation: BulkOperation | None = strawberry.field(description="Null on a dry run.")
    dry_run: MassUpdateDryRun | None = strawberry.field(description="Only on a dry run.")


async def previewed_or_started(
    payload: Callable[..., Payload],
    dry_run: bool,
    preview: Callable[[], Awaitable[Any]],
    start: Callable[[], Awaitable[OperationRow]],
) -> Payload:
    """A bulk action with a ``dryRun``: its ``payload`` with the preview (nothing
    written), or with the operation it started."""
    if dry_run:
        return payload(operation=None, dry_run=await preview())
    return payload(operation=BulkOperation.from_row(await start()), dry_run=None)
