"""Throughput of the nested sessions query (SPEC §12): the API (strawberry + Tortoise,
uvicorn, one process) against a hand-written asyncpg + JSON endpoint returning the same
data, measured side by side in one run on a fresh PostgreSQL database (bench/harness.py:
``TRAINHUB_BENCH_PG``, ``TRAINHUB_BENCH_REDIS``).

    .venv/bin/python bench/nested_sessions.py [--seconds 10] [--concurrency 10]

Seeds 100 sessions × 5 clients × 3 contacts × 4 slots, checks that both endpoints answer
the same JSON, loads each with a bounded number of concurrent httpx requests, prints the
requests/s and their ratio, and appends the figures to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.settings import Settings  # noqa: E402
from bench.harness import scratch_database  # noqa: E402
from models.core import Role  # noqa: E402
from resolvers import runtime  # noqa: E402
from resolvers.auth import issue_access_token  # noqa: E402
from resolvers.context import Actor, ActorKind, Scope  # noqa: E402
from resolvers.organizations import create_organization, create_user  # noqa: E402
from tests.training_grid import seed_grid  # noqa: E402

QUERY = """query { sessions(first: 100, orderBy: FIRST_DATE_ASC) { totalCount edges { node {
  id reference title productCode status { value label } firstDate lastDate
  confirmationSummary { value label }
  slots { date startTime endTime location }
  clients { edges { node { id confirmation { state label }
    client { id name mainContact { id email } contacts { id firstName lastName email } } } } }
} } } }"""
SHAPE = {
    "sessions": 100,
    "clients_per_session": 5,
    "contacts_per_client": 3,
    "slots_per_session": 4,
}


@dataclass
class Target:
    name: str
    url: str
    payload: dict[str, Any]


async def seed(settings: Settings) -> str:
    """Fill the scratch database; returns a Bearer token of the seeded organisation."""
    runtime.configure(runtime.Runtime(secret_key=settings.secret_key))
    print("seeding …", flush=True)
    org = await create_organization("Bench Formation")
    user = await create_user(org, "bench@bench.test", "bench-password", role=Role.STAFF)
    scope = Scope(org.id, Actor(ActorKind.USER, str(user.id), user.email, role=user.role))
    await seed_grid(scope, start=date(2027, 1, 4), prefix="BENCH", **SHAPE)
    return issue_access_token(user).token


def serve(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", app, "--factory", "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log"]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})


async def wait_until_up(http: httpx.AsyncClient, target: Target, headers: dict[str, str]) -> None:
    for _ in range(200):
        try:
            response = await http.post(target.url, json=target.payload, headers=headers)
            if response.status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{target.name} did not start")


async def load(
    http: httpx.AsyncClient, target: Target, headers: dict[str, str], seconds: float, workers: int
) -> float:
    """Requests/s with ``workers`` requests in flight for ``seconds``."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            response = await http.post(target.url, json=target.payload, headers=headers)
            response.raise_for_status()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return done / (time.perf_counter() - started)


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}"


def record(results: dict[str, float], seconds: float, workers: int) -> str:
    ratio = results["api"] / results["baseline"]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"### {stamp} — nested sessions query",
        "",
        f"- Machine: {machine()}",
        "- Data: 100 sessions × 5 clients × 3 contacts × 4 slots (PostgreSQL, fresh database)",
        f"- Load: {workers} concurrent httpx requests for {seconds:g} s per endpoint, "
        "client in the same machine; each server is one uvicorn process",
        "",
        "| endpoint | requests/s |",
        "|---|---|",
        f"| Trainhub GraphQL (strawberry + Tortoise) | {results['api']:.1f} |",
        f"| hand-written asyncpg + JSON | {results['baseline']:.1f} |",
        f"| **ratio API / hand-written** | **{ratio:.2f}×** (target ≥ 0.5×) |",
        "",
    ]
    return "\n".join(lines)


async def measure(settings: Settings, seconds: float, workers: int) -> dict[str, float]:
    """Requests/s of each endpoint, both serving the same freshly seeded database."""
    token = await seed(settings)
    env = {
        "ENVIRONMENT": "production",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_NAMESPACE": settings.redis_namespace,
        "SECRET_KEY": settings.secret_key,
        "SMTP_HOST": "127.0.0.1",
        "BENCH_DSN": settings.database_url,
    }
    targets = {
        "api": Target("api", "http://127.0.0.1:8765/graphql", {"query": QUERY}),
        "baseline": Target("baseline", "http://127.0.0.1:8766/sessions", {}),
    }
    servers = [
        serve("app.asgi:create_app", 8765, env),
        serve("bench.baseline_app:create_app", 8766, env),
    ]
    headers = {"Authorization": f"Bearer {token}"}
    try:
        limits = httpx.Limits(max_connections=workers)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            answers = {}
            for target in targets.values():
                await wait_until_up(http, target, headers)
                response = await http.post(target.url, json=target.payload, headers=headers)
                answers[target.name] = response.json()
            if answers["api"] != answers["baseline"]:
                raise SystemExit("the two endpoints do not answer the same data")
            edges = answers["api"]["data"]["sessions"]["edges"]
            print(f"both endpoints answer the same {len(edges)} sessions", flush=True)
            results = {}
            for target in targets.values():
                await load(http, target, headers, 2, workers)  # warm-up
                results[target.name] = await load(http, target, headers, seconds, workers)
                print(f"{target.name:>9}: {results[target.name]:7.1f} requests/s", flush=True)
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
    return results


async def main(seconds: float, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(Path(tmp)) as settings:
            results = await measure(settings, seconds, workers)
    print(f"ratio API / hand-written: {results['api'] / results['baseline']:.2f}×")
    report = record(results, seconds, workers)
    path = ROOT / "bench" / "RESULTS.md"
    if not path.exists():
        path.write_text("# Benchmark results\n\nAppended by the scripts in bench/.\n\n")
    with path.open("a") as out:
        out.write(report + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=10)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.seconds, arguments.concurrency))
