"""Set-based writes of many rows in one statement each, for the operations' batches.

Tortoise's ``bulk_create`` runs its INSERT once per row (``executemany``) and returns no
ids; a batch needs one multi-row INSERT (and the ids of the events it writes, to publish
them). Column names and conversions come from the model; every value is bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tortoise.models import Model

MAX_PARAMETERS = 30_000  # below PostgreSQL's 32,767 and SQLite's 32,766 bound values


def _placeholders(dialect: str, start: int, count: int) -> str:
    if dialect == "postgres":
        return "(" + ", ".join(f"${start + i + 1}" for i in range(count)) + ")"
    return "(" + ", ".join("?" for _ in range(count)) + ")"


async def insert_rows(
    model: type[Model], rows: Sequence[Mapping[str, Any]], *, returning_id: bool = False
) -> list[int]:
    """INSERT ``rows`` (model field names → Python values, the same names in every row)
    in as few statements as the drivers' parameter limits allow; their new ids, in order,
    when ``returning_id``."""
    if not rows:
        return []
    meta = model._meta
    db = meta.db
    dialect = db.capabilities.dialect
    names = list(rows[0])
    fields = [meta.fields_map[name] for name in names]
    columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in names)
    per_statement = max(1, MAX_PARAMETERS // len(names))
    ids: list[int] = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        values: list[Any] = []
        groups = []
        for row in chunk:
            groups.append(_placeholders(dialect, len(values), len(names)))
            values.extend(f.to_db_value(row[n], model) for f, n in zip(fields, names, strict=True))
        sql = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES {", ".join(groups)}'
        if returning_id:
            found = await db.execute_query_dict(sql + ' RETURNING "id"', values)
            ids.extend(int(r["id"]) for r in found)
        else:
            await db.execute_query(sql, values)
    return ids
