"""The Relay ``node(id)`` entry point: any record by its global ID (null when it does not
exist or belongs to another organisation)."""

from __future__ import annotations

import strawberry
from strawberry import relay

from resolvers.context import row_id
from schema.context import Info


@strawberry.type
class Query:
    # A plain resolver rather than ``relay.node()``: that field's extension can be applied
    # to one schema only, and the app builds a schema per ASGI application.
    @strawberry.field(description="Any record by its global ID.")
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        info.context.require_scope()
        if row_id(id.node_id) is None:
            return None  # no record can have that id
        try:
            return await id.resolve_node(info, required=False)
        except ValueError:  # malformed or of an unknown type: like a missing record
            return None
