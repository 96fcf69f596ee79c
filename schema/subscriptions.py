"""Live domain events over graphql-transport-ws, with replay of what a subscriber missed."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from models.audit import DomainEvent
from resolvers.context import row_id
from resolvers.errors import ValidationFailed
from resolvers.events import events_after
from resolvers.leads.records import EVENT_TYPES
from schema.context import Info
from schema.execution import RecentByIdentity
from schema.leads.types import Lead
from schema.relay import db_id
from schema.sessions.types import Session


@strawberry.type
class Event:
    id: strawberry.ID
    type: str
    record_type: str
    record_id: strawberry.ID
    payload: JSON
    at: datetime

    @classmethod
    def from_row(cls, row: DomainEvent) -> Event:
        return cls(
            id=strawberry.ID(str(row.id)),
            type=row.type,
            record_type=row.record_type,
            record_id=strawberry.ID(str(row.record_id)),
            payload=row.payload,
            at=row.at,
        )


# The Event of each recent row: the event feed hands the same row to every subscriber of
# the organisation in this process, and they get the same Event, whose result
# schema/execution.py then executes once per document rather than once per subscriber.
_EVENTS: RecentByIdentity[DomainEvent, Event] = RecentByIdentity(256)


def _event_of(row: DomainEvent) -> Event:
    event = _EVENTS.get(row)
    if event is None:
        event = Event.from_row(row)
        _EVENTS.put(row, event)
    return event


async def event_stream(
    info: Info, types: list[str] | None, after: int | None
) -> AsyncGenerator[DomainEvent, None]:
    """Replay rows after ``after`` from the table, then live ones: no gap, no duplicate.

    The live feed is opened *before* the replay query, so an event committed during the
    replay is in the replay, the feed, or both; the ids replayed are skipped in the feed.
    Live events are yielded in commit order, which may differ from id order (ids are
    taken at insert time), so no id comparison with the replay's last one is made.
    """
    scope = info.context.require_subscriber()
    async with info.context.services.event_feed(scope.organization_id) as feed:
        start = after if after is not None else await _latest_event_id(scope.organization_id)
        replayed: set[int] = set()
        last = start
        while True:
            batch = await events_after(scope.organization_id, last, types)
            for event in batch:
                replayed.add(event.id)
                last = event.id
                yield event
            if len(batch) < 500:
                break
        while True:
            event = await feed.get()
            if event.id <= start or event.id in replayed or (types and event.type not in types):
                continue
            yield event


async def _latest_event_id(organization_id: int) -> int:
    latest = await DomainEvent.filter(organization_id=organization_id).order_by("-id").first()
    return latest.id if latest else 0


def _event_id(after: str | None) -> int | None:
    """The ``after`` argument: an event id as the events carry it."""
    if after is None:
        return None
    pk = 0 if after == "0" else row_id(after)  # 0: replay from the first event
    if pk is None:
        raise ValidationFailed(f"after: {after!r} is not an event id", field="after")
    return pk


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Domain events of the caller's organisation. Pass the last id seen as"
        " `after` to first receive what was missed."
    )
    async def events(
        self, info: Info, types: list[str] | None = None, after: strawberry.ID | None = None
    ) -> AsyncGenerator[Event, None]:
        async for row in event_stream(info, types, _event_id(after)):
            yield _event_of(row)

    @strawberry.subscription(
        description="Lead events (created, updated, waitlist status, merged, converted,"
        " deleted, restored), of one lead when `id` is given; `after` replays as in `events`."
    )
    async def lead_changed(
        self, info: Info, id: relay.GlobalID | None = None, after: strawberry.ID | None = None
    ) -> AsyncGenerator[Event, None]:
        wanted = db_id(id, Lead) if id is not None else None
        async for row in event_stream(info, list(EVENT_TYPES), _event_id(after)):
            if wanted is None or row.record_id == wanted:
                yield _event_of(row)

    @strawberry.subscription(
        description="Client confirmation changes (state, with its reason), of one session"
        " when `sessionId` is given; `after` replays as in `events`."
    )
    async def confirmation_changed(
        self,
        info: Info,
        session_id: relay.GlobalID | None = None,
        after: strawberry.ID | None = None,
    ) -> AsyncGenerator[Event, None]:
        wanted = db_id(session_id, Session) if session_id is not None else None
        async for row in event_stream(info, ["confirmation.changed"], _event_id(after)):
            if wanted is None or row.payload.get("sessionId") == wanted:
                yield _event_of(row)

    @strawberry.subscription(
        description="Delivery status changes of outbound emails (QUEUED, SENT, FAILED)."
    )
    async def email_status_changed(
        self, info: Info, after: strawberry.ID | None = None
    ) -> AsyncGenerator[Event, None]:
        async for row in event_stream(info, ["email.status_changed"], _event_id(after)):
            yield _event_of(row)
