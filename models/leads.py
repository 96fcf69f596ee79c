"""Prospects (leads) fed by a store's waiting list, the stores that feed them, and the
journal that lets a merge be undone (SPEC §7)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields

from models.base import TenantModel


class LeadStatus(StrEnum):
    NEW = "NEW"
    ASSIGNED = "ASSIGNED"
    IN_PROCESS = "IN_PROCESS"
    CONVERTED = "CONVERTED"
    RECYCLED = "RECYCLED"
    DEAD = "DEAD"


class WaitlistStatus(StrEnum):
    PENDING = "PENDING"
    REMOVED = "REMOVED"


class Store(TenantModel):
    """An online store whose waiting-list webhooks create and update leads."""

    name = fields.CharField(max_length=200)
    # Kept as given: verifying an HMAC needs the secret itself. Never exposed after creation.
    secret = fields.CharField(max_length=128)
    source_system = fields.CharField(max_length=120, default="")
    default_assignee = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    default_assignee_id: int | None


class Lead(TenantModel):
    # Overview
    first_name = fields.CharField(max_length=100, default="")
    last_name = fields.CharField(max_length=100, default="")
    email = fields.CharField(max_length=254, default="")
    office_phone = fields.CharField(max_length=40, default="")
    mobile = fields.CharField(max_length=40, default="")
    fax = fields.CharField(max_length=40, default="")
    job_title = fields.CharField(max_length=120, default="")
    department = fields.CharField(max_length=120, default="")
    account_name = fields.CharField(max_length=200, default="")
    website = fields.CharField(max_length=255, default="")
    primary_address = fields.TextField(default="")
    other_address = fields.TextField(default="")
    description = fields.TextField(default="")
    assigned_user = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    assigned_user_id: int | None
    referred_by = fields.CharField(max_length=200, default="")
    # More information
    status = fields.CharEnumField(LeadStatus, max_length=12, default=LeadStatus.NEW)
    lead_source = fields.CharField(max_length=100, default="")
    status_description = fields.TextField(default="")
    lead_source_description = fields.TextField(default="")
    opportunity_amount = fields.DecimalField(max_digits=14, decimal_places=2, null=True)
    campaign = fields.CharField(max_length=200, default="")
    # Waiting list
    is_waitlist_entry = fields.BooleanField(default=False)
    waitlist_product_code = fields.CharField(max_length=60, default="", db_index=True)
    waitlist_date_added = fields.DatetimeField(null=True)
    waitlist_status = fields.CharEnumField(WaitlistStatus, max_length=8, null=True)
    waitlist_purchase_date = fields.DateField(null=True)
    waitlist_order_number = fields.CharField(max_length=80, default="")
    waitlist_emails_sent = fields.IntField(default=0)
    store = fields.ForeignKeyField(
        "leads.Store", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    store_id: int | None
    store_customer_id = fields.CharField(max_length=120, null=True)
    source_system = fields.CharField(max_length=120, default="")
    # When the newest store event applied to this lead happened (out-of-order guard).
    store_event_at = fields.DatetimeField(null=True)
    # Consent
    lawful_basis = fields.CharField(max_length=120, default="")
    lawful_basis_source = fields.CharField(max_length=120, default="")
    lawful_basis_review_date = fields.DateField(null=True)
    # Other
    deleted_at = fields.DatetimeField(null=True)
    merged_into = fields.ForeignKeyField(
        "leads.Lead", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    merged_into_id: int | None
    converted_contact = fields.ForeignKeyField(
        "training.Contact", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    converted_contact_id: int | None
    # Normalised copies for duplicate detection, kept current by resolvers.leads.records.
    email_norm = fields.CharField(max_length=254, default="")
    name_norm = fields.CharField(max_length=201, default="")
    phone_norm = fields.CharField(max_length=40, default="")
    account_norm = fields.CharField(max_length=200, default="")

    class Meta:
        unique_together = (("store_id", "store_customer_id"),)
        indexes = (
            ("organization_id", "email_norm"),
            ("organization_id", "name_norm", "phone_norm"),
            ("organization_id", "name_norm", "account_norm"),
            ("organization_id", "updated_at"),
        )


class MergeJournal(TenantModel):
    """What a merge changed, so that undoMerge can put it back exactly."""

    primary = fields.ForeignKeyField("leads.Lead", related_name=False, on_delete=fields.CASCADE)
    primary_id: int
    duplicate_ids = fields.JSONField(default=list)
    # field -> id of the lead its kept value came from
    field_origins = fields.JSONField(default=dict)
    # the primary's changed fields before and after the merge (serialised values)
    primary_before = fields.JSONField(default=dict)
    primary_after = fields.JSONField(default=dict)
    # duplicate id -> its version once merged (a later change makes undo conflict)
    duplicate_versions = fields.JSONField(default=dict)
    # [link id, "owner" or "target", the duplicate id it was moved from]
    moved_links = fields.JSONField(default=list)
    # links deleted because the primary already had the same one: [id, owner_type, owner_id, target_type, target_id]
    dropped_links = fields.JSONField(default=list)
    undone_at = fields.DatetimeField(null=True)
