"""A list's rows read in batches through a server-side cursor, so memory stays flat
whatever the row count.

The cursor runs on a connection of its own, not one of Tortoise's: the lookups each batch
needs (``ListDefinition.batch``) go through Tortoise's pool meanwhile, and a cursor that
held a pooled connection could leave them waiting for it (a pool of N connections and N
exports at once would never finish). On SQLite the same holds with a second read-only
connection to the database file.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from datetime import date, datetime
from operator import itemgetter
from typing import Any, cast
from zoneinfo import ZoneInfo

import aiosqlite
import asyncpg
from tortoise.queryset import QuerySet

from resolvers.dataloaders import column_converter
from resolvers.exports.lists import Row

BATCH_SIZE = 5000
EXPORT_APPLICATION = "trainhub export"


def statement(qs: QuerySet[Any], fields: Sequence[str]) -> tuple[Any, str, list[Any]]:
    """The connection ``qs`` would run on, and its SQL with bound parameters (Tortoise
    builds it; only the executing is ours)."""
    values = qs.values(*fields)
    db = values._choose_db()
    values._db = db
    values._make_query()
    sql, params = values.query.get_parameterized_sql()
    return db, sql, params


async def record_batches(
    qs: QuerySet[Any], fields: Sequence[str], time_zone: str, batch_size: int | None = None
) -> AsyncGenerator[list[Row], None]:
    """``fields`` of the rows of ``qs``, in its order, ``batch_size`` rows at a time; each
    value as the model field gives it, except enumerations (their raw value), dates
    (``YYYY-MM-DD``) and datetimes (``YYYY-MM-DD HH:MM:SS`` in ``time_zone``), the text
    an export writes (``lists`` says why). On PostgreSQL the server writes that text,
    sparing a datetime object and its formatting per value."""
    batch_size = batch_size or BATCH_SIZE
    db, sql, params = statement(qs, fields)
    if db.capabilities.dialect == "postgres":
        # asyncpg decodes every column to its Python value but enumerations, which stay
        # their raw value: the rows are yielded as they come, without a copy.
        async for batch in _postgres_batches(db, sql, params, batch_size, time_zone):
            yield batch
        return
    model = qs.model
    zone = ZoneInfo(time_zone)
    converters = [
        (name, _as_text(model._meta.fields_map[name].field_type, convert, zone))
        for name in fields
        if not getattr(model._meta.fields_map[name], "enum_type", None)
        and (convert := column_converter(model, name))
    ]
    async for raw in _sqlite_batches(db, sql, params, batch_size):
        if not converters:
            yield raw
            continue
        converted: list[Row] = []
        for record in raw:
            row = dict(record)
            for name, convert in converters:
                row[name] = convert(row[name])
            converted.append(row)
        yield converted


def _as_text(
    field_type: type, convert: Callable[[Any], Any], zone: ZoneInfo
) -> Callable[[Any], Any]:
    """``convert``, then a date or datetime's export text."""
    if field_type is datetime:

        def moment(value: Any) -> Any:
            converted = convert(value)
            return None if converted is None else f"{converted.astimezone(zone):%Y-%m-%d %H:%M:%S}"

        return moment
    if field_type is date:

        def day(value: Any) -> Any:
            converted = convert(value)
            return None if converted is None else converted.isoformat()

        return day
    return convert


# PostgreSQL's ISO text of a timestamptz in the session's zone ("2026-12-02 17:15:57.5+01")
# to the second, without the offset; a date's is already YYYY-MM-DD. Both C callables:
# asyncpg calls a decoder per value, and a Python function costs a frame each time.
TIMESTAMPTZ_TEXT = itemgetter(slice(0, 19))
DATE_TEXT = str


def _iso(value: Any) -> str:
    return value if isinstance(value, str) else str(value.isoformat())


async def export_connection(db: Any, time_zone: str) -> asyncpg.Connection:
    """A connection of its own (the module's docstring says why) to the database of
    Tortoise's ``db``, in the organisation's zone and with ISO dates (TIMESTAMPTZ_TEXT).
    Without JIT: an export's estimated cost (a lookup per row) is above ``jit_above_cost``,
    and compiling took over a second where the 100,000 rows take a few tenths. Named
    ``EXPORT_APPLICATION`` in ``pg_stat_activity``."""
    return await asyncpg.connect(
        host=db.host,
        port=db.port,
        user=db.user,
        password=db.password,
        database=db.database,
        server_settings={
            **(db.server_settings or {}),
            "TimeZone": time_zone,
            "DateStyle": "ISO",
            "jit": "off",
            "application_name": EXPORT_APPLICATION,
        },
    )


async def _postgres_batches(
    db: Any, sql: str, params: list[Any], batch_size: int, time_zone: str
) -> AsyncIterator[list[Row]]:
    connection = await export_connection(db, time_zone)
    try:
        for type_name, decoder in (("timestamptz", TIMESTAMPTZ_TEXT), ("date", DATE_TEXT)):
            await connection.set_type_codec(
                type_name, schema="pg_catalog", encoder=_iso, decoder=decoder, format="text"
            )
        # One snapshot for the whole export; a cursor lives inside a transaction.
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            cursor = await connection.cursor(sql, *params)
            next_batch = asyncio.ensure_future(cursor.fetch(batch_size))
            try:
                while batch := await next_batch:
                    # The server reads the next batch while the caller writes this one.
                    next_batch = asyncio.ensure_future(cursor.fetch(batch_size))
                    yield batch
            finally:
                await asyncio.wait([next_batch])  # no fetch left running on leaving
    finally:
        await connection.close()


async def _sqlite_batches(
    db: Any, sql: str, params: list[Any], batch_size: int
) -> AsyncIterator[list[Row]]:
    async with aiosqlite.connect(f"file:{db.filename}?mode=ro", uri=True) as connection:
        connection.row_factory = sqlite3.Row
        async with connection.execute(sql, params) as cursor:
            while batch := await cursor.fetchmany(batch_size):
                yield [cast(Row, row) for row in batch]  # sqlite3.Row reads by name
