"""Training sessions, their planning and enrolled clients: Relay nodes, the session list
with filters and sort orders, and the planning/enrolment mutations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from functools import partial
from typing import Any

import strawberry
from strawberry import relay
from strawberry.types.nodes import Selection

from models.sessions import SessionClient as SessionClientRow
from models.sessions import SessionSlot as SessionSlotRow
from models.sessions import SessionStatus as SessionStatusModel
from models.sessions import TrainingSession
from resolvers import dataloaders, labels, sessions
from resolvers.dataloaders import EnrolmentRecord, SlotRecord
from resolvers.errors import NotFound
from schema.auth import User
from schema.clients import Client, client_nodes
from schema.common import DeleteResult, deleted, given_fields
from schema.confirmation.types import Confirmation, DateProposal, proposals_of_row
from schema.context import Context, Info
from schema.execution import NOT_READY, PRELOADED
from schema.labels import (
    ConfirmationSummary,
    ConfirmationSummaryLabel,
    SessionStatus,
    SessionStatusLabel,
)
from schema.pagination import MAX_PAGE_SIZE, Connection, paginate, paginate_loaded
from schema.prefetch import Deferred, below, later, same, selections_of, with_nodes
from schema.relay import db_id

SessionOrder = strawberry.enum(sessions.SessionOrder, name="SessionOrder")


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
            start_time=sessions.wall_time(row.start_time),
            end_time=sessions.wall_time(row.end_time),
            location=row.location or session_location,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[SessionSlot | None]:
        ids = [int(i) for i in node_ids]
        scope = info.context.require_scope()
        found = {r.id: r for r in await scope.query(SessionSlotRow).filter(id__in=ids)}
        owners = await info.context.loader(dataloaders.sessions_by_id).load_many(
            [r.session_id for r in found.values()]
        )
        location = {s.id: s.location for s in owners if s is not None}
        return [
            cls.from_row(found[i], location.get(found[i].session_id, "")) if i in found else None
            for i in ids
        ]


@strawberry.type(description="A client enrolled in a session, with its date confirmation.")
class SessionClient(relay.Node):
    id: relay.NodeID[int]
    version: int
    confirmation: Confirmation
    client: Client | Deferred[Client] = strawberry.field(graphql_type=Client)
    session_id: strawberry.Private[int]

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
        ids = [int(i) for i in node_ids]
        scope = info.context.require_scope()
        found = {r.id: r for r in await scope.query(SessionClientRow).filter(id__in=ids)}
        nodes = await session_client_nodes(info, list(found.values()), None)
        by_id = {node.id: node for node in nodes}
        return [by_id.get(i) for i in ids]


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
        rows = await info.context.loader(dataloaders.enrolments_by_session).load(self.id)
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
        description="Enrolled clients, in enrolment order.",
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
        rows = await info.context.loader(dataloaders.sessions_by_id).load_many(
            [int(i) for i in node_ids]
        )
        present = await session_nodes(info, [r for r in rows if r is not None], None)
        by_id = {node.id: node for node in present}
        return [by_id.get(int(i)) for i in node_ids]


async def session_client_nodes(
    info: Info,
    rows: Sequence[SessionClientRow | EnrolmentRecord],
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
    if client_selections is not None and rows:
        loader = info.context.loader(dataloaders.clients_by_ids)
        client_rows = await loader.load(tuple(row.client_id for row in rows))
        clients: list[Any] = await client_nodes(info, client_rows, client_selections)
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
    """Session nodes with their planning and enrolled clients prefetched (one statement
    per level for all of them) when the query selects those fields."""
    nodes = [Session.from_row(row, info.context) for row in rows]
    ids = [node.id for node in nodes]
    if nodes and below(selections, "slots") is not None:
        loader = info.context.loader(dataloaders.slots_by_sessions)
        for node, slots in zip(nodes, await loader.load(tuple(ids)), strict=True):
            node.slots = [SessionSlot.from_row(s, node.location) for s in slots]
    client_selections = below(selections, "clients", "edges", "node")
    if nodes and client_selections is not None:
        per_session = await info.context.loader(dataloaders.enrolments_by_sessions).load(tuple(ids))
        flat = await session_client_nodes(
            info, [row for rows in per_session for row in rows], client_selections
        )
        position = 0
        for node, enrolments in zip(nodes, per_session, strict=True):
            node.preloaded_clients = flat[position : position + len(enrolments)]
            position += len(enrolments)
    return nodes


async def session_node(info: Info, row: TrainingSession) -> Session:
    """One session (a query or a mutation's answer) with what the query selects below it."""
    (node,) = await session_nodes(info, [row], selections_of(info))
    return node


# ---------------------------------------------------------------- inputs


@strawberry.input
class SessionFilter:
    status: list[SessionStatus] | None = None  # type: ignore[valid-type]
    product_code: list[str] | None = None
    slot_from: date | None = strawberry.field(
        default=None, description="Sessions with a slot on or after this date."
    )
    slot_to: date | None = strawberry.field(
        default=None, description="Sessions with a slot on or before this date."
    )
    owner_id: list[strawberry.ID] | None = None
    confirmation_summary: list[ConfirmationSummary] | None = None  # type: ignore[valid-type]
    text: str | None = strawberry.field(default=None, description="In the title or reference.")

    def to_resolver(self) -> sessions.SessionFilter:
        try:
            owner_ids = [int(i) for i in self.owner_id or ()]
        except ValueError:
            raise NotFound("ownerId: unknown user", field="ownerId") from None
        return sessions.SessionFilter(
            statuses=self.status or (),
            product_codes=self.product_code or (),
            slot_from=self.slot_from,
            slot_to=self.slot_to,
            owner_ids=owner_ids,
            summaries=self.confirmation_summary or (),
            text=self.text or "",
        )


@strawberry.input
class SlotInput:
    date: date
    start_time: time
    end_time: time
    location: str = strawberry.field(default="", description="Empty: the session's location.")

    def to_spec(self) -> sessions.SlotSpec:
        return sessions.SlotSpec(self.date, self.start_time, self.end_time, self.location.strip())


@strawberry.input
class SlotPatch:
    date: date | None = strawberry.UNSET
    start_time: time | None = strawberry.UNSET
    end_time: time | None = strawberry.UNSET
    location: str | None = strawberry.UNSET


@strawberry.input
class CreateSessionInput:
    reference: str
    title: str
    product_code: str = ""
    location: str = ""
    status: SessionStatus = SessionStatusModel.DRAFT  # type: ignore[valid-type]
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="The owning user (default: the caller)."
    )
    slots: list[SlotInput] = strawberry.field(default_factory=list)

    def to_new(self) -> sessions.NewSession:
        values = given_fields(self, ("reference", "title", "product_code", "location", "status"))
        if self.owner_id is not None:
            values["owner_id"] = user_id(self.owner_id)
        return sessions.NewSession(values, [slot.to_spec() for slot in self.slots])


@strawberry.input
class UpdateSessionInput:
    id: relay.GlobalID
    version: int
    reference: str | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    product_code: str | None = strawberry.UNSET
    location: str | None = strawberry.UNSET
    status: SessionStatus | None = strawberry.UNSET  # type: ignore[valid-type]
    owner_id: strawberry.ID | None = strawberry.UNSET


def user_id(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise NotFound(f"user {value} not found", field="ownerId") from None


def _session_id(gid: relay.GlobalID) -> int:
    return db_id(gid, Session)


# ---------------------------------------------------------------- operations


@strawberry.type
class Query:
    @strawberry.field(description="Sessions matching the filter, in the chosen order.")
    async def sessions(
        self,
        info: Info,
        filter: SessionFilter | None = None,
        order_by: SessionOrder = sessions.SessionOrder.FIRST_DATE_ASC,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Session]:
        scope = info.context.require_scope()
        where = filter.to_resolver() if filter else sessions.SessionFilter()
        qs = sessions.sessions_query(scope, where, order_by)
        page = await paginate(qs, first, after, same)
        node_selections = below(selections_of(info), "edges", "node")
        return await with_nodes(page, lambda rows: session_nodes(info, rows, node_selections))

    @strawberry.field
    async def session(self, info: Info, id: relay.GlobalID) -> Session:
        scope = info.context.require_scope()
        return await session_node(info, await scope.get(TrainingSession, _session_id(id)))


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_session(self, info: Info, input: CreateSessionInput) -> Session:
        row = await sessions.create_session(info.context.require_writer(), input.to_new())
        return await session_node(info, row)

    @strawberry.mutation(
        description="Scripted bulk creation, all or nothing; a retry with the same "
        "idempotencyKey returns the first result without writing again."
    )
    async def create_sessions(
        self, info: Info, inputs: list[CreateSessionInput], idempotency_key: str | None = None
    ) -> list[Session]:
        rows = await sessions.create_sessions(
            info.context.require_writer(), [i.to_new() for i in inputs], idempotency_key
        )
        return await session_nodes(info, rows, selections_of(info))

    @strawberry.mutation(description="Partial update; a stale version is refused.")
    async def update_session(self, info: Info, input: UpdateSessionInput) -> Session:
        values = given_fields(
            input,
            ("reference", "title", "product_code", "location", "status", "owner_id"),
            nullable=("owner_id",),
        )
        if values.get("owner_id") is not None:
            values["owner_id"] = user_id(values["owner_id"])
        row = await sessions.update_session(
            info.context.require_writer(), _session_id(input.id), input.version, values
        )
        return await session_node(info, row)

    @strawberry.mutation(description="Refused while a client has a pending date proposal.")
    async def delete_session(self, info: Info, id: relay.GlobalID) -> DeleteResult:
        removed = await sessions.delete_session(info.context.require_writer(), _session_id(id))
        return deleted(Session, removed)

    @strawberry.mutation(description="Replace the whole planning at once.")
    async def set_session_planning(
        self,
        info: Info,
        session_id: relay.GlobalID,
        slots: list[SlotInput],
        version: int | None = None,
    ) -> Session:
        row = await sessions.set_planning(
            info.context.require_writer(),
            _session_id(session_id),
            [s.to_spec() for s in slots],
            version,
        )
        return await session_node(info, row)

    @strawberry.mutation
    async def add_session_slot(
        self, info: Info, session_id: relay.GlobalID, slot: SlotInput
    ) -> Session:
        row = await sessions.add_slot(
            info.context.require_writer(), _session_id(session_id), slot.to_spec()
        )
        return await session_node(info, row)

    @strawberry.mutation(description="Move a slot or change its location.")
    async def update_session_slot(self, info: Info, id: relay.GlobalID, slot: SlotPatch) -> Session:
        changes: dict[str, Any] = given_fields(slot, ("date", "start_time", "end_time"))
        if slot.location is not strawberry.UNSET:
            changes["location"] = (slot.location or "").strip()
        row = await sessions.update_slot(
            info.context.require_writer(), db_id(id, SessionSlot), changes
        )
        return await session_node(info, row)

    @strawberry.mutation
    async def remove_session_slot(self, info: Info, id: relay.GlobalID) -> Session:
        row = await sessions.remove_slot(info.context.require_writer(), db_id(id, SessionSlot))
        return await session_node(info, row)

    @strawberry.mutation
    async def add_client_to_session(
        self, info: Info, session_id: relay.GlobalID, client_id: relay.GlobalID
    ) -> SessionClient:
        row = await sessions.add_client(
            info.context.require_writer(), _session_id(session_id), db_id(client_id, Client)
        )
        (node,) = await session_client_nodes(info, [row], selections_of(info))
        return node

    @strawberry.mutation(
        description="Scripted bulk enrolment, all or nothing; a retry with the same "
        "idempotencyKey returns the first result without writing again."
    )
    async def add_clients_to_session(
        self,
        info: Info,
        session_id: relay.GlobalID,
        client_ids: list[relay.GlobalID],
        idempotency_key: str | None = None,
    ) -> list[SessionClient]:
        rows = await sessions.add_clients(
            info.context.require_writer(),
            _session_id(session_id),
            [db_id(c, Client) for c in client_ids],
            idempotency_key,
        )
        return await session_client_nodes(info, rows, selections_of(info))

    @strawberry.mutation(
        description="Refused (WRONG_STATE) while the client has a pending date proposal."
    )
    async def remove_client_from_session(
        self, info: Info, session_id: relay.GlobalID, client_id: relay.GlobalID
    ) -> Session:
        row = await sessions.remove_client(
            info.context.require_writer(), _session_id(session_id), db_id(client_id, Client)
        )
        return await session_node(info, row)
