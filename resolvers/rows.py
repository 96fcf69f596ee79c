"""Set-based writes of many rows in one statement each (bulk batches, events, emails).

Tortoise's ``bulk_create`` runs its INSERT once per row (``executemany``) and returns no
ids; a batch needs one multi-row INSERT (and the ids of the events it writes, to publish
them). Column names and conversions come from the model; every value is bound.

On PostgreSQL the rows go as one array per column through ``unnest``: the statement's
text depends only on the columns, so asyncpg prepares it once per process, and encoding
a few arrays costs far less than binding thousands of parameters. SQLite gets a
multi-row ``VALUES``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tortoise.fields import Field
from tortoise.models import Model

MAX_PARAMETERS = 30_000  # below SQLite's 32,766 bound values


def _converter(field: Field[Any], model: type[Model]) -> Callable[[Any], Any] | None:
    """How a value is put in the database form, or None when it already is (the field
    keeps the base conversion, which only checks types our own rows already have)."""
    if type(field).to_db_value is Field.to_db_value:
        return None
    return lambda value: field.to_db_value(value, model)


def _columns(
    model: type[Model], rows: Sequence[Mapping[str, Any]]
) -> tuple[list[str], list[list[Any]]]:
    """The rows' column names and their values, one list per column."""
    meta = model._meta
    names = list(rows[0])
    columns = []
    for name in names:
        convert = _converter(meta.fields_map[name], model)
        values = [row[name] for row in rows]
        columns.append(values if convert is None else _converted(convert, values))
    return names, columns


def _converted(convert: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    """``values`` converted, a run of the same object (a batch's one time) converted once."""
    out: list[Any] = []
    last: Any = out  # a sentinel no value is
    for value in values:
        if value is not last:
            last, done = value, convert(value)
        out.append(done)
    return out


async def insert_rows(
    model: type[Model], rows: Sequence[Mapping[str, Any]], *, returning_id: bool = False
) -> list[int]:
    """INSERT ``rows`` (model field names → Python values, the same names in every row);
    their new ids, in order, when ``returning_id``."""
    if not rows:
        return []
    meta = model._meta
    db = meta.db
    names, columns = _columns(model, rows)
    quoted = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in names)
    returning = ' RETURNING "id"' if returning_id else ""
    if db.capabilities.dialect == "postgres":
        types = [meta.fields_map[name].get_for_dialect("postgres", "SQL_TYPE") for name in names]
        arrays = ", ".join(f"${i + 1}::{sql_type}[]" for i, sql_type in enumerate(types))
        sql = f'INSERT INTO "{meta.db_table}" ({quoted}) SELECT * FROM unnest({arrays})'
        statements = [(sql + returning, columns)]
    else:
        statements = _values_statements(meta.db_table, quoted, columns, returning)
    ids: list[int] = []
    for sql, values in statements:
        if returning_id:
            ids.extend(int(r["id"]) for r in await db.execute_query_dict(sql, values))
        else:
            await db.execute_query(sql, values)
    return ids


def _values_statements(
    table: str, quoted: str, columns: list[list[Any]], returning: str
) -> list[tuple[str, list[Any]]]:
    """Multi-row ``VALUES`` statements within SQLite's bound-parameter limit."""
    width, count = len(columns), len(columns[0])
    per_statement = max(1, MAX_PARAMETERS // width)
    group = "(" + ", ".join("?" for _ in range(width)) + ")"
    statements = []
    for start in range(0, count, per_statement):
        end = min(count, start + per_statement)
        values = [column[i] for i in range(start, end) for column in columns]
        sql = f'INSERT INTO "{table}" ({quoted}) VALUES {", ".join([group] * (end - start))}'
        statements.append((sql + returning, values))
    return statements
