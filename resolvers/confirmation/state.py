"""The confirmation state machine's shared core (SPEC §5): every state change of a
session client goes through ``transition`` (history + event), and the session's
confirmation summary is recomputed in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from models.sessions import ConfirmationState, ConfirmationSummary, SessionClient, TrainingSession
from resolvers.audit import record_action, record_changes
from resolvers.context import Scope
from resolvers.events import emit_event

RECORD_TYPE = "session_client"
CHANGED = "confirmation.changed"
PLANNING_CHANGED = "planning changed"
RESET_ON_PLANNING_CHANGE = (
    ConfirmationState.PENDING,
    ConfirmationState.ACCEPTED,
    ConfirmationState.MANUALLY_VALIDATED,
)


def summarize(states: Iterable[ConfirmationState]) -> ConfirmationSummary | None:
    """No clients → None; any DECLINED → DECLINED; else any PENDING → PENDING; else any
    TO_CONFIRM/EXPIRED → TO_CONFIRM; else CONFIRMED."""
    found = set(states)
    if not found:
        return None
    if ConfirmationState.DECLINED in found:
        return ConfirmationSummary.DECLINED
    if ConfirmationState.PENDING in found:
        return ConfirmationSummary.PENDING
    if found & {ConfirmationState.TO_CONFIRM, ConfirmationState.EXPIRED}:
        return ConfirmationSummary.TO_CONFIRM
    return ConfirmationSummary.CONFIRMED


async def refresh_summary(scope: Scope, session_id: int) -> ConfirmationSummary | None:
    states = (
        await scope.query(SessionClient)
        .filter(session_id=session_id)
        .values_list("confirmation_state", flat=True)
    )
    summary = summarize(ConfirmationState(s) for s in cast(list[str], states))
    await scope.query(TrainingSession).filter(id=session_id).update(confirmation_summary=summary)
    return summary


async def transition(
    scope: Scope,
    session_client: SessionClient,
    state: ConfirmationState,
    *,
    reason: str = "",
    unchanged_action: str | None = None,
    refresh: bool = True,
    **fields: Any,
) -> None:
    """Move one session client to ``state`` (plus confirmation fields), log and emit it.

    A move to the state it is already in changes no field, so it has no change-log row:
    ``unchanged_action`` (e.g. "proposal_sent" for a resend) names the history line it
    gets instead; without one (a client repeating an answer) only the event is emitted."""
    previous = session_client.confirmation_state
    session_client.confirmation_state = state
    for name, value in fields.items():
        setattr(session_client, name, value)
    session_client.version += 1
    await session_client.save()
    payload = {
        "sessionId": session_client.session_id,
        "clientId": session_client.client_id,
        "from": previous.value,
        "to": state.value,
        "reason": reason,
    }
    if previous != state:
        await record_changes(
            scope,
            RECORD_TYPE,
            session_client.id,
            {"confirmation_state": previous},
            {"confirmation_state": state},
            event=CHANGED,
            payload=payload,
            reason=reason,
        )
    elif unchanged_action is not None:
        await record_action(
            scope,
            RECORD_TYPE,
            session_client.id,
            unchanged_action,
            event=CHANGED,
            payload=payload,
            reason=reason,
            new_value=state,
        )
    else:
        await emit_event(scope, CHANGED, RECORD_TYPE, session_client.id, payload)
    if refresh:
        await refresh_summary(scope, session_client.session_id)


async def reset_after_planning_change(scope: Scope, session_id: int) -> int:
    """A slot added, removed or moved: confirmations that relied on the old planning go
    back to TO_CONFIRM (live proposal links stop working). Returns how many were reset."""
    affected = (
        await scope.query(SessionClient)
        .filter(session_id=session_id, confirmation_state__in=RESET_ON_PLANNING_CHANGE)
        .select_for_update()
    )
    for session_client in affected:
        await transition(
            scope,
            session_client,
            ConfirmationState.TO_CONFIRM,
            reason=PLANNING_CHANGED,
            refresh=False,
            current_proposal_id=None,
        )
    await refresh_summary(scope, session_id)
    return len(affected)
