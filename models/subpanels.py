"""Each user's layout of the related-record subpanels of one record type (SPEC §8)."""

from __future__ import annotations

from tortoise import fields

from models.base import TenantModel


class SubpanelLayout(TenantModel):
    """One user's order and collapsed panels for one record type (others: the default)."""

    user = fields.ForeignKeyField("core.User", related_name=False, on_delete=fields.CASCADE)
    user_id: int
    record_type = fields.CharField(max_length=40)
    order = fields.JSONField(default=list)  # panel keys, the first shown first
    collapsed = fields.JSONField(default=dict)  # panel key → collapsed, as the user set it

    class Meta:
        unique_together = (("user_id", "record_type"),)
