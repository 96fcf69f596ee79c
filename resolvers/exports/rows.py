"""A list's rows read in batches through a server-side cursor, so memory stays flat
whatever the row count.

The cursor runs on a connection of its own, not one of Tortoise's: the lookups each batch
needs (``ListDefinition.batch``) go through Tortoise's pool meanwhile, and a cursor that
held a pooled connection could leave them waiting for it (a pool of N connections and N
exports at once would never finish). On SQLite the same holds with a second read-only
connection to the database file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, cast

import aiosqlite
import asyncpg
from tortoise.queryset import QuerySet

from resolvers.dataloaders import column_converter
from resolvers.exports.lists import Row

BATCH_SIZE = 5000


def _statement(qs: QuerySet[Any], fields: Sequence[str]) -> tuple[Any, str, list[Any]]:
    """The connection ``qs`` would run on, and its SQL with bound parameters (Tortoise
    builds it; only the executing is ours)."""
    values = qs.values(*fields)
    db = values._choose_db()
    values._db = db
    values._make_query()
    sql, params = values.query.get_parameterized_sql()
    return db, sql, params


async def record_batches(
    qs: QuerySet[Any], fields: Sequence[str], batch_size: int = BATCH_SIZE
) -> AsyncIterator[list[Row]]:
    """``fields`` of the rows of ``qs``, in its order, ``batch_size`` rows at a time; each
    value as the model field gives it, except enumerations (their raw value) and
    datetimes (their ISO 8601 text, as the API writes them: on PostgreSQL the server
    writes it, sparing a datetime object and its formatting per value)."""
    db, sql, params = _statement(qs, fields)
    if db.capabilities.dialect == "postgres":
        # asyncpg decodes every column to its Python value but enumerations, which stay
        # their raw value: the rows are yielded as they come, without a copy.
        async for batch in _postgres_batches(db, sql, params, batch_size):
            yield batch
        return
    model = qs.model
    converters = [
        (
            name,
            _iso_text(convert) if model._meta.fields_map[name].field_type is datetime else convert,
        )
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


def _iso_text(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def iso(value: Any) -> Any:
        converted = convert(value)
        return None if converted is None else converted.isoformat()

    return iso


def _timestamptz_text(text: str) -> str:
    """PostgreSQL's ISO text of a UTC timestamptz ("2026-12-02 16:15:57.5+00") as
    Python's ``isoformat()`` writes it ("2026-12-02T16:15:57.500000+00:00")."""
    day, _, rest = text.partition(" ")
    clock = rest[:-3]  # without "+00"
    if "." in clock:
        whole, _, fraction = clock.partition(".")
        clock = f"{whole}.{fraction:0<6}"
    return f"{day}T{clock}+00:00"


async def _postgres_batches(
    db: Any, sql: str, params: list[Any], batch_size: int
) -> AsyncIterator[list[Row]]:
    connection = await asyncpg.connect(
        host=db.host,
        port=db.port,
        user=db.user,
        password=db.password,
        database=db.database,
        # UTC and ISO text for _timestamptz_text.
        server_settings={**(db.server_settings or {}), "TimeZone": "UTC", "DateStyle": "ISO"},
    )
    try:
        await connection.set_type_codec(
            "timestamptz",
            schema="pg_catalog",
            encoder=lambda value: value.isoformat(),
            decoder=_timestamptz_text,
            format="text",
        )
        # One snapshot for the whole export; a cursor lives inside a transaction.
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            cursor = await connection.cursor(sql, *params)
            while batch := await cursor.fetch(batch_size):
                yield batch
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
