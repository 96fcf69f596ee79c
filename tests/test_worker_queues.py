"""The worker's queues: email delivery on a queue of its own (its job lock a delivery's
timeout, not the reminder cron's), the outbox sweep, and what the worker keeps in Redis
being its deployment's own (two namespaces side by side on one real Redis database)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.utils import to_unix_ms

from app.settings import Settings
from app.wiring import queue_name
from app.worker import build_workers
from jobs.outbox_delivery import email_queue_name
from models.outbox import EmailStatus, OutboundEmail
from resolvers import runtime
from resolvers.outbox import queue_email
from tests.conftest import Tenant
from tests.smtp import SmtpServer


async def _queue(tenant: Tenant, subject: str = "Vos dates") -> OutboundEmail:
    async with runtime.atomic():
        return await queue_email(
            tenant.staff.scope,
            to=["alice@client.test"],
            subject=subject,
            html="<p>Hi</p>",
            text="Hi",
        )


async def _run(workers: list[Any]) -> None:
    try:
        await asyncio.gather(*(worker.main() for worker in workers))
    finally:
        for worker in workers:
            await worker.close()


async def test_two_namespaces_on_one_redis_each_run_their_crons_in_the_same_minute(
    settings: Settings, app: Any
) -> None:
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    started: dict[str, list[str]] = {}
    workers = []
    for _ in range(2):
        namespace = f"{settings.redis_namespace}-{uuid.uuid4().hex[:6]}"
        deployment = settings.model_copy(update={"redis_namespace": namespace})
        runs = started.setdefault(namespace, [])

        async def record(ctx: dict[str, Any], runs: list[str] = runs) -> None:
            runs.append(ctx["job_id"])

        for worker in build_workers(
            deployment, burst=True, poll_delay=0.02, handle_signals=False, on_job_start=record
        ):
            for cron_job in worker.cron_jobs:
                cron_job.next_run = minute  # every cron due at the start of this minute
            workers.append(worker)
    await _run(workers)

    # arq's id of a cron run is "<name>:<ms of its time>": this minute's runs, per deployment.
    this_minute = {
        ns: [r for r in runs if r.endswith(f":{to_unix_ms(minute)}")]
        for ns, runs in started.items()
    }
    crons_per_deployment = sum(len(w.cron_jobs) for w in workers) // 2
    # emails' sweep, operations' resume, files' requeue and removal, expiry, reminders
    assert crons_per_deployment == 6
    assert {ns: len(runs) for ns, runs in this_minute.items()} == {
        ns: crons_per_deployment for ns in started
    }
    for namespace, runs in this_minute.items():
        assert all(r.startswith(f"{namespace}:cron:") for r in runs)


async def test_emails_go_to_their_own_queue_locked_for_a_delivery_not_the_reminder_cron(
    settings: Settings, tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> None:
    pool = runtime.current().dispatcher.pool  # type: ignore[attr-defined]
    email = await _queue(tenant)
    # The test's namespace is its own: these queues hold only what it queued.
    assert await pool.zcard(email_queue_name(settings.redis_namespace)) == 1
    assert await pool.zcard(queue_name(settings)) == 0

    # A job whose worker was killed runs again when its lock expires: a delivery's
    # timeout + 10 s on the email queue; the main queue's longer jobs (the reminder cron,
    # a print file) stay on the main queue.
    main, emails = build_workers(settings, handle_signals=False)
    assert emails.queue_name == f"{settings.redis_namespace}:queue:email"
    assert emails.in_progress_timeout_s == settings.email_job_timeout_seconds + 10 == 40
    assert main.in_progress_timeout_s >= 310 > emails.in_progress_timeout_s
    assert set(emails.functions) == {
        "deliver_emails",
        f"{settings.redis_namespace}:cron:requeue_stuck_emails",
    }

    await run_worker()
    assert (await OutboundEmail.get(id=email.id)).status == EmailStatus.SENT
    assert len(smtp.received) == 1


async def test_sweep_sends_queued_rows_without_a_job_and_sending_rows_past_the_stale_limit(
    settings: Settings, tenant: Tenant, smtp: SmtpServer, app: Any
) -> None:
    dispatcher = runtime.current().dispatcher
    runtime.current().dispatcher = runtime.NullDispatcher()  # no job for any of them
    try:
        lost_enqueue, killed_mid_send, being_sent = [
            await _queue(tenant, subject) for subject in ("lost", "killed", "live")
        ]
    finally:
        runtime.current().dispatcher = dispatcher
    stale = timedelta(seconds=settings.email_job_timeout_seconds + 10)
    long_ago = runtime.now() - stale - timedelta(seconds=1)
    await OutboundEmail.filter(id=lost_enqueue.id).update(updated_at=long_ago)
    await OutboundEmail.filter(id=killed_mid_send.id).update(
        status=EmailStatus.SENDING, claimed_at=long_ago, attempts=1
    )
    # Claimed within the stale limit: a live attempt, which the sweep leaves alone.
    await OutboundEmail.filter(id=being_sent.id).update(
        status=EmailStatus.SENDING, claimed_at=runtime.now(), attempts=1
    )

    # The email worker alone, with its sweep (run at start, then every OUTBOX_SWEEP_SECONDS).
    _, emails = build_workers(settings, burst=True, poll_delay=0.02, handle_signals=False)
    await _run([emails])

    rows = {e.subject: e for e in await OutboundEmail.all()}
    assert {s: (r.status, r.attempts) for s, r in rows.items()} == {
        "lost": (EmailStatus.SENT, 1),
        "killed": (EmailStatus.SENT, 2),
        "live": (EmailStatus.SENDING, 1),
    }
    assert sorted(r.message["Subject"] for r in smtp.received) == ["killed", "lost"]
