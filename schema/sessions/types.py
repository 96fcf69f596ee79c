"""The session nodes: ``Session``, its ``SessionSlot`` planning and its clients
(``SessionClient``), built with what the query selects below them prefetched."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from functools import partial
from typing import Any, TypeVar

import strawberry
from strawberry import relay
from strawberry.types.nodes import Selection

from models.sessions import SessionClient as SessionClientRow
from models.sessions import SessionSlot as SessionSlotRow
from models.sessions import TrainingSession
from resolvers import dataloaders, labels
from resolvers.dataloaders import SessionClientRecord, SlotRecord
from resolvers.errors import NotFound
from resolvers.sessions.slots import wall_time
from resolvers.subpanels.registry import OwnerType
from schema.auth import User
from schema.clients import Client, client_nodes
from schema.confirmation.types import Confirmation, DateProposal, proposals_of_row
from schema.context import Context, Info
from schema.execution import NOT_READY, PRELOADED
from schema.json_sql import prebuilt
from schema.labels import ConfirmationSummaryLabel, SessionStatusLabel
from schema.pagination import MAX_PAGE_SIZE, Connection, paginate_loaded
from schema.prefetch import Deferred, below, later, same, selections_of
from schema.subpanels.field import subpanels_field

N = TypeVar("N")


def _placed(rows: Sequence[object | None], nodes: Sequence[N]) -> list[N | None]:
    """``nodes``, built in order from the rows present, where their rows were; None for
    the ids that named no row (``resolve_nodes``)."""
    built = iter(nodes)
    return [next(built) if row is not None else None for row in rows]


@strawberry.type
class SessionSlot(relay.Node):
    id: relay.NodeID[int]
    date: date
    start_time: time
    end_time: time
    location: str = strawberry.field(description="The slot's location, else the session's.")

    @classmethod
    def from_row(cls, row: SessionSlotRow | SlotRecord, session_location: str) -> SessionSlot:
        return cls(
            id=row.id,
            date=row.date,
            start_time=wall_time(row.start_time),
            end_time=wall_time(row.end_time),
            location=row.location or session_location,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[SessionSlot | None]:
        rows = await info.context.require_scope().get_many(SessionSlotRow, node_ids)
        sessions = await info.context.loader(dataloaders.sessions_by_id).load_many(
            [row.session_id for row in rows if row]
        )
        location = {s.id: s.location for s in sessions if s is not None}
        return [
            cls.from_row(row, location.get(row.session_id, "")) if row else None for row in rows
        ]


@strawberry.type(description="A client in a session, with its date confirmation.")
class SessionClient(relay.Node):
    id: relay.NodeID[int]
    version: int
    confirmation: Confirmation
    client: Client | Deferred[Client] = strawberry.field(graphql_type=Client)
    session_id: strawberry.Private[int]
    subpanels = subpanels_field(OwnerType.SESSION_CLIENT)

    @strawberry.field(description="Every date proposal sent to this client, newest first.")
    async def proposals(self, info: Info) -> list[DateProposal]:
        return await proposals_of_row(info, self.confirmation._row)

    @strawberry.field
    async def session(self, info: Info) -> Session:
        row = await info.context.loader(dataloaders.sessions_by_id).load(self.session_id)
        if row is None:
            raise NotFound(f"session {self.session_id} not found", field="session")
        (node,) = await session_nodes(info, [row], None)
        return node

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[SessionClient | None]:
        return await session_client_nodes_of(info, node_ids, None)


@strawberry.type
class Session(relay.Node):
    id: relay.NodeID[int]
    reference: str
    title: str
    product_code: str
    location: str
    first_date: date | None = strawberry.field(description="Date of the first slot.")
    last_date: date | None = strawberry.field(description="Date of the last slot.")
    version: int
    created_at: datetime
    updated_at: datetime
    status: SessionStatusLabel
    confirmation_summary: ConfirmationSummaryLabel | None = strawberry.field(
        description="The clients' confirmation summary; null without clients."
    )
    owner_id: strawberry.Private[int | None]
    # Ready when a list resolver prefetched them (schema/prefetch.py), else Deferred.
    slots: list[SessionSlot] | Deferred[list[SessionSlot]] = strawberry.field(
        graphql_type=list[SessionSlot], description="The planning, in date and time order."
    )
    # Set when a list resolver prefetched them (schema/prefetch.py).
    preloaded_clients: strawberry.Private[list[SessionClient] | None] = None
    subpanels = subpanels_field(OwnerType.SESSION)

    @classmethod
    def from_row(cls, row: TrainingSession, context: Context) -> Session:
        """The session; its slots load on demand unless a list resolver prefetched them."""
        summary, locale = row.confirmation_summary, context.locale

        async def load_slots() -> list[SessionSlot]:
            slots = await context.loader(dataloaders.slots_by_session).load(row.id)
            return [SessionSlot.from_row(slot, row.location) for slot in slots]

        return cls(
            id=row.id,
            reference=row.reference,
            title=row.title,
            product_code=row.product_code,
            location=row.location,
            first_date=row.first_date,
            last_date=row.last_date,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            status=SessionStatusLabel(
                value=row.status, label=labels.session_status(row.status, locale)
            ),
            confirmation_summary=ConfirmationSummaryLabel(
                value=summary, label=labels.confirmation_summary(summary, locale)
            )
            if summary
            else None,
            owner_id=row.owner_id,
            slots=Deferred(load_slots),
        )

    @strawberry.field
    async def owner(self, info: Info) -> User | None:
        if self.owner_id is None:
            return None
        row = await info.context.loader(dataloaders.users_by_id).load(self.owner_id)
        return User.from_row(row) if row else None

    async def _load_clients(
        self, info: Info, first: int | None, after: str | None
    ) -> Connection[SessionClient]:
        rows = await info.context.loader(dataloaders.session_clients_by_session).load(self.id)
        node_selections = below(selections_of(info), "edges", "node")
        nodes = await session_client_nodes(info, rows, node_selections)
        return paginate_loaded(nodes, first, after, same)

    def _preloaded_clients(
        self, first: int | None = MAX_PAGE_SIZE, after: str | None = None
    ) -> Connection[SessionClient] | Any:
        if self.preloaded_clients is None:
            return NOT_READY
        return paginate_loaded(self.preloaded_clients, first, after, same)

    @strawberry.field(
        description="The session's clients, in the order they were added.",
        # Read without a resolver call when prefetched (schema/execution.py).
        metadata={PRELOADED: _preloaded_clients},
    )
    def clients(
        self, info: Info, first: int | None = MAX_PAGE_SIZE, after: str | None = None
    ) -> Connection[SessionClient]:
        page = self._preloaded_clients(first, after)
        return later(self._load_clients(info, first, after)) if page is NOT_READY else page

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Session | None]:
        return await session_nodes_of(info, node_ids, None)


async def session_client_nodes(
    info: Info,
    rows: Sequence[SessionClientRow | SessionClientRecord],
    selections: list[Selection] | None,
) -> list[SessionClient]:
    """Session client nodes with labels in the caller's locale; their clients (and the
    clients' contacts) prefetched when the query selects them."""
    scope = info.context.require_scope()
    time_zone = await info.context.loader(dataloaders.organization_time_zone).load(
        scope.organization_id
    )
    locale = info.context.locale
    client_selections = below(selections, "client")
    clients: list[Any] | None = None
    if client_selections is not None and rows:
        ids = [row.client_id for row in rows]
        if info.context.json_fragments:  # the database builds the clients' JSON, if it can
            load = partial(_load_client, info)
            clients = await prebuilt(info.context, "Client", ids, client_selections, load)
        if clients is None:
            client_rows = await info.context.loader(dataloaders.clients_by_ids).load(tuple(ids))
            clients = await client_nodes(info, client_rows, client_selections)
    else:
        clients = [Deferred(partial(_load_client, info, row.client_id)) for row in rows]
    return [
        SessionClient(
            id=row.id,
            version=row.version,
            confirmation=Confirmation.of(row, locale, time_zone),
            client=client,
            session_id=row.session_id,
        )
        for row, client in zip(rows, clients, strict=True)
    ]


async def _load_client(info: Info, client_id: int) -> Client:
    row = await info.context.loader(dataloaders.clients_by_id).load(client_id)
    if row is None:  # deleted meanwhile
        raise NotFound(f"client {client_id} not found", field="client")
    (node,) = await client_nodes(info, [row], None)
    return node  # type: ignore[return-value]


async def session_nodes(
    info: Info, rows: Sequence[TrainingSession], selections: list[Selection] | None
) -> list[Session]:
    """Session nodes with their planning and clients prefetched (one statement per level
    for all of them) when the query selects those fields."""
    nodes = [Session.from_row(row, info.context) for row in rows]
    ids = [node.id for node in nodes]
    if nodes and below(selections, "slots") is not None:
        loader = info.context.loader(dataloaders.slots_by_sessions)
        for node, slots in zip(nodes, await loader.load(tuple(ids)), strict=True):
            node.slots = [SessionSlot.from_row(s, node.location) for s in slots]
    client_selections = below(selections, "clients", "edges", "node")
    if nodes and client_selections is not None:
        per_session = await info.context.loader(dataloaders.session_clients_by_sessions).load(
            tuple(ids)
        )
        flat = await session_client_nodes(
            info, [row for rows in per_session for row in rows], client_selections
        )
        position = 0
        for node, session_clients in zip(nodes, per_session, strict=True):
            node.preloaded_clients = flat[position : position + len(session_clients)]
            position += len(session_clients)
    return nodes


async def session_nodes_of(
    info: Info, ids: Iterable[int | str], selections: list[Selection] | None
) -> list[Session | None]:
    """The sessions with these ids in the order asked; None for a foreign or missing id."""
    rows = await info.context.require_scope().get_many(TrainingSession, ids)
    return _placed(rows, await session_nodes(info, [r for r in rows if r], selections))


async def session_client_nodes_of(
    info: Info, ids: Iterable[int | str], selections: list[Selection] | None
) -> list[SessionClient | None]:
    """The session clients with these ids in the order asked; None for a foreign or
    missing id."""
    rows = await info.context.require_scope().get_many(SessionClientRow, ids)
    return _placed(rows, await session_client_nodes(info, [r for r in rows if r], selections))


async def session_node(info: Info, row: TrainingSession) -> Session:
    """One session (a query or a mutation's answer) with what the query selects below it."""
    (node,) = await session_nodes(info, [row], selections_of(info))
    return node
