from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.operations import OperationStatus


class Migration(migrations.Migration):
    dependencies = [("core", "0002_subpanel_layouts_task_description")]

    initial = True

    operations = [
        ops.CreateModel(
            name="BulkOperation",
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
                ("kind", fields.CharField(max_length=40)),
                (
                    "status",
                    fields.CharEnumField(
                        default=OperationStatus.QUEUED,
                        description="QUEUED: QUEUED\nRUNNING: RUNNING\nDONE: DONE\nFAILED: FAILED\nREVERTED: REVERTED",
                        enum_type=OperationStatus,
                        max_length=10,
                    ),
                ),
                ("error_policy", fields.CharField(max_length=24)),
                ("target_ids", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                (
                    "target_errors",
                    fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads),
                ),
                ("arguments", fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ("total", fields.IntField(default=0)),
                ("processed", fields.IntField(default=0)),
                ("succeeded", fields.IntField(default=0)),
                ("failed", fields.IntField(default=0)),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "core.User",
                        source_field="created_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("actor_kind", fields.CharField(max_length=16)),
                ("actor_id", fields.CharField(null=True, max_length=64)),
                ("actor_label", fields.CharField(default="", max_length=200)),
                ("actor_role", fields.CharField(null=True, max_length=10)),
                ("actor_scopes", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("started_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "heartbeat_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "finished_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("error", fields.TextField(default="", unique=False)),
                (
                    "reverts",
                    fields.ForeignKeyField(
                        "operations.BulkOperation",
                        source_field="reverts_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "reverted_by",
                    fields.ForeignKeyField(
                        "operations.BulkOperation",
                        source_field="reverted_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("idempotency_key", fields.CharField(null=True, max_length=200)),
            ],
            options={
                "table": "bulkoperation",
                "app": "operations",
                "unique_together": (("organization_id", "kind", "idempotency_key"),),
                "indexes": [
                    Index(fields=["organization_id", "created_at"]),
                    Index(fields=["status", "heartbeat_at"]),
                ],
                "pk_attr": "id",
            },
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="BulkOperationItem",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
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
                ("position", fields.IntField()),
                ("lead_id", fields.BigIntField(null=True)),
                ("outcome", fields.CharField(null=True, max_length=20)),
                ("failed", fields.BooleanField(default=False)),
                ("errors", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("old_values", fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ("new_values", fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={
                "table": "bulkoperationitem",
                "app": "operations",
                "unique_together": (("operation_id", "position"),),
                "indexes": [
                    Index(fields=["operation_id", "failed", "position"]),
                    Index(fields=["operation_id", "lead_id"]),
                ],
                "pk_attr": "id",
                "table_description": "One position of an operation's selection, as processed: its outcome (UPDATED,",
            },
            bases=["Model"],
        ),
    ]
