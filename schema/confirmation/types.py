"""The read types of client confirmation: ``Confirmation`` (state, label, history, live
proposal), ``DateProposal`` (a Relay node) and what previews and settings answer.

``Confirmation`` and the proposals are built from a ``SessionClient`` row by
``confirmation_of`` / ``proposals_of_row`` so that the SessionClient node type (with the
sessions) exposes them as its ``confirmation`` and ``proposals`` fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import cache
from typing import Any

import strawberry
from strawberry import relay

from models.confirmation import DateProposal as DateProposalRow
from models.confirmation import ProposalAnswerKind as ProposalAnswerKindModel
from models.sessions import ConfirmationState as ConfirmationStateModel
from models.sessions import SessionClient as SessionClientRow
from resolvers import dataloaders, labels
from resolvers.confirmation.history import confirmation_label
from resolvers.confirmation.proposals import Draft
from schema.context import Info
from schema.documents import Document
from schema.labels import ConfirmationState, ConfirmationSummaryLabel
from schema.outbox import Email

ProposalAnswerKind = strawberry.enum(ProposalAnswerKindModel, name="ProposalAnswerKind")


def locale_of(info: Info, locale: str | None) -> str:
    return locale or info.context.locale


@strawberry.type
class PlanningSlot:
    date: date
    start_time: str
    end_time: str
    location: str


@strawberry.type
class ProposalAnswer:
    answer: ProposalAnswerKind  # type: ignore[valid-type]
    at: datetime


@strawberry.type(description="Dates proposed to a client by email, answerable by link.")
class DateProposal(relay.Node):
    id: relay.NodeID[int]
    sent_at: datetime
    deadline: date
    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    message: str
    locale: str
    sender: str
    answer: ProposalAnswerKind | None  # type: ignore[valid-type]
    answered_at: datetime | None
    reminder_sent_at: datetime | None
    superseded_at: datetime | None
    planning: list[PlanningSlot]
    _row: strawberry.Private[DateProposalRow]

    @classmethod
    def from_row(cls, row: DateProposalRow) -> DateProposal:
        return cls(
            id=row.id,
            sent_at=row.created_at,
            deadline=row.deadline,
            to=row.to,
            cc=row.cc,
            bcc=row.bcc,
            subject=row.subject,
            message=row.message,
            locale=row.locale,
            sender=row.sender_label,
            answer=row.answer,
            answered_at=row.answered_at,
            reminder_sent_at=row.reminder_sent_at,
            superseded_at=row.superseded_at,
            planning=[
                PlanningSlot(
                    date=date.fromisoformat(slot["date"]),
                    start_time=slot["start"],
                    end_time=slot["end"],
                    location=slot["location"],
                )
                for slot in row.planning
            ],
            _row=row,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[DateProposal | None]:
        rows = await info.context.require_scope().get_many(DateProposalRow, node_ids)
        return [cls.from_row(r) if r else None for r in rows]

    @strawberry.field(description="The proposal email, with its delivery status.")
    async def email(self, info: Info) -> Email | None:
        return await _email(info, self._row.email_id)

    @strawberry.field(description="The reminder email, if one was sent.")
    async def reminder_email(self, info: Info) -> Email | None:
        return await _email(info, self._row.reminder_email_id)

    @strawberry.field(description="Every answer the client gave, oldest first.")
    async def answers(self, info: Info) -> list[ProposalAnswer]:
        rows = await info.context.loader(dataloaders.answers_by_proposal).load(self._row.id)
        return [ProposalAnswer(answer=r.answer, at=r.at) for r in rows]

    @strawberry.field
    async def attachments(self, info: Info) -> list[Document]:
        rows = await info.context.loader(dataloaders.documents_by_id).load_many(
            self._row.attachment_ids
        )
        return [Document.from_row(r) for r in rows if r is not None]


async def _email(info: Info, email_id: int | None) -> Email | None:
    if email_id is None:
        return None
    row = await info.context.loader(dataloaders.emails_by_id).load(email_id)
    return Email.from_row(row) if row else None


@strawberry.type
class ConfirmationHistoryEntry:
    at: datetime
    state: ConfirmationState  # type: ignore[valid-type]
    previous_state: ConfirmationState | None  # type: ignore[valid-type]
    action: str = strawberry.field(
        description="state_changed, proposal_sent, reminder_sent or answer_refused"
    )
    actor_kind: str
    actor: str
    reason: str


@cache  # a few states × locales; a nested page builds one per session client
def _list_value(state: ConfirmationStateModel, locale: str) -> ConfirmationSummaryLabel:
    return ConfirmationSummaryLabel.of(labels.list_value(state), locale)


@strawberry.type(description="A session client's date confirmation (SPEC §5).")
class Confirmation:
    session_client_id: strawberry.ID
    state: ConfirmationState  # type: ignore[valid-type]
    label: str
    list_value: ConfirmationSummaryLabel
    sent_at: datetime | None
    deadline: date | None
    answered_at: datetime | None
    manually_validated: bool
    _row: strawberry.Private[Any]  # a SessionClient row, or its record from the dataloaders
    _locale: strawberry.Private[str]

    @classmethod
    def of(cls, row: Any, locale: str, time_zone: str) -> Confirmation:
        return cls(
            session_client_id=strawberry.ID(relay.to_base64("SessionClient", row.id)),
            state=row.confirmation_state,
            label=confirmation_label(row, time_zone, locale),
            list_value=_list_value(row.confirmation_state, locale),
            sent_at=row.confirmation_sent_at,
            deadline=row.confirmation_deadline,
            answered_at=row.confirmation_answered_at,
            manually_validated=row.confirmation_state == ConfirmationStateModel.MANUALLY_VALIDATED,
            _row=row,
            _locale=locale,
        )

    @strawberry.field(description="The proposal whose link is live, if any.")
    async def proposal(self, info: Info) -> DateProposal | None:
        if self._row.current_proposal_id is None:
            return None
        row = await info.context.loader(dataloaders.proposals_by_id).load(
            self._row.current_proposal_id
        )
        return DateProposal.from_row(row) if row else None

    @strawberry.field
    async def history(self, info: Info) -> list[ConfirmationHistoryEntry]:
        entries = await info.context.loader(dataloaders.history_by_session_client).load(
            self._row.id
        )
        return [
            ConfirmationHistoryEntry(
                at=e.at,
                state=e.state,
                previous_state=e.previous_state,
                action=e.action,
                actor_kind=e.actor_kind,
                actor=e.actor,
                reason=e.reason,
            )
            for e in entries
        ]

    @strawberry.field(description="The session's client confirmation summary (list column).")
    async def session_summary(self, info: Info) -> ConfirmationSummaryLabel | None:
        summary = await info.context.loader(dataloaders.confirmation_summary_by_session).load(
            self._row.session_id
        )
        if summary is None:
            return None
        return ConfirmationSummaryLabel.of(summary, self._locale)


async def confirmation_of(info: Info, row: SessionClientRow, locale: str | None) -> Confirmation:
    """The ``confirmation`` of a SessionClient row."""
    tz = await info.context.loader(dataloaders.organization_time_zone).load(row.organization_id)
    return Confirmation.of(row, locale_of(info, locale), tz)


async def proposals_of_row(info: Info, row: SessionClientRow) -> list[DateProposal]:
    """The ``proposals`` of a SessionClient row, newest first (N+1-free)."""
    rows = await info.context.loader(dataloaders.proposals_by_session_client).load(row.id)
    return [DateProposal.from_row(r) for r in rows]


@strawberry.type(description="The proposal email exactly as it would be sent (links aside).")
class DateProposalPreview:
    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    html: str
    text: str
    deadline: date
    locale: str
    attachments: list[Document]

    @classmethod
    def of(cls, draft: Draft) -> DateProposalPreview:
        return cls(
            to=draft.to,
            cc=draft.cc,
            bcc=draft.bcc,
            subject=draft.subject,
            html=draft.html,
            text=draft.text,
            deadline=draft.deadline,
            locale=draft.locale,
            attachments=[Document.from_row(d) for d in draft.attachments],
        )


@strawberry.type
class ConfirmationSettings:
    reminder_days_before_deadline: int | None
