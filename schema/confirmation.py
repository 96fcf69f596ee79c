"""Client confirmation of session dates: preview/send proposals, manual validation, the
read side (``Confirmation``, ``DateProposal``) and the scripted bulk send.

``Confirmation`` and the proposals are built from a ``SessionClient`` row by
``confirmation_of`` / ``proposals_of_row``, so that the SessionClient node type can expose
them as its ``confirmation`` and ``proposals`` fields; the top-level queries here make
them reachable by session client id meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import strawberry
from strawberry import relay

from models.confirmation import DateProposal as DateProposalRow
from models.confirmation import ProposalAnswerKind as ProposalAnswerKindModel
from models.sessions import ConfirmationState as ConfirmationStateModel
from models.sessions import SessionClient as SessionClientRow
from resolvers import confirmation, dataloaders, labels
from resolvers.errors import ValidationFailed
from resolvers.idempotency import run_once
from schema.bulk import BulkItemError
from schema.context import Info
from schema.documents import Document
from schema.labels import ConfirmationState, ConfirmationSummaryLabel
from schema.outbox import Email
from schema.relay import db_id

ProposalAnswerKind = strawberry.enum(ProposalAnswerKindModel, name="ProposalAnswerKind")
MAX_BULK_ITEMS = 100


class SessionClient:
    """Global-ID type name of session clients (their node type lives with the sessions)."""


def decode_session_client_id(gid: strawberry.ID) -> int:
    return db_id(gid, SessionClient)


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
        loader = info.context.loader(confirmation.proposal_loader)
        rows = await loader.load_many([int(i) for i in node_ids])
        return [cls.from_row(r) if r else None for r in rows]

    @strawberry.field(description="The proposal email, with its delivery status.")
    async def email(self, info: Info) -> Email | None:
        if self._row.email_id is None:
            return None
        row = await info.context.loader(confirmation.email_loader).load(self._row.email_id)
        return Email.from_row(row) if row else None

    @strawberry.field(description="The reminder email, if one was sent.")
    async def reminder_email(self, info: Info) -> Email | None:
        if self._row.reminder_email_id is None:
            return None
        row = await info.context.loader(confirmation.email_loader).load(self._row.reminder_email_id)
        return Email.from_row(row) if row else None

    @strawberry.field(description="Every answer the client gave, oldest first.")
    async def answers(self, info: Info) -> list[ProposalAnswer]:
        rows = await info.context.loader(confirmation.answers_loader).load(self._row.id)
        return [ProposalAnswer(answer=r.answer, at=r.at) for r in rows]

    @strawberry.field
    async def attachments(self, info: Info) -> list[Document]:
        rows = await info.context.loader(confirmation.document_loader).load_many(
            self._row.attachment_ids
        )
        return [Document.from_row(r) for r in rows if r is not None]


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
    _row: strawberry.Private[Any]  # SessionClient row or dataloaders.EnrolmentRecord
    _locale: strawberry.Private[str]

    @classmethod
    def of(cls, row: Any, locale: str, time_zone: str) -> Confirmation:
        list_value = labels.list_value(row.confirmation_state)
        return cls(
            session_client_id=strawberry.ID(relay.to_base64("SessionClient", row.id)),
            state=row.confirmation_state,
            label=confirmation.confirmation_label(row, time_zone, locale),
            list_value=ConfirmationSummaryLabel.of(list_value, locale),
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
        row = await info.context.loader(confirmation.proposal_loader).load(
            self._row.current_proposal_id
        )
        return DateProposal.from_row(row) if row else None

    @strawberry.field
    async def history(self, info: Info) -> list[ConfirmationHistoryEntry]:
        entries = await info.context.loader(confirmation.history_loader).load(self._row.id)
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
        summary = await info.context.loader(confirmation.session_summary_loader).load(
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
    rows = await info.context.loader(confirmation.proposals_loader).load(row.id)
    return [DateProposal.from_row(r) for r in rows]


@strawberry.input
class DateProposalInput:
    deadline: date = strawberry.field(description="Last day to answer (organisation time zone).")
    to: list[str] | None = strawberry.field(
        default=None, description="Default: the client's main contact."
    )
    cc: list[str] = strawberry.field(default_factory=list)
    bcc: list[str] = strawberry.field(default_factory=list)
    subject: str | None = strawberry.field(default=None, description="Default: the template's.")
    message: str = strawberry.field(default="", description="Free text added to the body.")
    attachment_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Documents uploaded beforehand."
    )
    locale: str | None = strawberry.field(
        default=None, description="fr or en; default: the organisation's."
    )

    def to_resolver(self) -> confirmation.ProposalInput:
        if self.locale is not None and self.locale not in ("fr", "en"):
            raise ValidationFailed("locale must be fr or en", field="locale")
        return confirmation.ProposalInput(
            deadline=self.deadline,
            to=self.to,
            cc=self.cc,
            bcc=self.bcc,
            subject=self.subject,
            message=self.message,
            attachment_ids=[db_id(gid, Document) for gid in self.attachment_ids],
            locale=self.locale,
        )


@strawberry.input
class BulkDateProposalInput:
    session_client_id: strawberry.ID
    proposal: DateProposalInput


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


@strawberry.type
class SendDateProposalPayload:
    proposal: DateProposal
    confirmation: Confirmation


@strawberry.type
class SendDateProposalResult:
    session_client_id: strawberry.ID
    ok: bool
    error: BulkItemError | None
    _proposal_id: strawberry.Private[int | None]

    @strawberry.field
    async def proposal(self, info: Info) -> DateProposal | None:
        if self._proposal_id is None:
            return None
        row = await info.context.loader(confirmation.proposal_loader).load(self._proposal_id)
        return DateProposal.from_row(row) if row else None


@strawberry.type
class SendDateProposalsPayload:
    results: list[SendDateProposalResult]


@strawberry.type
class ConfirmationSettings:
    reminder_days_before_deadline: int | None


def _bulk_result(item: dict[str, Any]) -> SendDateProposalResult:
    error = None
    if not item["ok"]:
        error = BulkItemError(
            code=item["errorCode"], field=item["errorField"], message=item["errorMessage"]
        )
    return SendDateProposalResult(
        session_client_id=strawberry.ID(relay.to_base64("SessionClient", item["sessionClientId"])),
        ok=item["ok"],
        error=error,
        _proposal_id=item["proposalId"],
    )


@strawberry.type
class Query:
    @strawberry.field(description="A session client's date confirmation.")
    async def session_client_confirmation(
        self, info: Info, session_client_id: strawberry.ID, locale: str | None = None
    ) -> Confirmation:
        scope = info.context.require_scope()
        row = await scope.get(SessionClientRow, decode_session_client_id(session_client_id))
        return await confirmation_of(info, row, locale)

    @strawberry.field(description="Every proposal sent to a session client, newest first.")
    async def session_client_proposals(
        self, info: Info, session_client_id: strawberry.ID
    ) -> list[DateProposal]:
        scope = info.context.require_scope()
        row = await scope.get(SessionClientRow, decode_session_client_id(session_client_id))
        return await proposals_of_row(info, row)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="What sendDateProposal would send, without sending.")
    async def preview_date_proposal(
        self, info: Info, session_client_id: strawberry.ID, input: DateProposalInput
    ) -> DateProposalPreview:
        draft = await confirmation.preview_date_proposal(
            info.context.require_writer(),
            decode_session_client_id(session_client_id),
            input.to_resolver(),
        )
        return DateProposalPreview(
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

    @strawberry.mutation(
        description="Email the session's dates to the client (state PENDING, email QUEUED)."
    )
    async def send_date_proposal(
        self, info: Info, session_client_id: strawberry.ID, input: DateProposalInput
    ) -> SendDateProposalPayload:
        scope = info.context.require_writer()
        sc_id = decode_session_client_id(session_client_id)
        proposal = await confirmation.send_date_proposal(scope, sc_id, input.to_resolver())
        row = await scope.get(SessionClientRow, sc_id)
        return SendDateProposalPayload(
            proposal=DateProposal.from_row(proposal),
            confirmation=await confirmation_of(info, row, None),
        )

    @strawberry.mutation(
        description="Proposals to many session clients, each validated on its own; a retry "
        "with the same idempotencyKey returns the first result."
    )
    async def send_date_proposals(
        self,
        info: Info,
        inputs: list[BulkDateProposalInput],
        idempotency_key: str | None = None,
    ) -> SendDateProposalsPayload:
        scope = info.context.require_writer()
        if len(inputs) > MAX_BULK_ITEMS:
            raise ValidationFailed(f"at most {MAX_BULK_ITEMS} items", field="inputs")
        items = [
            confirmation.BulkItem(
                decode_session_client_id(i.session_client_id), i.proposal.to_resolver()
            )
            for i in inputs
        ]

        async def produce() -> dict[str, Any]:
            return {"items": await confirmation.send_date_proposals(scope, items)}

        result = await run_once(scope, "sendDateProposals", idempotency_key, produce)
        return SendDateProposalsPayload(results=[_bulk_result(i) for i in result["items"]])

    @strawberry.mutation(
        description='"Validation manuelle": on → MANUALLY_VALIDATED, off → TO_CONFIRM.'
    )
    async def set_manual_validation(
        self, info: Info, session_client_id: strawberry.ID, enabled: bool
    ) -> Confirmation:
        row = await confirmation.set_manual_validation(
            info.context.require_writer(), decode_session_client_id(session_client_id), enabled
        )
        return await confirmation_of(info, row, None)

    @strawberry.mutation(description="Remind clients N days before the deadline (null: never).")
    async def update_confirmation_settings(
        self, info: Info, reminder_days_before_deadline: int | None
    ) -> ConfirmationSettings:
        organization = await confirmation.update_reminder_setting(
            info.context.require_writer(), reminder_days_before_deadline
        )
        return ConfirmationSettings(
            reminder_days_before_deadline=organization.reminder_days_before_deadline
        )
