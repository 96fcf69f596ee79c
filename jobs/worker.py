"""arq WorkerSettings for ``trainhub worker`` (and the in-process worker of ``trainhub dev``)."""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.worker import Worker, func

from app.settings import Settings, get_settings
from jobs.confirmation import expire_overdue_proposals, send_proposal_reminders
from jobs.email import EMAIL_JOB_TIMEOUT_SECONDS, SmtpConfig, deliver_email, requeue_stuck_emails


def smtp_config(settings: Settings) -> SmtpConfig:
    return SmtpConfig(
        host=settings.smtp_host or "127.0.0.1",
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        timeout=settings.smtp_timeout_seconds,
        max_attempts=settings.email_max_attempts,
        retry_base_seconds=settings.email_retry_base_seconds,
        storage_dir=settings.storage_dir,
    )


def functions(settings: Settings) -> list[Any]:
    return [
        func(
            deliver_email,
            timeout=EMAIL_JOB_TIMEOUT_SECONDS,
            max_tries=settings.email_max_attempts + 1,
            # No result kept: a kept result would block re-enqueueing the same job id (a
            # retried FAILED email, the outbox sweep) for as long as it is kept.
            keep_result=0,
        ),
    ]


def cron_jobs() -> list[Any]:
    return [
        cron(requeue_stuck_emails, second=30, run_at_startup=True, timeout=60),
        # Every minute: an expiry is at most a minute late (SPEC §5).
        cron(expire_overdue_proposals, second=5, run_at_startup=True, timeout=120),
        cron(send_proposal_reminders, minute=set(range(0, 60, 5)), second=15, timeout=300),
    ]


def worker_options(settings: Settings, *, manage_db: bool = True) -> dict[str, Any]:
    """arq Worker options. ``manage_db=False`` when Tortoise and the runtime are already
    set up by the hosting process (the dev runner, tests)."""
    from app.db import close_db, init_db
    from app.wiring import Services, arq_settings, queue_name

    state: dict[str, Any] = {}

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["smtp"] = smtp_config(settings)
        ctx["queue_name"] = queue_name(settings)
        ctx["redis_namespace"] = settings.redis_namespace
        if manage_db:
            await init_db(settings)
            state["services"] = await Services.start(settings)

    async def shutdown(ctx: dict[str, Any]) -> None:
        if manage_db:
            await state["services"].close()
            await close_db()

    return {
        "functions": functions(settings),
        "cron_jobs": cron_jobs(),
        "redis_settings": arq_settings(settings),
        "queue_name": queue_name(settings),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "max_jobs": 20,
        "keep_result": 3600,
        "job_timeout": 300,
    }


def build_worker(settings: Settings, *, manage_db: bool = True, **overrides: Any) -> Worker:
    return Worker(**{**worker_options(settings, manage_db=manage_db), **overrides})


def __getattr__(name: str) -> Any:
    # ``arq jobs.worker.WorkerSettings`` works too; built on access so importing this
    # module does not read the environment.
    if name == "WorkerSettings":
        return type("WorkerSettings", (), worker_options(get_settings()))
    raise AttributeError(name)
