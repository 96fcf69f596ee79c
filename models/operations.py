"""Bulk operations (SPEC §7 "Bulk actions"): one row per action started on a selection of
leads (mass update, delete, restore, revert, emails…), one row per item it processed, and
the waiting-list notifications sent (one per lead and session).

The selection is frozen into the operation when it starts (``target_ids``); items are
written batch by batch in the same transaction as the work they record, and
``(operation, position)`` is unique, so a run resumed after a crash never does an item twice.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.base import TenantModel


class OperationStatus(StrEnum):
    QUEUED = "QUEUED"  # waiting for a worker (selections above the in-request limit)
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"  # rejected as a whole (errorPolicy), or stopped by an unexpected error
    REVERTED = "REVERTED"  # DONE, then put back by a revert operation


class BulkOperation(TenantModel):
    kind = fields.CharField(max_length=40)
    status = fields.CharEnumField(OperationStatus, max_length=10, default=OperationStatus.QUEUED)
    error_policy = fields.CharField(max_length=24)
    # The selection frozen at start: one entry per position, null where the given id names
    # no record of the organisation; the error of such a position in ``target_errors``.
    target_ids = fields.JSONField(default=list)
    target_errors = fields.JSONField(default=dict)  # str(position) -> {code, message}
    arguments = fields.JSONField(default=dict)  # the kind's own inputs (fields set, …)
    total = fields.IntField(default=0)
    processed = fields.IntField(default=0)  # also the position the next batch starts at
    succeeded = fields.IntField(default=0)
    failed = fields.IntField(default=0)
    # Who started it: the worker acts as them (change log, permissions).
    created_by = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    actor_kind = fields.CharField(max_length=16)
    actor_id = fields.CharField(max_length=64, null=True)
    actor_label = fields.CharField(max_length=200, default="")
    actor_role = fields.CharField(max_length=10, null=True)
    actor_scopes = fields.JSONField(default=list)
    started_at = fields.DatetimeField(null=True)
    heartbeat_at = fields.DatetimeField(null=True)  # last batch committed (stale: resume)
    finished_at = fields.DatetimeField(null=True)
    error = fields.TextField(default="")  # why it FAILED as a whole
    reverts = fields.ForeignKeyField(
        "operations.BulkOperation", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    reverts_id: int | None
    reverted_by = fields.ForeignKeyField(
        "operations.BulkOperation", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    reverted_by_id: int | None
    idempotency_key = fields.CharField(max_length=200, null=True)

    class Meta:
        unique_together = (("organization_id", "kind", "idempotency_key"),)
        indexes = (("organization_id", "created_at"), ("status", "heartbeat_at"))


class BulkOperationItem(Model):
    """One position of an operation's selection, as processed: its outcome (UPDATED,
    UNCHANGED, DELETED…) or its errors, and what it changed (for a revert)."""

    id = fields.BigIntField(primary_key=True)
    operation = fields.ForeignKeyField(
        "operations.BulkOperation", related_name=False, on_delete=fields.CASCADE
    )
    operation_id: int
    position = fields.IntField()
    lead_id = fields.BigIntField(null=True)  # null: the position names no lead
    outcome = fields.CharField(max_length=20, null=True)  # null: the item failed
    reason = fields.CharField(max_length=40, default="")  # why SKIPPED (NO_EMAIL, MERGED…)
    failed = fields.BooleanField(default=False)
    errors = fields.JSONField(default=list)  # [{code, message, field}]
    old_values = fields.JSONField(null=True)  # field -> text form (resolvers.audit.as_text)
    new_values = fields.JSONField(null=True)

    class Meta:
        unique_together = (("operation_id", "position"),)
        indexes = (("operation_id", "failed", "position"), ("operation_id", "lead_id"))


class WaitlistNotification(TenantModel):
    """A waiting-list lead was emailed that a session of its course opened: once per lead
    and session, so a second ``notifyWaitlist`` reaches only the leads added since."""

    session = fields.ForeignKeyField(
        "training.TrainingSession", related_name=False, on_delete=fields.CASCADE
    )
    session_id: int
    lead = fields.ForeignKeyField("leads.Lead", related_name=False, on_delete=fields.CASCADE)
    lead_id: int
    operation = fields.ForeignKeyField(
        "operations.BulkOperation", related_name=False, on_delete=fields.CASCADE
    )
    operation_id: int
    email_id = fields.BigIntField()

    class Meta:
        unique_together = (("organization_id", "session_id", "lead_id"),)
