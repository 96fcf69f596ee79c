"""The session list and one session."""

from __future__ import annotations

import strawberry
from strawberry import relay

from models.sessions import TrainingSession
from resolvers.sessions import listing
from schema.context import Info
from schema.pagination import Connection, paginate
from schema.prefetch import below, same, selections_of, with_nodes
from schema.relay import db_id
from schema.sessions.inputs import SessionFilter, SessionOrder
from schema.sessions.types import Session, session_node, session_nodes


@strawberry.type
class Query:
    @strawberry.field(description="Sessions matching the filter, in the chosen order.")
    async def sessions(
        self,
        info: Info,
        filter: SessionFilter | None = None,
        order_by: SessionOrder = listing.SessionOrder.FIRST_DATE_ASC,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Session]:
        scope = info.context.require_scope()
        where = filter.to_resolver() if filter else listing.SessionFilter()
        qs = listing.sessions_query(scope, where, order_by)
        page = await paginate(qs, first, after, same)
        node_selections = below(selections_of(info), "edges", "node")
        return await with_nodes(page, lambda rows: session_nodes(info, rows, node_selections))

    @strawberry.field
    async def session(self, info: Info, id: relay.GlobalID) -> Session:
        scope = info.context.require_scope()
        return await session_node(info, await scope.get(TrainingSession, db_id(id, Session)))
