"""The email outbox (SPEC §6): queue in the caller's transaction, deliver in the worker.

Delivery states: QUEUED → SENDING (claimed by one worker with a conditional update) →
SENT or FAILED; a retryable failure puts the row back to QUEUED for the next attempt.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import getaddresses
from typing import Any, cast

from email_validator import EmailNotValidError, validate_email
from tortoise.expressions import F, Q
from tortoise.functions import Count
from tortoise.queryset import QuerySet, UpdateQuery

from models.outbox import EmailStatus, OutboundEmail
from models.records import RecordLink
from resolvers.context import Scope, system_scope
from resolvers.errors import ValidationFailed, WrongState
from resolvers.events import emit_event, emit_events
from resolvers.rows import insert_rows
from resolvers.runtime import atomic, current, current_unit, now

RECORD_TYPE = "email"


def clean_header(value: str, field: str) -> str:
    """Header values from user input: refuse line breaks (header injection)."""
    if "\r" in value or "\n" in value:
        raise ValidationFailed(f"{field} must not contain line breaks", field=field)
    return value.strip()


def clean_addresses(values: Iterable[str], field: str) -> list[str]:
    """Validated ``addr@domain`` list (display names dropped), order kept, no duplicates."""
    cleaned: list[str] = []
    for raw in values:
        clean_header(raw, field)
        for _, address in getaddresses([raw]):
            valid = valid_address(address)
            if valid is None:
                raise ValidationFailed(
                    f"{field}: '{raw}' is not a valid email address", field=field
                )
            if valid.lower() not in (a.lower() for a in cleaned):
                cleaned.append(valid)
    return cleaned


def clean_address(raw: str, field: str) -> str:
    """One user-typed address (a lead's, a contact's) as it is stored and sent: the
    same normalisation as recipients (trimmed, display name dropped, domain lower-cased
    and in ASCII); refused unless it is exactly one valid address."""
    cleaned = clean_addresses([raw], field)
    if len(cleaned) != 1:
        raise ValidationFailed(f"{field}: '{raw}' is not one email address", field=field)
    return cleaned[0]


def valid_address(address: str) -> str | None:
    """The address in the form SMTP takes (an internationalised domain in ASCII, so any
    server accepts it; a non-ASCII local part needs a server with SMTPUTF8), or None.

    Syntax only: no DNS. ``test_environment`` keeps ``.test`` addresses (demo data,
    tests) accepted as before; other special-use domains (localhost, invalid…) are refused.
    """
    try:
        valid = validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return None
    return valid.ascii_email or valid.normalized


def new_message_id() -> str:
    domain = current().public_base_url.split("//")[-1].split("/")[0].split(":")[0] or "trainhub"
    return f"<{secrets.token_hex(16)}@{domain}>"


async def queue_email(
    scope: Scope,
    *,
    to: Sequence[str],
    subject: str,
    html: str,
    text: str,
    cc: Sequence[str] = (),
    bcc: Sequence[str] = (),
    attachment_ids: Sequence[int] = (),
    kind: str = "",
    concerns: Sequence[tuple[str, int]] = (),
) -> OutboundEmail:
    """Write an email to the outbox inside the current transaction; sent after commit."""
    recipients = clean_addresses(to, "to")
    if not recipients:
        raise ValidationFailed("at least one recipient is required", field="to")
    email = await scope.create(
        OutboundEmail,
        kind=kind,
        sender=current().smtp_from,
        to=recipients,
        cc=clean_addresses(cc, "cc"),
        bcc=clean_addresses(bcc, "bcc"),
        subject=clean_header(subject, "subject"),
        html=html,
        text=text,
        attachment_ids=list(attachment_ids),
        message_id=new_message_id(),
    )
    await _link_emails(scope, [(owner, email.id) for owner in dict.fromkeys(concerns)])
    current_unit().email_ids.append(email.id)
    return email


async def _link_emails(scope: Scope, links: Sequence[tuple[tuple[str, int], int]]) -> None:
    """Each (owner record, new email id) related, so the email shows in the owner's
    Emails panel: one INSERT, since a new email has no link yet (``link`` would look
    each one up first)."""
    if not links:
        return
    at = now()
    await insert_rows(
        RecordLink,
        [
            {
                "organization_id": scope.organization_id,
                "created_at": at,
                "updated_at": at,
                "version": 1,
                "owner_type": owner_type,
                "owner_id": owner_id,
                "target_type": RECORD_TYPE,
                "target_id": email_id,
            }
            for (owner_type, owner_id), email_id in links
        ],
    )


@dataclass(frozen=True)
class EmailDraft:
    """One email of a bulk send, to one address already validated (``valid_address``)."""

    to: str
    subject: str
    html: str
    text: str
    concerns: tuple[str, int]  # the record whose Emails panel shows it


async def queue_emails(
    scope: Scope, drafts: Sequence[EmailDraft], *, kind: str, attachment_ids: Sequence[int]
) -> list[int]:
    """``queue_email`` for many at once (a bulk send): the emails and their links in one
    INSERT each, inside the current transaction; their ids in the drafts' order."""
    if not drafts:
        return []
    at, sender = now(), current().smtp_from
    common = {
        "organization_id": scope.organization_id,
        "created_at": at,
        "updated_at": at,
        "version": 1,
        "kind": kind,
        "sender": sender,
        "cc": [],
        "bcc": [],
        "attachment_ids": list(attachment_ids),
        "status": EmailStatus.QUEUED,
        "attempts": 0,
        "last_error": "",
        "refused_recipients": {},
    }
    message_ids = [new_message_id() for _ in drafts]
    await insert_rows(
        OutboundEmail,
        [
            {
                **common,
                "to": [draft.to],
                "subject": clean_header(draft.subject, "subject"),
                "html": draft.html,
                "text": draft.text,
                "message_id": message_id,
            }
            for draft, message_id in zip(drafts, message_ids, strict=True)
        ],
    )
    # Read back by message id: a multi-row INSERT … RETURNING promises no order.
    by_message = dict(
        await OutboundEmail.filter(message_id__in=message_ids).values_list("message_id", "id")
    )
    ids = [int(by_message[m]) for m in message_ids]
    await _link_emails(
        scope, [(draft.concerns, email_id) for draft, email_id in zip(drafts, ids, strict=True)]
    )
    current_unit().email_ids.extend(ids)
    return ids


async def claim_emails(email_ids: Sequence[int], stale_after: timedelta) -> list[OutboundEmail]:
    """Take the rows among ``email_ids`` for sending, by id, in one UPDATE … RETURNING;
    those another worker has or that are done are left out.

    A row left SENDING by a killed worker becomes claimable again after ``stale_after``.
    """
    at = now()
    claim = OutboundEmail.filter(
        Q(status=EmailStatus.QUEUED)
        | Q(status=EmailStatus.SENDING, claimed_at__lt=at - stale_after),
        id__in=list(email_ids),
    ).update(status=EmailStatus.SENDING, claimed_at=at, attempts=F("attempts") + 1)
    return sorted(await _updated_rows(claim), key=lambda email: email.id)


async def _updated_rows(update: UpdateQuery) -> list[OutboundEmail]:
    """The rows ``update`` changed, as they are after it (Tortoise's update answers only
    a count; RETURNING is in PostgreSQL and SQLite ≥ 3.35)."""
    update._choose_db_if_not_chosen(True)
    update._make_query()
    query: Any = update.query
    sql, params = query.returning("*").get_parameterized_sql()
    rows = await update._db.execute_query_dict(sql, params)
    return [OutboundEmail._init_from_db(**row) for row in rows]


async def _finish(emails: Sequence[OutboundEmail], status: EmailStatus, **values: object) -> None:
    """``emails`` to ``status`` with one UPDATE, and their events, in the caller's
    transaction."""
    await OutboundEmail.filter(id__in=[email.id for email in emails]).update(
        status=status, version=F("version") + 1, updated_at=now(), **values
    )
    for organization_id in {email.organization_id for email in emails}:
        payloads = {
            email.id: {
                "status": status.value,
                "attempts": email.attempts,
                "error": values.get("last_error", ""),
            }
            for email in emails
            if email.organization_id == organization_id
        }
        await emit_events(
            system_scope(organization_id), "email.status_changed", RECORD_TYPE, payloads
        )


async def mark_sent(delivered: Sequence[tuple[OutboundEmail, dict[str, str]]]) -> None:
    """Delivered emails (each with its refused recipients) SENT, in one transaction: one
    UPDATE for those all recipients accepted. A partial refusal is still a delivery: the
    refused addresses are kept on the row."""
    at = now()
    async with atomic():
        accepted = [email for email, refused in delivered if not refused]
        if accepted:
            await _finish(
                accepted, EmailStatus.SENT, sent_at=at, refused_recipients={}, last_error=""
            )
        for email, refused in delivered:
            if refused:
                await _finish(
                    [email],
                    EmailStatus.SENT,
                    sent_at=at,
                    refused_recipients=refused,
                    last_error="; ".join(f"{a}: {r}" for a, r in refused.items()),
                )


async def mark_failed(email: OutboundEmail, error: str) -> None:
    async with atomic():
        await _finish([email], EmailStatus.FAILED, last_error=error)


async def mark_for_retry(email: OutboundEmail, error: str) -> None:
    async with atomic():
        await _finish([email], EmailStatus.QUEUED, last_error=error)


async def queued_email_ids(older_than: datetime, limit: int = 1000) -> list[int]:
    """Rows still QUEUED (enqueue lost, Redis restarted) or SENDING past their claim."""
    ids = await (
        OutboundEmail.filter(
            Q(status=EmailStatus.QUEUED, updated_at__lt=older_than)
            | Q(status=EmailStatus.SENDING, claimed_at__lt=older_than)
        )
        .order_by("id")
        .limit(limit)
        .values_list("id", flat=True)
    )
    return cast(list[int], ids)


async def depth_by_status() -> dict[EmailStatus, int]:
    """Emails of every organisation by status (the /metrics outbox gauge)."""
    rows = (
        await OutboundEmail.all().group_by("status").annotate(n=Count("id")).values("status", "n")
    )
    counts = dict.fromkeys(EmailStatus, 0)
    counts.update({EmailStatus(row["status"]): row["n"] for row in rows})
    return counts


def emails_query(scope: Scope, status: EmailStatus | None = None) -> QuerySet[OutboundEmail]:
    """The organisation's emails, newest first; status FAILED is the dead-letter list."""
    qs = scope.query(OutboundEmail)
    if status is not None:
        qs = qs.filter(status=status)
    return qs.order_by("-id")


async def retry_failed_email(scope: Scope, email_id: int | str) -> OutboundEmail:
    """The dead-letter list's retry: a FAILED email goes back to the queue."""
    scope.require_write()
    async with atomic():
        email = await scope.get(OutboundEmail, email_id, for_update=True)
        if email.status != EmailStatus.FAILED:
            raise WrongState(f"only a FAILED email can be retried (it is {email.status})")
        email.status = EmailStatus.QUEUED
        email.attempts = 0
        email.version += 1
        await email.save()
        await emit_event(scope, "email.status_changed", RECORD_TYPE, email.id, {"status": "QUEUED"})
        current_unit().email_ids.append(email.id)
    return email
