"""What the confirmation crons call (SPEC §5): deadline expiry and reminders, and the
organisation's reminder setting they follow."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from models.confirmation import DateProposal, TemplateKind
from models.core import Organization
from models.sessions import ConfirmationState, SessionClient
from resolvers.audit import log_action, log_changes
from resolvers.confirmation.emails import new_token, proposal_variables, token_hash
from resolvers.confirmation.session_client import load_session_client_context, local_today
from resolvers.confirmation.state import RECORD_TYPE, transition
from resolvers.context import Scope, system_scope
from resolvers.errors import ValidationFailed
from resolvers.outbox import queue_email
from resolvers.runtime import atomic, now
from resolvers.templates import render_template

MAX_REMINDER_DAYS = 60


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
        context = await load_session_client_context(
            scope, proposal.session_client_id, for_update=True
        )
        session_client = context.session_client
        if (
            not claimed
            or session_client.current_proposal_id != proposal.id
            or session_client.confirmation_state != ConfirmationState.PENDING
        ):
            return 0  # another worker sent it, or the answer came in meanwhile (rolled back)
        variables = proposal_variables(
            context, proposal.planning, proposal.deadline, proposal.locale, token, proposal.to
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
            concerns=context.email_owners([*proposal.to, *proposal.cc]),
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


async def update_reminder_setting(scope: Scope, days_before_deadline: int | None) -> Organization:
    """ "Remind N days before the deadline" (None: no reminder)."""
    scope.require_write()
    if days_before_deadline is not None and not 0 <= days_before_deadline <= MAX_REMINDER_DAYS:
        raise ValidationFailed(
            f"must be between 0 and {MAX_REMINDER_DAYS} days", field="reminderDaysBeforeDeadline"
        )
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
