"""The publisher process of bench/fanout.py: one event per line read on stdin (until
stdin closes), one JSON line on stdout per step.

    trainhub mode (environment of a production Trainhub process, plus BENCH_ORG_ID):
        .venv/bin/python -m bench.fanout_publisher trainhub
    creates a lead through the resolvers, prints {"marker": <its lead.created event id>},
    then for each line updates it (``update_lead``: the change, its log and its event in
    one transaction, published on Redis after commit by the product's dispatcher) and
    prints {"id", "t0", "t1"}: the event id and time.monotonic_ns() before the write and
    once the dispatch returned.

    raw mode:
        .venv/bin/python -m bench.fanout_publisher raw REDIS_URL CHANNEL
    prints {"marker": 0}, then for each line PUBLISHes {"id": n}, same timings.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from app.db import close_db, init_db
from app.settings import get_settings
from app.wiring import Services
from models.audit import DomainEvent
from resolvers.context import system_scope
from resolvers.leads.records import create_manual_lead, update_lead


def say(message: dict[str, object]) -> None:
    print(json.dumps(message), flush=True)


async def timed_events(publish: Callable[[int], Awaitable[int]]) -> None:
    """One event per line read on stdin, until stdin closes."""
    loop = asyncio.get_running_loop()
    n = 0
    while await loop.run_in_executor(None, sys.stdin.readline):
        n += 1
        t0 = time.monotonic_ns()
        event_id = await publish(n)
        say({"id": event_id, "t0": t0, "t1": time.monotonic_ns()})


async def latest_event_id(organization_id: int) -> int:
    latest = await DomainEvent.filter(organization_id=organization_id).order_by("-id").first()
    assert latest is not None
    return latest.id


async def trainhub() -> None:
    settings = get_settings()
    await init_db(settings)
    services = await Services.start(settings)
    try:
        org_id = int(os.environ["BENCH_ORG_ID"])
        scope = system_scope(org_id)
        names = {"first_name": "Fan", "last_name": "Out", "email": "fan.out@bench.test"}
        lead = await create_manual_lead(scope, names)
        say({"marker": await latest_event_id(org_id)})

        async def publish(n: int) -> int:
            nonlocal lead
            lead = await update_lead(scope, lead.id, lead.version, {"description": f"change {n}"})
            return await latest_event_id(org_id)

        await timed_events(publish)
    finally:
        await services.close()
        await close_db()


async def raw(redis_url: str, channel: str) -> None:
    redis = Redis.from_url(redis_url)
    say({"marker": 0})

    async def publish(n: int) -> int:
        await redis.publish(channel, json.dumps({"id": n}))
        return n

    try:
        await timed_events(publish)
    finally:
        await redis.aclose()


if __name__ == "__main__":
    if sys.argv[1] == "trainhub":
        asyncio.run(trainhub())
    else:
        asyncio.run(raw(sys.argv[2], sys.argv[3]))
