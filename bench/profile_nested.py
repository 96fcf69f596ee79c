"""CPU per request of the nested sessions query in-process (no HTTP): ``schema.execute``
on a freshly seeded PostgreSQL database, ``time.process_time()`` per request, plus the
JSON encoding of the answer. ``--profile`` prints the top of a cProfile run.

    .venv/bin/python bench/profile_nested.py [--runs 20] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

SORT = "tottime"  # cProfile order of --profile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import scratch_database  # noqa: E402
from bench.nested_sessions import QUERY, SHAPE  # noqa: E402
from models.core import Role  # noqa: E402
from resolvers import runtime  # noqa: E402
from resolvers.context import Actor, ActorKind, Scope  # noqa: E402
from resolvers.organizations import create_organization, create_user  # noqa: E402
from schema import SchemaLimits, build_schema  # noqa: E402
from schema.context import Context  # noqa: E402
from tests.training_grid import seed_grid  # noqa: E402


async def main(runs: int, profile: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(Path(tmp)) as settings:
            runtime.configure(runtime.Runtime(secret_key=settings.secret_key))
            org = await create_organization("Bench Formation")
            user = await create_user(org, "bench@bench.test", "bench-password", role=Role.STAFF)
            scope = Scope(org.id, Actor(ActorKind.USER, str(user.id), user.email, role=user.role))
            await seed_grid(scope, start=date(2027, 1, 4), prefix="BENCH", **SHAPE)
            schema = build_schema(SchemaLimits(production=True))

            async def once() -> tuple[float, float]:
                started = time.process_time()
                result = await schema.execute(QUERY, context_value=Context(scope=scope))
                executed = time.process_time()
                assert not result.errors, result.errors
                json.dumps({"data": result.data})
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.runs, arguments.profile))
