"""How costs grow with the data (SPEC §12), in-process on one scratch PostgreSQL database:

- the nested sessions query (bench/nested_sessions.py's) at 10 and 100 sessions (4 slots
  × 5 clients × 3 contacts each): ``schema.execute`` wall and CPU time (median), and its
  SQL statements, which must not grow with the page (checked);
- bench/leads.py's filtered list page + totalCount at 10k and 100k leads, and 1M with
  ``--million`` (loaded with COPY, in steps onto the same table; each step's time and the
  database's size are printed: on a 2-core machine the 1M step took 93–102 s and 0.7 GB,
  the whole run 3.5 min), through the resolvers, through GraphQL and as raw SQL.

    .venv/bin/python -m bench.curves [--repeat 20] [--million] [--sizes 1000 5000]

Appends the run to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg

from bench.harness import Run, counting_statements, scratch_database, seed_sessions
from bench.leads import list_pairs, load, timed
from bench.nested_sessions import QUERY, SHAPE
from resolvers.context import Scope, system_scope
from resolvers.organizations import create_organization
from schema import SchemaLimits, build_schema
from schema.context import Context

SESSION_COUNTS = (10, 100)


async def nested_at(scope: Scope, repeat: int) -> tuple[float, float, int]:
    """Median wall and CPU ms of the nested query, and its SQL statements."""
    schema = build_schema(SchemaLimits(production=True))

    async def once() -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        result = await schema.execute(QUERY, context_value=Context(scope=scope))
        assert not result.errors, result.errors
        return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000

    await once()
    with counting_statements() as statements:
        await once()
    samples = [await once() for _ in range(repeat)]
    return (
        statistics.median(s[0] for s in samples),
        statistics.median(s[1] for s in samples),
        len(statements),
    )


async def nested_curve(repeat: int) -> list[str]:
    rows = []
    for sessions in SESSION_COUNTS:
        scope, _ = await seed_sessions(**(SHAPE | {"sessions": sessions}))
        wall, cpu, statements = await nested_at(scope, repeat)
        rows.append((sessions, wall, cpu, statements))
        print(f"nested query, {sessions} sessions: {wall:.1f} ms, {statements} statements")
    counts = {r[3] for r in rows}
    if len(counts) != 1:
        raise SystemExit(f"the statement count grows with the page: {rows}")
    small, large = rows[0], rows[-1]
    return [
        "Nested sessions query, in-process `schema.execute` (production limits), "
        f"median of {repeat}:",
        "",
        "| sessions | wall ms | CPU ms | SQL statements |",
        "|---:|---:|---:|---:|",
        *(f"| {s} | {w:.1f} | {c:.1f} | {n} |" for s, w, c, n in rows),
        "",
        f"{large[0] // small[0]}× the sessions: {large[1] / small[1]:.1f}× the wall time, "
        f"{large[2] / small[2]:.1f}× the CPU time, the same {small[3]} statements.",
    ]


async def leads_curve(dsn: str, sizes: list[int], repeat: int) -> list[str]:
    org = await create_organization("Bench leads")
    scope = system_scope(org.id)
    raw, beside = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    rows = []
    try:
        loaded = 0
        for size in sizes:
            seconds = await load(dsn, org.id, size - loaded, first=loaded)
            megabytes = await raw.fetchval("SELECT pg_database_size(current_database())") / 1e6
            print(
                f"leads: {size:,} loaded (+{size - loaded:,} in {seconds:.1f} s, "
                f"database {megabytes:,.0f} MB)",
                flush=True,
            )
            loaded = size
            times = [
                await timed(ours, theirs, repeat)
                for _, ours, theirs in list_pairs(scope, raw, beside)
            ]
            rows.append((size, seconds, megabytes, times))
    finally:
        await raw.close()
        await beside.close()
    return [
        f"Leads list page (filtered, 50 rows) + totalCount, median of {repeat} (ours and raw "
        "taking turns; the raw page and its COUNT at once on two connections, as ours); "
        "ratio = ours / raw SQL; load = generating the rows + COPY + ANALYZE of the step:",
        "",
        "| leads | load step s | database MB | resolvers ms | GraphQL ms | raw SQL ms (beside "
        "each) | resolvers / raw | GraphQL / raw |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {size:,} | {seconds:.1f} | {megabytes:,.0f} | {r[0] * 1000:.1f} | "
            f"{g[0] * 1000:.1f} | {r[1] * 1000:.1f} / {g[1] * 1000:.1f} | {r[0] / r[1]:.2f}× | "
            f"{g[0] / g[1]:.2f}× |"
            for size, seconds, megabytes, (r, g) in rows
        ),
    ]


async def main(repeat: int, sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(Path(tmp)) as settings:
            run = Run(
                "curves: nested query at 10/100 sessions, leads list at "
                + ", ".join(f"{s:,}" for s in sizes)
            )
            lines = await nested_curve(repeat)
            lines += ["", *await leads_curve(settings.database_url, sizes, repeat)]
    print("\n".join(lines))
    run.record(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--million", action="store_true", help="also 1,000,000 leads")
    parser.add_argument(
        "--sizes", type=int, nargs="+", help="these numbers of leads instead (a quick check)"
    )
    arguments = parser.parse_args()
    sizes = arguments.sizes or [10_000, 100_000] + ([1_000_000] if arguments.million else [])
    asyncio.run(main(arguments.repeat, sorted(sizes)))
