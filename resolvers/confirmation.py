"""Client confirmation of session dates (SPEC §5): preview and send a date proposal,
the client's answer through the response link, manual validation, deadline expiry and
reminders, and the read side (labels, current proposal, history).

Every state change goes through ``confirmation_state.transition`` (history + event +
session summary in the same transaction). A proposal's link works while the session
client's ``current_proposal_id`` still points at it and its deadline (end of that day in
the organisation's time zone) has not passed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape
from strawberry.dataloader import DataLoader
from tortoise.expressions import Q

from models.audit import ChangeLogEntry
from models.confirmation import DateProposal, ProposalAnswer, ProposalAnswerKind, TemplateKind
from models.core import Organization, User
from models.outbox import OutboundEmail
from models.records import Document
from models.sessions import (
    Client,
    ConfirmationState,
    ConfirmationSummary,
    Contact,
    SessionClient,
    SessionSlot,
    SessionStatus,
    TrainingSession,
)
from resolvers.audit import log_action, log_changes
from resolvers.confirmation_labels import format_date, normalize_locale, state_label
from resolvers.confirmation_state import RECORD_TYPE, transition
from resolvers.context import Actor, ActorKind, Scope, system_scope
from resolvers.documents import documents_by_ids
from resolvers.errors import NotFound, UserError, ValidationFailed, WrongState
from resolvers.links import link
from resolvers.outbox import clean_addresses, clean_header, queue_email
from resolvers.runtime import atomic, current, current_unit, now
from resolvers.templates import RenderedEmail, render_template

ANSWERABLE = (ConfirmationState.PENDING, ConfirmationState.ACCEPTED, ConfirmationState.DECLINED)
HISTORY_ACTIONS = ("proposal_sent", "reminder_sent", "answer_refused")
TOKEN_BYTES = 32  # 256 random bits; only the SHA-256 is stored
MAX_MESSAGE_CHARS = 5000


class LinkGone(UserError):
    """The link was valid once: expired or superseded (HTTP 410 on the response page)."""

    code = "GONE"


class GoneReason(StrEnum):
    EXPIRED = "EXPIRED"
    SUPERSEDED = "SUPERSEDED"


@dataclass(frozen=True)
class ProposalInput:
    deadline: date
    to: Sequence[str] | None = None  # None: the client's main contact
    cc: Sequence[str] = ()
    bcc: Sequence[str] = ()
    subject: str | None = None  # None: from the template
    message: str = ""
    attachment_ids: Sequence[int] = ()
    locale: str | None = None  # None: the organisation's default locale


@dataclass
class Enrolment:
    """A session client with what a proposal is made of."""

    organization: Organization
    session_client: SessionClient
    session: TrainingSession
    slots: list[SessionSlot]
    client: Client
    contacts: list[Contact]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.organization.time_zone)

    @property
    def main_contact(self) -> Contact | None:
        return next((c for c in self.contacts if c.id == self.client.main_contact_id), None)

    def contact_for(self, address: str) -> Contact | None:
        lowered = address.lower()
        found = next((c for c in self.contacts if c.email.lower() == lowered), None)
        return found or self.main_contact


@dataclass
class Draft:
    """A proposal email exactly as it would be sent."""

    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    html: str
    text: str
    deadline: date
    locale: str
    message: str
    attachments: list[Document] = field(default_factory=list)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def response_url(token: str, answer: str | None = None) -> str:
    url = f"{current().public_base_url}/respond/{token}"
    return f"{url}?answer={answer}" if answer else url


def local_today(tz: ZoneInfo) -> date:
    return now().astimezone(tz).date()


def local_date(value: datetime | None, tz: ZoneInfo) -> date | None:
    return value.astimezone(tz).date() if value else None


async def load_enrolment(
    scope: Scope, session_client_id: int, *, for_update: bool = False
) -> Enrolment:
    session_client = await scope.get(SessionClient, session_client_id, for_update=for_update)
    session = await scope.get(TrainingSession, session_client.session_id)
    client = await scope.get(Client, session_client.client_id)
    return Enrolment(
        organization=await Organization.get(id=scope.organization_id),
        session_client=session_client,
        session=session,
        slots=list(await scope.query(SessionSlot).filter(session_id=session.id)),
        client=client,
        contacts=list(await scope.query(Contact).filter(client_id=client.id).order_by("id")),
    )


def planning_snapshot(
    session: TrainingSession, slots: Sequence[SessionSlot]
) -> list[dict[str, str]]:
    return [
        {
            "date": slot.date.isoformat(),
            "start": slot.start_time.strftime("%H:%M"),
            "end": slot.end_time.strftime("%H:%M"),
            "location": slot.location or session.location,
        }
        for slot in slots
    ]


def planning_for_display(snapshot: Sequence[dict[str, str]], locale: str) -> list[dict[str, str]]:
    return [
        {**slot, "date": format_date(date.fromisoformat(slot["date"]), locale)} for slot in snapshot
    ]


def _person(contact: Contact | None, fallback_email: str = "") -> dict[str, str]:
    if contact is None:
        return {"first_name": "", "last_name": "", "full_name": "", "email": fallback_email}
    full_name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "full_name": full_name,
        "email": contact.email,
    }


def _base_variables(enrolment: Enrolment, contact: dict[str, str]) -> dict[str, Any]:
    session = enrolment.session
    return {
        "organization": {"name": enrolment.organization.name},
        "session": {
            "reference": session.reference,
            "title": session.title,
            "location": session.location,
        },
        "client": {"name": enrolment.client.name},
        "contact": contact,
    }


def _proposal_variables(
    enrolment: Enrolment,
    snapshot: Sequence[dict[str, str]],
    deadline: date,
    locale: str,
    token: str,
    to: Sequence[str],
) -> dict[str, Any]:
    first = to[0] if to else ""
    return {
        **_base_variables(enrolment, _person(enrolment.contact_for(first), first)),
        "planning": planning_for_display(snapshot, locale),
        "deadline": format_date(deadline, locale),
        "accept_url": response_url(token, "accept"),
        "decline_url": response_url(token, "decline"),
        "response_url": response_url(token),
    }


def _check_can_propose(enrolment: Enrolment, deadline: date) -> None:
    if enrolment.session_client.confirmation_state == ConfirmationState.MANUALLY_VALIDATED:
        raise WrongState(
            "the dates are validated manually: turn manual validation off first",
            field="sessionClientId",
        )
    if not enrolment.slots or enrolment.session.status == SessionStatus.CANCELLED:
        raise WrongState("the session is not planned (no slot)", field="session")
    today = local_today(enrolment.tz)
    if deadline < today:
        raise ValidationFailed("the deadline is in the past", field="deadline")
    first_slot = min(slot.date for slot in enrolment.slots)
    if deadline > first_slot:
        raise ValidationFailed(
            f"the deadline must be on or before the first slot ({first_slot.isoformat()})",
            field="deadline",
        )


def _recipients(
    enrolment: Enrolment, data: ProposalInput
) -> tuple[list[str], list[str], list[str]]:
    if data.to is None:
        main = enrolment.main_contact
        to_raw = [main.email] if main and main.email else []
    else:
        to_raw = list(data.to)
    to = clean_addresses(to_raw, "to")
    if not to:
        raise ValidationFailed(
            "no valid recipient: the client has no main contact email", field="to"
        )
    return to, clean_addresses(data.cc, "cc"), clean_addresses(data.bcc, "bcc")


def _message_markup(message: str) -> Markup:
    """The sender's free text, escaped, line breaks kept."""
    return Markup("<br>\n").join(escape(line) for line in message.splitlines())


async def _sender_name(scope: Scope) -> str:
    user_id = scope.actor.user_id
    if user_id is not None:
        user = await scope.query(User).filter(id=user_id).first()
        if user is not None:
            return user.full_name or user.email
    return scope.actor.label


async def compose(scope: Scope, enrolment: Enrolment, data: ProposalInput, token: str) -> Draft:
    """Validate a proposal and render its email; writes nothing."""
    _check_can_propose(enrolment, data.deadline)
    to, cc, bcc = _recipients(enrolment, data)
    locale = normalize_locale(data.locale or enrolment.organization.default_locale)
    if len(data.message) > MAX_MESSAGE_CHARS:
        raise ValidationFailed(
            f"message is longer than {MAX_MESSAGE_CHARS} characters", field="message"
        )
    attachments = await documents_by_ids(scope, data.attachment_ids, "attachmentIds")
    variables = {
        **_proposal_variables(
            enrolment,
            planning_snapshot(enrolment.session, enrolment.slots),
            data.deadline,
            locale,
            token,
            to,
        ),
        "message": _message_markup(data.message),
        "sender": {"name": await _sender_name(scope)},
    }
    rendered = await render_template(scope, TemplateKind.DATE_PROPOSAL, locale, variables)
    subject = rendered.subject if data.subject is None else data.subject
    return Draft(
        to=to,
        cc=cc,
        bcc=bcc,
        subject=clean_header(subject, "subject"),
        html=rendered.html,
        text=rendered.text,
        deadline=data.deadline,
        locale=locale,
        message=data.message,
        attachments=attachments,
    )


PREVIEW_TOKEN = "PREVIEW-LINK"  # the real token exists only once the proposal is sent


async def preview_date_proposal(scope: Scope, session_client_id: int, data: ProposalInput) -> Draft:
    enrolment = await load_enrolment(scope, session_client_id)
    return await compose(scope, enrolment, data, PREVIEW_TOKEN)


async def _supersede(session_client: SessionClient) -> None:
    if session_client.current_proposal_id is not None:
        await DateProposal.filter(id=session_client.current_proposal_id, superseded_at=None).update(
            superseded_at=now()
        )


def _concerns(session_client: SessionClient) -> list[tuple[str, int]]:
    return [(RECORD_TYPE, session_client.id), ("session", session_client.session_id)]


async def _write_proposal(
    scope: Scope, enrolment: Enrolment, draft: Draft, token: str
) -> DateProposal:
    session_client = enrolment.session_client
    await _supersede(session_client)
    proposal = await scope.create(
        DateProposal,
        session_client_id=session_client.id,
        session_id=session_client.session_id,
        token_hash=token_hash(token),
        deadline=draft.deadline,
        planning=planning_snapshot(enrolment.session, enrolment.slots),
        to=draft.to,
        cc=draft.cc,
        bcc=draft.bcc,
        subject=draft.subject,
        message=draft.message,
        attachment_ids=[d.id for d in draft.attachments],
        locale=draft.locale,
        sender_kind=scope.actor.kind.value,
        sender_id=scope.actor.id,
        sender_label=scope.actor.label,
    )
    email = await queue_email(
        scope,
        to=draft.to,
        cc=draft.cc,
        bcc=draft.bcc,
        subject=draft.subject,
        html=draft.html,
        text=draft.text,
        attachment_ids=proposal.attachment_ids,
        kind=TemplateKind.DATE_PROPOSAL.value,
        concerns=_concerns(session_client),
    )
    proposal.email_id = email.id
    await proposal.save(update_fields=["email_id"])
    for document in draft.attachments:
        await link(scope, (RECORD_TYPE, session_client.id), ("document", document.id))
    reason = f"proposal sent to {', '.join(draft.to)}, deadline {draft.deadline.isoformat()}"
    if session_client.confirmation_state == ConfirmationState.PENDING:
        # PENDING → PENDING writes no field change: the resend still belongs in the history.
        await log_action(
            scope,
            RECORD_TYPE,
            session_client.id,
            "proposal_sent",
            new_value=ConfirmationState.PENDING,
            reason=reason,
        )
    await transition(
        scope,
        session_client,
        ConfirmationState.PENDING,
        reason=reason,
        confirmation_sent_at=now(),
        confirmation_deadline=draft.deadline,
        confirmation_answered_at=None,
        current_proposal_id=proposal.id,
    )
    return proposal


async def send_date_proposal(
    scope: Scope, session_client_id: int, data: ProposalInput
) -> DateProposal:
    """One transaction: proposal, outbox email, state change, change log, event."""
    scope.require_write()
    async with atomic():
        enrolment = await load_enrolment(scope, session_client_id, for_update=True)
        token = new_token()
        draft = await compose(scope, enrolment, data, token)
        return await _write_proposal(scope, enrolment, draft, token)


@dataclass(frozen=True)
class BulkItem:
    session_client_id: int
    data: ProposalInput


def _bulk_result(
    session_client_id: int, proposal: DateProposal | None, error: UserError | None
) -> dict[str, Any]:
    return {
        "sessionClientId": session_client_id,
        "ok": error is None,
        "proposalId": proposal.id if proposal else None,
        "errorCode": error.code if error else None,
        "errorField": error.field if error else None,
        "errorMessage": error.message if error else None,
    }


async def send_date_proposals(scope: Scope, items: Sequence[BulkItem]) -> list[dict[str, Any]]:
    """Each item validated and written independently (a savepoint each) in one transaction;
    the caller wraps this in ``idempotency.run_once``. Returns one JSON-able result per item."""
    scope.require_write()
    results: list[dict[str, Any]] = []
    unit = current_unit()
    for item in items:
        emails_before, events_before = len(unit.email_ids), len(unit.events)
        try:
            proposal = await send_date_proposal(scope, item.session_client_id, item.data)
        except UserError as exc:
            # The savepoint rolled back this item's rows: forget what it queued for dispatch.
            del unit.email_ids[emails_before:], unit.events[events_before:]
            results.append(_bulk_result(item.session_client_id, None, exc))
        else:
            results.append(_bulk_result(item.session_client_id, proposal, None))
    return results


async def set_manual_validation(
    scope: Scope, session_client_id: int, enabled: bool
) -> SessionClient:
    """ "Validation manuelle": on → MANUALLY_VALIDATED (a live link stops working), off → TO_CONFIRM."""
    scope.require_write()
    async with atomic():
        session_client = await scope.get(SessionClient, session_client_id, for_update=True)
        state = session_client.confirmation_state
        if enabled and state != ConfirmationState.MANUALLY_VALIDATED:
            await _supersede(session_client)
            await transition(
                scope,
                session_client,
                ConfirmationState.MANUALLY_VALIDATED,
                reason="manual validation on",
                current_proposal_id=None,
            )
        elif not enabled:
            if state != ConfirmationState.MANUALLY_VALIDATED:
                raise WrongState("the dates are not validated manually", field="enabled")
            await transition(
                scope, session_client, ConfirmationState.TO_CONFIRM, reason="manual validation off"
            )
    return session_client


# ---- The response link -------------------------------------------------------------


@dataclass
class ProposalPage:
    """What the public response page shows."""

    proposal: DateProposal
    enrolment: Enrolment
    gone: GoneReason | None

    @property
    def deadline(self) -> date:
        return self.proposal.deadline

    def answered_on(self) -> date | None:
        return local_date(self.proposal.answered_at, self.enrolment.tz)

    def status_label(self, locale: str) -> str:
        sc = self.enrolment.session_client
        return confirmation_label(sc, self.enrolment.tz, locale)


def _client_scope(proposal: DateProposal) -> Scope:
    label = proposal.to[0] if proposal.to else "client"
    return Scope(proposal.organization_id, Actor(ActorKind.CLIENT, str(proposal.id), label))


async def find_proposal(token: str) -> DateProposal:
    """The proposal a link token opens; unknown or tampered → NOT_FOUND."""
    if not token or len(token) > 200:
        raise NotFound("unknown link", field="token")
    digest = token_hash(token)
    proposal = await DateProposal.filter(token_hash=digest).first()
    if proposal is None:
        proposal = await DateProposal.filter(reminder_token_hash=digest).first()
    if proposal is None:
        raise NotFound("unknown link", field="token")
    return proposal


def _gone_reason(
    proposal: DateProposal, session_client: SessionClient, tz: ZoneInfo
) -> GoneReason | None:
    if (
        session_client.current_proposal_id != proposal.id
        or session_client.confirmation_state not in (*ANSWERABLE, ConfirmationState.EXPIRED)
    ):
        return GoneReason.SUPERSEDED
    if (
        session_client.confirmation_state == ConfirmationState.EXPIRED
        or local_today(tz) > proposal.deadline
    ):
        return GoneReason.EXPIRED
    return None


async def proposal_page(token: str) -> ProposalPage:
    """Read only: GET and HEAD of the link go through here and change nothing."""
    proposal = await find_proposal(token)
    enrolment = await load_enrolment(_client_scope(proposal), proposal.session_client_id)
    return ProposalPage(
        proposal, enrolment, _gone_reason(proposal, enrolment.session_client, enrolment.tz)
    )


def gone_error(reason: GoneReason) -> LinkGone:
    return LinkGone(f"this link is no longer valid ({reason.value.lower()})", reason=reason.value)


async def answer_proposal(token: str, answer: ProposalAnswerKind, ip: str = "") -> ProposalPage:
    """The client's answer: a conditional state change on the current proposal only."""
    proposal = await find_proposal(token)
    scope = _client_scope(proposal)
    try:
        async with atomic():
            await _record_answer(scope, proposal, answer, ip)
    except LinkGone as exc:
        async with atomic():
            await log_action(
                scope,
                RECORD_TYPE,
                proposal.session_client_id,
                "answer_refused",
                new_value=answer,
                reason=f"client answer {answer.value} refused: link {exc.details['reason'].lower()}",
            )
        raise
    return await proposal_page(token)


async def _record_answer(
    scope: Scope, proposal: DateProposal, answer: ProposalAnswerKind, ip: str
) -> None:
    # The row lock re-reads the WHERE clause after any concurrent commit (PostgreSQL), so a
    # manual validation or a newer proposal that got there first makes this find nothing.
    session_client = await (
        scope.query(SessionClient)
        .filter(
            id=proposal.session_client_id,
            current_proposal_id=proposal.id,
            confirmation_state__in=ANSWERABLE,
        )
        .select_for_update()
        .first()
    )
    enrolment = await load_enrolment(scope, proposal.session_client_id)
    if session_client is None:
        raise gone_error(
            _gone_reason(proposal, enrolment.session_client, enrolment.tz) or GoneReason.SUPERSEDED
        )
    if local_today(enrolment.tz) > proposal.deadline:
        raise gone_error(GoneReason.EXPIRED)
    at = now()
    await scope.create(ProposalAnswer, proposal_id=proposal.id, answer=answer, at=at, ip=ip[:64])
    await DateProposal.filter(id=proposal.id).update(answer=answer, answered_at=at)
    state = ConfirmationState(answer.value)
    await transition(
        scope,
        session_client,
        state,
        reason=f"client answer ({scope.actor.label})",
        confirmation_answered_at=at,
    )
    enrolment.session_client = session_client
    await _notify_owner(scope, enrolment, proposal, answer)


async def _notify_owner(
    scope: Scope, enrolment: Enrolment, proposal: DateProposal, answer: ProposalAnswerKind
) -> None:
    """RESPONSE_NOTIFICATION to the session owner, in the organisation's locale."""
    owner_id = enrolment.session.owner_id
    owner = await scope.query(User).filter(id=owner_id).first() if owner_id else None
    if owner is None or not owner.email:
        return
    locale = normalize_locale(enrolment.organization.default_locale)
    first = proposal.to[0] if proposal.to else ""
    variables = {
        **_base_variables(enrolment, _person(enrolment.contact_for(first), first)),
        "answer": answer.value,
        "status_label": confirmation_label(enrolment.session_client, enrolment.tz, locale),
    }
    rendered: RenderedEmail = await render_template(
        scope, TemplateKind.RESPONSE_NOTIFICATION, locale, variables
    )
    await queue_email(
        scope,
        to=[owner.email],
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        kind=TemplateKind.RESPONSE_NOTIFICATION.value,
        concerns=_concerns(enrolment.session_client),
    )


# ---- Time-driven jobs ---------------------------------------------------------------


async def expire_overdue_proposals() -> int:
    """PENDING past its deadline (end of that day, organisation time zone) → EXPIRED."""
    # A deadline already passed somewhere on Earth: candidates, refined per time zone.
    horizon = (now() + timedelta(days=1)).date()
    candidates = await SessionClient.filter(
        confirmation_state=ConfirmationState.PENDING, confirmation_deadline__lt=horizon
    ).values_list("id", "organization_id")
    expired = 0
    zones = await _time_zones({org_id for _, org_id in candidates})
    for session_client_id, org_id in candidates:
        scope = system_scope(org_id)
        today = local_today(zones[org_id])
        async with atomic():
            session_client = await (
                scope.query(SessionClient)
                .filter(
                    id=session_client_id,
                    confirmation_state=ConfirmationState.PENDING,
                    confirmation_deadline__lt=today,
                )
                .select_for_update()
                .first()
            )
            if session_client is not None:
                await transition(
                    scope, session_client, ConfirmationState.EXPIRED, reason="deadline passed"
                )
                expired += 1
    return expired


async def _time_zones(organization_ids: set[int]) -> dict[int, ZoneInfo]:
    rows = await Organization.filter(id__in=organization_ids).values_list("id", "time_zone")
    return {org_id: ZoneInfo(tz) for org_id, tz in rows}


async def send_due_reminders() -> int:
    """One reminder per PENDING proposal, N days before its deadline when the organisation
    asks for it; never twice (conditional claim), never after an answer, and not for a
    proposal sent on or after its reminder day (the proposal itself is fresh news)."""
    organizations = await Organization.filter(reminder_days_before_deadline__isnull=False)
    sent = 0
    for organization in organizations:
        tz = ZoneInfo(organization.time_zone)
        today = local_today(tz)
        days = timedelta(days=organization.reminder_days_before_deadline or 0)
        due = await DateProposal.filter(
            organization_id=organization.id,
            reminder_sent_at=None,
            superseded_at=None,
            answer=None,
            deadline__gte=today,
            deadline__lte=today + days,
            session_client__confirmation_state=ConfirmationState.PENDING,
        ).values_list("id", "deadline", "created_at")
        for proposal_id, deadline, created_at in due:
            if created_at.astimezone(tz).date() < deadline - days:
                sent += await _send_reminder(system_scope(organization.id), proposal_id)
    return sent


async def _send_reminder(scope: Scope, proposal_id: int) -> int:
    token = new_token()
    async with atomic():
        claimed = (
            await scope.query(DateProposal)
            .filter(id=proposal_id, reminder_sent_at=None)
            .update(reminder_sent_at=now(), reminder_token_hash=token_hash(token))
        )
        proposal = await scope.get(DateProposal, proposal_id)
        enrolment = await load_enrolment(scope, proposal.session_client_id, for_update=True)
        session_client = enrolment.session_client
        if (
            not claimed
            or session_client.current_proposal_id != proposal.id
            or session_client.confirmation_state != ConfirmationState.PENDING
        ):
            return 0  # another worker sent it, or the answer came in meanwhile (rolled back)
        variables = _proposal_variables(
            enrolment, proposal.planning, proposal.deadline, proposal.locale, token, proposal.to
        )
        rendered = await render_template(
            scope, TemplateKind.DATE_PROPOSAL_REMINDER, proposal.locale, variables
        )
        email = await queue_email(
            scope,
            to=proposal.to,
            cc=proposal.cc,
            bcc=proposal.bcc,
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            kind=TemplateKind.DATE_PROPOSAL_REMINDER.value,
            concerns=_concerns(session_client),
        )
        await scope.query(DateProposal).filter(id=proposal.id).update(reminder_email_id=email.id)
        await log_action(
            scope,
            RECORD_TYPE,
            session_client.id,
            "reminder_sent",
            new_value=ConfirmationState.PENDING,
            reason=f"reminder sent to {', '.join(proposal.to)}",
        )
    return 1


# ---- Read side ----------------------------------------------------------------------


def confirmation_label(session_client: SessionClient, tz: ZoneInfo, locale: str | None) -> str:
    return state_label(
        session_client.confirmation_state,
        sent=local_date(session_client.confirmation_sent_at, tz),
        deadline=session_client.confirmation_deadline,
        answered=local_date(session_client.confirmation_answered_at, tz),
        locale=locale,
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


async def proposals_of(
    scope: Scope, session_client_ids: Sequence[int]
) -> dict[int, list[DateProposal]]:
    """Newest first."""
    rows = (
        await scope.query(DateProposal)
        .filter(session_client_id__in=list(session_client_ids))
        .order_by("-id")
    )
    grouped: dict[int, list[DateProposal]] = defaultdict(list)
    for row in rows:
        grouped[row.session_client_id].append(row)
    return grouped


# Per-request dataloaders (N+1-free nested fields), built by ``info.context.loader``.


def history_loader(scope: Scope) -> DataLoader[int, list[HistoryEntry]]:
    async def load(ids: list[int]) -> list[list[HistoryEntry]]:
        found = await history_of(scope, ids)
        return [found.get(i, []) for i in ids]

    return DataLoader(load_fn=load)


def proposals_loader(scope: Scope) -> DataLoader[int, list[DateProposal]]:
    async def load(ids: list[int]) -> list[list[DateProposal]]:
        found = await proposals_of(scope, ids)
        return [found.get(i, []) for i in ids]

    return DataLoader(load_fn=load)


def proposal_loader(scope: Scope) -> DataLoader[int, DateProposal | None]:
    async def load(ids: list[int]) -> list[DateProposal | None]:
        found = {p.id: p for p in await scope.query(DateProposal).filter(id__in=ids)}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


def email_loader(scope: Scope) -> DataLoader[int, OutboundEmail | None]:
    async def load(ids: list[int]) -> list[OutboundEmail | None]:
        found = {e.id: e for e in await scope.query(OutboundEmail).filter(id__in=ids)}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


def time_zone_loader(scope: Scope) -> DataLoader[int, ZoneInfo]:
    async def load(ids: list[int]) -> list[ZoneInfo]:
        zones = await _time_zones(set(ids))
        return [zones[i] for i in ids]

    return DataLoader(load_fn=load)


async def update_reminder_setting(scope: Scope, days_before_deadline: int | None) -> Organization:
    """ "Remind N days before the deadline" (None: no reminder)."""
    scope.require_write()
    if days_before_deadline is not None and not 0 <= days_before_deadline <= 60:
        raise ValidationFailed("must be between 0 and 60 days", field="reminderDaysBeforeDeadline")
    async with atomic():
        organization = await Organization.get(id=scope.organization_id)
        before = {"reminder_days_before_deadline": organization.reminder_days_before_deadline}
        organization.reminder_days_before_deadline = days_before_deadline
        await organization.save(update_fields=["reminder_days_before_deadline", "updated_at"])
        await log_changes(
            scope,
            "organization",
            organization.id,
            before,
            {"reminder_days_before_deadline": days_before_deadline},
        )
    return organization


def session_summary_loader(scope: Scope) -> DataLoader[int, ConfirmationSummary | None]:
    async def load(ids: list[int]) -> list[ConfirmationSummary | None]:
        rows = (
            await scope.query(TrainingSession)
            .filter(id__in=ids)
            .values_list("id", "confirmation_summary")
        )
        found = {session_id: summary for session_id, summary in rows}
        return [ConfirmationSummary(found[i]) if found.get(i) else None for i in ids]

    return DataLoader(load_fn=load)


def answers_loader(scope: Scope) -> DataLoader[int, list[ProposalAnswer]]:
    async def load(ids: list[int]) -> list[list[ProposalAnswer]]:
        grouped: dict[int, list[ProposalAnswer]] = defaultdict(list)
        for row in await scope.query(ProposalAnswer).filter(proposal_id__in=ids).order_by("id"):
            grouped[row.proposal_id].append(row)
        return [grouped.get(i, []) for i in ids]

    return DataLoader(load_fn=load)


def document_loader(scope: Scope) -> DataLoader[int, Document | None]:
    async def load(ids: list[int]) -> list[Document | None]:
        found = {d.id: d for d in await scope.query(Document).filter(id__in=ids)}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)
