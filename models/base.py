"""Base fields shared by every tenant-owned row."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class TenantModel(Model):
    """Every domain row: id, owning organisation, timestamps and an optimistic-lock version."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "core.Organization", related_name=False, on_delete=fields.CASCADE, db_index=True
    )
    organization_id: int
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    version = fields.IntField(default=1)

    class Meta:
        abstract = True
