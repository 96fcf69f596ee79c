"""Outbox delivery: the arq task that sends a batch of outbox emails over one pooled SMTP
connection (aiosmtplib), the enqueue of delivery jobs, and the sweep that enqueues again
what was lost.

The worker's context (set up by ``app.worker``) holds ``smtp_pool`` (an ``SmtpPool``),
``retry_policy`` (a ``RetryPolicy``) and ``namespace`` (the Redis key prefix).
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import aiosmtplib
from arq import ArqRedis, Retry
from prometheus_client import Counter, Histogram

from jobs import TAG_REQUEST_ID, job_tags
from models.outbox import OutboundEmail
from resolvers import documents, outbox
from resolvers.context import system_scope
from resolvers.runtime import now

log = logging.getLogger(__name__)

# Connections the email worker keeps open; a job holds one for its whole batch.
SMTP_CONNECTIONS = 4
# Jobs the email worker runs at once: those without a connection wait for one (claiming
# nothing meanwhile) and take it as soon as a batch ends, where arq would start a new
# job only at its next poll of the queue (every 0.5 s).
EMAIL_JOBS = 2 * SMTP_CONNECTIONS
# Emails per delivery job: one claim UPDATE and one arq job for all of them, and a batch
# short enough to end well within a job's timeout.
BATCH_SIZE = 25

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
    if not email.attachment_ids:
        return message
    scope = system_scope(email.organization_id)
    for doc, content in await documents.with_contents(scope, email.attachment_ids):
        maintype, _, subtype = (
            doc.content_type or mimetypes.guess_type(doc.filename)[0] or "application/octet-stream"
        ).partition("/")
        message.add_attachment(
            content, maintype=maintype, subtype=subtype or "octet-stream", filename=doc.filename
        )
    return message


# Sends one message on a pooled connection; answers the refused recipients of a partial
# refusal (which does not raise).
Sender = Callable[[EmailMessage, list[str]], Awaitable[dict[str, str]]]


class SmtpPool:
    """SMTP connections kept open and reused across deliveries, one transaction at a
    time each. After a failed transaction the session state is unknown, so that
    connection is dropped and the next use reconnects."""

    def __init__(self, config: SmtpConfig, size: int = SMTP_CONNECTIONS) -> None:
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

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Sender]:
        """One connection of the pool, for a run of deliveries."""
        client = await self._idle.get()

        async def send(message: EmailMessage, recipients: list[str]) -> dict[str, str]:
            try:
                refused = await self._send_on(client, message, recipients)
            except BaseException:
                client.close()
                raise
            return {a: f"{answer.code} {answer.message}" for a, answer in refused.items()}

        try:
            yield send
        finally:
            self._idle.put_nowait(client)

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


class SentMarker:
    """Marks delivered emails SENT in the background while the next one is sent, as many
    per transaction as were delivered meanwhile (a group commit). What it has not
    marked when the worker dies stays SENDING and is sent again: at most the emails in
    flight."""

    def __init__(self) -> None:
        self._delivered: list[tuple[OutboundEmail, dict[str, str]]] = []
        self._flushing: asyncio.Task[None] | None = None

    def add(self, email: OutboundEmail, refused: dict[str, str]) -> None:
        self._delivered.append((email, refused))
        if self._flushing is None or self._flushing.done():
            if self._flushing is not None:
                self._flushing.result()  # a failed write fails the job
            self._flushing = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        while self._delivered:
            delivered, self._delivered = self._delivered, []
            await outbox.mark_sent(delivered)

    async def flushed(self) -> None:
        if self._flushing is not None:
            await self._flushing


async def deliver_emails(ctx: dict[str, Any], email_ids: list[int]) -> str:
    """Sends the emails among ``email_ids`` still to send, claimed at once, one after the
    other over one pooled connection. An email that failed and may be tried again gets
    a delivery job of its own, deferred by the retry policy."""
    pool: SmtpPool = ctx["smtp_pool"]
    outcomes = {"sent": 0, "retry": 0, "failed": 0}
    async with pool.connection() as send:
        emails = await outbox.claim_emails(email_ids, stale_after=ctx["retry_policy"].stale_after)
        marker = SentMarker()
        try:
            for email in emails:
                outcomes[await _deliver_one(ctx, send, marker, email, email_ids)] += 1
        finally:
            await marker.flushed()
    return (
        f"{len(email_ids)} emails: {outcomes['sent']} sent, {outcomes['retry']} to retry, "
        f"{outcomes['failed']} failed"
    )


async def _deliver_one(
    ctx: dict[str, Any],
    send: Sender,
    marker: SentMarker,
    email: OutboundEmail,
    job_email_ids: list[int],
) -> str:
    """One claimed email's attempt; answers its outcome: sent, retry or failed."""
    started = time.perf_counter()
    try:
        refused = await send(await build_message(email), [*email.to, *email.cc, *email.bcc])
    except DELIVERY_ERRORS as exc:
        delay = await record_failure(ctx["retry_policy"], email, exc, started)
        if delay is None:
            return "failed"
        if job_email_ids == [email.id]:
            # This job is the email's own (same job id): arq runs it again.
            raise Retry(defer=delay) from exc
        await enqueue_deliveries(
            ctx["redis"],
            ctx["namespace"],
            [email.id],
            ctx.get(TAG_REQUEST_ID, ""),
            defer_seconds=delay,
        )
        return "retry"
    _count_attempt("sent", started)
    marker.add(email, refused)
    return "sent"


async def record_failure(
    policy: RetryPolicy, email: OutboundEmail, exc: BaseException, started: float
) -> float | None:
    """The failed attempt on the row: FAILED, or QUEUED again and the seconds to wait
    before the next attempt."""
    if (answer := policy.permanent_error(exc)) is not None:
        _count_attempt("failed", started)
        await outbox.mark_failed(email, answer)
        return None
    error = f"{type(exc).__name__}: {exc}"
    delay = policy.retry_delay(email.attempts)
    if delay is None:
        _count_attempt("failed", started)
        await outbox.mark_failed(email, f"gave up after {email.attempts} attempts: {error}")
        return None
    _count_attempt("retry", started)
    await outbox.mark_for_retry(email, error)
    log.warning(
        "email %s attempt %s failed (%s); retry in %.0fs", email.id, email.attempts, error, delay
    )
    return delay


def email_queue_name(namespace: str) -> str:
    """The email worker's own queue (see jobs/schedule.py)."""
    return f"{namespace}:queue:email"


def delivery_job_id(namespace: str, email_ids: Sequence[int]) -> str:
    """arq job id: enqueueing the same emails again while their job is pending is a
    no-op; one email's id is its retry's (so the sweep does not run a deferred retry
    early).

    Namespaced because arq's job keys are global to the Redis database.
    """
    return f"{namespace}:email:{','.join(str(i) for i in email_ids)}"


async def enqueue_deliveries(
    redis: ArqRedis,
    namespace: str,
    email_ids: Iterable[int],
    request_id: str = "",
    *,
    batch_size: int = BATCH_SIZE,
    defer_seconds: float | None = None,
) -> int:
    """Delivery jobs of up to ``batch_size`` emails on the email queue; returns how many
    emails were enqueued (or already pending). A failed enqueue is logged and skipped:
    the rows stay QUEUED and the outbox sweep enqueues them again. ``request_id``: see
    ``job_tags``."""
    ids = list(email_ids)
    enqueued = 0
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        try:
            await redis.enqueue_job(
                deliver_emails.__name__,
                batch,
                _job_id=delivery_job_id(namespace, batch),
                _defer_by=defer_seconds,
                **job_tags(request_id),
                _queue_name=email_queue_name(namespace),
            )
        except Exception:  # noqa: BLE001 - see the docstring
            log.exception("enqueue of emails %s failed; the outbox sweep will retry", batch)
        else:
            enqueued += len(batch)
    return enqueued


async def requeue_stuck_emails(ctx: dict[str, Any]) -> int:
    """Outbox sweep (cron): enqueue again the rows the retry policy deems lost, one job
    each: a row waiting for a deferred retry has that job already (``delivery_job_id``)."""
    policy: RetryPolicy = ctx["retry_policy"]
    ids = await outbox.queued_email_ids(older_than=now() - policy.stale_after)
    return await enqueue_deliveries(ctx["redis"], ctx["namespace"], ids, batch_size=1)
