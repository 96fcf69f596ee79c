"""Deliver one outbox email over SMTP (aiosmtplib), with bounded, backed-off retries."""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiosmtplib
from arq import Retry

from models.outbox import OutboundEmail
from models.records import Document
from resolvers import outbox
from resolvers.runtime import now

log = logging.getLogger(__name__)
EMAIL_JOB_TIMEOUT_SECONDS = 30


def email_job_id(namespace: str, email_id: int) -> str:
    """arq job id: enqueueing the same email twice while a job is pending is a no-op.

    arq's job keys are global to the Redis server, hence the namespace in the id.
    """
    return f"{namespace}:email:{email_id}"


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 20.0
    max_attempts: int = 8
    retry_base_seconds: float = 5.0
    storage_dir: Path = Path("var/storage")


class PermanentFailure(Exception):
    """The server refused for good (5xx): no retry."""


async def build_message(email: OutboundEmail, storage_dir: Path) -> EmailMessage:
    message = EmailMessage()
    message["From"] = email.sender
    message["To"] = ", ".join(email.to)
    if email.cc:
        message["Cc"] = ", ".join(email.cc)
    message["Subject"] = email.subject
    message["Message-ID"] = email.message_id  # stable across retries: receivers can dedupe
    message["Date"] = format_datetime(email.created_at)
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    if email.attachment_ids:
        documents = await Document.filter(
            id__in=email.attachment_ids, organization_id=email.organization_id
        ).order_by("id")
        for doc in documents:
            maintype, _, subtype = (
                doc.content_type
                or mimetypes.guess_type(doc.filename)[0]
                or "application/octet-stream"
            ).partition("/")
            message.add_attachment(
                (storage_dir / doc.storage_name).read_bytes(),
                maintype=maintype,
                subtype=subtype or "octet-stream",
                filename=doc.filename,
            )
    return message


async def send_message(
    message: EmailMessage, recipients: list[str], smtp: SmtpConfig
) -> dict[str, str]:
    """Send over one connection; returns refused recipients (a partial refusal does not raise).

    Raises ``PermanentFailure`` for 5xx answers, anything else for retryable trouble.
    """
    try:
        refused, _ = await aiosmtplib.send(
            message,
            recipients=recipients,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username or None,
            password=smtp.password or None,
            start_tls=smtp.starttls,
            timeout=smtp.timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        answers = {r.recipient: f"{r.code} {r.message}" for r in exc.recipients}
        if all(r.code >= 500 for r in exc.recipients):
            raise PermanentFailure(f"all recipients refused: {answers}") from exc
        raise
    except aiosmtplib.SMTPResponseException as exc:
        if exc.code >= 500:
            raise PermanentFailure(f"{exc.code} {exc.message}") from exc
        raise
    return {address: f"{answer.code} {answer.message}" for address, answer in refused.items()}


def backoff_seconds(attempt: int, base: float) -> float:
    return float(min(base * 2 ** max(attempt - 1, 0), 3600))


async def deliver_email(ctx: dict[str, Any], email_id: int) -> str:
    smtp: SmtpConfig = ctx["smtp"]
    email = await outbox.claim_email(
        email_id, stale_after=timedelta(seconds=EMAIL_JOB_TIMEOUT_SECONDS * 2)
    )
    if email is None:
        return "not claimable (done, or taken by another worker)"
    recipients = [*email.to, *email.cc, *email.bcc]
    try:
        message = await build_message(email, smtp.storage_dir)
        refused = await send_message(message, recipients, smtp)
    except PermanentFailure as exc:
        await outbox.mark_failed(email, str(exc))
        return f"failed: {exc}"
    except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        if email.attempts >= smtp.max_attempts:
            await outbox.mark_failed(email, f"gave up after {email.attempts} attempts: {error}")
            return "failed: too many attempts"
        await outbox.mark_for_retry(email, error)
        delay = backoff_seconds(email.attempts, smtp.retry_base_seconds)
        log.warning(
            "email %s attempt %s failed (%s); retry in %.0fs",
            email.id,
            email.attempts,
            error,
            delay,
        )
        raise Retry(defer=delay) from exc
    await outbox.mark_sent(email, refused)
    return "sent" + (f" (refused: {', '.join(refused)})" if refused else "")


async def requeue_stuck_emails(ctx: dict[str, Any]) -> int:
    """Outbox sweep: re-enqueue rows left QUEUED (lost enqueue, Redis restart)."""
    ids = await outbox.queued_email_ids(older_than=now() - timedelta(seconds=60))
    for email_id in ids:
        await ctx["redis"].enqueue_job(
            "deliver_email",
            email_id,
            _job_id=email_job_id(ctx["redis_namespace"], email_id),
            _queue_name=ctx["queue_name"],
        )
    return len(ids)
