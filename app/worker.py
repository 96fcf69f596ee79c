"""The arq workers of ``trainhub worker`` (and of ``trainhub dev``, in its process): the
tasks and crons of ``jobs.schedule`` composed with settings, Redis and the database.

Two workers in one process: the main queue (bulk operations, deadline crons) and the email
queue (delivery, outbox sweep), each with its own job lock (see ``jobs.schedule``).
``arq app.worker.WorkerSettings`` / ``EmailWorkerSettings`` work too (e.g. ``arq --check``
as a health check).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

import uvicorn
from arq import Retry
from arq.cron import CronJob
from arq.worker import Function, Worker
from redis.exceptions import RedisError
from starlette.applications import Starlette

from app import metrics
from app.db import close_db, init_db
from app.logs import request_id
from app.settings import Settings, get_settings
from app.wiring import Services, arq_settings, collect_garbage_less_often, queue_name
from jobs import TAG_REQUEST_ID, schedule
from jobs.outbox_delivery import (
    EMAIL_JOBS,
    RetryPolicy,
    SmtpConfig,
    SmtpPool,
    email_queue_name,
)


def smtp_config(settings: Settings) -> SmtpConfig:
    return SmtpConfig(
        host=settings.smtp_host or "127.0.0.1",
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        timeout=settings.smtp_timeout_seconds,
    )


log = logging.getLogger(__name__)
Job = TypeVar("Job", Function, CronJob)


def observed(job: Job) -> Job:
    """The job timed into JOB_SECONDS and run under the request id that enqueued it
    (``jobs.job_tags``), which every log line of the job then carries."""
    task: Callable[..., Awaitable[Any]] = job.coroutine

    @wraps(task)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        ctx[TAG_REQUEST_ID] = kwargs.pop(TAG_REQUEST_ID, "")  # this job's own context
        tag = request_id.set(ctx[TAG_REQUEST_ID])
        if request_id.get():
            log.info(
                "job %s (%s) enqueued by request %s", job.name, ctx.get("job_id"), request_id.get()
            )
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await task(ctx, *args, **kwargs)
            outcome = "ok"
            return result
        except Retry:
            outcome = "retry"
            raise
        finally:
            metrics.JOB_SECONDS.labels(job.name, outcome).observe(time.perf_counter() - started)
            request_id.reset(tag)

    return dataclasses.replace(job, coroutine=run)


async def serve_metrics(settings: Settings) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """The worker's /metrics on WORKER_METRICS_HOST:WORKER_METRICS_PORT (app/metrics.py)."""
    app = Starlette(routes=metrics.routes(settings))
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.worker_metrics_host,
            port=settings.worker_metrics_port,
            lifespan="off",
            log_config=None,
        )
    )
    return server, asyncio.create_task(server.serve())


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
        # The context the tasks read (see jobs.outbox_delivery, jobs.bulk_operations);
        # kept when ``_keep_running`` starts the worker again.
        if "smtp_pool" not in ctx:
            ctx["smtp_pool"] = SmtpPool(smtp_config(settings))
        ctx["retry_policy"] = policy
        ctx["namespace"] = settings.redis_namespace
        ctx["bulk_stale_seconds"] = settings.bulk_stale_seconds
        ctx["print_stale_seconds"] = settings.print_stale_seconds
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
        "functions": [observed(task) for task in queue["functions"]],
        "cron_jobs": [observed(cron) for cron in queue["cron_jobs"]],
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
        max_jobs=EMAIL_JOBS,
    )


WORKERS: tuple[Callable[..., dict[str, Any]], ...] = (worker_options, email_worker_options)


def build_workers(settings: Settings, **overrides: Any) -> list[Worker]:
    """Both queues' workers, for a process that set up the database and runtime itself."""
    return [Worker(**{**options(settings, manage_db=False), **overrides}) for options in WORKERS]


async def _keep_running(worker: Worker) -> None:
    """arq's worker ends at the first Redis error of a poll or a job's result write:
    start it again on the same Redis (reconnected). What Redis lost, the sweeps recover."""
    while True:
        try:
            await worker.main()
            return
        except RedisError as exc:
            log.warning("worker of %s lost Redis (%s); starting it again", worker.queue_name, exc)
            await asyncio.sleep(1)


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
    collect_garbage_less_often()
    metrics_server = await serve_metrics(settings) if settings.worker_metrics_port else None
    try:
        for worker in workers:
            worker.main_task = asyncio.create_task(_keep_running(worker))
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
        if metrics_server is not None:
            server, task = metrics_server
            server.should_exit = True
            await task
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
