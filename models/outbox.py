"""The transactional email outbox (SPEC §6)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields

from models.base import TenantModel


class EmailStatus(StrEnum):
    QUEUED = "QUEUED"
    SENDING = "SENDING"
    SENT = "SENT"
    FAILED = "FAILED"


class OutboundEmail(TenantModel):
    kind = fields.CharField(max_length=40, default="")
    sender = fields.CharField(max_length=254)
    to = fields.JSONField(default=list)
    cc = fields.JSONField(default=list)
    bcc = fields.JSONField(default=list)
    subject = fields.CharField(max_length=400)
    html = fields.TextField()
    text = fields.TextField()
    attachment_ids = fields.JSONField(default=list)  # Document ids, read at send time
    status = fields.CharEnumField(EmailStatus, max_length=10, default=EmailStatus.QUEUED)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(default="")
    refused_recipients = fields.JSONField(default=dict)
    message_id = fields.CharField(max_length=200, unique=True)
    claimed_at = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        indexes = (("status", "updated_at"),)
