"""Bulk operations in the worker: the task that runs a queued operation to its end, the
enqueue after commit, and the sweep that resumes operations nobody is advancing.

A worker killed mid-operation loses only its open batch (rolled back); the sweep finds
the operation RUNNING with a stale heartbeat and enqueues it again under a new job id
(the dead worker's job may still hold its own id), and the run continues from the first
unrecorded position. Two runs of one operation at once are harmless: each batch locks
the operation's row and starts where the last committed batch ended.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from arq import ArqRedis

from jobs import TAG_REQUEST_ID, job_tags
from resolvers.bulk_operations import engine
from resolvers.runtime import now

log = logging.getLogger(__name__)

DEFAULT_STALE_SECONDS = 60.0


def operation_job_id(namespace: str, operation_id: int, attempt: str = "") -> str:
    return f"{namespace}:bulk:{operation_id}{':' + attempt if attempt else ''}"


# A job runs batches for this long, then hands the rest to a new job: every job stays
# far below arq's timeout (which also decides when a killed worker's job is retried).
JOB_BUDGET_SECONDS = 20.0
JOB_TIMEOUT_SECONDS = 120


async def run_bulk_operation(ctx: dict[str, Any], operation_id: int, part: int = 0) -> str:
    await engine.claim_queued(operation_id)
    if await engine.run_operation(operation_id, budget_seconds=JOB_BUDGET_SECONDS):
        await enqueue_operations(
            ctx["redis"],
            ctx["namespace"],
            [operation_id],
            f"part-{part + 1}",
            part=part + 1,
            request_id=ctx.get(TAG_REQUEST_ID, ""),  # the next part keeps the request's id
        )
        return f"operation {operation_id}: part {part} done, continued"
    return f"operation {operation_id}: ran to its end"


async def enqueue_operations(
    redis: ArqRedis,
    namespace: str,
    operation_ids: Iterable[int],
    attempt: str = "",
    *,
    part: int = 0,
    request_id: str = "",
) -> int:
    """A failed enqueue is logged and skipped: the sweep enqueues the operation again."""
    enqueued = 0
    for operation_id in operation_ids:
        try:
            await redis.enqueue_job(
                run_bulk_operation.__name__,
                operation_id,
                part,
                _job_id=operation_job_id(namespace, operation_id, attempt),
                **job_tags(request_id),
            )
        except Exception:  # noqa: BLE001 - see the docstring
            log.exception("enqueue of bulk operation %s failed; the sweep will retry", operation_id)
        else:
            enqueued += 1
    return enqueued


async def resume_bulk_operations(ctx: dict[str, Any]) -> int:
    """Sweep (cron, and at worker start): enqueue again what nobody is advancing."""
    stale = timedelta(seconds=ctx.get("bulk_stale_seconds", DEFAULT_STALE_SECONDS))
    operations = await engine.resumable_operations(stale)
    attempt = f"resume-{int(now().timestamp())}"
    return await enqueue_operations(
        ctx["redis"], ctx["namespace"], [op.id for op in operations], attempt
    )
