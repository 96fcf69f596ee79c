import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.leads import LeadStatus, WaitlistStatus


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("training", "0001_initial")]

    initial = True

    operations = [
        ops.CreateModel(
            name="Store",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "organization",
                    fields.ForeignKeyField(
                        "core.Organization",
                        source_field="organization_id",
                        db_index=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ("version", fields.IntField(default=1)),
                ("name", fields.CharField(max_length=200)),
                ("secret", fields.CharField(max_length=128)),
                ("source_system", fields.CharField(default="", max_length=120)),
                (
                    "default_assignee",
                    fields.ForeignKeyField(
                        "core.User",
                        source_field="default_assignee_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
            ],
            options={
                "table": "store",
                "app": "leads",
                "pk_attr": "id",
                "table_description": "An online store whose waiting-list webhooks create and update leads.",
            },
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="Lead",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "organization",
                    fields.ForeignKeyField(
                        "core.Organization",
                        source_field="organization_id",
                        db_index=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ("version", fields.IntField(default=1)),
                ("first_name", fields.CharField(default="", max_length=100)),
                ("last_name", fields.CharField(default="", max_length=100)),
                ("email", fields.CharField(default="", max_length=254)),
                ("office_phone", fields.CharField(default="", max_length=40)),
                ("mobile", fields.CharField(default="", max_length=40)),
                ("fax", fields.CharField(default="", max_length=40)),
                ("job_title", fields.CharField(default="", max_length=120)),
                ("department", fields.CharField(default="", max_length=120)),
                ("account_name", fields.CharField(default="", max_length=200)),
                ("website", fields.CharField(default="", max_length=255)),
                ("primary_address", fields.TextField(default="", unique=False)),
                ("other_address", fields.TextField(default="", unique=False)),
                ("description", fields.TextField(default="", unique=False)),
                (
                    "assigned_user",
                    fields.ForeignKeyField(
                        "core.User",
                        source_field="assigned_user_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("referred_by", fields.CharField(default="", max_length=200)),
                (
                    "status",
                    fields.CharEnumField(
                        default=LeadStatus.NEW,
                        description="NEW: NEW\nASSIGNED: ASSIGNED\nIN_PROCESS: IN_PROCESS\nCONVERTED: CONVERTED\nRECYCLED: RECYCLED\nDEAD: DEAD",
                        enum_type=LeadStatus,
                        max_length=12,
                    ),
                ),
                ("lead_source", fields.CharField(default="", max_length=100)),
                ("status_description", fields.TextField(default="", unique=False)),
                ("lead_source_description", fields.TextField(default="", unique=False)),
                (
                    "opportunity_amount",
                    fields.DecimalField(null=True, max_digits=14, decimal_places=2),
                ),
                ("campaign", fields.CharField(default="", max_length=200)),
                ("is_waitlist_entry", fields.BooleanField(default=False)),
                (
                    "waitlist_product_code",
                    fields.CharField(default="", db_index=True, max_length=60),
                ),
                (
                    "waitlist_date_added",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "waitlist_status",
                    fields.CharEnumField(
                        null=True,
                        description="PENDING: PENDING\nREMOVED: REMOVED",
                        enum_type=WaitlistStatus,
                        max_length=8,
                    ),
                ),
                ("waitlist_purchase_date", fields.DateField(null=True)),
                ("waitlist_order_number", fields.CharField(default="", max_length=80)),
                ("waitlist_emails_sent", fields.IntField(default=0)),
                (
                    "store",
                    fields.ForeignKeyField(
                        "leads.Store",
                        source_field="store_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("store_customer_id", fields.CharField(null=True, max_length=120)),
                ("source_system", fields.CharField(default="", max_length=120)),
                (
                    "store_event_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("lawful_basis", fields.CharField(default="", max_length=120)),
                ("lawful_basis_source", fields.CharField(default="", max_length=120)),
                ("lawful_basis_review_date", fields.DateField(null=True)),
                ("deleted_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "merged_into",
                    fields.ForeignKeyField(
                        "leads.Lead",
                        source_field="merged_into_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "converted_contact",
                    fields.ForeignKeyField(
                        "training.Contact",
                        source_field="converted_contact_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("email_norm", fields.CharField(default="", max_length=254)),
                ("name_norm", fields.CharField(default="", max_length=201)),
                ("phone_norm", fields.CharField(default="", max_length=40)),
                ("account_norm", fields.CharField(default="", max_length=200)),
            ],
            options={
                "table": "lead",
                "app": "leads",
                "unique_together": (("store_id", "store_customer_id"),),
                "indexes": [
                    Index(fields=["organization_id", "email_norm"]),
                    Index(fields=["organization_id", "name_norm", "phone_norm"]),
                    Index(fields=["organization_id", "name_norm", "account_norm"]),
                    Index(fields=["organization_id", "updated_at"]),
                ],
                "pk_attr": "id",
            },
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="MergeJournal",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "organization",
                    fields.ForeignKeyField(
                        "core.Organization",
                        source_field="organization_id",
                        db_index=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ("version", fields.IntField(default=1)),
                (
                    "primary",
                    fields.ForeignKeyField(
                        "leads.Lead",
                        source_field="primary_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "duplicate_ids",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "field_origins",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "primary_before",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "primary_after",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "duplicate_versions",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "moved_links",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "dropped_links",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("undone_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "mergejournal",
                "app": "leads",
                "pk_attr": "id",
                "table_description": "What a merge changed, so that undoMerge can put it back exactly.",
            },
            bases=["TenantModel"],
        ),
    ]
