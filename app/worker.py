"""The arq worker of ``trainhub worker`` (and the in-process worker of ``trainhub dev``):
the tasks and crons of ``jobs.schedule`` composed with settings, Redis and the database.

``arq app.worker.WorkerSettings`` works too (e.g. ``arq --check`` as a health check).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

import uvicorn
from arq import Retry
from arq.cron import CronJob
from arq.worker import Function, Worker
from starlette.applications import Starlette

from app import metrics
from app.db import close_db, init_db
from app.logs import request_id
from app.settings import Settings, get_settings
from app.wiring import Services, arq_settings, queue_name
from jobs import TAG_REQUEST_ID, schedule
from jobs.outbox_delivery import RetryPolicy, SmtpConfig, SmtpPool


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
        tag = request_id.set(kwargs.pop(TAG_REQUEST_ID, ""))
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
    )


def worker_options(settings: Settings, *, manage_db: bool = True) -> dict[str, Any]:
    """arq Worker options. ``manage_db=False`` when Tortoise and the runtime are already
    set up by the hosting process (the dev runner, tests)."""
    policy = retry_policy(settings)
    state: dict[str, Any] = {}

    async def startup(ctx: dict[str, Any]) -> None:
        # The context the tasks read (see jobs.outbox_delivery).
        ctx["smtp_pool"] = SmtpPool(smtp_config(settings))
        ctx["retry_policy"] = policy
        ctx["namespace"] = settings.redis_namespace
        ctx["bulk_stale_seconds"] = settings.bulk_stale_seconds
        if manage_db:
            await init_db(settings)
            state["services"] = await Services.start(settings)
        if settings.worker_metrics_port:
            state["metrics"] = await serve_metrics(settings)

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx["smtp_pool"].close()
        if "metrics" in state:
            server, task = state.pop("metrics")
            server.should_exit = True
            await task
        if manage_db:
            await state["services"].close()
            await close_db()

    return {
        "functions": [observed(task) for task in schedule.tasks(policy)],
        "cron_jobs": [observed(cron) for cron in schedule.crons()],
        "redis_settings": arq_settings(settings),
        "queue_name": queue_name(settings),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "max_jobs": 20,
        "keep_result": 3600,
        "job_timeout": 300,
        "health_check_interval": 20,  # heartbeat read by `arq --check` (compose health check)
    }


def build_worker(settings: Settings, *, manage_db: bool = True, **overrides: Any) -> Worker:
    return Worker(**{**worker_options(settings, manage_db=manage_db), **overrides})


def __getattr__(name: str) -> Any:
    # ``WorkerSettings`` is built on access, so importing this module reads no environment.
    if name == "WorkerSettings":
        return type("WorkerSettings", (), worker_options(get_settings()))
    raise AttributeError(name)
