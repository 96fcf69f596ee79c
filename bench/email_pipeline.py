"""Email pipeline throughput (SPEC §12): emails/s from ``send_date_proposal`` (the
proposal, its outbox email, state change, history and event in one transaction) through
arq and the worker to an SMTP sink, against a raw aiosmtplib loop sending messages of
the same size over one connection. Both measured in this run.

    .venv/bin/python -m bench.email_pipeline [--emails 500]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from app.wiring import Services
from bench.harness import machine, record, scratch_database
from jobs.worker import build_worker
from models.outbox import EmailStatus, OutboundEmail
from models.sessions import SessionClient
from resolvers.confirmation import ProposalInput, send_date_proposal
from resolvers.context import system_scope
from resolvers.organizations import create_organization
from resolvers.runtime import now
from tests.smtp import SmtpServer
from tests.training_grid import seed_grid

CLIENTS_PER_SESSION = 5


async def raw_loop(port: int, n: int, html: str) -> float:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    await client.connect()
    start = time.perf_counter()
    for i in range(n):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = (
            "a@org.test",
            f"c{i}@client.test",
            "Dates",
        )
        message.set_content("Bonjour")
        message.add_alternative(html, subtype="html")
        await client.send_message(message)
    elapsed = time.perf_counter() - start
    await client.quit()
    return n / elapsed


async def pipeline(settings: object, smtp: SmtpServer, n: int) -> float:
    services = await Services.start(settings)  # type: ignore[arg-type]
    org = await create_organization("Bench")
    scope = system_scope(org.id)
    first_slot = now().date() + timedelta(days=30)
    await seed_grid(
        scope,
        sessions=max(1, n // CLIENTS_PER_SESSION),
        clients_per_session=CLIENTS_PER_SESSION,
        contacts_per_client=1,
        slots_per_session=2,
        start=first_slot,
    )
    enrolments = await SessionClient.filter(organization_id=org.id).order_by("id").limit(n)
    proposal = ProposalInput(deadline=first_slot - timedelta(days=5))
    worker = build_worker(settings, manage_db=False, handle_signals=False, poll_delay=0.01)  # type: ignore[arg-type]
    task = asyncio.create_task(worker.main())
    start = time.perf_counter()
    for enrolment in enrolments:
        await send_date_proposal(scope, enrolment.id, proposal)
    sent = OutboundEmail.filter(organization_id=org.id, status=EmailStatus.SENT)
    while len(smtp.received) < len(enrolments) or await sent.count() < len(enrolments):
        await asyncio.sleep(0.01)  # done when delivered *and* recorded as SENT
    elapsed = time.perf_counter() - start
    task.cancel()
    await worker.close()
    await services.close()
    assert len(smtp.received) == len(enrolments)  # each email delivered once
    return len(enrolments) / elapsed


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        smtp = SmtpServer()
        smtp.start()
        async with scratch_database(Path(tmp), smtp_port=smtp.port) as settings:
            ours = await pipeline(settings, smtp, n)
        # The baseline sends HTML of the size the proposals had.
        html = smtp.received[0].message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        smtp.handler.received.clear()
        raw = await raw_loop(smtp.port, n, html)
        smtp.stop()
    lines = [
        f"Machine: {machine()}. {n} emails to a local aiosmtpd sink.",
        "",
        "| path | emails/s |",
        "|---|---|",
        f"| raw aiosmtplib loop, one connection (baseline) | {raw:.0f} |",
        f"| sendDateProposal → outbox → arq → worker → SMTP (pooled connections) | {ours:.0f} |",
        "",
        f"Ratio pipeline / raw: **{ours / raw:.2f}×**",
    ]
    print("\n".join(lines))
    record("Email pipeline", lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--emails", type=int, default=500)
    asyncio.run(main(parser.parse_args().emails))
