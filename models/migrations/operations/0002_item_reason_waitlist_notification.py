from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("core", "0002_subpanel_layouts_task_description"),
        ("leads", "0001_initial"),
        ("operations", "0001_initial"),
        ("training", "0001_initial"),
    ]

    initial = False

    operations = [
        ops.CreateModel(
            name="WaitlistNotification",
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
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "lead",
                    fields.ForeignKeyField(
                        "leads.Lead",
                        source_field="lead_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "operation",
                    fields.ForeignKeyField(
                        "operations.BulkOperation",
                        source_field="operation_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("email_id", fields.BigIntField()),
            ],
            options={
                "table": "waitlistnotification",
                "app": "operations",
                "unique_together": (("organization_id", "session_id", "lead_id"),),
                "pk_attr": "id",
                "table_description": "A waiting-list lead was emailed that a session of its course opened: once per lead",
            },
            bases=["TenantModel"],
        ),
        ops.AddField(
            model_name="BulkOperationItem",
            name="reason",
            field=fields.CharField(default="", max_length=40),
        ),
    ]
