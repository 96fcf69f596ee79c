"""Shared set-up for benchmarks: a scratch PostgreSQL database with migrations applied,
Tortoise initialised against it, settings and the resolvers' runtime configured."""

from __future__ import annotations

import os
import platform
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

import asyncpg
from tortoise import Tortoise

from app.db import config_for, run_migrations
from app.settings import Settings

PG_ADMIN_DSN = os.environ.get("TRAINHUB_BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres")
RESULTS = Path(__file__).with_name("RESULTS.md")


@asynccontextmanager
async def scratch_database(tmp_dir: Path, **overrides: object) -> AsyncIterator[Settings]:
    name = f"trainhub_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    settings = Settings(
        database_url=PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}",
        redis_url=os.environ.get("TRAINHUB_BENCH_REDIS", "redis://127.0.0.1:6379/0"),
        redis_namespace=f"trainhub-bench-{uuid.uuid4().hex[:6]}",
        smtp_host="127.0.0.1",
        secret_key="bench-secret-key-0123456789abcdef",  # ≥ 32 bytes for HS256
        var_dir=tmp_dir,
        storage_dir=tmp_dir / "storage",
        **overrides,  # type: ignore[arg-type]
    )
    try:
        await run_migrations(settings)
        await Tortoise.init(config=config_for(settings), _enable_global_fallback=True)
        yield settings
    finally:
        await Tortoise.close_connections()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def machine() -> str:
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {date.today().isoformat()},"
        f" load average {load:.1f} when it started"
    )


def record(section: str, lines: list[str]) -> None:
    """Replace ``## section`` in RESULTS.md with fresh figures (other sections kept)."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    header = f"## {section}"
    body = "\n".join([header, "", *lines, ""])
    parts = text.split("\n## ")
    kept = [p for p in parts[1:] if not p.startswith(section)]
    RESULTS.write_text(
        "\n## ".join([parts[0].rstrip("\n") + "\n", *kept]).rstrip("\n") + "\n\n" + body
    )
