"""The bulk contract in GraphQL (rules in ``resolvers/bulk.py``).

Every bulk mutation answers a ``…Payload { count results { index id record errors
outcome } }``
built from a ``resolvers.bulk.BulkResult``; a mutation declares its payload as
``class CreateSessionsPayload(BulkPayload[Session])`` and fills it with ``of``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, Self, TypeVar

import strawberry
from strawberry import relay

from resolvers import bulk

T = TypeVar("T")

ErrorPolicy = strawberry.enum(
    bulk.ErrorPolicy,
    name="ErrorPolicy",
    description="What a bulk mutation does when some items fail (Saleor's three policies).",
)


@strawberry.type(description="Why an item was refused or what of it was left out.")
class BulkItemError:
    code: str
    field: str | None
    message: str


@strawberry.type(
    description="One item of a bulk mutation: its position in the input, the record it "
    "wrote (null when nothing was written) and its errors."
)
class BulkItemResult(Generic[T]):
    index: int
    id: relay.GlobalID | None
    record: T | None
    errors: list[BulkItemError]
    outcome: str | None = strawberry.field(
        description="What was done with the item where a mutation has several outcomes "
        "(e.g. CREATED, UPDATED, UNCHANGED, STALE); null otherwise."
    )


@strawberry.type
class BulkPayload(Generic[T]):
    count: int = strawberry.field(description="How many items were written.")
    results: list[BulkItemResult[T]]

    @classmethod
    def of(cls, result: bulk.BulkResult, type_name: str, records: Sequence[Any | None]) -> Self:
        """``records``: the nodes of ``result.written_ids``, in that order (None if gone)."""
        by_id = dict(zip(result.written_ids, records, strict=True))
        return cls(
            count=result.count,
            results=[
                BulkItemResult(
                    index=item.index,
                    id=relay.GlobalID(type_name, str(item.id)) if item.id is not None else None,
                    record=by_id.get(item.id) if item.id is not None else None,
                    errors=[
                        BulkItemError(code=e.code, field=e.field, message=e.message)
                        for e in item.errors
                    ],
                    outcome=item.outcome,
                )
                for item in result.items
            ],
        )
