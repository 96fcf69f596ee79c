"""Notes and tasks, the records "Créer" makes in a subpanel: their editable fields, the
checks on them, and the versioned update (the change log lists every changed field)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from models.base import TenantModel
from models.core import User
from models.records import Note, Task, TaskStatus
from resolvers.audit import record_action, record_changes
from resolvers.context import Scope
from resolvers.errors import NotFound, ValidationFailed
from resolvers.runtime import atomic
from resolvers.subpanels.registry import RelatedKind
from resolvers.versioning import lock_at_version, update_versioned


@dataclass(frozen=True)
class RecordKind:
    kind: RelatedKind
    model: type[TenantModel]
    fields: tuple[str, ...]  # what a caller may set


NOTE = RecordKind(RelatedKind.NOTE, Note, ("subject", "body"))
TASK = RecordKind(
    RelatedKind.TASK, Task, ("subject", "description", "due_date", "status", "assignee_id")
)


async def check_values(scope: Scope, record: RecordKind, values: Mapping[str, Any]) -> None:
    unknown = set(values) - set(record.fields)
    if unknown:
        raise ValidationFailed(f"{', '.join(sorted(unknown))} cannot be set", field="input")
    if "subject" in values and not str(values["subject"] or "").strip():
        raise ValidationFailed("the subject cannot be empty", field="subject")
    if "status" in values and values["status"] not in set(TaskStatus):
        raise ValidationFailed(f"unknown task status {values['status']}", field="status")
    assignee = values.get("assignee_id")
    if assignee is not None and not await scope.query(User).filter(id=assignee).exists():
        raise NotFound(f"user {assignee} not found", field="assigneeId")


def _cleaned(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.strip() if k == "subject" else v for k, v in values.items()}


async def create_record(scope: Scope, record: RecordKind, values: Mapping[str, Any]) -> Any:
    """A new note or task (inside the caller's transaction), logged and announced."""
    await check_values(scope, record, values)
    extra = {"author_id": scope.actor.user_id} if record.model is Note else {}
    row = await scope.create(record.model, **_cleaned(values), **extra)
    await record_action(
        scope, record.kind.value, row.id, "create", event=f"{record.kind.value}.created"
    )
    return row


async def update_record(
    scope: Scope, record: RecordKind, id: int, version: int, changes: Mapping[str, Any]
) -> Any:
    """Partial update at ``version`` (a stale one is STALE_VERSION)."""
    scope.require_write()
    await check_values(scope, record, changes)
    async with atomic():
        row = await lock_at_version(scope, record.model, id, version)
        after = _cleaned(changes)
        before = await update_versioned(scope, row, after)
        await record_changes(
            scope, record.kind.value, row.id, before, after, event=f"{record.kind.value}.updated"
        )
    return row
