"""Email delivery throughput (SPEC §6, §12), emails/s to an SMTP sink (aiosmtpd, its own
process: bench/smtp_sink.py), measured side by side in one run:

- raw: a plain aiosmtplib loop over one connection, messages of the same size (run
  before and after the two others; the ratios use the mean of the two);
- (a) worker alone: N outbox rows already QUEUED, enqueued at once to arq (jobs of
  ``BATCH_SIZE``), → SENT by one ``trainhub worker`` process (claim a batch, build, SMTP
  over one pooled connection per job, mark SENT with the events); goal ≥ 0.5× raw;
- (b) end to end: ``sendDateProposals`` mutations (100 items each, one after the other)
  to one ``trainhub serve`` process, → outbox → arq → the same worker → sink.

    .venv/bin/python -m bench.email_pipeline [--emails 500]

Each phase ends when every email is both received by the sink and recorded SENT; the
sink's Message-IDs are checked: none missing, duplicates counted (delivery is
at-least-once). Appends the run to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import cast

import aiosmtplib
import httpx
from arq import create_pool

from app.settings import Settings
from app.wiring import RedisDispatcher, arq_settings, queue_name
from bench.harness import Run, counting_statements, scratch_database, seed_sessions
from bench.servers import Server, free_port, running, trainhub_serve, trainhub_worker
from jobs.outbox_delivery import BATCH_SIZE, SMTP_CONNECTIONS
from models.outbox import EmailStatus, OutboundEmail
from models.sessions import SessionClient
from resolvers.confirmation.proposals import ProposalInput, send_date_proposal
from resolvers.context import Scope
from resolvers.runtime import now

CLIENTS_PER_SESSION = 5
BATCH = 100  # items per sendDateProposals call (the mutation's cap)
MUTATION = """mutation Send($inputs: [BulkDateProposalInput!]!) {
  sendDateProposals(inputs: $inputs) { __typename } }"""
DEADLINE_DAYS = 5  # before the first slot
DELIVERY_TIMEOUT = 600  # seconds: a phase that takes longer has failed


class Sink:
    """The SMTP sink process; its log holds one received Message-ID a line."""

    def __init__(self, work: Path) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "bench.smtp_sink", str(self.port)]
        self.server = Server("smtp sink", command, {}, work / "smtp_sink.log")

    def received(self) -> Counter[str]:
        lines = self.server.log.read_text().splitlines()
        return Counter(line for line in lines if line != "READY")


async def session_clients(count: int) -> tuple[Scope, str, list[int], ProposalInput]:
    """A new organisation with ``count`` session clients that can be sent a proposal."""
    sessions = -(-count // CLIENTS_PER_SESSION)
    first_slot = now().date() + timedelta(days=30)
    scope, token = await seed_sessions(
        sessions=sessions,
        clients_per_session=CLIENTS_PER_SESSION,
        contacts_per_client=1,
        slots_per_session=2,
        start=first_slot,
    )
    rows = SessionClient.filter(organization_id=scope.organization_id).order_by("id")
    ids = cast(list[int], await rows.limit(count).values_list("id", flat=True))
    return (
        scope,
        token,
        list(ids),
        ProposalInput(deadline=first_slot - timedelta(days=DEADLINE_DAYS)),
    )


async def delivered(sink: Sink, email_ids: list[int], message_ids: set[str]) -> int:
    """Waits until every email is at the sink and SENT; returns the duplicates seen."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while time.monotonic() < deadline:
        received = sink.received()
        if all(m in received for m in message_ids):
            sent = OutboundEmail.filter(id__in=email_ids, status=EmailStatus.SENT)
            if await sent.count() == len(email_ids):
                return sum(received[m] - 1 for m in message_ids)
        await asyncio.sleep(0.02)
    raise RuntimeError(f"not delivered in {DELIVERY_TIMEOUT} s: {len(message_ids)} expected")


async def message_ids_of(email_ids: list[int]) -> set[str]:
    rows = OutboundEmail.filter(id__in=email_ids).values_list("message_id", flat=True)
    return set(cast(list[str], await rows))


async def raw_loop(port: int, samples: list[OutboundEmail], tag: str) -> float:
    """Emails/s of a plain aiosmtplib loop over one connection (messages built as the
    worker builds them, from the given rows)."""
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    await client.connect()
    start = time.perf_counter()
    for i, row in enumerate(samples):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = row.sender, row.to[0], row.subject
        message["Message-ID"] = f"<raw-{tag}-{i}@bench>"
        message["Date"] = format_datetime(row.created_at)
        message.set_content(row.text)
        message.add_alternative(row.html, subtype="html")
        await client.send_message(message)
    elapsed = time.perf_counter() - start
    await client.quit()
    return len(samples) / elapsed


@dataclass(frozen=True)
class WorkerPhase:
    rate: float  # emails/s
    duplicates: int
    email_ids: list[int]
    statements_per_proposal: float  # writing them, in-process


async def worker_alone(settings: Settings, sink: Sink, n: int) -> WorkerPhase:
    """(a): N+1 proposals written in-process (nothing enqueued), then enqueued to the
    running worker: one to warm it up, then N at once."""
    scope, _, ids, proposal = await session_clients(n + 1)
    with counting_statements() as statements:
        for session_client_id in ids:
            await send_date_proposal(scope, session_client_id, proposal)
    email_ids = cast(
        list[int],
        await OutboundEmail.filter(organization_id=scope.organization_id)
        .order_by("id")
        .values_list("id", flat=True),
    )
    # Fresh rows: the worker's periodic outbox sweep (rows QUEUED for 60 s) leaves them
    # to the bench's own enqueue below.
    await OutboundEmail.filter(id__in=email_ids).update(updated_at=now())
    pool = await create_pool(arq_settings(settings), default_queue_name=queue_name(settings))
    dispatcher = RedisDispatcher(pool, settings.redis_namespace)
    try:
        warm_up, timed = email_ids[:1], email_ids[1:]
        await dispatcher.enqueue_emails(warm_up)
        await delivered(sink, warm_up, await message_ids_of(warm_up))
        expected = await message_ids_of(timed)
        print(f"  {len(timed)} emails enqueued, timing the worker …", flush=True)
        start = time.perf_counter()
        await dispatcher.enqueue_emails(timed)
        duplicates = await delivered(sink, timed, expected)
        rate = len(timed) / (time.perf_counter() - start)
    finally:
        await pool.aclose()
    return WorkerPhase(rate, duplicates, timed, len(statements) / len(ids))


def relay_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


async def end_to_end(url: str, sink: Sink, n: int) -> tuple[float, float, int]:
    """(b): sendDateProposals over HTTP, one warm-up item then N in batches of 100.
    Returns emails/s, the seconds the mutations took, and duplicates."""
    scope, token, ids, proposal = await session_clients(n + 1)
    headers = {"Authorization": f"Bearer {token}"}

    async def send(http: httpx.AsyncClient, batch: list[int]) -> None:
        inputs = [
            {
                "sessionClientId": relay_id("SessionClient", i),
                "proposal": {"deadline": proposal.deadline.isoformat()},
            }
            for i in batch
        ]
        body = {"query": MUTATION, "variables": {"inputs": inputs}}
        response = await http.post(url, json=body, headers=headers)
        response.raise_for_status()
        if "errors" in response.json():
            raise RuntimeError(f"sendDateProposals: {json.dumps(response.json()['errors'])}")

    async def emails_of(batch: list[int]) -> list[int]:
        rows = OutboundEmail.filter(organization_id=scope.organization_id).order_by("id")
        found = cast(list[int], await rows.values_list("id", flat=True))
        if len(found) != len(batch):
            raise RuntimeError(f"{len(found)} emails written for {len(batch)} proposals")
        return list(found)

    async with httpx.AsyncClient(timeout=120) as http:
        await send(http, ids[:1])
        warm_up = await emails_of(ids[:1])
        await delivered(sink, warm_up, await message_ids_of(warm_up))
        print(f"  timing {n} proposals from sendDateProposals to the sink …", flush=True)
        start = time.perf_counter()
        for offset in range(1, len(ids), BATCH):
            await send(http, ids[offset : offset + BATCH])
        api_seconds = time.perf_counter() - start
        timed = [e for e in await emails_of(ids) if e not in warm_up]
        duplicates = await delivered(sink, timed, await message_ids_of(timed))
        rate = len(timed) / (time.perf_counter() - start)
    return rate, api_seconds, duplicates


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sink = Sink(work)
        async with scratch_database(work, smtp_port=sink.port) as settings:
            api_port = free_port()
            worker = trainhub_worker(settings, work)
            api = trainhub_serve(settings, api_port, work)
            with running(sink.server, worker, api):
                sink.server.wait_for_port(sink.port)
                api.wait_for_port(api_port)
                run = Run("email pipeline: worker alone and sendDateProposals, against raw SMTP")
                print("(a) worker alone …", flush=True)
                ours = await worker_alone(settings, sink, n)
                samples = await OutboundEmail.filter(id__in=ours.email_ids).order_by("id")
                raw_before = await raw_loop(sink.port, samples, "before")
                print("(b) end to end from sendDateProposals …", flush=True)
                url = f"http://127.0.0.1:{api_port}/graphql"
                e2e, api_seconds, duplicates_b = await end_to_end(url, sink, n)
                raw_after = await raw_loop(sink.port, samples, "after")
    raw = (raw_before + raw_after) / 2
    size = sum(len(s.html) + len(s.text) for s in samples) / len(samples)
    lines = [
        f"- {n} emails per phase (~{size / 1000:.1f} kB of HTML + text each) to an aiosmtpd "
        f"sink in its own process; one `trainhub worker` (arq jobs of {BATCH_SIZE} emails, "
        f"{SMTP_CONNECTIONS} at once, one pooled SMTP connection each), one `trainhub serve`",
        "",
        "| path | emails/s | ratio to raw |",
        "|---|---:|---:|",
        f"| raw aiosmtplib loop, one connection (before / after) | {raw_before:.0f} / "
        f"{raw_after:.0f} | 1.00× |",
        f"| (a) worker alone: QUEUED rows → SENT | {ours.rate:.0f} | **{ours.rate / raw:.2f}×** "
        "(goal ≥ 0.5×) |",
        f"| (b) sendDateProposals → outbox → arq → worker → SMTP | {e2e:.0f} | "
        f"**{e2e / raw:.2f}×** |",
        "",
        f"(b)'s mutations ({n} items in calls of {BATCH}) took {api_seconds:.1f} s of its "
        f"{n / e2e:.1f} s; writing a proposal takes {ours.statements_per_proposal:.0f} SQL "
        "statements (in-process, Tortoise's client, transaction control not counted); "
        f"duplicates at the sink: {ours.duplicates} (a), {duplicates_b} (b).",
    ]
    print("\n".join(lines))
    run.record(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--emails", type=int, default=500)
    asyncio.run(main(parser.parse_args().emails))
