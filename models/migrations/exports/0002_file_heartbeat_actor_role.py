from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("core", "0002_subpanel_layouts_task_description"),
        ("exports", "0001_initial"),
    ]

    initial = False

    operations = [
        ops.AddField(
            model_name="GeneratedFile",
            name="actor_role",
            field=fields.CharField(null=True, max_length=10),
        ),
        ops.AddField(
            model_name="GeneratedFile",
            name="actor_scopes",
            field=fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name="GeneratedFile",
            name="attempts",
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name="GeneratedFile",
            name="heartbeat_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="GeneratedFile",
            name="started_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name="GeneratedFile",
            index=Index(fields=["status", "heartbeat_at"]),
        ),
    ]
