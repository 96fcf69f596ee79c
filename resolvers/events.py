"""Domain events: written in the caller's transaction, published after it commits."""

from __future__ import annotations

from typing import Any

from models.audit import DomainEvent
from resolvers.context import Scope
from resolvers.runtime import current_unit


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


async def events_after(
    organization_id: int, after_id: int, types: list[str] | None = None, limit: int = 500
) -> list[DomainEvent]:
    qs = DomainEvent.filter(organization_id=organization_id, id__gt=after_id)
    if types:
        qs = qs.filter(type__in=types)
    return await qs.order_by("id").limit(limit)
