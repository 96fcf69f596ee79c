"""The notes and tasks attached to records: Relay nodes with the columns a subpanel lists."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import strawberry
from strawberry import relay

from models.records import Note as NoteRow
from models.records import Task as TaskRow
from models.records import TaskStatus as TaskStatusModel
from resolvers import dataloaders, labels
from schema.auth import User
from schema.context import Info

TaskStatus = strawberry.enum(TaskStatusModel, name="TaskStatus")


async def _user(info: Info, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    row = await info.context.loader(dataloaders.users_by_id).load(user_id)
    return User.from_row(row) if row else None


@strawberry.type
class TaskStatusLabel:
    value: TaskStatusModel = strawberry.field(graphql_type=TaskStatus)

    @strawberry.field
    def label(self, info: Info) -> str:
        return labels.task_status(self.value.value, info.context.locale)


@strawberry.type(description="A note attached to one or more records.")
class Note(relay.Node):
    id: relay.NodeID[int]
    subject: str
    body: str
    created_at: datetime
    updated_at: datetime
    version: int
    author_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: NoteRow) -> Note:
        return cls(
            id=row.id,
            subject=row.subject,
            body=row.body,
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
            author_id=row.author_id,
        )

    @strawberry.field(description="Who wrote it (null for an API key or a removed user).")
    async def author(self, info: Info) -> User | None:
        return await _user(info, self.author_id)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Note | None]:
        rows = await info.context.require_scope().get_many(NoteRow, node_ids)
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type(description="A task attached to one or more records.")
class Task(relay.Node):
    id: relay.NodeID[int]
    subject: str
    description: str
    due_date: date | None
    status: TaskStatusLabel
    created_at: datetime
    updated_at: datetime
    version: int
    assignee_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: TaskRow) -> Task:
        return cls(
            id=row.id,
            subject=row.subject,
            description=row.description,
            due_date=row.due_date,
            status=TaskStatusLabel(value=row.status),
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
            assignee_id=row.assignee_id,
        )

    @strawberry.field
    async def assignee(self, info: Info) -> User | None:
        return await _user(info, self.assignee_id)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Task | None]:
        rows = await info.context.require_scope().get_many(TaskRow, node_ids)
        return [cls.from_row(row) if row else None for row in rows]
