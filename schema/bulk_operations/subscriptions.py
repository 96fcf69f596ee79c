"""``bulkOperationChanged(id)``: an operation's progress, live (the events machinery of
``schema/subscriptions.py``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry import relay

from models.operations import BulkOperation as OperationRow
from resolvers.bulk_operations.engine import EVENT, FINAL
from schema.bulk_operations.types import BulkOperation
from schema.context import Info
from schema.relay import db_id
from schema.subscriptions import _latest_event_id, event_stream


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The operation as it is now, then again after each batch it commits; "
        "the stream ends once it is DONE, FAILED or REVERTED."
    )
    async def bulk_operation_changed(
        self, info: Info, id: relay.GlobalID
    ) -> AsyncGenerator[BulkOperation, None]:
        scope = info.context.require_subscriber()
        pk = db_id(id, BulkOperation)
        # Events after this one are replayed from the table: none falls between the
        # state read below and the live feed.
        start = await _latest_event_id(scope.organization_id)
        row = await scope.get(OperationRow, pk)
        yield BulkOperation.from_row(row)
        if row.status in FINAL:
            return
        async for event in event_stream(info, [EVENT], start):
            if event.record_id != pk:
                continue
            row = await scope.get(OperationRow, pk)
            yield BulkOperation.from_row(row)
            if row.status in FINAL:
                return
