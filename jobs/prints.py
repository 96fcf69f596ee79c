"""Generated files in the worker: the task that renders a queued list print, the enqueue
after commit, the sweep that enqueues again what no worker took or a killed worker left
half-rendered, and the removal of expired files."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from arq import ArqRedis

from resolvers.prints import files
from resolvers.runtime import now

log = logging.getLogger(__name__)

JOB_TIMEOUT_SECONDS = 300  # a 10,000-row list renders in well under a minute; no longer
# than the reminder cron's, so it does not lengthen arq's job lock on the queue
DEFAULT_STALE_SECONDS = 60.0
BEATS_PER_STALE = 4  # heartbeats a render writes within the stale period


def file_job_id(namespace: str, file_id: int, attempt: str = "") -> str:
    return f"{namespace}:file:{file_id}{':' + attempt if attempt else ''}"


def _stale_after(ctx: dict[str, Any]) -> timedelta:
    return timedelta(seconds=ctx.get("print_stale_seconds", DEFAULT_STALE_SECONDS))


async def generate_file(ctx: dict[str, Any], file_id: int) -> str:
    status = await files.generate_file(file_id, _stale_after(ctx) / BEATS_PER_STALE)
    return f"file {file_id}: {status.value if status else 'not queued'}"


async def enqueue_files(
    redis: ArqRedis, namespace: str, file_ids: Iterable[int], attempt: str = ""
) -> int:
    """A failed enqueue is logged and skipped: the sweep enqueues the file again."""
    enqueued = 0
    for file_id in file_ids:
        try:
            await redis.enqueue_job(
                generate_file.__name__, file_id, _job_id=file_job_id(namespace, file_id, attempt)
            )
        except Exception:  # noqa: BLE001 - see the docstring
            log.exception("enqueue of generated file %s failed; the sweep will retry", file_id)
        else:
            enqueued += 1
    return enqueued


async def requeue_stale_files(ctx: dict[str, Any]) -> int:
    """Under a new job id: a killed worker's job keeps its own until arq's lock expires."""
    attempt = f"sweep-{int(now().timestamp())}"
    stale = await files.stale_files(_stale_after(ctx))
    return await enqueue_files(ctx["redis"], ctx["namespace"], stale, attempt)


async def remove_expired_files(ctx: dict[str, Any]) -> int:
    return await files.remove_expired_files()
