"""Email pipeline throughput: emails/s from a committed outbox write to an SMTP sink
(API transaction → arq → worker → aiosmtplib), against a raw aiosmtplib loop sending
the same messages over one connection. Both measured in this run.

    .venv/bin/python -m bench.email_pipeline [--emails 500]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from app.wiring import Services
from bench.harness import machine, record, scratch_database
from jobs.worker import build_worker
from models.outbox import EmailStatus, OutboundEmail
from resolvers import runtime
from resolvers.context import system_scope
from resolvers.organizations import create_organization
from resolvers.outbox import queue_email
from tests.smtp import SmtpServer

HTML = "<p>Bonjour,</p><p>Voici les dates proposées pour la session.</p>" * 5


async def raw_loop(port: int, n: int) -> float:
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
        message.add_alternative(HTML, subtype="html")
        await client.send_message(message)
    elapsed = time.perf_counter() - start
    await client.quit()
    return n / elapsed


async def pipeline(settings: object, smtp: SmtpServer, n: int) -> float:
    services = await Services.start(settings)  # type: ignore[arg-type]
    org = await create_organization("Bench")
    scope = system_scope(org.id)
    worker = build_worker(settings, manage_db=False, handle_signals=False, poll_delay=0.01)  # type: ignore[arg-type]
    task = asyncio.create_task(worker.main())
    start = time.perf_counter()
    for i in range(n):
        async with runtime.atomic():
            await queue_email(
                scope, to=[f"c{i}@client.test"], subject="Dates", html=HTML, text="Bonjour"
            )
    while len(smtp.received) < n:
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - start
    task.cancel()
    await worker.close()
    await services.close()
    assert await OutboundEmail.filter(status=EmailStatus.SENT).count() == n
    return n / elapsed


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        smtp = SmtpServer()
        smtp.start()
        raw = await raw_loop(smtp.port, n)
        smtp.handler.received.clear()
        async with scratch_database(Path(tmp), smtp_port=smtp.port) as settings:
            ours = await pipeline(settings, smtp, n)
        smtp.stop()
    lines = [
        f"Machine: {machine()}. {n} emails to a local aiosmtpd sink.",
        "",
        "| path | emails/s |",
        "|---|---|",
        f"| raw aiosmtplib loop, one connection (baseline) | {raw:.0f} |",
        f"| outbox: commit → arq → worker → SMTP (pooled connections) | {ours:.0f} |",
        "",
        f"Ratio pipeline / raw: **{ours / raw:.2f}×**",
    ]
    print("\n".join(lines))
    record("Email pipeline", lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--emails", type=int, default=500)
    asyncio.run(main(parser.parse_args().emails))
