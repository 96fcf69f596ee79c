"""Changing a session's planning: the whole of it, or one slot at a time.

Every change goes through ``planning_changed``, which keeps the denormalised first/last
dates current and sends confirmations that relied on the old planning back to
TO_CONFIRM (``reset_after_planning_change``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from models.sessions import SessionSlot, TrainingSession
from resolvers.audit import record_changes
from resolvers.confirmation.state import reset_after_planning_change
from resolvers.context import Scope
from resolvers.runtime import atomic
from resolvers.sessions.records import SESSION
from resolvers.sessions.slots import SlotSpec, current_planning, insert_slots, validate_planning
from resolvers.versioning import lock_at_version, update_versioned


def _describe(slots: Iterable[SlotSpec]) -> list[str]:
    return [slot.describe() for slot in slots]


async def planning_changed(
    scope: Scope, session: TrainingSession, before: Sequence[SlotSpec]
) -> None:
    """Dates, version, change log, event and confirmation reset after the slots changed."""
    after = [SlotSpec.of(s) for s in await current_planning(scope, session.id)]
    if _describe(before) == _describe(after):
        return
    await update_versioned(
        scope,
        session,
        {
            "first_date": min((s.date for s in after), default=None),
            "last_date": max((s.date for s in after), default=None),
        },
    )
    await record_changes(
        scope,
        SESSION,
        session.id,
        {"planning": _describe(before)},
        {"planning": _describe(after)},
        event="session.planning_changed",
        payload={"id": session.id, "slots": _describe(after)},
    )
    if await reset_after_planning_change(scope, session.id):
        await session.refresh_from_db(fields=["confirmation_summary"])


async def _locked_planning(
    scope: Scope, session_id: int, version: int | None
) -> tuple[TrainingSession, list[SessionSlot]]:
    session = await lock_at_version(scope, TrainingSession, session_id, version)
    return session, await current_planning(scope, session.id)


async def set_planning(
    scope: Scope, session_id: int, slots: Sequence[SlotSpec], version: int | None = None
) -> TrainingSession:
    """Replace the whole planning atomically."""
    scope.require_write()
    planning = validate_planning(slots)
    async with atomic():
        session, current = await _locked_planning(scope, session_id, version)
        await scope.query(SessionSlot).filter(session_id=session.id).delete()
        await insert_slots(scope, session.id, planning)
        await planning_changed(scope, session, [SlotSpec.of(s) for s in current])
    return session


async def add_slot(scope: Scope, session_id: int, slot: SlotSpec) -> TrainingSession:
    scope.require_write()
    async with atomic():
        session, current = await _locked_planning(scope, session_id, None)
        before = [SlotSpec.of(s) for s in current]
        validate_planning([*before, slot], field="slot")
        await scope.create(
            SessionSlot, session_id=session.id, position=len(current), **slot.columns()
        )
        await planning_changed(scope, session, before)
    return session


async def _slot_and_planning(
    scope: Scope, slot_id: int
) -> tuple[SessionSlot, TrainingSession, list[SessionSlot]]:
    slot = await scope.get(SessionSlot, slot_id)
    session, current = await _locked_planning(scope, slot.session_id, None)
    return slot, session, current


async def update_slot(scope: Scope, slot_id: int, changes: Mapping[str, Any]) -> TrainingSession:
    """Move a slot (date, times) or change its location."""
    scope.require_write()
    async with atomic():
        slot, session, current = await _slot_and_planning(scope, slot_id)
        before = [SlotSpec.of(s) for s in current]
        moved = SlotSpec(**{**SlotSpec.of(slot).__dict__, **changes})
        others = [SlotSpec.of(s) for s in current if s.id != slot.id]
        validate_planning([*others, moved], field="slot")
        await scope.query(SessionSlot).filter(id=slot.id).update(**moved.columns())
        await planning_changed(scope, session, before)
    return session


async def remove_slot(scope: Scope, slot_id: int) -> TrainingSession:
    scope.require_write()
    async with atomic():
        slot, session, current = await _slot_and_planning(scope, slot_id)
        await scope.query(SessionSlot).filter(id=slot.id).delete()
        await planning_changed(scope, session, [SlotSpec.of(s) for s in current])
    return session
