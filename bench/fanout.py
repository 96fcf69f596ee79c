"""Subscription fan-out (SPEC §9, §12): one event to 1,000 WebSocket subscribers, delivery
latency, against a raw Redis pub/sub → WebSocket relay to the same number of sockets.

    .venv/bin/python -m bench.fanout [--subscribers 1000] [--events 20]

- Trainhub: two ``trainhub serve`` processes share the subscribers (graphql-transport-ws,
  ``events(types, after)``); a third process (bench/fanout_publisher.py) updates a lead
  through the resolvers, whose event the product's dispatcher publishes on Redis.
- raw: two bench/fanout_relay.py processes share the same number of sockets; the third
  process PUBLISHes a small JSON message on Redis.

The subscribers are one asyncio process (this one, on uvloop; bench/ws_clients.py).
Latency = arrival at the subscriber − the publisher's clock before its write (both
CLOCK_MONOTONIC). An event is published once the previous one has reached every
subscriber (then a short pause): each fan-out is measured alone, not a queue of them. Checked: every subscriber receives every event exactly once, in order,
and nothing else (lost, duplicated, unexpected, out of order are counted and fail the
run). CPU seconds of the
subscribers' process and of each server during the timed window are read from
``time.process_time()`` and /proc. Appends the run to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import uvloop

from app.settings import Settings
from bench.harness import Run, scratch_database, staff_user
from bench.servers import Server, free_port, product_env, running, trainhub_serve
from bench.ws_clients import GraphQLSubscriber, RawSubscriber, Subscriber, connect_all

SUBSCRIPTION = """subscription { events(types: ["lead.created", "lead.updated"], after: "%d") {
  id type recordType recordId payload at } }"""
TICKS = os.sysconf("SC_CLK_TCK")
DELIVERY_TIMEOUT = 60  # seconds for one event to reach every subscriber
PAUSE = 0.2  # seconds between an event's last delivery and the next event


@dataclass
class Outcome:
    latencies_ms: list[float]  # each delivery, from the publisher's clock before its write
    after_publish_ms: list[float]  # each delivery, from its clock once the publish returned
    all_delivered_ms: list[float]  # each event, until its last subscriber had it
    write_ms: list[float]  # each event, the publisher's own time: write + commit + publish
    lost: int
    duplicated: int
    unexpected: int  # events that were not published in the timed window
    out_of_order: int  # subscribers
    deliveries: int = 0
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


class Publisher:
    """The publisher process, driven over its stdin/stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, env: dict[str, str], *args: str) -> Publisher:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.fanout_publisher",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, **env},
        )
        return cls(process)

    async def line(self) -> dict[str, int]:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), 120)
        if not raw:
            raise RuntimeError(f"the publisher exited ({await self.process.wait()})")
        return json.loads(raw)  # type: ignore[no-any-return]

    async def publish(self) -> dict[str, int]:
        """One event; returns its id and the publisher's clock before and after."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"next\n")
        await self.process.stdin.drain()
        return await self.line()

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()


async def delivered(live: list[Subscriber], event_id: int) -> None:
    """Until every subscriber has the event (at most DELIVERY_TIMEOUT seconds)."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while time.monotonic() < deadline:
        if all(s.deliveries and s.deliveries[-1][1] >= event_id for s in live):
            return
        await asyncio.sleep(0.01)


async def fan_out(
    publisher: Publisher,
    subscribers: list[tuple[Subscriber, int]],
    servers: list[Server],
    count: int,
) -> Outcome:
    """``count`` events, each published once the previous one reached every subscriber."""
    live = await connect_all(subscribers)
    print(f"  {len(live)} subscribers live; publishing …", flush=True)
    client_cpu, server_cpu = time.process_time(), sum(cpu_seconds(s.pid) for s in servers)
    events = []
    for _ in range(count):
        events.append(await publisher.publish())
        await delivered(live, events[-1]["id"])
        await asyncio.sleep(PAUSE)  # the servers settle before the next event
    await publisher.stop()
    client_cpu = time.process_time() - client_cpu
    server_cpu = sum(cpu_seconds(s.pid) for s in servers) - server_cpu
    for s in live:
        s.close()
    return outcome(events, live, client_cpu, server_cpu)


def outcome(
    events: list[dict[str, int]], live: list[Subscriber], client_cpu: float, server_cpu: float
) -> Outcome:
    """Latencies and the exactly-once, in-order check over every subscriber."""
    expected = [e["id"] for e in events]
    sent_at = {e["id"]: e["t0"] for e in events}
    published_at = {e["id"]: e["t1"] for e in events}
    last_arrival = dict.fromkeys(expected, 0)
    result = Outcome(
        latencies_ms=[],
        after_publish_ms=[],
        all_delivered_ms=[],
        write_ms=[(e["t1"] - e["t0"]) / 1e6 for e in events],
        lost=0,
        duplicated=0,
        unexpected=0,
        out_of_order=0,
        client_cpu_s=client_cpu,
        server_cpu_s=server_cpu,
    )
    for s in live:
        ids = [event_id for _, event_id in s.deliveries]
        result.lost += len(set(expected) - set(ids))
        result.duplicated += len(ids) - len(set(ids))
        result.unexpected += len(set(ids) - set(expected))
        result.out_of_order += ids != sorted(ids)
        result.deliveries += len(ids)
        for at, i in s.deliveries:
            if i in sent_at:
                result.latencies_ms.append((at - sent_at[i]) / 1e6)
                result.after_publish_ms.append((at - published_at[i]) / 1e6)
                last_arrival[i] = max(last_arrival[i], at)
    result.all_delivered_ms = [(last_arrival[i] - sent_at[i]) / 1e6 for i in expected]
    return result


async def trainhub_phase(settings: Settings, work: Path, n: int, count: int) -> Outcome:
    scope, token = await staff_user()
    ports = [free_port(), free_port()]
    servers = [trainhub_serve(settings, p, work, f"trainhub-{i}") for i, p in enumerate(ports)]
    with running(*servers):
        for server, port in zip(servers, ports, strict=True):
            server.wait_for_port(port)
        env = {**product_env(settings), "BENCH_ORG_ID": str(scope.organization_id)}
        publisher = await Publisher.start(env, "trainhub")
        marker = (await publisher.line())["marker"]
        query = SUBSCRIPTION % (marker - 1)
        subscribers: list[tuple[Subscriber, int]] = [
            (GraphQLSubscriber(f"ws://127.0.0.1:{ports[i % 2]}/graphql", token, query, marker),
             ports[i % 2])
            for i in range(n)
        ]  # fmt: skip
        return await fan_out(publisher, subscribers, servers, count)


async def raw_phase(settings: Settings, work: Path, n: int, count: int) -> Outcome:
    channel = f"bench-fanout-{uuid.uuid4().hex[:8]}"
    ports = [free_port(), free_port()]
    servers = [
        Server(
            f"relay-{i}",
            [sys.executable, "-m", "bench.fanout_relay", str(p), settings.redis_url, channel],
            {},
            work / f"relay-{i}.log",
        )
        for i, p in enumerate(ports)
    ]
    with running(*servers):
        for server, port in zip(servers, ports, strict=True):
            server.wait_for_port(port)
        publisher = await Publisher.start({}, "raw", settings.redis_url, channel)
        await publisher.line()  # its marker: nothing to replay
        subscribers: list[tuple[Subscriber, int]] = [
            (RawSubscriber(f"ws://127.0.0.1:{ports[i % 2]}/"), ports[i % 2]) for i in range(n)
        ]
        return await fan_out(publisher, subscribers, servers, count)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(name: str, o: Outcome) -> str:
    return (
        f"| {name} | {percentile(o.latencies_ms, 0.5):.1f} | {percentile(o.latencies_ms, 0.99):.1f} "
        f"| {statistics.median(o.all_delivered_ms):.0f} / {max(o.all_delivered_ms):.0f} "
        f"| {statistics.median(o.write_ms):.1f} "
        f"| {percentile(o.after_publish_ms, 0.5):.1f} / {percentile(o.after_publish_ms, 0.99):.1f} "
        f"| {o.deliveries:,} "
        f"| {o.lost} / {o.duplicated} / {o.unexpected} / {o.out_of_order} "
        f"| {1e6 * o.server_cpu_s / max(o.deliveries, 1):.0f} "
        f"| {1e6 * o.client_cpu_s / max(o.deliveries, 1):.0f} |"
    )


async def main(n: int, count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        async with scratch_database(work) as settings:
            run = Run(f"subscription fan-out: one event to {n:,} subscribers")
            print(f"Trainhub: {n} subscribers over two trainhub serve …", flush=True)
            ours = await trainhub_phase(settings, work, n, count)
            print(f"raw relay: {n} sockets over two relay processes …", flush=True)
            raw = await raw_phase(settings, work, n, count)
    p50, p99 = (
        percentile(ours.latencies_ms, q) / percentile(raw.latencies_ms, q) for q in (0.5, 0.99)
    )
    lines = [
        f"- {n:,} subscribers in one asyncio process (uvloop, sans-I/O websockets), half on "
        f"each of two server processes; {count} events from a third process, each once the "
        f"previous one reached every subscriber (+{PAUSE:g} s); latency from the publisher's "
        "clock before its write to arrival",
        "",
        "| path | p50 ms | p99 ms | all delivered ms (median / worst event) "
        "| publisher write ms (median) "
        "| p50 / p99 ms after the publish | deliveries "
        "| lost / duplicated / unexpected / out of order | server CPU µs per delivery "
        "| subscriber CPU µs per delivery |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        row("Trainhub (`events` subscription)", ours),
        row("raw Redis pub/sub → WebSocket relay", raw),
        "",
        f"Latency Trainhub / raw: **p50 {p50:.1f}×, p99 {p99:.1f}×**.",
    ]
    print("\n".join(lines))
    run.record(lines)
    if any((o.lost, o.duplicated, o.unexpected, o.out_of_order) != (0,) * 4 for o in (ours, raw)):
        raise SystemExit("events were lost, duplicated, unexpected or out of order (see above)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    arguments = parser.parse_args()
    uvloop.run(main(arguments.subscribers, arguments.events))
