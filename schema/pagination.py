"""Relay-style connections shared by every list: edges/node/cursor, pageInfo, totalCount.

Cursors are opaque offsets within the list's own filter and order; ``first`` is capped
at ``MAX_PAGE_SIZE`` (SPEC §10). ``totalCount`` costs a COUNT query only when asked for.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Any, Generic, TypeVar

import strawberry
from tortoise.queryset import QuerySet

from resolvers.errors import ValidationFailed

MAX_PAGE_SIZE = 100
T = TypeVar("T")
R = TypeVar("R")


@lru_cache(maxsize=4096)  # the same first offsets on every page of every list
def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    """Offset of the row after ``cursor`` (0 without one); a bad cursor is a typed error."""
    if cursor is None:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind == "offset" and int(value) >= 0:
            return int(value) + 1
    except (ValueError, UnicodeDecodeError):
        pass
    raise ValidationFailed("after: not a cursor of this list", field="after")


def page_size(first: int | None) -> int:
    if first is None:
        return 20
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"first must be between 0 and {MAX_PAGE_SIZE}", field="first")
    return first


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Number of items matching the filter, across all pages.")
    async def total_count(self) -> int:
        return await self._count()


def build_connection(
    nodes: Sequence[T], offset: int, size: int, more: bool, count: Callable[[], Awaitable[int]]
) -> Connection[T]:
    edges = [Edge(node=node, cursor=encode_cursor(offset + i)) for i, node in enumerate(nodes)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=more,
            has_previous_page=offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        _count=count,
    )


async def paginate(
    queryset: QuerySet[Any],
    first: int | None,
    after: str | None,
    to_node: Callable[[Any], R],
    *,
    count_too: bool = False,
    fetch: Callable[[QuerySet[Any]], Awaitable[list[Any]]] | None = None,
) -> Connection[R]:
    """One page of an ordered, already-scoped queryset (one SELECT; COUNT on demand).
    ``count_too`` (the query selects totalCount): the COUNT runs beside the SELECT, on a
    second pooled connection (in a transaction, Tortoise runs them one after the other),
    so the page waits for the slower of the two rather than for both. ``fetch``: what
    reads the page's nodes instead of its rows (schema/json_sql.py's JSON of them)."""
    size = page_size(first)
    offset = decode_cursor(after)
    # No OFFSET on the first page: a placeholder one would keep its plan from being reused.
    page = (queryset.offset(offset) if offset else queryset).limit(size + 1)
    read = _rows(page) if fetch is None else fetch(page)
    count: Callable[[], Awaitable[int]] = queryset.count
    if count_too:
        rows, total = await asyncio.gather(read, queryset.count())
        count = _known(total)
    else:
        rows = await read
    nodes = rows[:size] if fetch is not None else [to_node(row) for row in rows[:size]]
    return build_connection(nodes, offset, size, len(rows) > size, count)


def _known(total: int) -> Callable[[], Awaitable[int]]:
    async def count() -> int:
        return total

    return count


def literal_limit(query: Any) -> None:
    """A page's LIMIT written as a number, not a placeholder: with a placeholder
    PostgreSQL's generic plan of the statement (costed for an unknown limit) never wins,
    so it plans the statement again at every execution (0.7–2.9 ms for the leads page with
    its panels' counts); with a number it reuses the prepared plan after five runs, as it
    does for plain SQL. The page size is an integer ``paginate`` computed (a few distinct
    values, so a few prepared statements); the offset stays a placeholder (one statement
    for every page). ``query``: a Tortoise queryset's pypika query, once made."""
    if query._limit is not None:
        query._limit.allow_parametrize = False


async def _rows(page: QuerySet[Any]) -> list[Any]:
    """What awaiting ``page`` gives (Tortoise's ``QuerySet.__await__``), its LIMIT a number."""
    if page._db is None:
        page._db = page._choose_db(page._select_for_update)
    page._make_query()
    literal_limit(page.query)
    return await page._execute()  # type: ignore[no-any-return]


def paginate_loaded(
    items: Sequence[Any], first: int | None, after: str | None, to_node: Callable[[Any], R]
) -> Connection[R]:
    """One page of a list already loaded (a nested field fed by a dataloader): no query."""
    size = page_size(first)
    offset = decode_cursor(after)
    page = items[offset : offset + size]
    return build_connection(
        [to_node(row) for row in page], offset, size, len(items) > offset + size, _known(len(items))
    )
