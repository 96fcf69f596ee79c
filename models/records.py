"""Related records any record can own, and the one link table that ties them together."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields

from models.base import TenantModel


class RecordLink(TenantModel):
    """``owner`` (a lead, session, contact…) is related to ``target`` (a note, email…)."""

    owner_type = fields.CharField(max_length=40)
    owner_id = fields.BigIntField()
    target_type = fields.CharField(max_length=40)
    target_id = fields.BigIntField()

    class Meta:
        unique_together = (("owner_type", "owner_id", "target_type", "target_id"),)
        indexes = (("organization_id", "owner_type", "owner_id"), ("target_type", "target_id"))


class Document(TenantModel):
    filename = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=120)
    size = fields.BigIntField()
    sha256 = fields.CharField(max_length=64)
    storage_name = fields.CharField(max_length=80, unique=True)  # generated, never user input
    uploaded_by = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    uploaded_by_id: int | None


class Note(TenantModel):
    subject = fields.CharField(max_length=255)
    body = fields.TextField(default="")
    author = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    author_id: int | None


class TaskStatus(StrEnum):
    NOT_STARTED = "NOT_STARTED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    DEFERRED = "DEFERRED"


class Task(TenantModel):
    subject = fields.CharField(max_length=255)
    description = fields.TextField(default="")
    due_date = fields.DateField(null=True)
    status = fields.CharEnumField(TaskStatus, max_length=12, default=TaskStatus.NOT_STARTED)
    assignee = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    assignee_id: int | None
