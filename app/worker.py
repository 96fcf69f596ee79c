"""The arq workers of ``trainhub worker`` (and of ``trainhub dev``, in its process): the
tasks and crons of ``jobs.schedule`` composed with settings, Redis and the database.

Two workers in one process: the main queue (bulk operations, deadline crons) and the email
queue (delivery, outbox sweep), each with its own job lock (see ``jobs.schedule``).
``arq app.worker.WorkerSettings`` / ``EmailWorkerSettings`` work too (e.g. ``arq --check``
as a health check).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

from arq.worker import Worker

from app.db import close_db, init_db
from app.settings import Settings, get_settings
from app.wiring import Services, arq_settings, queue_name
from jobs import schedule
from jobs.outbox_delivery import RetryPolicy, SmtpConfig, SmtpPool, email_queue_name


def smtp_config(settings: Settings) -> SmtpConfig:
    return SmtpConfig(
        host=settings.smtp_host or "127.0.0.1",
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        timeout=settings.smtp_timeout_seconds,
    )


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.email_max_attempts,
        first_delay_seconds=settings.email_retry_base_seconds,
        job_timeout_seconds=settings.email_job_timeout_seconds,
    )


def _options(settings: Settings, manage_db: bool, **queue: Any) -> dict[str, Any]:
    """arq Worker options shared by both queues. ``manage_db=False`` when Tortoise and the
    runtime are already set up by the hosting process (``run_workers``, the dev runner,
    tests)."""
    policy = retry_policy(settings)
    state: dict[str, Any] = {}

    async def startup(ctx: dict[str, Any]) -> None:
        # The context the tasks read (see jobs.outbox_delivery, jobs.bulk_operations).
        ctx["smtp_pool"] = SmtpPool(smtp_config(settings))
        ctx["retry_policy"] = policy
        ctx["namespace"] = settings.redis_namespace
        ctx["bulk_stale_seconds"] = settings.bulk_stale_seconds
        if manage_db:
            await init_db(settings)
            state["services"] = await Services.start(settings)

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx["smtp_pool"].close()
        if manage_db:
            await state["services"].close()
            await close_db()

    return {
        "redis_settings": arq_settings(settings),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "max_jobs": 20,
        "keep_result": 3600,
        "health_check_interval": 20,  # heartbeat read by `arq --check` (compose health check)
        **queue,
    }


def worker_options(settings: Settings, *, manage_db: bool = True) -> dict[str, Any]:
    """The main queue: bulk operations and the deadline crons."""
    return _options(
        settings,
        manage_db,
        functions=schedule.tasks(),
        cron_jobs=schedule.crons(settings.redis_namespace),
        queue_name=queue_name(settings),
        job_timeout=300,
    )


def email_worker_options(settings: Settings, *, manage_db: bool = True) -> dict[str, Any]:
    """The email queue: delivery and the outbox sweep, locked for a delivery's timeout."""
    policy = retry_policy(settings)
    return _options(
        settings,
        manage_db,
        functions=schedule.email_tasks(policy),
        cron_jobs=schedule.email_crons(
            settings.redis_namespace, policy, settings.outbox_sweep_seconds
        ),
        queue_name=email_queue_name(settings.redis_namespace),
        job_timeout=policy.job_timeout_seconds,
    )


WORKERS: tuple[Callable[..., dict[str, Any]], ...] = (worker_options, email_worker_options)


def build_workers(settings: Settings, **overrides: Any) -> list[Worker]:
    """Both queues' workers, for a process that set up the database and runtime itself."""
    return [Worker(**{**options(settings, manage_db=False), **overrides}) for options in WORKERS]


async def run_workers(
    settings: Settings, *, manage_db: bool = True, handle_signals: bool = True, **overrides: Any
) -> None:
    """Run both workers in this loop until one of them ends, or SIGTERM / SIGINT (with
    ``handle_signals``) or a cancellation stops them; running jobs are cancelled, arq
    runs them again."""
    services = None
    if manage_db:
        await init_db(settings)
        services = await Services.start(settings)
    workers = build_workers(settings, handle_signals=False, **overrides)
    try:
        for worker in workers:
            worker.main_task = asyncio.create_task(worker.main())
        runs = [worker.main_task for worker in workers if worker.main_task]
        if handle_signals:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, lambda: [run.cancel() for run in runs])
        done, _ = await asyncio.wait(runs, return_when=asyncio.FIRST_COMPLETED)
        for run in done:
            if not run.cancelled():
                run.result()  # a worker that failed makes the process fail
    finally:
        for worker in workers:
            await worker.close()
        if services is not None:
            await services.close()
            await close_db()


def __getattr__(name: str) -> Any:
    # Built on access, so importing this module reads no environment.
    if name == "WorkerSettings":
        return type("WorkerSettings", (), worker_options(get_settings()))
    if name == "EmailWorkerSettings":
        return type("EmailWorkerSettings", (), email_worker_options(get_settings()))
    raise AttributeError(name)
