"""Training sessions, their planning and enrolled clients: Relay nodes, the session list
with filters and sort orders, and the planning/enrolment mutations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

import strawberry
from strawberry import relay

from models.sessions import ConfirmationState as ConfirmationStateModel
from models.sessions import ConfirmationSummary as ConfirmationSummaryModel
from models.sessions import SessionClient as SessionClientRow
from models.sessions import SessionSlot as SessionSlotRow
from models.sessions import SessionStatus as SessionStatusModel
from models.sessions import TrainingSession
from resolvers import dataloaders, labels, sessions
from resolvers.errors import NotFound
from schema.auth import User
from schema.clients import Client
from schema.common import DeleteResult, deleted, given_fields
from schema.context import Info
from schema.pagination import MAX_PAGE_SIZE, Connection, paginate, paginate_loaded
from schema.relay import db_id

SessionStatus = strawberry.enum(SessionStatusModel, name="SessionStatus")
ConfirmationSummary = strawberry.enum(ConfirmationSummaryModel, name="ConfirmationSummary")
ConfirmationState = strawberry.enum(ConfirmationStateModel, name="ConfirmationState")
SessionOrder = strawberry.enum(sessions.SessionOrder, name="SessionOrder")


@strawberry.type
class SessionStatusLabel:
    value: SessionStatus  # type: ignore[valid-type]
    label: str


@strawberry.type
class ConfirmationSummaryLabel:
    value: ConfirmationSummary  # type: ignore[valid-type]
    label: str


@strawberry.type(description="A session client's date confirmation (SPEC §5).")
class Confirmation:
    state: ConfirmationState  # type: ignore[valid-type]
    sent_at: datetime | None
    deadline: date | None
    answered_at: datetime | None

    @strawberry.field(description="The state with its dates, as shown on the Client tab.")
    async def label(self, info: Info) -> str:
        time_zone = "Europe/Paris"
        if labels.needs_dates(self.state):
            scope = info.context.require_scope()
            loader = info.context.loader(dataloaders.organization_time_zone)
            time_zone = await loader.load(scope.organization_id)
        return labels.confirmation_state(
            self.state,
            info.context.locale,
            sent_at=self.sent_at,
            deadline=self.deadline,
            answered_at=self.answered_at,
            time_zone=time_zone,
        )

    @strawberry.field(description="The short value of the sessions list column.")
    def list_value(self, info: Info) -> str:
        return labels.confirmation_list_value(self.state, info.context.locale)


@strawberry.type
class SessionSlot(relay.Node):
    id: relay.NodeID[int]
    date: date
    start_time: time
    end_time: time
    location: str = strawberry.field(description="The slot's location, else the session's.")

    @classmethod
    def from_row(cls, row: SessionSlotRow, session_location: str) -> SessionSlot:
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
    client_id: strawberry.Private[int]
    session_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: SessionClientRow) -> SessionClient:
        return cls(
            id=row.id,
            version=row.version,
            confirmation=Confirmation(
                state=row.confirmation_state,
                sent_at=row.confirmation_sent_at,
                deadline=row.confirmation_deadline,
                answered_at=row.confirmation_answered_at,
            ),
            client_id=row.client_id,
            session_id=row.session_id,
        )

    @strawberry.field
    async def client(self, info: Info) -> Client:
        row = await info.context.loader(dataloaders.clients_by_id).load(self.client_id)
        if row is None:  # deleted meanwhile
            raise NotFound(f"client {self.client_id} not found", field="client")
        return Client.from_row(row)

    @strawberry.field
    async def session(self, info: Info) -> Session:
        row = await info.context.loader(dataloaders.sessions_by_id).load(self.session_id)
        if row is None:
            raise NotFound(f"session {self.session_id} not found", field="session")
        return Session.from_row(row)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[SessionClient | None]:
        ids = [int(i) for i in node_ids]
        scope = info.context.require_scope()
        found = {r.id: r for r in await scope.query(SessionClientRow).filter(id__in=ids)}
        return [cls.from_row(found[i]) if i in found else None for i in ids]


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
    status_value: strawberry.Private[SessionStatusModel]
    summary_value: strawberry.Private[ConfirmationSummaryModel | None]
    owner_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: TrainingSession) -> Session:
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
            status_value=row.status,
            summary_value=row.confirmation_summary,
            owner_id=row.owner_id,
        )

    @strawberry.field
    def status(self, info: Info) -> SessionStatusLabel:
        return SessionStatusLabel(
            value=self.status_value,
            label=labels.session_status(self.status_value, info.context.locale),
        )

    @strawberry.field(description="The clients' confirmation summary; null without clients.")
    def confirmation_summary(self, info: Info) -> ConfirmationSummaryLabel | None:
        if self.summary_value is None:
            return None
        return ConfirmationSummaryLabel(
            value=self.summary_value,
            label=labels.confirmation_summary(self.summary_value, info.context.locale),
        )

    @strawberry.field
    async def owner(self, info: Info) -> User | None:
        if self.owner_id is None:
            return None
        row = await info.context.loader(dataloaders.users_by_id).load(self.owner_id)
        return User.from_row(row) if row else None

    @strawberry.field(description="The planning, in date and time order.")
    async def slots(self, info: Info) -> list[SessionSlot]:
        rows = await info.context.loader(dataloaders.slots_by_session).load(self.id)
        return [SessionSlot.from_row(r, self.location) for r in rows]

    @strawberry.field(description="Enrolled clients, in enrolment order.")
    async def clients(
        self, info: Info, first: int | None = MAX_PAGE_SIZE, after: str | None = None
    ) -> Connection[SessionClient]:
        rows = await info.context.loader(dataloaders.enrolments_by_session).load(self.id)
        return paginate_loaded(rows, first, after, SessionClient.from_row)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Session | None]:
        rows = await info.context.loader(dataloaders.sessions_by_id).load_many(
            [int(i) for i in node_ids]
        )
        return [cls.from_row(r) if r else None for r in rows]


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
        return await paginate(qs, first, after, Session.from_row)

    @strawberry.field
    async def session(self, info: Info, id: relay.GlobalID) -> Session:
        scope = info.context.require_scope()
        return Session.from_row(await scope.get(TrainingSession, _session_id(id)))


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_session(self, info: Info, input: CreateSessionInput) -> Session:
        row = await sessions.create_session(info.context.require_writer(), input.to_new())
        return Session.from_row(row)

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
        return [Session.from_row(r) for r in rows]

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
        return Session.from_row(row)

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
        return Session.from_row(row)

    @strawberry.mutation
    async def add_session_slot(
        self, info: Info, session_id: relay.GlobalID, slot: SlotInput
    ) -> Session:
        row = await sessions.add_slot(
            info.context.require_writer(), _session_id(session_id), slot.to_spec()
        )
        return Session.from_row(row)

    @strawberry.mutation(description="Move a slot or change its location.")
    async def update_session_slot(self, info: Info, id: relay.GlobalID, slot: SlotPatch) -> Session:
        changes: dict[str, Any] = given_fields(slot, ("date", "start_time", "end_time"))
        if slot.location is not strawberry.UNSET:
            changes["location"] = (slot.location or "").strip()
        row = await sessions.update_slot(
            info.context.require_writer(), db_id(id, SessionSlot), changes
        )
        return Session.from_row(row)

    @strawberry.mutation
    async def remove_session_slot(self, info: Info, id: relay.GlobalID) -> Session:
        row = await sessions.remove_slot(info.context.require_writer(), db_id(id, SessionSlot))
        return Session.from_row(row)

    @strawberry.mutation
    async def add_client_to_session(
        self, info: Info, session_id: relay.GlobalID, client_id: relay.GlobalID
    ) -> SessionClient:
        row = await sessions.add_client(
            info.context.require_writer(), _session_id(session_id), db_id(client_id, Client)
        )
        return SessionClient.from_row(row)

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
        return [SessionClient.from_row(r) for r in rows]

    @strawberry.mutation(
        description="Refused (WRONG_STATE) while the client has a pending date proposal."
    )
    async def remove_client_from_session(
        self, info: Info, session_id: relay.GlobalID, client_id: relay.GlobalID
    ) -> Session:
        row = await sessions.remove_client(
            info.context.require_writer(), _session_id(session_id), db_id(client_id, Client)
        )
        return Session.from_row(row)
