"""The client's side of a proposal (SPEC §5): the link token opens the proposal, the
public response page reads it (never writing), the client's answer is a conditional
state change on the current proposal only, and it notifies the session owner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from zoneinfo import ZoneInfo

from models.confirmation import DateProposal, ProposalAnswer, ProposalAnswerKind, TemplateKind
from models.core import User
from models.sessions import ConfirmationState, SessionClient
from resolvers import labels
from resolvers.audit import log_action
from resolvers.confirmation.emails import base_variables, token_hash
from resolvers.confirmation.history import confirmation_label
from resolvers.confirmation.session_client import (
    SessionClientContext,
    load_session_client_context,
    local_date,
    local_today,
)
from resolvers.confirmation.state import RECORD_TYPE, transition
from resolvers.context import Actor, ActorKind, Scope
from resolvers.errors import NotFound, UserError
from resolvers.outbox import queue_email
from resolvers.runtime import atomic, now
from resolvers.templates import render_template

ANSWERABLE = (ConfirmationState.PENDING, ConfirmationState.ACCEPTED, ConfirmationState.DECLINED)
MAX_TOKEN_CHARS = 200


class LinkGone(UserError):
    """The link was valid once: expired or superseded (HTTP 410 on the response page)."""

    code = "GONE"


class GoneReason(StrEnum):
    EXPIRED = "EXPIRED"
    SUPERSEDED = "SUPERSEDED"


@dataclass
class ProposalPage:
    """What the public response page shows."""

    proposal: DateProposal
    context: SessionClientContext
    gone: GoneReason | None

    @property
    def deadline(self) -> date:
        return self.proposal.deadline

    def answered_on(self) -> date | None:
        return local_date(self.proposal.answered_at, self.context.tz)

    def status_label(self, locale: str) -> str:
        return confirmation_label(self.context.session_client, self.context.tz.key, locale)


def _client_scope(proposal: DateProposal) -> Scope:
    label = proposal.to[0] if proposal.to else "client"
    return Scope(proposal.organization_id, Actor(ActorKind.CLIENT, str(proposal.id), label))


async def find_proposal(token: str) -> DateProposal:
    """The proposal a link token opens; unknown or tampered → NOT_FOUND."""
    if not token or len(token) > MAX_TOKEN_CHARS:
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
    context = await load_session_client_context(_client_scope(proposal), proposal.session_client_id)
    return ProposalPage(
        proposal, context, _gone_reason(proposal, context.session_client, context.tz)
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
    context = await load_session_client_context(scope, proposal.session_client_id)
    if session_client is None:
        raise gone_error(
            _gone_reason(proposal, context.session_client, context.tz) or GoneReason.SUPERSEDED
        )
    if local_today(context.tz) > proposal.deadline:
        raise gone_error(GoneReason.EXPIRED)
    at = now()
    await scope.create(ProposalAnswer, proposal_id=proposal.id, answer=answer, at=at, ip=ip[:64])
    await DateProposal.filter(id=proposal.id).update(answer=answer, answered_at=at)
    await transition(
        scope,
        session_client,
        ConfirmationState(answer.value),
        reason=f"client answer ({scope.actor.label})",
        confirmation_answered_at=at,
    )
    context.session_client = session_client
    await _notify_owner(scope, context, proposal, answer)


async def _notify_owner(
    scope: Scope, context: SessionClientContext, proposal: DateProposal, answer: ProposalAnswerKind
) -> None:
    """RESPONSE_NOTIFICATION to the session owner, in the organisation's locale."""
    owner_id = context.session.owner_id
    owner = await scope.query(User).filter(id=owner_id).first() if owner_id else None
    if owner is None or not owner.email:
        return
    locale = labels.locale_of(context.organization.default_locale)
    variables = {
        **base_variables(context, proposal.to),
        "answer": answer.value,
        "status_label": confirmation_label(context.session_client, context.tz.key, locale),
    }
    rendered = await render_template(scope, TemplateKind.RESPONSE_NOTIFICATION, locale, variables)
    await queue_email(
        scope,
        to=[owner.email],
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        kind=TemplateKind.RESPONSE_NOTIFICATION.value,
        concerns=context.email_owners(),
    )
