"""Where the time of the nested sessions query goes, on a freshly seeded PostgreSQL
database (the shape of bench/nested_sessions.py).

    .venv/bin/python -m bench.profile_nested [--runs 20]      # CPU per request, in-process
    .venv/bin/python -m bench.profile_nested --profile        # top of a cProfile run
    .venv/bin/python -m bench.profile_nested --py-spy [--seconds 20] [--python-only]

The default mode times ``schema.execute`` (``time.process_time()``) and the JSON
encoding. ``--py-spy`` samples a real ``trainhub serve`` process (py-spy, installed into
the venv when missing) while wrk loads it over HTTP, with ``--native`` unless
``--python-only`` (C frames: the garbage collector's share is visible only so), writes
the collapsed stacks to bench/out/nested_pyspy.txt (speedscope.app opens them), prints
the share of the samples by layer (package of the innermost Python frame, or the garbage
collector) and the top functions by own and total time, and appends them to RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import orjson

from app.settings import Settings
from bench.harness import Run, scratch_database, seed_sessions
from bench.loadgen import wrk, wrk_version
from bench.nested_sessions import QUERY, SHAPE
from bench.pyspy_summary import py_spy, summarise
from bench.servers import ROOT, free_port, running, trainhub_serve
from schema import SchemaLimits, build_schema
from schema.context import Context

SORT = "tottime"  # cProfile order of --profile
# Phases of a request by a function or file on the stack (bench/pyspy_summary.py),
# innermost first. Dataloader batches run as tasks of their own, outside the resolver.
PHASES = [
    ("dataloader batch loads (`resolvers/dataloaders.py`)", "/resolvers/dataloaders.py"),
    ("sessions resolver: SQL, rows → nodes (`Query.sessions`)", "Query.sessions"),
    ("execution outside the resolver: field completion (`Schema.execute`)", "Schema.execute"),
    ("strawberry's view outside execute: request, context and auth, JSON", "GraphQL.__call__"),
    ("ASGI app outside the view (starlette)", "RequestResponseCycle.run_asgi"),
]
OUT = ROOT / "bench" / "out"


async def in_process(runs: int, profile: bool) -> None:
    scope, _ = await seed_sessions(**SHAPE)
    schema = build_schema(SchemaLimits(production=True))

    async def once() -> tuple[float, float]:
        started = time.process_time()
        # As the HTTP view does: a context whose answer orjson encodes (JSON built in SQL).
        context = Context(scope=scope, json_fragments=True)
        result = await schema.execute(QUERY, context_value=context)
        executed = time.process_time()
        assert not result.errors, result.errors
        orjson.dumps({"data": result.data})
        return executed - started, time.process_time() - executed

    for _ in range(3):
        await once()
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(runs):
            await once()
        profiler.disable()
        pstats.Stats(profiler).sort_stats(SORT).print_stats(45)
        return
    times = [await once() for _ in range(runs)]
    execute = sorted(t[0] for t in times)[len(times) // 2] * 1000
    encode = sorted(t[1] for t in times)[len(times) // 2] * 1000
    fastest = min(t[0] for t in times) * 1000
    print(
        f"CPU per request: execute median {execute:.1f} ms (min {fastest:.1f}), json {encode:.1f} ms"
    )


async def sampled(
    settings: Settings, seconds: float, connections: int, native: bool, tmp: Path
) -> None:
    """py-spy on ``trainhub serve`` while wrk loads it with the nested query."""
    spy, wrk_tool = py_spy(), wrk_version()
    run = Run("nested sessions query: where Trainhub's time goes (py-spy)")
    _, token = await seed_sessions(**SHAPE)
    body = tmp / "query.json"
    body.write_text(json.dumps({"query": QUERY}))
    port = free_port()
    OUT.mkdir(exist_ok=True)
    stacks = OUT / "nested_pyspy.txt"
    with running(trainhub_serve(settings, port, tmp)) as (server,):
        server.wait_for_port(port)
        url = f"http://127.0.0.1:{port}/graphql"
        wrk(url, body, f"Bearer {token}", 3, connections)  # warm-up
        record = [spy, "record", "--pid", str(server.pid), "--format", "raw", "--rate", "200"]
        record += ["--full-filenames", *(["--native"] if native else [])]
        record += ["--duration", f"{seconds:g}", "--output", str(stacks)]
        recorder = threading.Thread(target=subprocess.run, args=(record,), kwargs={"check": True})
        recorder.start()
        load = wrk(url, body, f"Bearer {token}", seconds, connections)
        recorder.join()
    lines = [
        f"- Load: wrk, {connections} connections, {seconds:g} s on one `trainhub serve` process: "
        f"{load.per_second:.1f} req/s under py-spy (200 samples/s, blocking"
        f"{', --native' if native else ''})",
        f"- Stacks: `{stacks.relative_to(ROOT)}` (collapsed; open in speedscope.app)",
        "",
        *summarise(stacks.read_text(), seconds * 200, load.requests, PHASES),
    ]
    print("\n".join(lines))
    run.record(lines, wrk_tool)


async def main(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(Path(tmp)) as settings:
            if arguments.py_spy:
                await sampled(
                    settings, arguments.seconds, arguments.connections, arguments.native, Path(tmp)
                )
            else:
                await in_process(arguments.runs, arguments.profile)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="cProfile, in-process")
    parser.add_argument("--py-spy", action="store_true", help="sample a trainhub serve process")
    parser.add_argument("--seconds", type=float, default=20.0, help="py-spy duration")
    parser.add_argument(
        "--python-only",
        dest="native",
        action="store_false",
        help="py-spy without --native (lighter; hides C code such as the garbage collector)",
    )
    parser.add_argument("--connections", type=int, default=4, help="wrk requests in flight")
    asyncio.run(main(parser.parse_args()))
