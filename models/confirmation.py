"""Client confirmation of session dates: email templates ("Modèles de mail"), the date
proposals sent to clients and every answer they gave (SPEC §5)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields

from models.base import TenantModel


class TemplateKind(StrEnum):
    DATE_PROPOSAL = "DATE_PROPOSAL"
    DATE_PROPOSAL_REMINDER = "DATE_PROPOSAL_REMINDER"
    RESPONSE_NOTIFICATION = "RESPONSE_NOTIFICATION"
    LEAD_EMAIL = "LEAD_EMAIL"  # bulk email to leads ("Courriel")
    WAITLIST_SESSION_OPEN = "WAITLIST_SESSION_OPEN"  # a session opens for a waiting list


class ProposalAnswerKind(StrEnum):
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"


class EmailTemplate(TenantModel):
    """One organisation's subject and HTML body for a kind of email in one locale."""

    # The description is pinned: Tortoise derives it from the enum's members and would
    # otherwise want a migration of this app for every new kind (the column is unchanged).
    kind = fields.CharEnumField(
        TemplateKind,
        max_length=30,
        description="DATE_PROPOSAL: DATE_PROPOSAL\nDATE_PROPOSAL_REMINDER: DATE_PROPOSAL_REMINDER"
        "\nRESPONSE_NOTIFICATION: RESPONSE_NOTIFICATION",
    )
    locale = fields.CharField(max_length=5)
    subject = fields.CharField(max_length=400)
    html = fields.TextField()

    class Meta:
        unique_together = (("organization_id", "kind", "locale"),)


class DateProposal(TenantModel):
    """A proposal of the session's dates emailed to a client, answerable through a link.

    Only the SHA-256 of the link tokens is stored. The reminder email carries a token of
    its own so that the first token never has to be kept in clear.
    """

    session_client = fields.ForeignKeyField(
        "training.SessionClient", related_name="proposals", on_delete=fields.CASCADE
    )
    session_client_id: int
    session_id = fields.BigIntField()
    token_hash = fields.CharField(max_length=64, unique=True)
    reminder_token_hash = fields.CharField(max_length=64, null=True, unique=True)
    deadline = fields.DateField()
    planning = fields.JSONField(default=list)  # the slots as they were when sent
    to = fields.JSONField(default=list)
    cc = fields.JSONField(default=list)
    bcc = fields.JSONField(default=list)
    subject = fields.CharField(max_length=400)
    message = fields.TextField(default="")
    attachment_ids = fields.JSONField(default=list)
    locale = fields.CharField(max_length=5, default="fr")
    sender_kind = fields.CharField(max_length=16)
    sender_id = fields.CharField(max_length=64, null=True)
    sender_label = fields.CharField(max_length=200, default="")
    email_id = fields.BigIntField(null=True)
    reminder_email_id = fields.BigIntField(null=True)
    reminder_sent_at = fields.DatetimeField(null=True)
    superseded_at = fields.DatetimeField(null=True)
    answer = fields.CharEnumField(ProposalAnswerKind, max_length=10, null=True)  # the last one
    answered_at = fields.DatetimeField(null=True)


class ProposalAnswer(TenantModel):
    """Every answer a client gave to a proposal, the last one standing."""

    proposal = fields.ForeignKeyField(
        "confirmation.DateProposal", related_name="answers", on_delete=fields.CASCADE
    )
    proposal_id: int
    answer = fields.CharEnumField(ProposalAnswerKind, max_length=10)
    at = fields.DatetimeField()
    ip = fields.CharField(max_length=64, default="")
