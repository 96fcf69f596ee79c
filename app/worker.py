"""The arq worker of ``trainhub worker`` (and the in-process worker of ``trainhub dev``):
the tasks and crons of ``jobs.schedule`` composed with settings, Redis and the database.

``arq app.worker.WorkerSettings`` works too (e.g. ``arq --check`` as a health check).
"""

from __future__ import annotations

from typing import Any

from arq.worker import Worker

from app.db import close_db, init_db
from app.settings import Settings, get_settings
from app.wiring import Services, arq_settings, queue_name
from jobs import schedule
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

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx["smtp_pool"].close()
        if manage_db:
            await state["services"].close()
            await close_db()

    return {
        "functions": schedule.tasks(policy),
        "cron_jobs": schedule.crons(settings.redis_namespace),
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
