"""Training sessions, their planning and enrolled clients (SPEC §4–5).

Every write is one transaction with its change-log rows and events. Any change to the
planning goes through ``_planning_changed``, which keeps the denormalised first/last
dates current and sends confirmations that relied on the old planning back to
TO_CONFIRM (``reset_after_planning_change``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, time
from enum import StrEnum
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, RawSQL, Subquery
from tortoise.queryset import QuerySet

from models.core import User
from models.sessions import (
    Client,
    ConfirmationState,
    ConfirmationSummary,
    SessionClient,
    SessionSlot,
    SessionStatus,
    TrainingSession,
)
from resolvers.audit import log_action, log_changes
from resolvers.confirmation.state import refresh_summary, reset_after_planning_change
from resolvers.context import Scope
from resolvers.dataloaders import SLOT_ORDER
from resolvers.errors import Conflict, NotFound, ValidationFailed, WrongState
from resolvers.events import emit_event
from resolvers.idempotency import run_once
from resolvers.runtime import atomic
from resolvers.versioning import lock_at_version, update_versioned

SESSION = "session"
SESSION_FIELDS = ("reference", "title", "product_code", "location", "status", "owner_id")


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


def validate_planning(slots: Sequence[SlotSpec], field: str = "slots") -> list[SlotSpec]:
    """Each slot ends after it starts; no two slots of a session overlap. Sorted result."""
    for i, slot in enumerate(slots):
        if slot.end_time <= slot.start_time:
            raise ValidationFailed(
                f"slot {slot.describe()}: end time must be after start time",
                field=f"{field}.{i}.endTime",
            )
    ordered = sorted(slots, key=lambda s: (s.date, s.start_time))
    for previous, following in zip(ordered, ordered[1:], strict=False):
        if previous.date == following.date and following.start_time < previous.end_time:
            raise ValidationFailed(
                f"slots {previous.describe()} and {following.describe()} overlap", field=field
            )
    return ordered


# ---------------------------------------------------------------- queries


class SessionOrder(StrEnum):
    FIRST_DATE_ASC = "FIRST_DATE_ASC"
    FIRST_DATE_DESC = "FIRST_DATE_DESC"
    TITLE_ASC = "TITLE_ASC"
    TITLE_DESC = "TITLE_DESC"
    REFERENCE_ASC = "REFERENCE_ASC"
    REFERENCE_DESC = "REFERENCE_DESC"
    SUMMARY_ASC = "SUMMARY_ASC"
    SUMMARY_DESC = "SUMMARY_DESC"


# The summary sorts from "needs attention" to "done", not alphabetically; no clients last.
SUMMARY_RANK = RawSQL(
    "CASE confirmation_summary "
    + " ".join(
        f"WHEN '{summary.value}' THEN {rank}"
        for rank, summary in enumerate(
            (
                ConfirmationSummary.DECLINED,
                ConfirmationSummary.PENDING,
                ConfirmationSummary.TO_CONFIRM,
                ConfirmationSummary.CONFIRMED,
            )
        )
    )
    + " ELSE 4 END"
)
# Sessions without a slot (no first date) sort after planned ones on every backend.
UNPLANNED_LAST = RawSQL("CASE WHEN first_date IS NULL THEN 1 ELSE 0 END")


@dataclass(frozen=True)
class SessionFilter:
    statuses: Sequence[SessionStatus] = ()
    product_codes: Sequence[str] = ()
    slot_from: date | None = None  # sessions with a slot on or after this date…
    slot_to: date | None = None  # …and on or before this one
    owner_ids: Sequence[int] = ()
    summaries: Sequence[ConfirmationSummary] = ()
    text: str = ""  # in title or reference, case-insensitive


def sessions_query(
    scope: Scope, where: SessionFilter, order: SessionOrder = SessionOrder.FIRST_DATE_ASC
) -> QuerySet[TrainingSession]:
    qs = scope.query(TrainingSession)
    if where.statuses:
        qs = qs.filter(status__in=list(where.statuses))
    if where.product_codes:
        qs = qs.filter(product_code__in=list(where.product_codes))
    if where.owner_ids:
        qs = qs.filter(owner_id__in=list(where.owner_ids))
    if where.summaries:
        qs = qs.filter(confirmation_summary__in=list(where.summaries))
    if where.text.strip():
        text = where.text.strip()
        qs = qs.filter(Q(title__icontains=text) | Q(reference__icontains=text))
    if where.slot_from or where.slot_to:
        slots = scope.query(SessionSlot)
        if where.slot_from:
            slots = slots.filter(date__gte=where.slot_from)
        if where.slot_to:
            slots = slots.filter(date__lte=where.slot_to)
        qs = qs.filter(id__in=Subquery(slots.values("session_id")))
    return _ordered(qs, order)


def _ordered(qs: QuerySet[TrainingSession], order: SessionOrder) -> QuerySet[TrainingSession]:
    column, _, direction = order.value.rpartition("_")
    sign = "-" if direction == "DESC" else ""
    if column == "FIRST_DATE":
        return qs.annotate(unplanned=UNPLANNED_LAST).order_by(
            "unplanned", f"{sign}first_date", f"{sign}id"
        )
    if column == "SUMMARY":
        return qs.annotate(summary_rank=SUMMARY_RANK).order_by(
            f"{sign}summary_rank", "first_date", "id"
        )
    return qs.order_by(f"{sign}{column.lower()}", f"{sign}id")


# ---------------------------------------------------------------- sessions


def _clean_session(values: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    for name in ("reference", "title"):
        if name in cleaned and not cleaned[name]:
            raise ValidationFailed(f"{name} is required", field=name)
    return cleaned


async def _check_owner(scope: Scope, owner_id: int | None) -> None:
    if owner_id is not None and not await scope.query(User).filter(id=owner_id).exists():
        raise NotFound(f"user {owner_id} not found", field="ownerId")


async def _check_references_free(scope: Scope, references: Sequence[str]) -> None:
    seen: set[str] = set()
    for reference in references:
        if reference in seen:
            raise Conflict(f"reference {reference} is given twice", field="reference")
        seen.add(reference)
    taken = (
        await scope.query(TrainingSession)
        .filter(reference__in=references)
        .values_list("reference", flat=True)
    )
    if taken:
        raise Conflict(f"reference {taken[0]} is already used", field="reference")


@dataclass
class NewSession:
    values: Mapping[str, Any]
    slots: Sequence[SlotSpec] = field(default_factory=list)


async def _insert_session(scope: Scope, new: NewSession) -> TrainingSession:
    values = _clean_session(new.values)
    for name in ("reference", "title"):
        if name not in values:
            raise ValidationFailed(f"{name} is required", field=name)
    await _check_owner(scope, values.get("owner_id"))
    slots = validate_planning(new.slots)
    values.setdefault("owner_id", scope.actor.user_id)
    session = await scope.create(
        TrainingSession,
        **values,
        first_date=slots[0].date if slots else None,
        last_date=slots[-1].date if slots else None,
    )
    await _insert_slots(scope, session.id, slots)
    await log_action(scope, SESSION, session.id, "create", new_value=session.reference)
    await emit_event(
        scope,
        "session.created",
        SESSION,
        session.id,
        {"id": session.id, "reference": session.reference},
    )
    return session


async def _insert_slots(scope: Scope, session_id: int, slots: Sequence[SlotSpec]) -> None:
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


@contextmanager
def _taken_as_conflict(message: str, field: str) -> Iterator[None]:
    """A concurrent write took the unique value after our check: same answer as the check."""
    try:
        yield
    except IntegrityError:
        raise Conflict(message, field=field) from None


async def create_session(scope: Scope, new: NewSession) -> TrainingSession:
    scope.require_write()
    with _taken_as_conflict("this reference is already used", "reference"):
        async with atomic():
            await _check_references_free(scope, [str(new.values.get("reference", "")).strip()])
            return await _insert_session(scope, new)


async def create_sessions(
    scope: Scope, batch: Sequence[NewSession], idempotency_key: str | None
) -> list[TrainingSession]:
    """All or nothing; a retry with the same key returns the first result, writing nothing."""
    scope.require_write()
    if not batch:
        raise ValidationFailed("give at least one session", field="inputs")

    async def produce() -> dict[str, Any]:
        await _check_references_free(
            scope, [str(new.values.get("reference", "")).strip() for new in batch]
        )
        return {"ids": [(await _insert_session(scope, new)).id for new in batch]}

    with _taken_as_conflict("a reference is already used", "reference"):
        result = await run_once(scope, "createSessions", idempotency_key, produce)
    return await _in_order(scope.query(TrainingSession), result["ids"])


async def _in_order(qs: QuerySet[Any], ids: Sequence[int]) -> list[Any]:
    found = {row.id: row for row in await qs.filter(id__in=list(ids))}
    return [found[i] for i in ids if i in found]


async def update_session(
    scope: Scope, session_id: int, version: int, values: Mapping[str, Any]
) -> TrainingSession:
    scope.require_write()
    changes = _clean_session(values)
    with _taken_as_conflict("this reference is already used", "reference"):
        return await _update_session(scope, session_id, version, changes)


async def _update_session(
    scope: Scope, session_id: int, version: int, changes: dict[str, Any]
) -> TrainingSession:
    async with atomic():
        session = await lock_at_version(scope, TrainingSession, session_id, version)
        if "owner_id" in changes:
            await _check_owner(scope, changes["owner_id"])
        reference = changes.get("reference")
        if reference and reference != session.reference:
            await _check_references_free(scope, [reference])
        before = await update_versioned(scope, session, changes)
        if await log_changes(scope, SESSION, session.id, before, changes):
            await emit_event(
                scope,
                "session.updated",
                SESSION,
                session.id,
                {"id": session.id, "fields": sorted(changes)},
            )
    return session


async def delete_session(scope: Scope, session_id: int) -> int:
    """Refused while a client has a proposal waiting for its answer."""
    scope.require_write()
    async with atomic():
        session = await scope.get(TrainingSession, session_id, for_update=True)
        await _refuse_pending(scope, session.id, None)
        await scope.query(SessionSlot).filter(session_id=session.id).delete()
        await scope.query(SessionClient).filter(session_id=session.id).delete()
        await session.delete()
        await log_action(scope, SESSION, session.id, "delete", new_value=session.reference)
        await emit_event(scope, "session.deleted", SESSION, session.id, {"id": session.id})
    return session.id


# ---------------------------------------------------------------- planning


async def _current_planning(scope: Scope, session_id: int) -> list[SessionSlot]:
    return await scope.query(SessionSlot).filter(session_id=session_id).order_by(*SLOT_ORDER)


def _describe(slots: Iterable[SlotSpec]) -> list[str]:
    return [slot.describe() for slot in slots]


async def _planning_changed(
    scope: Scope, session: TrainingSession, before: Sequence[SlotSpec]
) -> None:
    """Dates, version, change log, event and confirmation reset after the slots changed."""
    after = [SlotSpec.of(s) for s in await _current_planning(scope, session.id)]
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
    await log_changes(
        scope, SESSION, session.id, {"planning": _describe(before)}, {"planning": _describe(after)}
    )
    await emit_event(
        scope,
        "session.planning_changed",
        SESSION,
        session.id,
        {"id": session.id, "slots": _describe(after)},
    )
    if await reset_after_planning_change(scope, session.id):
        await session.refresh_from_db(fields=["confirmation_summary"])


async def _locked_planning(
    scope: Scope, session_id: int, version: int | None
) -> tuple[TrainingSession, list[SessionSlot]]:
    session = await lock_at_version(scope, TrainingSession, session_id, version)
    return session, await _current_planning(scope, session.id)


async def set_planning(
    scope: Scope, session_id: int, slots: Sequence[SlotSpec], version: int | None = None
) -> TrainingSession:
    """Replace the whole planning atomically."""
    scope.require_write()
    planning = validate_planning(slots)
    async with atomic():
        session, current = await _locked_planning(scope, session_id, version)
        await scope.query(SessionSlot).filter(session_id=session.id).delete()
        await _insert_slots(scope, session.id, planning)
        await _planning_changed(scope, session, [SlotSpec.of(s) for s in current])
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
        await _planning_changed(scope, session, before)
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
        await _planning_changed(scope, session, before)
    return session


async def remove_slot(scope: Scope, slot_id: int) -> TrainingSession:
    scope.require_write()
    async with atomic():
        slot, session, current = await _slot_and_planning(scope, slot_id)
        await scope.query(SessionSlot).filter(id=slot.id).delete()
        await _planning_changed(scope, session, [SlotSpec.of(s) for s in current])
    return session


# ---------------------------------------------------------------- enrolled clients


async def _enrol(scope: Scope, session: TrainingSession, client: Client) -> SessionClient:
    enrolment = await scope.create(SessionClient, session_id=session.id, client_id=client.id)
    await log_action(scope, SESSION, session.id, "client_added", new_value=client.name)
    await emit_event(
        scope,
        "session.client_added",
        SESSION,
        session.id,
        {"id": session.id, "clientId": client.id, "sessionClientId": enrolment.id},
    )
    return enrolment


async def _enrolment_targets(
    scope: Scope, session_id: int, client_ids: Sequence[int]
) -> tuple[TrainingSession, list[Client]]:
    session = await scope.get(TrainingSession, session_id, for_update=True)
    if len(set(client_ids)) != len(client_ids):
        raise Conflict("a client is given twice", field="clientIds")
    clients = await _in_order(scope.query(Client), client_ids)
    if len(clients) != len(client_ids):
        missing = sorted(set(client_ids) - {c.id for c in clients})
        raise NotFound(f"client {missing[0]} not found", field="clientId")
    enrolled = (
        await scope.query(SessionClient)
        .filter(session_id=session.id, client_id__in=list(client_ids))
        .values_list("client_id", flat=True)
    )
    if enrolled:
        raise Conflict(f"client {enrolled[0]} is already in this session", field="clientId")
    return session, clients


async def add_client(scope: Scope, session_id: int, client_id: int) -> SessionClient:
    scope.require_write()
    with _taken_as_conflict("this client is already in the session", "clientId"):
        return await _add_client(scope, session_id, client_id)


async def _add_client(scope: Scope, session_id: int, client_id: int) -> SessionClient:
    async with atomic():
        session, (client,) = await _enrolment_targets(scope, session_id, [client_id])
        enrolment = await _enrol(scope, session, client)
        await refresh_summary(scope, session.id)
    return enrolment


async def add_clients(
    scope: Scope, session_id: int, client_ids: Sequence[int], idempotency_key: str | None
) -> list[SessionClient]:
    """All or nothing; a retry with the same key returns the first result, writing nothing."""
    scope.require_write()
    if not client_ids:
        raise ValidationFailed("give at least one client", field="clientIds")

    async def produce() -> dict[str, Any]:
        session, clients = await _enrolment_targets(scope, session_id, client_ids)
        ids = [(await _enrol(scope, session, client)).id for client in clients]
        await refresh_summary(scope, session.id)
        return {"ids": ids}

    with _taken_as_conflict("a client is already in the session", "clientIds"):
        result = await run_once(
            scope, f"addClientsToSession:{session_id}", idempotency_key, produce
        )
    return await _in_order(scope.query(SessionClient), result["ids"])


async def _refuse_pending(scope: Scope, session_id: int, client_id: int | None) -> None:
    pending = scope.query(SessionClient).filter(
        session_id=session_id, confirmation_state=ConfirmationState.PENDING
    )
    if client_id is not None:
        pending = pending.filter(client_id=client_id)
    if await pending.exists():
        raise WrongState(
            "a date proposal is waiting for the client's answer: withdraw it first",
            field="clientId" if client_id is not None else "id",
        )


async def remove_client(scope: Scope, session_id: int, client_id: int) -> TrainingSession:
    """Refused while the client has a proposal waiting for its answer (WRONG_STATE)."""
    scope.require_write()
    async with atomic():
        session = await scope.get(TrainingSession, session_id, for_update=True)
        enrolment = (
            await scope.query(SessionClient)
            .filter(session_id=session.id, client_id=client_id)
            .select_for_update()
            .first()
        )
        if enrolment is None:
            raise NotFound(f"client {client_id} is not in this session", field="clientId")
        await _refuse_pending(scope, session.id, client_id)
        await enrolment.delete()
        client_name = (
            await scope.query(Client).filter(id=client_id).first().values_list("name", flat=True)
        )
        await log_action(scope, SESSION, session.id, "client_removed", new_value=client_name)
        await emit_event(
            scope,
            "session.client_removed",
            SESSION,
            session.id,
            {"id": session.id, "clientId": client_id, "sessionClientId": enrolment.id},
        )
        session.confirmation_summary = await refresh_summary(scope, session.id)
    return session
