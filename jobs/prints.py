"""Generated files in the worker: the task that renders a queued list print, the enqueue
after commit, and the sweep that enqueues again what no worker took."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from arq import ArqRedis

from resolvers.prints import files

log = logging.getLogger(__name__)

JOB_TIMEOUT_SECONDS = 600  # a 10,000-row list renders in well under a minute


def file_job_id(namespace: str, file_id: int) -> str:
    return f"{namespace}:file:{file_id}"


async def generate_file(ctx: dict[str, Any], file_id: int) -> str:
    status = await files.generate_file(file_id)
    return f"file {file_id}: {status.value if status else 'not queued'}"


async def enqueue_files(redis: ArqRedis, namespace: str, file_ids: Iterable[int]) -> int:
    """A failed enqueue is logged and skipped: the sweep enqueues the file again."""
    enqueued = 0
    for file_id in file_ids:
        try:
            await redis.enqueue_job(
                generate_file.__name__, file_id, _job_id=file_job_id(namespace, file_id)
            )
        except Exception:  # noqa: BLE001 - see the docstring
            log.exception("enqueue of generated file %s failed; the sweep will retry", file_id)
        else:
            enqueued += 1
    return enqueued


async def requeue_stale_files(ctx: dict[str, Any]) -> int:
    return await enqueue_files(ctx["redis"], ctx["namespace"], await files.stale_files())
