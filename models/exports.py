"""Files generated in the background for a user: a list printed to PDF above the
in-request limit (issue 11). The file itself is kept under the storage directory."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields

from models.base import TenantModel


class FileStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


class GeneratedFile(TenantModel):
    kind = fields.CharField(max_length=40)  # what it is: "list_pdf"
    list_type = fields.CharField(max_length=40)  # leads, sessions, clients, contacts
    parameters = fields.JSONField(default=dict)  # the request: selection, order, locale…
    status = fields.CharEnumField(FileStatus, max_length=8, default=FileStatus.QUEUED)
    # Who asked: only they may download it (a user, or an API key).
    actor_kind = fields.CharField(max_length=16)
    actor_id = fields.CharField(max_length=64, null=True)
    actor_label = fields.CharField(max_length=200, default="")
    actor_role = fields.CharField(max_length=10, null=True)
    actor_scopes = fields.JSONField(default=list)
    path = fields.CharField(max_length=255, default="")  # under the storage directory
    filename = fields.CharField(max_length=255, default="")  # shown to the user
    size = fields.BigIntField(default=0)
    row_count = fields.IntField(default=0)
    error = fields.TextField(default="")
    # The render in progress: a worker killed mid-render stops the heartbeat, and the
    # sweep runs the file again (or fails it once it has had its tries).
    attempts = fields.IntField(default=0)
    started_at = fields.DatetimeField(null=True)
    heartbeat_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField()

    class Meta:
        indexes = (
            ("organization_id", "created_at"),
            ("status", "expires_at"),
            ("status", "heartbeat_at"),
        )
