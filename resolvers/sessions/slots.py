"""A planning slot's value, the planning rules (a slot ends after it starts, no two
slots of a session overlap) and how slots are stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, time
from typing import Any

from models.sessions import SessionSlot
from resolvers.context import Scope
from resolvers.dataloaders import SLOT_ORDER
from resolvers.errors import ValidationFailed


def wall_time(value: time) -> time:
    """Slot times are local wall-clock times: drop the UTC zone Tortoise attaches."""
    return value.replace(tzinfo=None)


def stored_time(value: time) -> time:
    """The form Tortoise stores with time zone support on (the zone is a fixed marker)."""
    return value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class SlotSpec:
    date: date
    start_time: time
    end_time: time
    location: str = ""

    def describe(self) -> str:
        where = f" @ {self.location}" if self.location else ""
        return f"{self.date.isoformat()} {self.start_time:%H:%M}-{self.end_time:%H:%M}{where}"

    def columns(self) -> dict[str, Any]:
        """The ``SessionSlot`` columns this slot is stored as."""
        return {
            "date": self.date,
            "start_time": stored_time(self.start_time),
            "end_time": stored_time(self.end_time),
            "location": self.location,
        }

    @classmethod
    def of(cls, slot: SessionSlot) -> SlotSpec:
        return cls(slot.date, wall_time(slot.start_time), wall_time(slot.end_time), slot.location)


def _ends_before_start(slot: SlotSpec) -> bool:
    return slot.end_time <= slot.start_time


def _backwards(slot: SlotSpec, field: str) -> ValidationFailed:
    return ValidationFailed(
        f"slot {slot.describe()}: end time must be after start time", field=field
    )


def _overlap(earlier: SlotSpec, later: SlotSpec, field: str) -> ValidationFailed | None:
    """The error when ``later`` (not starting before ``earlier``) overlaps it, else None."""
    if earlier.date == later.date and later.start_time < earlier.end_time:
        return ValidationFailed(
            f"slots {earlier.describe()} and {later.describe()} overlap", field=field
        )
    return None


def _when(slot: SlotSpec) -> tuple[date, time]:
    return slot.date, slot.start_time


def validate_planning(slots: Sequence[SlotSpec], field: str = "slots") -> list[SlotSpec]:
    """The slots in date and time order; the first rule broken is refused."""
    for i, slot in enumerate(slots):
        if _ends_before_start(slot):
            raise _backwards(slot, f"{field}.{i}.endTime")
    ordered = sorted(slots, key=_when)
    for previous, following in zip(ordered, ordered[1:], strict=False):
        if error := _overlap(previous, following, field):
            raise error
    return ordered


def usable_planning(slots: Sequence[SlotSpec]) -> tuple[list[SlotSpec], list[ValidationFailed]]:
    """The slots that can be kept, in date and time order, and one error per slot left
    out (field ``slots.<position given>``): one ending before it starts, one overlapping
    a slot kept before it."""
    left_out = [
        _backwards(slot, f"slots.{i}.endTime")
        for i, slot in enumerate(slots)
        if _ends_before_start(slot)
    ]
    valid = [(i, slot) for i, slot in enumerate(slots) if not _ends_before_start(slot)]
    kept: list[SlotSpec] = []
    for i, slot in sorted(valid, key=lambda pair: _when(pair[1])):
        error = _overlap(kept[-1], slot, f"slots.{i}") if kept else None
        if error:
            left_out.append(error)
        else:
            kept.append(slot)
    return kept, left_out


async def current_planning(scope: Scope, session_id: int) -> list[SessionSlot]:
    return await scope.query(SessionSlot).filter(session_id=session_id).order_by(*SLOT_ORDER)


async def insert_slots(scope: Scope, session_id: int, slots: Sequence[SlotSpec]) -> None:
    await SessionSlot.bulk_create(
        [
            SessionSlot(
                organization_id=scope.organization_id,
                session_id=session_id,
                position=i,
                **slot.columns(),
            )
            for i, slot in enumerate(slots)
        ]
    )
