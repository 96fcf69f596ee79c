"""Database wiring: Tortoise config from settings, start-up, migrations."""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Callable
from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate

from app.settings import Settings, get_settings
from models.apps import tortoise_config

# Tortoise's SQLite backend registers adapters for date and datetime but not for time
# (TimeField values, tz-aware under use_tz), which sqlite3 then refuses to bind.
sqlite3.register_adapter(datetime.time, lambda value: value.isoformat())


def config_for(settings: Settings) -> dict[str, Any]:
    if not settings.database_url:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    return tortoise_config(settings.effective_database_url)


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
