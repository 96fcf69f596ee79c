"""What the workers run: tasks enqueued on demand and crons, with their time limits and
tries. ``app.worker`` reads these into arq's worker settings.

Two queues, because arq locks a running job for the longest timeout of all the functions
its worker registers (plus 10 s), and a job whose worker was killed is run again only
once that lock expires: email delivery has its queue and worker to itself, so a killed
worker's emails wait for a delivery's timeout, not for the 300 s of the reminder cron.
"""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.cron import CronJob
from arq.typing import WorkerCoroutine
from arq.worker import Function, func

from jobs.bulk_operations import (
    JOB_TIMEOUT_SECONDS,
    resume_bulk_operations,
    run_bulk_operation,
)
from jobs.confirmation import expire_overdue_proposals, send_proposal_reminders
from jobs.outbox_delivery import RetryPolicy, deliver_emails, requeue_stuck_emails
from jobs.prints import JOB_TIMEOUT_SECONDS as FILE_TIMEOUT_SECONDS
from jobs.prints import generate_file, remove_expired_files, requeue_stale_files


def email_tasks(policy: RetryPolicy) -> list[Function]:
    """The email worker's only task: its timeout alone sets arq's job lock on that queue."""
    # keep_result=0: a finished job must not stop the sweep from enqueueing its id again.
    return [
        func(
            deliver_emails,
            timeout=policy.job_timeout_seconds,
            max_tries=policy.arq_max_tries,
            keep_result=0,
        )
    ]


def email_crons(namespace: str, policy: RetryPolicy, sweep_seconds: int) -> list[CronJob]:
    # Its timeout no longer than a delivery's, so it does not lengthen the queue's lock.
    return [
        namespaced_cron(
            namespace,
            requeue_stuck_emails,
            second=set(range(0, 60, sweep_seconds)),
            run_at_startup=True,
            timeout=policy.job_timeout_seconds,
        )
    ]


def tasks() -> list[Function]:
    # Killed, an operation is resumed by the sweep (jobs/bulk_operations.py).
    return [
        func(run_bulk_operation, timeout=JOB_TIMEOUT_SECONDS, max_tries=3, keep_result=0),
        # A file is claimed once (QUEUED → RUNNING): a retry would find it taken.
        func(generate_file, timeout=FILE_TIMEOUT_SECONDS, max_tries=1, keep_result=0),
    ]


def namespaced_cron(namespace: str, task: WorkerCoroutine, **schedule: Any) -> CronJob:
    """A cron named ``{namespace}:cron:<task>``. arq's id for one run is ``<name>:<ms>``
    and job keys are global to the Redis database: without the namespace, two deployments
    sharing one Redis would each skip the runs the other enqueued first."""
    return cron(task, name=f"{namespace}:cron:{task.__qualname__}", **schedule)


def crons(namespace: str) -> list[CronJob]:
    """New objects for each worker: arq keeps each cron's next run time on it."""
    return [
        namespaced_cron(
            namespace, resume_bulk_operations, second={0, 20, 40}, run_at_startup=True, timeout=60
        ),
        namespaced_cron(namespace, requeue_stale_files, second=50, run_at_startup=True, timeout=60),
        namespaced_cron(namespace, remove_expired_files, minute=25, second=35, timeout=60),
        # Every minute: an expiry is at most a minute late (SPEC §5).
        namespaced_cron(
            namespace, expire_overdue_proposals, second=5, run_at_startup=True, timeout=120
        ),
        namespaced_cron(
            namespace, send_proposal_reminders, minute=set(range(0, 60, 5)), second=15, timeout=300
        ),
    ]
