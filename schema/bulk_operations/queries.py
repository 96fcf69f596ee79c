"""The organisation's bulk operations."""

from __future__ import annotations

import strawberry

from resolvers.bulk_operations import queries
from schema.bulk_operations.types import BulkOperation
from schema.context import Info
from schema.pagination import Connection, paginate


@strawberry.type
class Query:
    @strawberry.field(description="Bulk operations, newest first.")
    async def bulk_operations(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[BulkOperation]:
        qs = queries.list_operations(info.context.require_scope())
        return await paginate(qs, first, after, BulkOperation.from_row)
