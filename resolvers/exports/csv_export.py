"""A list as CSV, streamed (SPEC §7 "Exporter"): the header in the export's language,
then the rows as they come, so memory stays flat whatever the row count. On PostgreSQL
the server writes the rows (``server_csv``, COPY); elsewhere, or for a lone column, Python
writes them from a cursor's batches (``rows``), the same bytes either way.

Cells a spreadsheet would run as a formula (user text starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return) are prefixed with a quote (OWASP, CSV injection). The
Excel variant, for French spreadsheets, separates with ``;`` and starts with a UTF-8 BOM
(without it Excel reads the file as Windows-1252 and mangles the accents).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tortoise.queryset import QuerySet

from resolvers.context import Scope
from resolvers.exports.audit import record_export
from resolvers.exports.lists import FORMULA_STARTS, Column, ListDefinition, organization_time_zone
from resolvers.exports.rows import record_batches
from resolvers.exports.server_csv import copied_lines, copy_statement
from resolvers.selections import Selection, select

FORMULA_AFTER_NUL = re.compile("\0[=+\\-@\t\r]")
BOM = "\ufeff"


@dataclass(frozen=True)
class ExportRequest:
    """What to export: which list, which of its records, in which order, which columns."""

    definition: ListDefinition[Any, Any]
    selection: Selection[Any]
    order: Any
    columns: tuple[Column, ...]
    locale: str = "fr"
    excel: bool = False
    # The selection as the caller gave it, for the change log (filter, ids, order).
    described: Mapping[str, Any] | None = None


def neutralised(cells: list[str]) -> list[str]:
    """``cells`` made inert for a spreadsheet where one would start a formula."""
    # One search over the joined column first: most columns have no such cell at all.
    if not FORMULA_AFTER_NUL.search("\0" + "\0".join(cells)):
        return cells
    return ["'" + cell if cell.startswith(FORMULA_STARTS) else cell for cell in cells]


async def selected_query(scope: Scope, request: ExportRequest) -> QuerySet[Any]:
    """The records of the request, in the list's order. An id that names no record of
    the organisation (foreign or missing alike) refuses the whole export with NOT_FOUND,
    as the selection contract answers for it; nothing is exported."""
    definition, selection = request.definition, request.selection
    if selection.ids is not None:
        selected = await select(
            scope,
            definition.model,
            selection,
            lambda where: definition.query(scope, where, request.order),
        )
        for item in selected.items:
            if item.error is not None:
                raise item.error
        qs = definition.query(scope, definition.all_records, request.order)
        return qs.filter(id__in=selected.record_ids)
    qs = definition.query(scope, selection.filter, request.order)
    excluded = [pk for pk in selection.exclude_ids if pk is not None]
    return qs.exclude(id__in=excluded) if excluded else qs


class Fields:
    """CSV fields written a column at a time, as ``csv.writer`` (QUOTE_MINIMAL, ``\\r\\n``)
    writes them: a field holding the separator, a quote or a line break is quoted, its
    quotes doubled. One search over a whole column skips the columns (most) that have no
    such field; the lines are then joined in C: under half csv.writer's time per row."""

    def __init__(self, separator: str) -> None:
        self.separator = separator
        self.special = re.compile(f'[{re.escape(separator)}"\\r\\n]')

    def quoted(self, cells: list[str]) -> list[str]:
        special = self.special.search
        if not special("\0".join(cells)):
            return cells
        return ['"' + cell.replace('"', '""') + '"' if special(cell) else cell for cell in cells]

    def lines(self, columns: list[list[str]]) -> str:
        quoted = [self.quoted(cells) for cells in columns]
        if len(quoted) == 1:  # an empty field alone is "", else its line would be blank
            quoted = [[cell or '""' for cell in quoted[0]]]
        lines = "\r\n".join(map(self.separator.join, zip(*quoted, strict=True)))
        has_rows = bool(quoted and quoted[0])
        return lines + "\r\n" if has_rows else ""


class ExportPath(StrEnum):
    """Who writes the rows: PostgreSQL's COPY (``server_csv``), or Python over a cursor."""

    COPY = "copy"
    CURSOR = "cursor"


@dataclass(frozen=True)
class CsvExport:
    path: ExportPath
    chunks: AsyncIterator[bytes]


async def csv_chunks(scope: Scope, request: ExportRequest) -> CsvExport:
    """The CSV file in chunks (a header, then the rows a chunk at a time); once the last
    row is out, or the client has left, the export is recorded in the organisation's
    change log with the rows sent."""
    qs = await selected_query(scope, request)
    time_zone = await organization_time_zone(scope)
    separator = ";" if request.excel else ","
    copied = copy_statement(qs, request.columns, request.locale, scope.organization_id)
    if copied is None:
        lines = _python_lines(scope, request, qs, separator, time_zone)
        return CsvExport(ExportPath.CURSOR, _stream(scope, request, lines))
    lines = copied_lines(*copied, separator=separator, time_zone=time_zone)
    return CsvExport(ExportPath.COPY, _stream(scope, request, lines))


async def _stream(
    scope: Scope, request: ExportRequest, lines: AsyncGenerator[tuple[bytes, int], None]
) -> AsyncIterator[bytes]:
    """The header (with the BOM of the Excel variant), then ``lines``; recorded in the
    change log once done."""
    fields = Fields(";" if request.excel else ",")
    header = fields.lines([[column.header(request.locale)] for column in request.columns])
    yield ((BOM if request.excel else "") + header).encode()
    rows = 0
    try:
        # Closed on leaving, whatever the reason: their connection goes at once.
        async with aclosing(lines) as chunks:
            async for chunk, count in chunks:
                rows += count
                yield chunk
    finally:
        # Recorded too when the client leaves midway (what was sent is out): shielded, as
        # a disconnect cancels the response's task and would cancel the write with it.
        described = request.described or {}
        await asyncio.shield(record_export(scope, request.definition.name, described, rows, "csv"))


async def _python_lines(
    scope: Scope, request: ExportRequest, qs: QuerySet[Any], separator: str, time_zone: str
) -> AsyncGenerator[tuple[bytes, int], None]:
    """The CSV lines of ``qs``, a batch of rows at a time, each cell computed in Python."""
    definition, columns, locale = request.definition, request.columns, request.locale
    fields = Fields(separator)
    reads = definition.reads(columns)
    async with aclosing(record_batches(qs, reads, time_zone)) as batches:
        async for batch_rows in batches:
            batch = await definition.batch(scope, batch_rows, columns, locale, time_zone)
            cells = [
                neutralised(column.cells(batch_rows, batch))
                if column.user_text
                else column.cells(batch_rows, batch)
                for column in columns
            ]
            yield fields.lines(cells).encode(), len(batch_rows)
