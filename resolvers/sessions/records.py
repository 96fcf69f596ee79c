"""Creating (one session, or a script's batch on the bulk contract), updating and
deleting sessions, with their change-log rows and events."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tortoise.exceptions import IntegrityError

from models.core import User
from models.sessions import ConfirmationState, SessionClient, SessionSlot, TrainingSession
from resolvers.audit import record_action, record_changes
from resolvers.bulk import (
    BulkCall,
    BulkResult,
    ErrorPolicy,
    ItemError,
    Written,
    run_bulk,
)
from resolvers.context import Scope, row_id
from resolvers.errors import Conflict, NotFound, UserError, ValidationFailed, WrongState
from resolvers.runtime import atomic
from resolvers.sessions.slots import SlotSpec, insert_slots, usable_planning, validate_planning
from resolvers.versioning import lock_at_version, update_versioned

SESSION = "session"  # the record type of sessions in the change log and events
REQUIRED = ("reference", "title")
MAX_SESSIONS_AT_ONCE = 100


@contextmanager
def taken_as_conflict(message: str, field: str | None) -> Iterator[None]:
    """A concurrent write took the unique value after our check: same answer as the check."""
    try:
        yield
    except IntegrityError:
        raise Conflict(message, field=field) from None


@dataclass
class NewSession:
    values: Mapping[str, Any]  # owner_id: a user's id as given (checked here)
    slots: Sequence[SlotSpec] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return str(self.values.get("reference", "")).strip()


def _clean_session(values: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    for name in REQUIRED:
        if name in cleaned and not cleaned[name]:
            raise ValidationFailed(f"{name} is required", field=name)
    return cleaned


async def _owner(scope: Scope, given: object) -> int | None:
    """The id of the organisation's user ``given`` names (None: no owner)."""
    if given is None:
        return None
    owner_id = row_id(given)
    if owner_id is None or not await scope.query(User).filter(id=owner_id).exists():
        raise NotFound(f"user {given} not found", field="ownerId")
    return owner_id


async def _check_reference_free(scope: Scope, reference: str) -> None:
    if reference and await scope.query(TrainingSession).filter(reference=reference).exists():
        raise Conflict(f"reference {reference} is already used", field="reference")


async def _session_values(
    scope: Scope, new: NewSession, lenient: bool
) -> tuple[dict[str, Any], list[SlotSpec], list[UserError]]:
    """The session's columns and slots. ``lenient``: an unknown owner (the caller owns the
    session then) and the slots breaking the planning rules are left out, one error each;
    otherwise the first of them is refused like a missing required field."""
    values = _clean_session(new.values)
    missing = next((name for name in REQUIRED if name not in values), None)
    if missing:
        raise ValidationFailed(f"{missing} is required", field=missing)
    left_out: list[UserError] = []
    try:
        owner_id = await _owner(scope, values.pop("owner_id", None))
    except NotFound as unknown:
        if not lenient:
            raise
        left_out.append(unknown)
        owner_id = None
    values["owner_id"] = scope.actor.user_id if owner_id is None else owner_id
    if not lenient:
        return values, validate_planning(new.slots), left_out
    slots, invalid_slots = usable_planning(new.slots)
    return values, slots, left_out + invalid_slots


async def _insert_session(
    scope: Scope, new: NewSession, lenient: bool = False
) -> tuple[TrainingSession, list[UserError]]:
    """The session, its slots, change-log row and event; what was left out of it."""
    values, slots, left_out = await _session_values(scope, new, lenient)
    with taken_as_conflict(f"reference {values['reference']} is already used", "reference"):
        session = await scope.create(
            TrainingSession,
            **values,
            first_date=slots[0].date if slots else None,
            last_date=slots[-1].date if slots else None,
        )
    await insert_slots(scope, session.id, slots)
    await record_action(
        scope,
        SESSION,
        session.id,
        "create",
        event="session.created",
        payload={"id": session.id, "reference": session.reference},
        new_value=session.reference,
    )
    return session, left_out


async def create_session(scope: Scope, new: NewSession) -> TrainingSession:
    scope.require_write()
    async with atomic():
        await _check_reference_free(scope, new.reference)
        session, _ = await _insert_session(scope, new)
    return session


async def create_sessions(
    scope: Scope,
    batch: Sequence[NewSession],
    policy: ErrorPolicy = ErrorPolicy.REJECT_EVERYTHING,
    idempotency_key: str | None = None,
) -> BulkResult:
    """A script's sessions on the bulk contract (resolvers/bulk.py): a reference already
    used, or given by an earlier item of the batch, is a CONFLICT of the item; under
    IGNORE_FAILED an unknown owner and invalid slots are left out of the session."""
    call = BulkCall("createSessions", batch, policy, idempotency_key, MAX_SESSIONS_AT_ONCE)
    written: set[str] = set()

    async def write(new: NewSession, lenient: bool) -> Written:
        if new.reference in written:
            raise Conflict(f"reference {new.reference} is given twice", field="reference")
        await _check_reference_free(scope, new.reference)
        session, left_out = await _insert_session(scope, new, lenient)
        written.add(new.reference)
        return Written(session.id, [ItemError.of(error) for error in left_out])

    return await run_bulk(scope, call, write)


async def update_session(
    scope: Scope, session_id: int, version: int, values: Mapping[str, Any]
) -> TrainingSession:
    scope.require_write()
    changes = _clean_session(values)
    with taken_as_conflict("this reference is already used", "reference"):
        async with atomic():
            session = await lock_at_version(scope, TrainingSession, session_id, version)
            if "owner_id" in changes:
                changes["owner_id"] = await _owner(scope, changes["owner_id"])
            reference = changes.get("reference")
            if reference and reference != session.reference:
                await _check_reference_free(scope, reference)
            before = await update_versioned(scope, session, changes)
            await record_changes(
                scope,
                SESSION,
                session.id,
                before,
                changes,
                event="session.updated",
                payload={"id": session.id, "fields": sorted(changes)},
            )
    return session


async def refuse_pending(scope: Scope, session_id: int, client_id: int | None) -> None:
    """WRONG_STATE while a client (any, or ``client_id``) has a proposal waiting for its
    answer: the session or the client cannot go before it is withdrawn."""
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


async def delete_session(scope: Scope, session_id: int) -> int:
    """Refused while a client has a proposal waiting for its answer."""
    scope.require_write()
    async with atomic():
        session = await scope.get(TrainingSession, session_id, for_update=True)
        await refuse_pending(scope, session.id, None)
        await scope.query(SessionSlot).filter(session_id=session.id).delete()
        await scope.query(SessionClient).filter(session_id=session.id).delete()
        await session.delete()
        await record_action(
            scope,
            SESSION,
            session.id,
            "delete",
            event="session.deleted",
            new_value=session.reference,
        )
    return session.id
