"""Exports and prints in the organisation's change log (who, which list, which filter,
how many rows): one whole-record entry on the organisation itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from models.audit import ChangeLogEntry
from resolvers.audit import log_action
from resolvers.context import Scope

ORGANIZATION = "organization"  # the change log's record type of organisation-level entries
ExportFormat = Literal["csv", "pdf"]


async def record_export(
    scope: Scope, list_name: str, filter: Mapping[str, Any], rows: int, format: ExportFormat
) -> None:
    """An export (CSV) or print (PDF) by ``scope``'s actor of ``rows`` records of
    ``list_name`` chosen by ``filter`` (the selection as the caller gave it: a filter,
    ids, an order). The details are the entry's new value, as JSON."""
    await log_action(
        scope,
        ORGANIZATION,
        scope.organization_id,
        "export" if format == "csv" else "print",
        reason=list_name,
        new_value={"list": list_name, "format": format, "rows": rows, "filter": dict(filter)},
    )


def organization_log(scope: Scope) -> Any:
    """The organisation-level entries (exports, prints), newest first."""
    return (
        scope.query(ChangeLogEntry)
        .filter(record_type=ORGANIZATION, record_id=scope.organization_id)
        .order_by("-at", "-id")
    )
