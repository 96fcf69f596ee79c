"""Database wiring: Tortoise config from settings, start-up, migrations."""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Callable
from typing import Any

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate

from app.settings import Settings, get_settings
from models.apps import tortoise_config

# Tortoise's SQLite backend registers adapters for date and datetime but not for time
# (TimeField values, tz-aware under use_tz), which sqlite3 then refuses to bind.
sqlite3.register_adapter(datetime.time, lambda value: value.isoformat())


class PooledConnection(asyncpg.Connection):
    """A pooled PostgreSQL connection given back without asyncpg's reset query.

    asyncpg sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` each
    time a connection goes back to the pool: one more round trip for every statement
    run outside a transaction (~4 % of the email worker, ~1 ms of a leads page). No code
    here leaves session state on a pooled connection (no SET, LISTEN, advisory or
    session cursor: the export's cursor has a connection of its own), and an open
    transaction is still rolled back on release by asyncpg itself."""

    def get_reset_query(self) -> str:
        return ""


def config_for(settings: Settings) -> dict[str, Any]:
    if not settings.database_url:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    config = tortoise_config(settings.effective_database_url)
    connection = expand_db_url(settings.effective_database_url)
    if connection["engine"] == "tortoise.backends.asyncpg":
        connection["credentials"]["connection_class"] = PooledConnection
        config["connections"]["default"] = connection
    return config


async def init_db(settings: Settings) -> None:
    # The global fallback lets the lifespan task and request tasks share one context.
    await Tortoise.init(config=config_for(settings), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


async def run_migrations(
    settings: Settings, progress: Callable[[str, str, str], object] | None = None
) -> None:
    await migrate(config=config_for(settings), progress=progress)
    await Tortoise.close_connections()


def __getattr__(name: str) -> Any:
    # ``tortoise -c app.db.TORTOISE_ORM makemigrations`` reads the config from here.
    if name == "TORTOISE_ORM":
        return config_for(get_settings())
    raise AttributeError(name)
