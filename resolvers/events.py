"""Domain events: written in the caller's transaction, published after it commits."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from models.audit import DomainEvent
from resolvers.context import Scope
from resolvers.rows import insert_rows
from resolvers.runtime import current_unit, now


async def emit_event(
    scope: Scope, type: str, record_type: str, record_id: int, payload: dict[str, Any]
) -> DomainEvent:
    event = await DomainEvent.create(
        organization_id=scope.organization_id,
        type=type,
        record_type=record_type,
        record_id=record_id,
        payload=payload,
        actor_kind=scope.actor.kind.value,
        actor_id=scope.actor.id,
    )
    current_unit().events.append(event)
    return event


def written_events(
    scope: Scope,
    type: str,
    record_type: str,
    at: datetime,
    written: Iterable[tuple[int, int, dict[str, Any]]],
) -> list[DomainEvent]:
    """Events an INSERT just wrote, as (id, record id, payload), for publishing after
    commit. One is built as a query's rows are (no validation: they were just written),
    the rest are copies of it: converting every field of thousands of events cost more
    than the INSERT that wrote them."""
    actor = scope.actor
    template = DomainEvent._init_from_db(
        id=0,
        organization_id=scope.organization_id,
        type=type,
        record_type=record_type,
        record_id=0,
        payload={},
        actor_kind=actor.kind.value,
        actor_id=actor.id,
        at=at,
    )
    events = []
    for pk, record_id, payload in written:
        event = copy.copy(template)
        event.id, event.record_id, event.payload = pk, record_id, payload
        events.append(event)
    return events


async def emit_events(
    scope: Scope, type: str, record_type: str, payloads: Mapping[int, dict[str, Any]]
) -> None:
    """``emit_event`` for many records (record id → payload) in one multi-row INSERT."""
    if not payloads:
        return
    at, actor = now(), scope.actor
    rows = [
        {
            "organization_id": scope.organization_id,
            "type": type,
            "record_type": record_type,
            "record_id": record_id,
            "payload": payload,
            "actor_kind": actor.kind.value,
            "actor_id": actor.id,
            "at": at,
        }
        for record_id, payload in payloads.items()
    ]
    # The ids of one INSERT come from the sequence in the rows' order.
    ids = sorted(await insert_rows(DomainEvent, rows, returning_id=True))
    written = zip(ids, payloads.items(), strict=True)
    current_unit().events.extend(
        written_events(
            scope, type, record_type, at, ((pk, rid, load) for pk, (rid, load) in written)
        )
    )


async def events_after(
    organization_id: int, after_id: int, types: list[str] | None = None, limit: int = 500
) -> list[DomainEvent]:
    qs = DomainEvent.filter(organization_id=organization_id, id__gt=after_id)
    if types:
        qs = qs.filter(type__in=types)
    return await qs.order_by("id").limit(limit)
