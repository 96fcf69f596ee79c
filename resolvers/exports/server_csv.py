"""A list's CSV rows written by PostgreSQL itself, ``COPY (SELECT …) TO STDOUT (FORMAT
csv)``, streamed as the server sends them: no row object, no Python per cell (asyncpg's
records and the cells' Python were most of the export's CPU on the cursor path).

The statement is the list's own queryset (Tortoise writes its tenant scope, filter,
selection and order, as for the cursor path) with its select list replaced by each
column's cell as an SQL expression (``Column.sql``), neutralised for free text as the
Python path neutralises it. The bytes are the Python path's (``Fields``): COPY quotes a
field as ``csv.writer`` does (separator, quote, CR or LF inside it; quotes doubled), and
writes NULL as an empty field, hence every cell is NULL when empty (an empty text would be
``""``); it ends its rows with LF where ``csv.writer`` writes CRLF, which ``LineEnds``
mends. A lone column keeps the Python path: COPY writes its empty field as a blank line,
and quotes a lone ``\\.``.

The COPY runs on a connection of its own (``rows.export_connection``, in the
organisation's zone) in a task that hands its chunks over a small queue: a slow client
holds the task, whose paused reading holds the server (memory stays flat). When the
client leaves, the task is cancelled and the connection dropped, which ends the COPY.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import asyncpg
from tortoise.expressions import RawSQL
from tortoise.queryset import QuerySet

from resolvers import labels
from resolvers.exports.lists import FORMULA_STARTS, CellSql, Column
from resolvers.exports.rows import export_connection, statement

QUEUED_CHUNKS = 8  # asyncpg hands a chunk per read of the socket: some 64 KB at most
FORMULA_CODES = ", ".join(str(ord(start)) for start in FORMULA_STARTS)


def neutralised_sql(text: str) -> str:
    """The SQL of ``text`` made inert for a spreadsheet, as ``csv_export.neutralised``
    makes a cell (``ascii`` of the first character: a regular expression costs more)."""
    return f"CASE WHEN ascii({text}) IN ({FORMULA_CODES}) THEN '''' || {text} ELSE {text} END"


def _user_text_cell(text: str) -> str:
    return f"nullif({neutralised_sql(text)}, '')"


def _cell(text: str) -> str:
    return f"nullif({text}, '')"


def copy_statement(
    qs: QuerySet[Any], columns: Sequence[Column], locale: str, organization_id: int
) -> tuple[Any, str, list[Any]] | None:
    """The connection, SQL and parameters of the rows of ``qs`` as ``columns``' cells, a
    text each; None where the server cannot write them (not PostgreSQL, a lone column, a
    column computed in Python only)."""
    if len(columns) < 2 or any(column.sql is None for column in columns):
        return None
    cells = {
        f"cell{index}": column.sql(
            CellSql(
                qs.model,
                labels.locale_of(locale),
                organization_id,
                _user_text_cell if column.user_text else _cell,
            )
        )
        for index, column in enumerate(columns)
        if column.sql is not None
    }
    db, sql, params = statement(
        qs.annotate(**{name: RawSQL(cell) for name, cell in cells.items()}), tuple(cells)
    )
    return (db, sql, params) if db.capabilities.dialect == "postgres" else None


class LineEnds:
    """COPY's rows, LF-ended, ended as ``csv.writer`` ends them (CRLF), and counted; a line
    break inside a quoted field stays as it is. A quote is always paired inside a quoted
    field, so an odd count of them up to a LF means that LF is inside one."""

    def __init__(self) -> None:
        self.quoted = False  # the last chunk ended inside a quoted field

    def crlf(self, data: bytes | bytearray) -> tuple[bytes, int]:
        """``data`` with its row ends mended, and the count of rows it ends."""
        chunk = bytes(data)  # asyncpg hands a bytearray; a response writes bytes
        if not self.quoted and b'"' not in chunk:  # the common chunk: in C
            return chunk.replace(b"\n", b"\r\n"), chunk.count(b"\n")
        *lines, rest = chunk.split(b"\n")
        mended, rows = [], 0
        for line in lines:
            self.quoted ^= line.count(b'"') % 2 == 1
            mended.append(line + (b"\n" if self.quoted else b"\r\n"))
            rows += not self.quoted
        self.quoted ^= rest.count(b'"') % 2 == 1
        mended.append(rest)
        return b"".join(mended), rows


async def copied_lines(
    db: Any, sql: str, params: list[Any], separator: str, time_zone: str
) -> AsyncGenerator[tuple[bytes, int], None]:
    """The CSV lines of ``sql`` as the server writes them, a chunk at a time with the
    count of rows it ends."""
    connection = await export_connection(db, time_zone)
    chunks: asyncio.Queue[bytes | bytearray | Exception | None] = asyncio.Queue(QUEUED_CHUNKS)
    copy = asyncio.ensure_future(_copy(connection, sql, params, separator, chunks))
    ends = LineEnds()
    finished = False
    try:
        while (chunk := await chunks.get()) is not None:
            if isinstance(chunk, Exception):
                raise chunk
            yield ends.crlf(chunk)
        finished = True
    finally:
        copy.cancel()
        await asyncio.wait([copy])
        if finished:
            await connection.close()
        else:  # the server may be midway: dropping the connection ends its COPY
            connection.terminate()


async def _copy(
    connection: asyncpg.Connection,
    sql: str,
    params: list[Any],
    separator: str,
    chunks: asyncio.Queue[bytes | bytearray | Exception | None],
) -> None:
    """Runs the COPY into ``chunks``, then puts None, or the error it ended with."""
    try:
        async with connection.transaction(readonly=True):
            await connection.copy_from_query(
                sql, *params, output=chunks.put, format="csv", delimiter=separator
            )
    except Exception as error:
        await chunks.put(error)
    else:
        await chunks.put(None)
