"""Domain events: written in the caller's transaction, published after it commits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.audit import DomainEvent
from resolvers.bulk_operations.rows import insert_rows
from resolvers.context import Scope
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
    current_unit().events.extend(
        DomainEvent._init_from_db(id=pk, **row) for pk, row in zip(ids, rows, strict=True)
    )


async def events_after(
    organization_id: int, after_id: int, types: list[str] | None = None, limit: int = 500
) -> list[DomainEvent]:
    qs = DomainEvent.filter(organization_id=organization_id, id__gt=after_id)
    if types:
        qs = qs.filter(type__in=types)
    return await qs.order_by("id").limit(limit)
