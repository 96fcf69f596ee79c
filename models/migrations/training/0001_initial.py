from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.sessions import ConfirmationState, ConfirmationSummary, SessionStatus


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    initial = True

    operations = [
        ops.CreateModel(
            name="TrainingSession",
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
                ("reference", fields.CharField(max_length=40)),
                ("title", fields.CharField(max_length=255)),
                ("product_code", fields.CharField(default="", db_index=True, max_length=60)),
                ("location", fields.CharField(default="", max_length=255)),
                (
                    "status",
                    fields.CharEnumField(
                        default=SessionStatus.DRAFT,
                        description="DRAFT: DRAFT\nPLANNED: PLANNED\nCANCELLED: CANCELLED\nDONE: DONE",
                        enum_type=SessionStatus,
                        max_length=10,
                    ),
                ),
                (
                    "owner",
                    fields.ForeignKeyField(
                        "core.User",
                        source_field="owner_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "confirmation_summary",
                    fields.CharEnumField(
                        null=True,
                        description="DECLINED: DECLINED\nPENDING: PENDING\nTO_CONFIRM: TO_CONFIRM\nCONFIRMED: CONFIRMED",
                        enum_type=ConfirmationSummary,
                        max_length=12,
                    ),
                ),
                ("first_date", fields.DateField(null=True)),
                ("last_date", fields.DateField(null=True)),
            ],
            options={
                "table": "trainingsession",
                "app": "training",
                "unique_together": (("organization_id", "reference"),),
                "indexes": [Index(fields=["organization_id", "first_date"])],
                "pk_attr": "id",
            },
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="SessionSlot",
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
                    "session",
                    fields.ForeignKeyField(
                        "training.TrainingSession",
                        source_field="session_id",
                        db_index=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="slots",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("position", fields.IntField(default=0)),
                ("date", fields.DateField()),
                ("start_time", fields.TimeField(auto_now=False, auto_now_add=False)),
                ("end_time", fields.TimeField(auto_now=False, auto_now_add=False)),
                ("location", fields.CharField(default="", max_length=255)),
            ],
            options={"table": "sessionslot", "app": "training", "pk_attr": "id"},
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="Client",
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
                ("name", fields.CharField(db_index=True, max_length=200)),
                ("address", fields.TextField(default="", unique=False)),
                ("siret", fields.CharField(null=True, max_length=14)),
            ],
            options={"table": "client", "app": "training", "pk_attr": "id"},
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="Contact",
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
                    "client",
                    fields.ForeignKeyField(
                        "training.Client",
                        source_field="client_id",
                        null=True,
                        db_index=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="contacts",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("first_name", fields.CharField(default="", max_length=100)),
                ("last_name", fields.CharField(db_index=True, max_length=100)),
                ("email", fields.CharField(default="", max_length=254)),
                ("phone", fields.CharField(default="", max_length=40)),
                ("job_title", fields.CharField(default="", max_length=120)),
            ],
            options={"table": "contact", "app": "training", "pk_attr": "id"},
            bases=["TenantModel"],
        ),
        # Client and Contact reference each other: the main contact column is added once
        # both tables exist (in CREATE TABLE, the unresolved cycle dropped Client's FKs).
        ops.AddField(
            model_name="Client",
            name="main_contact",
            field=fields.ForeignKeyField(
                "training.Contact",
                source_field="main_contact_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name=False,
                on_delete=OnDelete.SET_NULL,
            ),
        ),
        ops.CreateModel(
            name="SessionClient",
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
                    "session",
                    fields.ForeignKeyField(
                        "training.TrainingSession",
                        source_field="session_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="session_clients",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "client",
                    fields.ForeignKeyField(
                        "training.Client",
                        source_field="client_id",
                        db_index=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="session_clients",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "confirmation_state",
                    fields.CharEnumField(
                        default=ConfirmationState.TO_CONFIRM,
                        description="TO_CONFIRM: TO_CONFIRM\nPENDING: PENDING\nACCEPTED: ACCEPTED\nDECLINED: DECLINED\nMANUALLY_VALIDATED: MANUALLY_VALIDATED\nEXPIRED: EXPIRED",
                        enum_type=ConfirmationState,
                        max_length=20,
                    ),
                ),
                (
                    "confirmation_sent_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("confirmation_deadline", fields.DateField(null=True)),
                (
                    "confirmation_answered_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("current_proposal_id", fields.BigIntField(null=True)),
            ],
            options={
                "table": "sessionclient",
                "app": "training",
                "unique_together": (("session_id", "client_id"),),
                "pk_attr": "id",
            },
            bases=["TenantModel"],
        ),
    ]
