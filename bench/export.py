"""Export benchmark (issue 11): the CSV export of 100,000 leads over HTTP from a real
``trainhub serve`` process, against PostgreSQL's own ``COPY (SELECT …) TO STDOUT`` of the
same columns in the same order, and the server process's memory growth meanwhile.

    .venv/bin/python -m bench.export [--leads 100000] [--repeat 3] [--pdf-only | --csv-only]

On a scratch PostgreSQL database (bench/harness.py) with the leads loaded by COPY
(bench/leads.py). Ours: ``GET /exports/leads.csv`` (Bearer, default filter and order,
every column) read to the end by an HTTP client, checked for its row count; the path that
wrote the rows (``X-Export-Path``: PostgreSQL's COPY, or Python over a cursor). Memory: the
server's ``VmRSS`` sampled every 5 ms during each export (``/proc/<pid>/status``), growth =
the highest sample minus the value just before; ``VmHWM`` (the kernel's own peak) is
reported too. Prints the figures and appends the run to bench/RESULTS.md.

PDF list of 1,000 leads (the 1,000 newest, by a ``createdFrom`` filter, every column):
above the in-request limit, so ``GET /print/leads.pdf`` answers 202 and a ``trainhub
worker`` process renders the file; timed from the request to the downloaded file, with the
worker's RSS growth. Beside it, in the same run: the CSV export of the same 1,000 leads
(the baseline of the ratio) and a 500-lead PDF rendered inside the API request, with the
API process's RSS growth.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from bench.harness import Run, scratch_database, staff_user
from bench.leads import load
from bench.servers import Server, free_port, running, trainhub_serve, trainhub_worker

# The export's columns (resolvers/exports/lists.py LEADS) in the list's default order
# (newest first): COPY writes the raw values, ours the labels and ISO dates.
COPY_SELECT = """SELECT id, first_name, last_name, email, status, account_name,
  waitlist_status, waitlist_product_code, waitlist_date_added, waitlist_emails_sent,
  source_system, assigned_user_id, created_at, updated_at FROM lead
  WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC"""
SAMPLE_SECONDS = 0.005


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (``/proc/<pid>/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise KeyError(key)


class RssSampler:
    """The highest ``VmRSS`` of ``pid`` while running (a thread polling /proc)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before = memory_kb(pid, "VmRSS")
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, memory_kb(self.pid, "VmRSS"))
            time.sleep(SAMPLE_SECONDS)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, memory_kb(self.pid, "VmRSS"))

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.before) / 1024


@dataclass
class Export:
    seconds: float
    cpu_seconds: float  # the server process's, during the export
    rows: int
    megabytes: float
    growth_mb: float
    hwm_mb: float
    path: str  # who wrote the rows: "copy" or "cursor" (X-Export-Path)


async def ours(base_url: str, token: str, pid: int) -> Export:
    body = io.BytesIO()
    cpu_before = cpu_seconds(pid)
    with RssSampler(pid) as sampler:
        start = time.perf_counter()
        async with (
            httpx.AsyncClient(base_url=base_url, timeout=300) as http,
            http.stream(
                "GET", "/exports/leads.csv", headers={"Authorization": f"Bearer {token}"}
            ) as response,
        ):
            response.raise_for_status()
            path = response.headers["x-export-path"]
            async for chunk in response.aiter_bytes():
                body.write(chunk)
        seconds = time.perf_counter() - start
    cpu = cpu_seconds(pid) - cpu_before
    rows = sum(1 for _ in csv.reader(io.StringIO(body.getvalue().decode()))) - 1
    hwm = memory_kb(pid, "VmHWM") / 1024
    return Export(seconds, cpu, rows, len(body.getvalue()) / 1e6, sampler.growth_mb, hwm, path)


async def copy_baseline(dsn: str, org_id: int) -> tuple[float, int]:
    conn = await asyncpg.connect(dsn)
    sink = io.BytesIO()
    try:
        start = time.perf_counter()
        # COPY (COPY_SELECT) TO STDOUT WITH (FORMAT csv, HEADER)
        await conn.copy_from_query(COPY_SELECT, org_id, output=sink, format="csv", header=True)
        return time.perf_counter() - start, len(sink.getvalue())
    finally:
        await conn.close()


async def measure_csv(
    dsn: str, org_id: int, base_url: str, token: str, pid: int, count: int, repeat: int
) -> list[str]:
    exports, copies = [], []
    for _ in range(repeat):
        export = await ours(base_url, token, pid)
        assert export.rows == count, f"exported {export.rows} rows, expected {count}"
        exports.append(export)
        copies.append(await copy_baseline(dsn, org_id))
    ours_s = statistics.median(e.seconds for e in exports)
    cpu_s = statistics.median(e.cpu_seconds for e in exports)
    copy_s = statistics.median(seconds for seconds, _ in copies)
    growth = max(e.growth_mb for e in exports)
    return [
        f"- CSV export of {count:,} leads (every column, default order), median of {repeat}; "
        "ours = `GET /exports/leads.csv` from a `trainhub serve` process read to the end by "
        "httpx on the same machine; COPY = `COPY (SELECT the same columns …) TO STDOUT` "
        "read by asyncpg; memory = the server's VmRSS sampled every 5 ms",
        "",
        "| export | path | ours s | server CPU s | COPY s | ratio (goal ≤ 3×) | server CPU / COPY | ours MB | COPY MB | RSS growth MB, worst run (goal < 50) | server VmHWM MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| leads CSV | {'/'.join(sorted({e.path for e in exports}))} | {ours_s:.2f} | {cpu_s:.2f} | {copy_s:.2f} | **{ours_s / copy_s:.1f}×** | "
        f"{cpu_s / copy_s:.1f}× | "
        f"{exports[0].megabytes:.1f} | {copies[0][1] / 1e6:.1f} | **{growth:.1f}** | "
        f"{exports[-1].hwm_mb:.0f} |",
        "",
        "Per run (s, server CPU s, RSS growth MB): "
        + ", ".join(f"{e.seconds:.2f} / {e.cpu_seconds:.2f} / {e.growth_mb:.1f}" for e in exports),
    ]


NEWEST_CREATED = """SELECT created_at FROM lead WHERE organization_id = $1 AND deleted_at IS NULL
  ORDER BY created_at DESC, id DESC OFFSET $2 - 1 LIMIT 1"""
PDF_LEADS = 1000
IN_REQUEST_LEADS = 500


async def newest_filter(dsn: str, org_id: int, count: int) -> dict[str, str]:
    """The list filter of the ``count`` newest leads (the bench's leads are a minute apart)."""
    conn = await asyncpg.connect(dsn)
    try:
        created = await conn.fetchval(NEWEST_CREATED, org_id, count)
    finally:
        await conn.close()
    return {"filter": json.dumps({"createdFrom": created.isoformat()})}


async def timed_get(
    http: httpx.AsyncClient, path: str, params: dict[str, str], pid: int
) -> tuple[float, float, httpx.Response]:
    """Seconds, RSS growth (MB) of ``pid``, and the answer of one GET."""
    with RssSampler(pid) as sampler:
        start = time.perf_counter()
        response = await http.get(path, params=params)
        seconds = time.perf_counter() - start
    response.raise_for_status()
    return seconds, sampler.growth_mb, response


async def queued_pdf(
    http: httpx.AsyncClient, params: dict[str, str], worker: Server
) -> tuple[float, float, int]:
    """A list print above the in-request limit, from the request to the downloaded file:
    seconds, the worker's RSS growth (MB), the file's size."""
    with RssSampler(worker.pid) as sampler:
        start = time.perf_counter()
        asked = await http.get("/print/leads.pdf", params=params)
        assert asked.status_code == 202, asked.text
        file = asked.json()
        while file["status"] in ("QUEUED", "RUNNING"):
            await asyncio.sleep(0.05)
            file = (await http.get(file["statusUrl"])).json()
        assert file["status"] == "DONE", f"{file}\n{worker.tail()}"
        download = await http.get(file["downloadUrl"])
        download.raise_for_status()
        seconds = time.perf_counter() - start
    return seconds, sampler.growth_mb, len(download.content)


async def measure_pdf(
    dsn: str, org_id: int, base_url: str, token: str, server_pid: int, worker: Server, repeat: int
) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"}
    thousand = await newest_filter(dsn, org_id, PDF_LEADS)
    five_hundred = await newest_filter(dsn, org_id, IN_REQUEST_LEADS)
    csvs, queued, inline = [], [], []
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=600) as http:
        for _ in range(repeat):
            seconds, _growth, response = await timed_get(
                http, "/exports/leads.csv", thousand, server_pid
            )
            assert response.text.count("\n") >= PDF_LEADS
            csvs.append(seconds)
            queued.append(await queued_pdf(http, thousand, worker))
            seconds, growth, response = await timed_get(
                http, "/print/leads.pdf", five_hundred, server_pid
            )
            inline.append((seconds, growth, len(response.content)))
    csv_s = statistics.median(csvs)
    queued_s = statistics.median(s for s, _, _ in queued)
    inline_s = statistics.median(s for s, _, _ in inline)
    return [
        f"- PDF list of leads (every column), median of {repeat}: {PDF_LEADS:,} leads go to "
        f"the worker (request → 202 → poll → download, a `trainhub worker` process); "
        f"{IN_REQUEST_LEADS} are rendered in the API request; baseline = the CSV export "
        f"of the same {PDF_LEADS:,} leads from the same server",
        "",
        "| print | s | × CSV of 1,000 | RSS growth MB, worst run (process) | PDF KB |",
        "|---|---:|---:|---:|---:|",
        f"| {PDF_LEADS:,} leads, worker | {queued_s:.2f} | {queued_s / csv_s:.1f}× | "
        f"{max(g for _, g, _ in queued):.1f} (worker) | {queued[0][2] / 1024:.0f} |",
        f"| {IN_REQUEST_LEADS} leads, in request | {inline_s:.2f} | {inline_s / csv_s:.1f}× | "
        f"{max(g for _, g, _ in inline):.1f} (API) | {inline[0][2] / 1024:.0f} |",
        f"| CSV of {PDF_LEADS:,} leads (baseline) | {csv_s:.2f} | 1.0× | | |",
    ]


async def main(count: int, repeat: int, pdf_only: bool = False, csv_only: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(Path(tmp)) as settings:
            title = (
                "PDF list of 1,000 leads" if pdf_only else f"CSV of {count:,} leads against COPY"
            )
            run = Run(f"export: {title}, over HTTP")
            scope, token = await staff_user()
            await load(settings.database_url, scope.organization_id, count)
            port = free_port()
            server = trainhub_serve(settings, port, Path(tmp))
            worker = trainhub_worker(settings, Path(tmp))
            with running(server, worker):
                server.wait_for_port(port)
                base_url = f"http://127.0.0.1:{port}"
                dsn, org_id = settings.database_url, scope.organization_id
                lines = (
                    []
                    if pdf_only
                    else await measure_csv(dsn, org_id, base_url, token, server.pid, count, repeat)
                )
                if not csv_only:
                    lines += await measure_pdf(
                        dsn, org_id, base_url, token, server.pid, worker, repeat
                    )
    print("\n".join(lines))
    run.record(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--pdf-only", action="store_true", help="only the PDF list figures")
    only.add_argument("--csv-only", action="store_true", help="only the CSV export figures")
    args = parser.parse_args()
    asyncio.run(main(args.leads, args.repeat, args.pdf_only, args.csv_only))
