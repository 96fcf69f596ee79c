"""What the subpanel mutations take: the owner's global ID decoded to its record type,
createRelated's one-of input, and the note and task edits."""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry
from strawberry import relay

from models.records import TaskStatus as TaskStatusModel
from resolvers.context import row_id
from resolvers.errors import NotFound
from resolvers.subpanels.registry import OwnerType
from resolvers.subpanels.related import Owner
from schema.common import given_fields
from schema.subpanels.records import TaskStatus

# The GraphQL type of each record type that has subpanels.
OWNER_TYPES: dict[str, OwnerType] = {
    "Lead": OwnerType.LEAD,
    "Client": OwnerType.CLIENT,
    "Contact": OwnerType.CONTACT,
    "Session": OwnerType.SESSION,
    "SessionClient": OwnerType.SESSION_CLIENT,
}
NOTE_FIELDS = ("subject", "body")
TASK_FIELDS = ("subject", "description", "due_date", "status", "assignee_id")


def owner_of(owner_id: relay.GlobalID) -> Owner:
    """The record an ``ownerId`` names; anything but a record with subpanels is NOT_FOUND."""
    owner_type = OWNER_TYPES.get(owner_id.type_name)
    pk = row_id(owner_id.node_id)
    if owner_type is None or pk is None:
        raise NotFound(f"no record with subpanels has the id {owner_id}", field="ownerId")
    return Owner(owner_type, pk)


def target_ids(ids: list[relay.GlobalID], type_name: str) -> list[int | None]:
    """Database ids of ``ids``; None (a NOT_FOUND item) for an id of another type."""
    return [row_id(i.node_id) if i.type_name == type_name else None for i in ids]


def _assignee(values: dict[str, Any]) -> dict[str, Any]:
    """``assignee_id`` as given (a user's ID) made a row id; unknown ids are NOT_FOUND."""
    if values.get("assignee_id") is not None:
        raw = values["assignee_id"]
        values["assignee_id"] = row_id(raw)
        if values["assignee_id"] is None:
            raise NotFound(f"user {raw} not found", field="assigneeId")
    return values


@strawberry.input
class NoteInput:
    subject: str
    body: str = ""

    def values(self) -> dict[str, Any]:
        return {"subject": self.subject, "body": self.body}


@strawberry.input
class TaskInput:
    subject: str
    description: str = ""
    due_date: date | None = None
    status: TaskStatusModel = strawberry.field(
        default=TaskStatusModel.NOT_STARTED, graphql_type=TaskStatus
    )
    assignee_id: strawberry.ID | None = strawberry.field(default=None, description="A user's ID.")

    def values(self) -> dict[str, Any]:
        return _assignee({name: getattr(self, name) for name in TASK_FIELDS})


@strawberry.input
class DocumentLinkInput:
    document_id: relay.GlobalID = strawberry.field(description="A document uploaded beforehand.")


@strawberry.input(one_of=True, description="Exactly one: a new note, a new task, or a document.")
class RelatedRecordInput:
    note: NoteInput | None = strawberry.UNSET
    task: TaskInput | None = strawberry.UNSET
    document: DocumentLinkInput | None = strawberry.UNSET


@strawberry.input
class UpdateNoteInput:
    id: relay.GlobalID
    version: int
    subject: str | None = strawberry.UNSET
    body: str | None = strawberry.UNSET

    def changes(self) -> dict[str, Any]:
        return given_fields(self, NOTE_FIELDS)


@strawberry.input
class UpdateTaskInput:
    id: relay.GlobalID
    version: int
    subject: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    due_date: date | None = strawberry.UNSET
    status: TaskStatusModel | None = strawberry.field(
        default=strawberry.UNSET, graphql_type=TaskStatus | None
    )
    assignee_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="A user's ID; null unassigns."
    )

    def changes(self) -> dict[str, Any]:
        return _assignee(given_fields(self, TASK_FIELDS, nullable=("due_date", "assignee_id")))
