"""A list printed to PDF (SPEC §7 "Imprimer en format PDF : imprime une liste … de tous
les dossiers sélectionnés"): a table of the list's columns, the exports' own definitions
(``resolvers.exports.lists``), so a print shows what the CSV export holds.

The selection is frozen to ids in the list's order when the print is asked for; up to
``IN_REQUEST_LIMIT`` records are rendered in the request, more are rendered by the worker
into a file to download (``resolvers.prints.files``). Each print is recorded in the
organisation's change log, like an export.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from resolvers.context import Scope
from resolvers.errors import ValidationFailed
from resolvers.exports.audit import record_export
from resolvers.exports.lists import (
    Column,
    ListDefinition,
    Row,
    organization_time_zone,
    table,
)
from resolvers.exports.rows import record_batches
from resolvers.prints.pdf import PrintDocument
from resolvers.prints.records import Printing
from resolvers.prints.texts import text

IN_REQUEST_LIMIT = 500  # records rendered in the request; more go to the worker
MAX_PRINTED = 10_000  # records one print may hold: past that, a CSV export serves better
ID_CHUNK = 2_000  # ids read per statement


@dataclass(frozen=True)
class ListPrint:
    """What to print: the list, its records' ids in the list's order, which columns."""

    definition: ListDefinition[Any, Any]
    ids: Sequence[int]
    columns: tuple[Column, ...]
    locale: str = "fr"
    # The selection as the caller gave it (filter, ids, order), for the page header and
    # the change log.
    described: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if len(self.ids) > MAX_PRINTED:
            raise ValidationFailed(
                f"a print holds at most {MAX_PRINTED} records ({len(self.ids)} selected): "
                "narrow the filter, or export the list as CSV",
                field="selection",
            )

    @property
    def in_request(self) -> bool:
        return len(self.ids) <= IN_REQUEST_LIMIT


def describe_selection(described: Mapping[str, Any] | None, locale: str) -> str:
    """The selection in words for the page header: the filter's conditions or how many
    records were picked by id, those left out, the order (``described`` as the export
    parameters give it: ``filter``, or ``selection`` with ``ids`` or ``filter`` and
    ``excludeIds``, and ``order``)."""
    described = described or {}
    selection = described.get("selection") or {}
    parts: list[str] = []
    if selection.get("ids") is not None:
        parts.append(text("picked", locale).format(count=len(selection["ids"])))
    else:
        given = described.get("filter") or selection.get("filter") or {}
        conditions = [f"{k} = {_shown(v)}" for k, v in given.items() if v not in (None, "", [])]
        shown = " ; ".join(conditions) or text("no_filter", locale)
        parts.append(f"{text('filter', locale)} : {shown}")
    if selection.get("excludeIds"):
        parts.append(text("excluded", locale).format(count=len(selection["excludeIds"])))
    if described.get("order"):
        parts.append(f"{text('order', locale)} : {_shown(described['order'])}")
    return " · ".join(parts)


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {_shown(v)}" for k, v in value.items())
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


async def render_list(scope: Scope, job: ListPrint) -> bytes:
    """The PDF of ``job``, recorded in the organisation's change log. The rows are read
    first (at most ``MAX_PRINTED``), then laid out in a thread: the event loop goes on
    serving other requests meanwhile."""
    printing = await Printing.start(scope, job.locale)
    definition, locale = job.definition, printing.locale
    title = f"{text(definition.name, locale)} ({len(job.ids)})"
    doc = printing.document(title, describe_selection(job.described, locale), landscape=True)
    headers = [column.header(locale) for column in job.columns]
    rows: list[tuple[str, ...]] = []
    for start in range(0, len(job.ids), ID_CHUNK):
        rows += await _cells(scope, job, job.ids[start : start + ID_CHUNK])
    content = await asyncio.to_thread(_laid_out, doc, headers, rows)
    await record_export(scope, definition.name, job.described or {}, len(job.ids), "pdf")
    return content


def _laid_out(doc: PrintDocument, headers: list[str], rows: list[tuple[str, ...]]) -> bytes:
    doc.data_table(headers, rows)
    return doc.render()


async def _cells(scope: Scope, job: ListPrint, ids: Sequence[int]) -> list[tuple[str, ...]]:
    """The cells of the records ``ids``, in the order of ``ids``."""
    definition = job.definition
    qs = definition.query(scope, definition.all_records, definition.default_order).filter(
        id__in=list(ids)
    )
    time_zone = await organization_time_zone(scope)
    rows: list[Row] = []
    async for batch_rows in record_batches(qs, definition.reads(job.columns), time_zone):
        rows.extend(batch_rows)
    position = {pk: n for n, pk in enumerate(ids)}
    rows.sort(key=lambda row: position[row["id"]])
    batch = await definition.batch(scope, rows, job.columns, job.locale, time_zone)
    return table(job.columns, rows, batch)
