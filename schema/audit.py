"""The change log as GraphQL shows it: one entry per changed field or whole-record action."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.utils.str_converters import to_camel_case

from models.audit import ChangeLogEntry as ChangeLogEntryRow


@strawberry.type(description="Who changed what on a record, and when.")
class ChangeLogEntry:
    at: datetime
    action: str
    field: str = strawberry.field(
        description="camelCase field name; empty for a whole-record action."
    )
    old_value: str | None
    new_value: str | None
    reason: str
    actor_kind: str
    actor_label: str

    @classmethod
    def from_row(cls, row: ChangeLogEntryRow) -> ChangeLogEntry:
        return cls(
            at=row.at,
            action=row.action,
            field=to_camel_case(row.field),
            old_value=row.old_value,
            new_value=row.new_value,
            reason=row.reason,
            actor_kind=row.actor_kind,
            actor_label=row.actor_label,
        )
