"""Session mutations: the session itself, its planning, its clients, and the two bulk
mutations on the bulk contract (schema/bulk.py)."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.types.nodes import Selection

from resolvers import bulk
from resolvers.sessions import planning, records, session_clients
from schema.bulk import BulkPayload, ErrorPolicy
from schema.clients import Client
from schema.common import DeleteResult, deleted
from schema.context import Info
from schema.prefetch import below, selections_of
from schema.relay import db_id
from schema.sessions.inputs import CreateSessionInput, SlotInput, SlotPatch, UpdateSessionInput
from schema.sessions.types import (
    Session,
    SessionClient,
    SessionSlot,
    session_client_nodes,
    session_client_nodes_of,
    session_node,
    session_nodes_of,
)


@strawberry.type
class CreateSessionsPayload(BulkPayload[Session]):
    pass


@strawberry.type
class AddClientsToSessionPayload(BulkPayload[SessionClient]):
    pass


def _record_selections(info: Info) -> list[Selection] | None:
    """What the query selects below a bulk payload's ``results { record }``."""
    return below(selections_of(info), "results", "record")


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_session(self, info: Info, input: CreateSessionInput) -> Session:
        row = await records.create_session(info.context.require_writer(), input.to_new())
        return await session_node(info, row)

    @strawberry.mutation(
        description=f"A script's sessions (at most {records.MAX_SESSIONS_AT_ONCE}) under "
        "an error policy; a retry with the same idempotencyKey returns the first result "
        "without writing again."
    )
    async def create_sessions(
        self,
        info: Info,
        inputs: list[CreateSessionInput],
        error_policy: ErrorPolicy = bulk.ErrorPolicy.REJECT_EVERYTHING,  # type: ignore[valid-type]
        idempotency_key: str | None = None,
    ) -> CreateSessionsPayload:
        result = await records.create_sessions(
            info.context.require_writer(),
            [i.to_new() for i in inputs],
            error_policy,
            idempotency_key,
        )
        nodes = await session_nodes_of(info, result.written_ids, _record_selections(info))
        return CreateSessionsPayload.of(result, "Session", nodes)

    @strawberry.mutation(description="Partial update; a stale version is refused.")
    async def update_session(self, info: Info, input: UpdateSessionInput) -> Session:
        row = await records.update_session(
            info.context.require_writer(),
            db_id(input.id, Session),
            input.version,
            input.to_changes(),
        )
        return await session_node(info, row)

    @strawberry.mutation(description="Refused while a client has a pending date proposal.")
    async def delete_session(self, info: Info, id: relay.GlobalID) -> DeleteResult:
        scope = info.context.require_writer()
        return deleted(Session, await records.delete_session(scope, db_id(id, Session)))

    @strawberry.mutation(description="Replace the whole planning at once.")
    async def set_session_planning(
        self,
        info: Info,
        session_id: relay.GlobalID,
        slots: list[SlotInput],
        version: int | None = None,
    ) -> Session:
        row = await planning.set_planning(
            info.context.require_writer(),
            db_id(session_id, Session),
            [s.to_spec() for s in slots],
            version,
        )
        return await session_node(info, row)

    @strawberry.mutation
    async def add_session_slot(
        self, info: Info, session_id: relay.GlobalID, slot: SlotInput
    ) -> Session:
        row = await planning.add_slot(
            info.context.require_writer(), db_id(session_id, Session), slot.to_spec()
        )
        return await session_node(info, row)

    @strawberry.mutation(description="Move a slot or change its location.")
    async def update_session_slot(self, info: Info, id: relay.GlobalID, slot: SlotPatch) -> Session:
        row = await planning.update_slot(
            info.context.require_writer(), db_id(id, SessionSlot), slot.to_changes()
        )
        return await session_node(info, row)

    @strawberry.mutation
    async def remove_session_slot(self, info: Info, id: relay.GlobalID) -> Session:
        row = await planning.remove_slot(info.context.require_writer(), db_id(id, SessionSlot))
        return await session_node(info, row)

    @strawberry.mutation
    async def add_client_to_session(
        self, info: Info, session_id: relay.GlobalID, client_id: relay.GlobalID
    ) -> SessionClient:
        row = await session_clients.add_client(
            info.context.require_writer(), db_id(session_id, Session), db_id(client_id, Client)
        )
        (node,) = await session_client_nodes(info, [row], selections_of(info))
        return node

    @strawberry.mutation(
        description="A script's clients for a session (at most "
        f"{session_clients.MAX_CLIENTS_AT_ONCE}) under an error policy; a retry with the "
        "same idempotencyKey returns the first result without writing again."
    )
    async def add_clients_to_session(
        self,
        info: Info,
        session_id: relay.GlobalID,
        client_ids: list[relay.GlobalID],
        error_policy: ErrorPolicy = bulk.ErrorPolicy.REJECT_EVERYTHING,  # type: ignore[valid-type]
        idempotency_key: str | None = None,
    ) -> AddClientsToSessionPayload:
        result = await session_clients.add_clients(
            info.context.require_writer(),
            db_id(session_id, Session, field="sessionId"),
            [db_id(c, Client, field=f"clientIds.{i}") for i, c in enumerate(client_ids)],
            error_policy,
            idempotency_key,
        )
        nodes = await session_client_nodes_of(info, result.written_ids, _record_selections(info))
        return AddClientsToSessionPayload.of(result, "SessionClient", nodes)

    @strawberry.mutation(
        description="Refused (WRONG_STATE) while the client has a pending date proposal."
    )
    async def remove_client_from_session(
        self, info: Info, session_id: relay.GlobalID, client_id: relay.GlobalID
    ) -> Session:
        row = await session_clients.remove_client(
            info.context.require_writer(), db_id(session_id, Session), db_id(client_id, Client)
        )
        return await session_node(info, row)
