"""Cross-cutting history: change log, domain events, idempotency records."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.base import TenantModel


class ChangeLogEntry(Model):
    """One changed field of one record (or a whole-record action when ``field`` is empty)."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "core.Organization", related_name=False, on_delete=fields.CASCADE
    )
    organization_id: int
    record_type = fields.CharField(max_length=40)
    record_id = fields.BigIntField()
    action = fields.CharField(max_length=40)  # create, update, delete, restore, merge, ...
    field = fields.CharField(max_length=80, default="")
    old_value = fields.TextField(null=True)
    new_value = fields.TextField(null=True)
    actor_kind = fields.CharField(max_length=16)
    actor_id = fields.CharField(max_length=64, null=True)
    actor_label = fields.CharField(max_length=200, default="")
    bulk_job_id = fields.CharField(max_length=64, null=True, db_index=True)
    reason = fields.CharField(max_length=200, default="")
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        indexes = (("organization_id", "record_type", "record_id"),)


class DomainEvent(Model):
    """An ordered fact partners can subscribe to. Its id is the replay cursor."""

    id = fields.BigIntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "core.Organization", related_name=False, on_delete=fields.CASCADE
    )
    organization_id: int
    type = fields.CharField(max_length=60, db_index=True)
    record_type = fields.CharField(max_length=40)
    record_id = fields.BigIntField()
    payload = fields.JSONField(default=dict)
    actor_kind = fields.CharField(max_length=16)
    actor_id = fields.CharField(max_length=64, null=True)
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        indexes = (("organization_id", "id"),)


class IdempotencyRecord(TenantModel):
    """The first result of a scripted bulk mutation, returned again on retry with the same key."""

    key = fields.CharField(max_length=200)
    operation = fields.CharField(max_length=80)
    result = fields.JSONField()

    class Meta:
        unique_together = (("organization_id", "operation", "key"),)
