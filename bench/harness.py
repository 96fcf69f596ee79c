"""Shared set-up for benchmarks: a scratch PostgreSQL database with migrations applied,
Tortoise initialised against it, seeded training data, and the dated runs that every
bench appends to bench/RESULTS.md (machine, date, load average at start and end)."""

from __future__ import annotations

import os
import platform
import secrets
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypedDict

import asyncpg
import pytest
from tortoise import Tortoise, connections

from app.db import config_for, run_migrations
from app.settings import Settings
from models.core import Role
from resolvers import runtime
from resolvers.auth import issue_access_token
from resolvers.context import Actor, ActorKind, Scope
from resolvers.organizations import create_organization, create_user
from tests.statements import StatementCounter

# The product's bulk seeder of training data; the one place the benches import it from.
from tests.training_grid import seed_grid

PG_ADMIN_DSN = os.environ.get("TRAINHUB_BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TRAINHUB_BENCH_REDIS", "redis://127.0.0.1:6379/0")
RESULTS = Path(__file__).with_name("RESULTS.md")
SECRET_KEY = "bench-secret-key-0123456789abcdef"  # ≥ 32 bytes for HS256


def database_dsn(name: str, user: str = "", password: str = "") -> str:
    """``PG_ADMIN_DSN`` pointed at database ``name`` (and at another role if given)."""
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    if user:
        scheme, rest = base.split("://", 1)
        base = f"{scheme}://{user}:{password}@{rest.rsplit('@', 1)[-1]}"
    return f"{base}/{name}"


@asynccontextmanager
async def scratch_database(tmp_dir: Path, **overrides: object) -> AsyncIterator[Settings]:
    name = f"trainhub_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    settings = Settings(
        database_url=database_dsn(name),
        redis_url=REDIS_URL,
        redis_namespace=f"trainhub-bench-{uuid.uuid4().hex[:6]}",
        smtp_host="127.0.0.1",
        secret_key=SECRET_KEY,
        var_dir=tmp_dir,
        storage_dir=tmp_dir / "storage",
        **overrides,  # type: ignore[arg-type]
    )
    try:
        await run_migrations(settings)
        await Tortoise.init(config=config_for(settings), _enable_global_fallback=True)
        runtime.configure(runtime.Runtime(secret_key=settings.secret_key))
        yield settings
    finally:
        await Tortoise.close_connections()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def reader_role(settings: Settings) -> AsyncIterator[str]:
    """A login role with a password that may read every table of the scratch database;
    yields its DSN over TCP. Dropped on exit (call inside ``scratch_database``)."""
    name = settings.database_url.rsplit("/", 1)[1]
    role, password = f"{name}_reader", secrets.token_urlsafe(18)
    admin = await asyncpg.connect(settings.database_url)
    try:
        await admin.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
        await admin.execute(f'GRANT CONNECT ON DATABASE "{name}" TO "{role}"')
        await admin.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
        await admin.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"')
        yield database_dsn(name, role, password)
    finally:
        await admin.execute(f'DROP OWNED BY "{role}"')
        await admin.close()
        server = await asyncpg.connect(PG_ADMIN_DSN)
        await server.execute(f'DROP ROLE IF EXISTS "{role}"')
        await server.close()


async def staff_user() -> tuple[Scope, str]:
    """A new organisation and a STAFF user of it: the user's scope and a Bearer token."""
    org = await create_organization(f"Bench Formation {uuid.uuid4().hex[:6]}")
    user = await create_user(org, f"bench-{org.id}@bench.test", "bench-password", role=Role.STAFF)
    scope = Scope(org.id, Actor(ActorKind.USER, str(user.id), user.email, role=user.role))
    return scope, issue_access_token(user).token


class GridShape(TypedDict):
    sessions: int
    clients_per_session: int
    contacts_per_client: int
    slots_per_session: int


async def seed_sessions(
    *,
    sessions: int,
    clients_per_session: int,
    contacts_per_client: int,
    slots_per_session: int,
    start: date | None = None,
) -> tuple[Scope, str]:
    """``staff_user()`` with a grid of sessions, the first one on ``start`` (default: in
    30 days)."""
    scope, token = await staff_user()
    await seed_grid(
        scope,
        sessions=sessions,
        clients_per_session=clients_per_session,
        contacts_per_client=contacts_per_client,
        slots_per_session=slots_per_session,
        start=start or date.today() + timedelta(days=30),
        prefix=f"B{scope.organization_id}",
    )
    # The planner's statistics, as autovacuum keeps them on a live database: without
    # them it guesses one row per table and scans correlated subqueries badly.
    await connections.get("default").execute_script("ANALYZE")
    return scope, token


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    """The SQL statements sent through Tortoise's client meanwhile (as the statement-count
    tests count them; transaction control — BEGIN, SAVEPOINT, COMMIT — not included)."""
    monkeypatch = pytest.MonkeyPatch()
    try:
        yield StatementCounter(monkeypatch).statements
    finally:
        monkeypatch.undo()


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def machine(*extra: str) -> str:
    """Cores, CPU, Python and PostgreSQL versions (plus ``extra`` tool versions)."""
    postgres = subprocess.run(
        ["psql", PG_ADMIN_DSN, "-Atc", "SHOW server_version"], capture_output=True, text=True
    ).stdout.strip()
    tools = [f"Python {platform.python_version()}", f"PostgreSQL {postgres or '?'}", *extra]
    return f"{os.cpu_count()} cores ({cpu_model()}), " + ", ".join(tools)


class Run:
    """One dated run of a bench: started when built, appended to RESULTS.md by ``record``."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.started = datetime.now(UTC)
        self.load_at_start = load_average()

    def record(self, lines: list[str], *tools: str) -> str:
        """Appends ``### <date> — <title>`` under ``## Runs`` (the file's last section)."""
        block = [
            f"### {self.started:%Y-%m-%d %H:%M} UTC — {self.title}",
            "",
            f"- Machine: {machine(*tools)}",
            f"- Load average (1/5/15 min): {self.load_at_start} at start, {load_average()} at end",
            *lines,
            "",
        ]
        text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
        if "\n## Runs\n" not in text:
            text = text.rstrip("\n") + "\n\n## Runs\n"
        RESULTS.write_text(text.rstrip("\n") + "\n\n" + "\n".join(block))
        return "\n".join(block)
