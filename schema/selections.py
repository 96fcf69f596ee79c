"""The selection argument of bulk actions, exports and prints in GraphQL (rules in
``resolvers/selections.py``). Each list declares its own input next to its filter:

    @strawberry.input
    class LeadSelection:
        ids: list[relay.GlobalID] | None = None
        filter: LeadFilterInput | None = None
        exclude_ids: list[relay.GlobalID] | None = None

and turns it into a ``Selection`` with ``selection_of``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from strawberry import relay

from resolvers.errors import NotFound
from resolvers.selections import Selection
from schema.relay import db_id

F = TypeVar("F")


def _row_id(global_id: relay.GlobalID | str, node_type: type) -> int | None:
    """The record id of a global ID of ``node_type``; None for any other (kept as an item
    with its NOT_FOUND, like a missing record)."""
    try:
        return db_id(global_id, node_type)
    except NotFound:
        return None


def selection_of(
    node_type: type,
    ids: Sequence[relay.GlobalID | str] | None,
    filter: F | None,
    exclude_ids: Sequence[relay.GlobalID | str] | None,
) -> Selection[F]:
    return Selection(
        ids=None if ids is None else [_row_id(i, node_type) for i in ids],
        filter=filter,
        exclude_ids=[_row_id(i, node_type) for i in exclude_ids or ()],
    )
