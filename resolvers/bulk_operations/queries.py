"""Reading operations: one (scoped), the organisation's list, an operation's items."""

from __future__ import annotations

from tortoise.queryset import QuerySet

from models.operations import BulkOperation, BulkOperationItem
from resolvers.context import Scope


async def get_operation(scope: Scope, operation_id: int) -> BulkOperation:
    return await scope.get(BulkOperation, operation_id)


def list_operations(scope: Scope) -> QuerySet[BulkOperation]:
    """Newest first."""
    return scope.query(BulkOperation).order_by("-id")


def operation_items(operation: BulkOperation, *, only_errors: bool) -> QuerySet[BulkOperationItem]:
    """In position order; ``operation`` was read through a scope."""
    qs = BulkOperationItem.filter(operation_id=operation.id)
    if only_errors:
        qs = qs.filter(failed=True)
    return qs.order_by("position")
