"""What the worker runs: tasks enqueued on demand and crons, with their time limits and
tries. ``app.worker`` reads these into arq's worker settings."""

from __future__ import annotations

from arq import cron
from arq.cron import CronJob
from arq.worker import Function, func

from jobs.bulk_operations import (
    JOB_TIMEOUT_SECONDS,
    resume_bulk_operations,
    run_bulk_operation,
)
from jobs.confirmation import expire_overdue_proposals, send_proposal_reminders
from jobs.outbox_delivery import RetryPolicy, deliver_email, requeue_stuck_emails
from jobs.prints import JOB_TIMEOUT_SECONDS as FILE_TIMEOUT_SECONDS
from jobs.prints import generate_file, requeue_stale_files


def tasks(policy: RetryPolicy) -> list[Function]:
    return [
        # keep_result=0: a finished job must not stop the sweep from enqueueing its id again.
        func(
            deliver_email,
            timeout=policy.job_timeout_seconds,
            max_tries=policy.arq_max_tries,
            keep_result=0,
        ),
        # Killed, an operation is resumed by the sweep (jobs/bulk_operations.py).
        func(run_bulk_operation, timeout=JOB_TIMEOUT_SECONDS, max_tries=3, keep_result=0),
        # A file is claimed once (QUEUED → RUNNING): a retry would find it taken.
        func(generate_file, timeout=FILE_TIMEOUT_SECONDS, max_tries=1, keep_result=0),
    ]


def crons() -> list[CronJob]:
    """New objects for each worker: arq keeps each cron's next run time on it."""
    return [
        cron(requeue_stuck_emails, second=30, run_at_startup=True, timeout=60),
        cron(resume_bulk_operations, second={0, 20, 40}, run_at_startup=True, timeout=60),
        cron(requeue_stale_files, second=50, run_at_startup=True, timeout=60),
        # Every minute: an expiry is at most a minute late (SPEC §5).
        cron(expire_overdue_proposals, second=5, run_at_startup=True, timeout=120),
        cron(send_proposal_reminders, minute=set(range(0, 60, 5)), second=15, timeout=300),
    ]
