"""Prefetching nested fields from the top-level resolver (SPEC §12).

A list resolver looks at what the query selects below it and loads each nested level
once (through the request's dataloaders) before GraphQL walks the tree, so the nested
fields are plain attributes holding ready objects: no resolver and no task per item
(schema/execution.py completes such subtrees directly), and the same statement count at
any page size. Objects built elsewhere (a record reached through another path) hold a
``Deferred`` instead, which loads through the dataloaders when the query selects it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from strawberry.types.nodes import SelectedField, Selection

from schema.context import Info
from schema.pagination import Connection

T = TypeVar("T")


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:  # fragment spread or inline fragment: its fields count as selected here
            yield from _fields(selection.selections)


def below(selections: Iterable[Selection] | None, *path: str) -> list[Selection] | None:
    """The selections under ``path`` (field names), or None when it is not selected."""
    if selections is None:
        return None
    current = list(selections)
    for name in path:
        matched = [field for field in _fields(current) if field.name == name]
        if not matched:
            return None
        current = [s for field in matched for s in field.selections]
    return current


def selections_of(info: Info) -> list[Selection]:
    """What the query selects below the field being resolved."""
    return [s for field in info.selected_fields for s in field.selections]


class Deferred(Generic[T]):
    """A nested field's value when it was not prefetched: loaded through the dataloaders
    only if the query selects the field (graphql-core awaits whatever a field returns)."""

    __slots__ = ("_load",)

    def __init__(self, load: Callable[[], Awaitable[T]]) -> None:
        self._load = load

    def __await__(self) -> Generator[Any, None, T]:
        return self._load().__await__()


class Prebuilt(Deferred[T]):
    """A plain subtree's answer as JSON the database built (schema/json_sql.py) for one
    selection ``shape``: the fast path embeds it when the field's selection has that
    shape; any other path awaits it, which loads the node as a ``Deferred`` does."""

    __slots__ = ("json", "shape")

    def __init__(self, json: Any, shape: Any, load: Callable[[], Awaitable[T]]) -> None:
        super().__init__(load)
        self.json = json  # an orjson.Fragment
        self.shape = shape


def later(awaitable: Awaitable[T]) -> Any:
    """A sync resolver's answer that is not ready yet: graphql-core awaits it."""
    return awaitable


def same(row: T) -> T:
    """The identity, for paginating rows or nodes as they are."""
    return row


async def with_nodes(
    connection: Connection[Any], build: Callable[[list[Any]], Awaitable[Sequence[Any]]]
) -> Connection[Any]:
    """Replace a page's rows by the nodes ``build`` makes of them (prefetching included)."""
    nodes = await build([edge.node for edge in connection.edges])
    for edge, node in zip(connection.edges, nodes, strict=True):
        edge.node = node
    return connection
