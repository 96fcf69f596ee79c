"""What the worker keeps in Redis is its deployment's own: two namespaces side by side on
one real Redis database each run all their crons."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from arq.utils import to_unix_ms

from app.settings import Settings
from app.worker import build_worker


async def test_two_namespaces_on_one_redis_each_run_their_crons_in_the_same_minute(
    settings: Settings, app: Any
) -> None:
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    started: dict[str, list[str]] = {}
    workers = []
    for _ in range(2):
        namespace = f"{settings.redis_namespace}-{uuid.uuid4().hex[:6]}"
        deployment = settings.model_copy(update={"redis_namespace": namespace})
        runs = started.setdefault(namespace, [])

        async def record(ctx: dict[str, Any], runs: list[str] = runs) -> None:
            runs.append(ctx["job_id"])

        worker = build_worker(
            deployment,
            manage_db=False,
            burst=True,
            poll_delay=0.02,
            handle_signals=False,
            on_job_start=record,
        )
        for cron_job in worker.cron_jobs:
            cron_job.next_run = minute  # every cron due at the start of this minute
        workers.append(worker)
    try:
        await asyncio.gather(*(worker.main() for worker in workers))
    finally:
        for worker in workers:
            await worker.close()

    # arq's id of a cron run is "<name>:<ms of its time>": this minute's runs, per deployment.
    this_minute = {
        ns: [r for r in runs if r.endswith(f":{to_unix_ms(minute)}")]
        for ns, runs in started.items()
    }
    assert {ns: len(runs) for ns, runs in this_minute.items()} == {
        ns: len(workers[0].cron_jobs) for ns in started
    }
    for namespace, runs in this_minute.items():
        assert all(r.startswith(f"{namespace}:cron:") for r in runs)
