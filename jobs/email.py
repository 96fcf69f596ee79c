"""Deliver one outbox email over SMTP (aiosmtplib), with bounded, backed-off retries."""

from __future__ import annotations

import asyncio
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
    """arq job id: enqueueing an email again while its job is pending is a no-op.

    Namespaced because arq's job keys are global to the Redis database.
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


class SmtpPool:
    """SMTP connections kept open and reused across deliveries, one transaction at a
    time each. After a failed transaction the session state is unknown, so that
    connection is dropped and the next use reconnects."""

    def __init__(self, config: SmtpConfig, size: int = 4) -> None:
        self.config = config
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(self._client())

    def _client(self) -> aiosmtplib.SMTP:
        c = self.config
        return aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            username=c.username or None,
            password=c.password or None,
            start_tls=c.starttls,
            timeout=c.timeout,
        )

    async def send(self, message: EmailMessage, recipients: list[str]) -> dict[str, str]:
        """Refused recipients of a partial refusal (which does not raise).

        Raises ``PermanentFailure`` for 5xx answers, anything else for retryable trouble.
        """
        client = await self._idle.get()
        try:
            refused = await self._send_on(client, message, recipients)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            client.close()
            answers = {r.recipient: f"{r.code} {r.message}" for r in exc.recipients}
            if all(r.code >= 500 for r in exc.recipients):
                raise PermanentFailure(f"all recipients refused: {answers}") from exc
            raise
        except aiosmtplib.SMTPResponseException as exc:
            client.close()
            if exc.code >= 500:
                raise PermanentFailure(f"{exc.code} {exc.message}") from exc
            raise
        except BaseException:
            client.close()
            raise
        finally:
            self._idle.put_nowait(client)
        return {address: f"{answer.code} {answer.message}" for address, answer in refused.items()}

    @staticmethod
    async def _send_on(
        client: aiosmtplib.SMTP, message: EmailMessage, recipients: list[str]
    ) -> dict[str, Any]:
        reused = client.is_connected
        if not reused:
            await client.connect()
        try:
            refused, _ = await client.send_message(message, recipients=recipients)
        except aiosmtplib.SMTPServerDisconnected:
            if not reused:
                raise
            # The server closed an idle connection since its last use: reconnect once.
            client.close()
            await client.connect()
            refused, _ = await client.send_message(message, recipients=recipients)
        return refused

    async def close(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                try:
                    await client.quit()
                except aiosmtplib.SMTPException:
                    client.close()


def backoff_seconds(attempt: int, base: float) -> float:
    return float(min(base * 2 ** max(attempt - 1, 0), 3600))


async def deliver_email(ctx: dict[str, Any], email_id: int) -> str:
    smtp: SmtpConfig = ctx["smtp"]
    pool: SmtpPool = ctx["smtp_pool"]
    email = await outbox.claim_email(
        email_id, stale_after=timedelta(seconds=EMAIL_JOB_TIMEOUT_SECONDS * 2)
    )
    if email is None:
        return "not claimable (done, or taken by another worker)"
    recipients = [*email.to, *email.cc, *email.bcc]
    try:
        message = await build_message(email, smtp.storage_dir)
        refused = await pool.send(message, recipients)
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
            _job_id=email_job_id(ctx["namespace"], email_id),
            _queue_name=ctx["queue_name"],
        )
    return len(ids)
