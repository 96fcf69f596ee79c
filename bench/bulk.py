"""Bulk mass update and its revert on 10,000 leads, against the raw SQL doing the same.

On a scratch PostgreSQL database (bench/harness.py) with the leads loaded by COPY
(bench/leads.py): ``massUpdateLeads``' resolver from the start to DONE (queued, then run
as the worker's task runs it, batches of ``engine.batch_size``) of one field, then three,
against (a) the single raw ``UPDATE`` setting those fields and bumping versions and (b)
that UPDATE plus the change-log ``INSERT … SELECT`` (one row per lead and field). Then
``revertBulkOperation`` to DONE against (a) the raw ``UPDATE … FROM`` change log that puts
the values back and (b) that UPDATE only where the lead still has the value written (the
conflict check) plus the revert's change-log rows. Each measurement alternates the
values, so every run really changes every lead.

Bulk email, on a scratch database of its own: ``sendLeadEmails`` to 1,000 leads (queued:
run by a ``trainhub worker`` process, which then delivers them) from the call to the last
email SENT at the SMTP sink (bench/smtp_sink.py, its own process), against the raw
aiosmtplib loop over one connection of bench/email_pipeline.py sending the same messages.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import cast

import asyncpg
from arq import create_pool

from app.wiring import RedisDispatcher, arq_settings, collect_garbage_less_often, queue_name
from bench.email_pipeline import Sink, delivered, message_ids_of, raw_loop
from bench.harness import Run, scratch_database, staff_user
from bench.leads import load
from bench.servers import running, trainhub_worker
from models.leads import Lead
from models.operations import BulkOperation, BulkOperationItem
from models.outbox import OutboundEmail
from resolvers import runtime
from resolvers.bulk import ErrorPolicy
from resolvers.bulk_operations import emails, engine, mass_update, revert
from resolvers.lead_emails import LeadEmailInput
from resolvers.leads.listing import LeadFilter
from resolvers.selections import Selection

ONE = ("campaign",)
THREE = ("campaign", "lead_source", "department")


async def ours_update(scope, fields: tuple[str, ...], value: str) -> BulkOperation:  # type: ignore[no-untyped-def]
    operation = await mass_update.start(
        scope,
        Selection(filter=LeadFilter()),
        {name: f"{value}-{name}" for name in fields},
        policy=ErrorPolicy.REJECT_FAILED_ROWS,
        idempotency_key=None,
    )
    await engine.claim_queued(operation.id)  # what jobs/bulk_operations.py does
    await engine.run_operation(operation.id)
    await operation.refresh_from_db()
    assert operation.status.value == "DONE", operation.error
    return operation


async def ours_revert(scope, operation: BulkOperation) -> None:  # type: ignore[no-untyped-def]
    done = await revert.revert_operation(scope, operation.id)
    await engine.claim_queued(done.id)
    await engine.run_operation(done.id)


def raw_update_sql(fields: tuple[str, ...], with_log: bool) -> str:
    sets = ", ".join(f"{name} = $2 || '-{name}'" for name in fields)
    update = (
        f"UPDATE lead SET {sets}, version = version + 1, updated_at = now() "
        "WHERE organization_id = $1 AND deleted_at IS NULL"
    )
    if not with_log:
        return update
    # The change-log rows of the same change, set-based, reading the old values first.
    selects = " UNION ALL ".join(
        f"SELECT id, '{name}' AS field, {name} AS old, $2 || '-{name}' AS new FROM old"
        for name in fields
    )
    return (
        f"WITH old AS (SELECT id, {', '.join(fields)} FROM lead WHERE organization_id = $1 "
        f"AND deleted_at IS NULL FOR UPDATE), upd AS ({update} RETURNING id) "
        "INSERT INTO changelogentry (organization_id, record_type, record_id, action, field, "
        "old_value, new_value, actor_kind, actor_label, bulk_job_id, reason, at) "
        f"SELECT $1, 'lead', c.id, 'mass_update', c.field, c.old, c.new, 'USER', 'bench', "
        f"'raw', '', now() FROM ({selects}) c"
    )


RAW_REVERT = """UPDATE lead SET campaign = c.old_value, version = version + 1
  FROM changelogentry c WHERE c.bulk_job_id = 'raw' AND c.field = 'campaign'
  AND c.record_id = lead.id AND lead.organization_id = $1"""
# The same with the revert's work besides: only where the lead still has what the update
# wrote (a conflict check), and the revert's own change-log rows.
RAW_REVERT_LOGGED = """WITH upd AS (
  UPDATE lead SET campaign = c.old_value, version = version + 1, updated_at = now()
  FROM changelogentry c WHERE c.bulk_job_id = 'raw' AND c.field = 'campaign'
  AND c.record_id = lead.id AND lead.organization_id = $1
  AND lead.campaign IS NOT DISTINCT FROM c.new_value
  RETURNING lead.id, c.new_value AS old, c.old_value AS new)
INSERT INTO changelogentry (organization_id, record_type, record_id, action, field,
  old_value, new_value, actor_kind, actor_label, bulk_job_id, reason, at)
SELECT $1, 'lead', id, 'revert', 'campaign', old, new, 'USER', 'bench', 'raw-revert', '',
  now() FROM upd"""


async def seconds(work: Awaitable[object]) -> float:
    """Seconds ``work`` (a coroutine, not started yet) takes."""
    start = time.perf_counter()
    await work
    return time.perf_counter() - start


EMAIL = LeadEmailInput(subject="Offre {{ lead.first_name }}", message="Une nouvelle session.")


async def send_emails(scope, ids: list[int]) -> list[int]:  # type: ignore[no-untyped-def]
    """``sendLeadEmails``' resolver on ``ids`` to DONE (run by the worker above 500); the
    ids of the emails it wrote."""
    operation = await emails.start_sending(
        scope,
        Selection(ids=ids),
        EMAIL,
        policy=ErrorPolicy.REJECT_FAILED_ROWS,
        idempotency_key=None,
    )
    while operation.status.value not in ("DONE", "FAILED"):
        await asyncio.sleep(0.02)
        await operation.refresh_from_db()
    assert operation.status.value == "DONE", operation.error
    sent = BulkOperationItem.filter(operation_id=operation.id, outcome=emails.SENT)
    values = cast(list[dict[str, int]], await sent.values_list("new_values", flat=True))
    return [v["email_id"] for v in values]


async def bulk_email(count: int) -> None:
    """Ours from the call to the last SENT, against the raw loop sending the same emails."""
    run = Run(f"bulk: email of {count:,} leads against a raw aiosmtplib loop")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sink = Sink(work)
        async with scratch_database(work, smtp_port=sink.port) as settings:
            scope, _ = await staff_user()
            # Twice the leads: the sink speaks no SMTPUTF8, so only ASCII addresses are used.
            await load(settings.database_url, scope.organization_id, 2 * count + 2)
            leads = Lead.filter(organization_id=scope.organization_id).order_by("id")
            rows = cast(list[tuple[int, str]], await leads.values_list("id", "email"))
            ids = [pk for pk, email in rows if email.isascii()][: count + 1]
            pool = await create_pool(
                arq_settings(settings), default_queue_name=queue_name(settings)
            )
            dispatcher = RedisDispatcher(pool, settings.redis_namespace)
            runtime.configure(dataclasses.replace(runtime.current(), dispatcher=dispatcher))
            try:
                with running(sink.server, trainhub_worker(settings, work)):
                    sink.server.wait_for_port(sink.port)
                    warm_up = await send_emails(scope, ids[:1])
                    await delivered(sink, warm_up, await message_ids_of(warm_up))
                    start = time.perf_counter()
                    sent = await send_emails(scope, ids[1:])
                    written = time.perf_counter() - start
                    duplicates = await delivered(sink, sent, await message_ids_of(sent))
                    ours = time.perf_counter() - start
                    samples = await OutboundEmail.filter(id__in=sent).order_by("id")
                    raw = len(samples) / await raw_loop(sink.port, samples, "bulk")
            finally:
                await pool.aclose()
    lines = [
        f"- {count:,} leads with ASCII addresses of {2 * count + 2:,} loaded with COPY "
        f"({len(sent)} distinct addresses: one email each); ours = sendLeadEmails' resolver → "
        "queued → one `trainhub worker` process runs the batches, then delivers (arq, one job "
        "per email, SMTP pool) → aiosmtpd sink in its own process, until the last email is "
        "SENT and at the sink; raw = bench/email_pipeline.py's aiosmtplib loop over one "
        "connection sending the same messages",
        f"- of ours, {written:.2f} s to the operation DONE (emails rendered and written, "
        f"{-(-count // engine.BATCH_SIZE)} batches), the rest delivery; duplicates at the "
        f"sink: {duplicates}",
        "",
        "| action | ours s | raw aiosmtplib loop s | ratio |",
        "|---|---:|---:|---:|",
        f"| bulk email, {count:,} leads, to the last SENT | {ours:.2f} | {raw:.2f} | "
        f"**{ours / raw:.1f}×** |",
    ]
    print("\n".join(lines))
    run.record(lines)


async def main(count: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(Path(tmp)) as settings:
            run = Run(f"bulk: mass update and revert of {count:,} leads against raw SQL")
            scope, _ = await staff_user()
            await load(settings.database_url, scope.organization_id, count)
            collect_garbage_less_often()  # as the worker process does once started
            raw = await asyncpg.connect(settings.database_url)
            rows: list[tuple[str, float, float, float]] = []
            batches = 0
            try:
                for fields in (ONE, THREE):
                    ours, bare, logged = [], [], []
                    for i in range(repeat):
                        ours.append(await seconds(ours_update(scope, fields, f"o{i}")))
                        sql = raw_update_sql(fields, False)
                        bare.append(await seconds(raw.execute(sql, scope.organization_id, f"b{i}")))
                        sql = raw_update_sql(fields, True)
                        logged.append(
                            await seconds(raw.execute(sql, scope.organization_id, f"l{i}"))
                        )
                    rows.append(
                        (
                            f"mass update, {len(fields)} field(s)",
                            statistics.median(ours),
                            statistics.median(bare),
                            statistics.median(logged),
                        )
                    )
                ours_r: list[float] = []
                raw_r: list[float] = []
                raw_logged: list[float] = []
                org = scope.organization_id
                for i in range(repeat):
                    operation = await ours_update(scope, ONE, f"r{i}")
                    batches = engine.batch_size(operation)
                    ours_r.append(await seconds(ours_revert(scope, operation)))
                    for sql, times in ((RAW_REVERT, raw_r), (RAW_REVERT_LOGGED, raw_logged)):
                        await raw.execute(raw_update_sql(ONE, True), org, f"r{i}")
                        times.append(await seconds(raw.execute(sql, org)))
                        await raw.execute(
                            "DELETE FROM changelogentry WHERE bulk_job_id IN ('raw', 'raw-revert')"
                        )
                rows.append(
                    (
                        "revert, 1 field",
                        statistics.median(ours_r),
                        statistics.median(raw_r),
                        statistics.median(raw_logged),
                    )
                )
            finally:
                await raw.close()
    lines = [
        f"- {count:,} leads loaded with COPY; median of {repeat} runs; ours = the resolver from "
        f"start to DONE (batches of {batches}: items, change log, one event per lead, "
        "progress); raw revert + log = only where the lead still has the update's value, "
        "and the revert's change-log rows",
        "",
        "| action | ours s | raw UPDATE s | raw UPDATE + change log s | ratio vs UPDATE | ratio vs UPDATE + log (goal ≤ 2×) |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {name} | {o:.3f} | {b:.3f} | {lg:.3f} | {o / b:.1f}× | **{o / lg:.1f}×** |"
            for name, o, b, lg in rows
        ),
    ]
    print("\n".join(lines))
    run.record(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--emails", type=int, default=1_000, help="leads emailed; 0: skip")
    parser.add_argument("--only-emails", action="store_true")
    args = parser.parse_args()
    if not args.only_emails:
        asyncio.run(main(args.leads, args.repeat))
    if args.emails:
        asyncio.run(bulk_email(args.emails))
