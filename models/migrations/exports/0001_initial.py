from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.exports import FileStatus


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("core", "0002_subpanel_layouts_task_description")]

    initial = True

    operations = [
        ops.CreateModel(
            name="GeneratedFile",
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
                ("list_type", fields.CharField(max_length=40)),
                ("parameters", fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                (
                    "status",
                    fields.CharEnumField(
                        default=FileStatus.QUEUED,
                        description="QUEUED: QUEUED\nRUNNING: RUNNING\nDONE: DONE\nFAILED: FAILED",
                        enum_type=FileStatus,
                        max_length=8,
                    ),
                ),
                ("actor_kind", fields.CharField(max_length=16)),
                ("actor_id", fields.CharField(null=True, max_length=64)),
                ("actor_label", fields.CharField(default="", max_length=200)),
                ("path", fields.CharField(default="", max_length=255)),
                ("filename", fields.CharField(default="", max_length=255)),
                ("size", fields.BigIntField(default=0)),
                ("row_count", fields.IntField(default=0)),
                ("error", fields.TextField(default="", unique=False)),
                (
                    "finished_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "generatedfile",
                "app": "exports",
                "indexes": [
                    Index(fields=["organization_id", "created_at"]),
                    Index(fields=["status", "expires_at"]),
                ],
                "pk_attr": "id",
            },
            bases=["TenantModel"],
        ),
    ]
