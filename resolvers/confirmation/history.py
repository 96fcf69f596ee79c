"""The read side of a confirmation: its label (SPEC §5 table) and its history — the
state changes, plus the actions that change no state (proposal resent, reminder sent,
answer refused)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import Q

from models.audit import ChangeLogEntry
from models.sessions import ConfirmationState
from resolvers import labels
from resolvers.confirmation.state import RECORD_TYPE
from resolvers.context import Scope

HISTORY_ACTIONS = ("proposal_sent", "reminder_sent", "answer_refused")


def confirmation_label(session_client: Any, time_zone: str, locale: str | None) -> str:
    """``session_client``: a SessionClient row, or any record with its confirmation fields."""
    return labels.confirmation_state(
        session_client.confirmation_state,
        locale,
        sent_at=session_client.confirmation_sent_at,
        deadline=session_client.confirmation_deadline,
        answered_at=session_client.confirmation_answered_at,
        time_zone=time_zone,
    )


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    state: ConfirmationState
    previous_state: ConfirmationState | None
    actor_kind: str
    actor: str
    reason: str
    action: str


def history_entry(row: ChangeLogEntry) -> HistoryEntry:
    """A state change row, or an action row (proposal resent, reminder, refused answer)
    whose ``new_value`` is the state it concerns."""
    changed = bool(row.field)
    return HistoryEntry(
        at=row.at,
        state=ConfirmationState(row.new_value),
        previous_state=ConfirmationState(row.old_value) if changed and row.old_value else None,
        actor_kind=row.actor_kind,
        actor=row.actor_label,
        reason=row.reason,
        action="state_changed" if changed else row.action,
    )


async def history_of(
    scope: Scope, session_client_ids: Sequence[int]
) -> dict[int, list[HistoryEntry]]:
    rows = await (
        scope.query(ChangeLogEntry)
        .filter(record_type=RECORD_TYPE, record_id__in=list(session_client_ids))
        .filter(Q(field="confirmation_state") | Q(action__in=HISTORY_ACTIONS))
        .order_by("at", "id")
    )
    grouped: dict[int, list[HistoryEntry]] = defaultdict(list)
    for row in rows:
        grouped[row.record_id].append(history_entry(row))
    return grouped
