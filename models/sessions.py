"""Training domain: client companies and their contacts, sessions, planning slots, and
the clients enrolled in a session with their date-confirmation state (SPEC §4–5)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields

from models.base import TenantModel


class SessionStatus(StrEnum):
    DRAFT = "DRAFT"
    PLANNED = "PLANNED"
    CANCELLED = "CANCELLED"
    DONE = "DONE"


class ConfirmationState(StrEnum):
    TO_CONFIRM = "TO_CONFIRM"
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    MANUALLY_VALIDATED = "MANUALLY_VALIDATED"
    EXPIRED = "EXPIRED"


class ConfirmationSummary(StrEnum):
    """The session list's "confirmation dates Client" column (SPEC §5)."""

    DECLINED = "DECLINED"
    PENDING = "PENDING"
    TO_CONFIRM = "TO_CONFIRM"
    CONFIRMED = "CONFIRMED"


class Client(TenantModel):
    name = fields.CharField(max_length=200, db_index=True)
    address = fields.TextField(default="")
    siret = fields.CharField(max_length=14, null=True)
    main_contact = fields.ForeignKeyField(
        "training.Contact", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    main_contact_id: int | None
    # No composite index with organization_id here: Client and Contact reference each
    # other, so Tortoise adds their FK columns after CREATE TABLE, too late for one.


class Contact(TenantModel):
    client = fields.ForeignKeyField(
        "training.Client",
        related_name="contacts",
        null=True,
        on_delete=fields.CASCADE,
        db_index=True,
    )
    client_id: int | None
    first_name = fields.CharField(max_length=100, default="")
    last_name = fields.CharField(max_length=100, db_index=True)
    email = fields.CharField(max_length=254, default="")
    phone = fields.CharField(max_length=40, default="")
    job_title = fields.CharField(max_length=120, default="")


class TrainingSession(TenantModel):
    reference = fields.CharField(max_length=40)
    title = fields.CharField(max_length=255)
    product_code = fields.CharField(max_length=60, default="", db_index=True)
    location = fields.CharField(max_length=255, default="")
    status = fields.CharEnumField(SessionStatus, max_length=10, default=SessionStatus.DRAFT)
    owner = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    owner_id: int | None
    # Kept current in the same transaction as every confirmation change (SPEC §5).
    confirmation_summary = fields.CharEnumField(ConfirmationSummary, max_length=12, null=True)
    # Denormalised from the slots so that the list can sort and filter on them.
    first_date = fields.DateField(null=True)
    last_date = fields.DateField(null=True)

    class Meta:
        unique_together = (("organization_id", "reference"),)
        indexes = (("organization_id", "first_date"),)


class SessionSlot(TenantModel):
    session = fields.ForeignKeyField(
        "training.TrainingSession", related_name="slots", on_delete=fields.CASCADE, db_index=True
    )
    session_id: int
    position = fields.IntField(default=0)
    date = fields.DateField()
    start_time = fields.TimeField()
    end_time = fields.TimeField()
    location = fields.CharField(max_length=255, default="")  # empty: the session's location

    class Meta:
        ordering = ["date", "start_time", "position"]


class SessionClient(TenantModel):
    session = fields.ForeignKeyField(
        "training.TrainingSession", related_name="session_clients", on_delete=fields.CASCADE
    )
    session_id: int
    client = fields.ForeignKeyField(
        "training.Client", related_name="session_clients", on_delete=fields.CASCADE, db_index=True
    )
    client_id: int
    confirmation_state = fields.CharEnumField(
        ConfirmationState, max_length=20, default=ConfirmationState.TO_CONFIRM
    )
    confirmation_sent_at = fields.DatetimeField(null=True)
    confirmation_deadline = fields.DateField(null=True)
    confirmation_answered_at = fields.DatetimeField(null=True)
    # The proposal whose link is live (set by the confirmation domain); null when none.
    current_proposal_id = fields.BigIntField(null=True)

    class Meta:
        unique_together = (("session_id", "client_id"),)
