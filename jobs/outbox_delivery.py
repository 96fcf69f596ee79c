"""Outbox delivery: the arq task that sends one outbox email over SMTP (aiosmtplib), the
enqueue of delivery jobs, and the sweep that enqueues again what was lost.

The worker's context (set up by ``app.worker``) holds ``smtp_pool`` (an ``SmtpPool``),
``retry_policy`` (a ``RetryPolicy``) and ``namespace`` (the Redis key prefix).
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import aiosmtplib
from arq import ArqRedis, Retry
from prometheus_client import Counter, Histogram

from jobs import job_tags
from models.outbox import OutboundEmail
from resolvers import documents, outbox
from resolvers.context import system_scope
from resolvers.runtime import now

log = logging.getLogger(__name__)

# Served at /metrics (app/metrics.py); outcome: sent, retry (a retryable failure), failed.
DELIVERY_ATTEMPTS = Counter(
    "trainhub_email_delivery_attempts_total", "SMTP delivery attempts, by outcome", ["outcome"]
)
DELIVERY_SECONDS = Histogram(
    "trainhub_email_delivery_seconds", "Time of one SMTP delivery attempt, by outcome", ["outcome"]
)


def _count_attempt(outcome: str, started: float) -> None:
    DELIVERY_ATTEMPTS.labels(outcome).inc()
    DELIVERY_SECONDS.labels(outcome).observe(time.perf_counter() - started)


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed delivery is tried again: decided here, and nowhere else.

    - Permanent, FAILED at once: the server answered 5xx to the transaction, or refused
      every recipient with 5xx. (A partial refusal is a delivery: SENT, refused kept.)
    - Retryable: any other SMTP answer or error (4xx), a timeout, a connection failure.
      Attempt n (counted on the row when a worker claims it) is followed by a wait of
      ``first_delay_seconds`` x 2^(n-1), at most ``MAX_DELAY_SECONDS``, until
      ``max_attempts`` attempts were made; then FAILED ("gave up after n attempts").
    - Lost, tried again: a row left SENDING (worker killed, unexpected error) or QUEUED
      without a job (enqueue lost, Redis restarted) for ``stale_after`` — one attempt's
      ``job_timeout_seconds`` plus arq's 10 s lock margin, so a live attempt (cancelled by
      arq at its timeout) is never taken over — is enqueued again by the outbox sweep and
      can be claimed again.
    - arq's own try limit per job is ``max_attempts + 1``: arq never stops a job before
      this policy does.
    - A FAILED email retried from the dead-letter list (``retryEmail``) starts at 0 attempts.
    """

    max_attempts: int = 8
    first_delay_seconds: float = 5.0
    job_timeout_seconds: int = 30
    MAX_DELAY_SECONDS = 3600
    LOCK_MARGIN_SECONDS = 10  # arq's: a running job's lock is its timeout plus 10 s

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=self.job_timeout_seconds + self.LOCK_MARGIN_SECONDS)

    @property
    def arq_max_tries(self) -> int:
        return self.max_attempts + 1

    @staticmethod
    def permanent_error(exc: BaseException) -> str | None:
        """The server's final answer when ``exc`` means never retry, else None."""
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            if all(r.code >= 500 for r in exc.recipients):
                answers = {r.recipient: f"{r.code} {r.message}" for r in exc.recipients}
                return f"all recipients refused: {answers}"
            return None
        if isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code >= 500:
            return f"{exc.code} {exc.message}"
        return None

    def retry_delay(self, attempts: int) -> float | None:
        """Seconds to wait after ``attempts`` failed attempts; None: give up."""
        if attempts >= self.max_attempts:
            return None
        return float(
            min(self.first_delay_seconds * 2 ** max(attempts - 1, 0), self.MAX_DELAY_SECONDS)
        )


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 20.0


# What a delivery attempt may raise; RetryPolicy tells a permanent one from a retryable one.
DELIVERY_ERRORS = (TimeoutError, aiosmtplib.SMTPException, OSError)


async def build_message(email: OutboundEmail) -> EmailMessage:
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
    scope = system_scope(email.organization_id)
    for doc, content in await documents.with_contents(scope, email.attachment_ids):
        maintype, _, subtype = (
            doc.content_type or mimetypes.guess_type(doc.filename)[0] or "application/octet-stream"
        ).partition("/")
        message.add_attachment(
            content, maintype=maintype, subtype=subtype or "octet-stream", filename=doc.filename
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
        """Refused recipients of a partial refusal (which does not raise)."""
        client = await self._idle.get()
        try:
            refused = await self._send_on(client, message, recipients)
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


async def deliver_email(ctx: dict[str, Any], email_id: int) -> str:
    pool: SmtpPool = ctx["smtp_pool"]
    policy: RetryPolicy = ctx["retry_policy"]
    email = await outbox.claim_email(email_id, stale_after=policy.stale_after)
    if email is None:
        return "not claimable (done, or taken by another worker)"
    started = time.perf_counter()
    try:
        refused = await pool.send(await build_message(email), [*email.to, *email.cc, *email.bcc])
    except DELIVERY_ERRORS as exc:
        if (answer := policy.permanent_error(exc)) is not None:
            _count_attempt("failed", started)
            await outbox.mark_failed(email, answer)
            return f"failed: {answer}"
        error = f"{type(exc).__name__}: {exc}"
        delay = policy.retry_delay(email.attempts)
        if delay is None:
            _count_attempt("failed", started)
            await outbox.mark_failed(email, f"gave up after {email.attempts} attempts: {error}")
            return "failed: too many attempts"
        _count_attempt("retry", started)
        await outbox.mark_for_retry(email, error)
        log.warning(
            "email %s attempt %s failed (%s); retry in %.0fs",
            email.id,
            email.attempts,
            error,
            delay,
        )
        raise Retry(defer=delay) from exc
    _count_attempt("sent", started)
    await outbox.mark_sent(email, refused)
    return "sent" + (f" (refused: {', '.join(refused)})" if refused else "")


def email_queue_name(namespace: str) -> str:
    """The email worker's own queue (see jobs/schedule.py)."""
    return f"{namespace}:queue:email"


def delivery_job_id(namespace: str, email_id: int) -> str:
    """arq job id: enqueueing an email again while its job is pending is a no-op.

    Namespaced because arq's job keys are global to the Redis database.
    """
    return f"{namespace}:email:{email_id}"


async def enqueue_deliveries(
    redis: ArqRedis, namespace: str, email_ids: Iterable[int], request_id: str = ""
) -> int:
    """One delivery job per email on the email queue; returns how many were enqueued
    (or already pending). A failed enqueue is logged and skipped: the row stays QUEUED
    and the outbox sweep enqueues it again. ``request_id``: see ``job_tags``."""
    enqueued = 0
    for email_id in email_ids:
        try:
            await redis.enqueue_job(
                deliver_email.__name__,
                email_id,
                _job_id=delivery_job_id(namespace, email_id),
                **job_tags(request_id),
                _queue_name=email_queue_name(namespace),
            )
        except Exception:  # noqa: BLE001 - see the docstring
            log.exception("enqueue of email %s failed; the outbox sweep will retry", email_id)
        else:
            enqueued += 1
    return enqueued


async def requeue_stuck_emails(ctx: dict[str, Any]) -> int:
    """Outbox sweep (cron): enqueue again the rows the retry policy deems lost."""
    policy: RetryPolicy = ctx["retry_policy"]
    ids = await outbox.queued_email_ids(older_than=now() - policy.stale_after)
    return await enqueue_deliveries(ctx["redis"], ctx["namespace"], ids)
