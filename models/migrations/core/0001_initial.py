import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.core import Role
from models.outbox import EmailStatus
from models.records import TaskStatus


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="Organization",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("name", fields.CharField(max_length=200)),
                ("slug", fields.CharField(unique=True, max_length=80)),
                ("time_zone", fields.CharField(default="Europe/Paris", max_length=64)),
                ("default_locale", fields.CharField(default="fr", max_length=5)),
                ("reminder_days_before_deadline", fields.IntField(null=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "organization", "app": "core", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ChangeLogEntry",
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
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("record_type", fields.CharField(max_length=40)),
                ("record_id", fields.BigIntField()),
                ("action", fields.CharField(max_length=40)),
                ("field", fields.CharField(default="", max_length=80)),
                ("old_value", fields.TextField(null=True, unique=False)),
                ("new_value", fields.TextField(null=True, unique=False)),
                ("actor_kind", fields.CharField(max_length=16)),
                ("actor_id", fields.CharField(null=True, max_length=64)),
                ("actor_label", fields.CharField(default="", max_length=200)),
                ("bulk_job_id", fields.CharField(null=True, db_index=True, max_length=64)),
                ("reason", fields.CharField(default="", max_length=200)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "changelogentry",
                "app": "core",
                "indexes": [Index(fields=["organization_id", "record_type", "record_id"])],
                "pk_attr": "id",
                "table_description": "One changed field of one record (or a whole-record action when ``field`` is empty).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="DomainEvent",
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
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("type", fields.CharField(db_index=True, max_length=60)),
                ("record_type", fields.CharField(max_length=40)),
                ("record_id", fields.BigIntField()),
                (
                    "payload",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("actor_kind", fields.CharField(max_length=16)),
                ("actor_id", fields.CharField(null=True, max_length=64)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "domainevent",
                "app": "core",
                "indexes": [Index(fields=["organization_id", "id"])],
                "pk_attr": "id",
                "table_description": "An ordered fact partners can subscribe to. Its id is the replay cursor.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="IdempotencyRecord",
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
                ("key", fields.CharField(max_length=200)),
                ("operation", fields.CharField(max_length=80)),
                (
                    "result",
                    fields.JSONField(
                        encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
            ],
            options={
                "table": "idempotencyrecord",
                "app": "core",
                "unique_together": (("organization_id", "operation", "key"),),
                "pk_attr": "id",
                "table_description": "The first result of a scripted bulk mutation, returned again on retry with the same key.",
            },
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="OutboundEmail",
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
                ("kind", fields.CharField(default="", max_length=40)),
                ("sender", fields.CharField(max_length=254)),
                (
                    "to",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "cc",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "bcc",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("subject", fields.CharField(max_length=400)),
                ("html", fields.TextField(unique=False)),
                ("text", fields.TextField(unique=False)),
                (
                    "attachment_ids",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        default=EmailStatus.QUEUED,
                        description="QUEUED: QUEUED\nSENDING: SENDING\nSENT: SENT\nFAILED: FAILED",
                        enum_type=EmailStatus,
                        max_length=10,
                    ),
                ),
                ("attempts", fields.IntField(default=0)),
                ("last_error", fields.TextField(default="", unique=False)),
                (
                    "refused_recipients",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("message_id", fields.CharField(unique=True, max_length=200)),
                ("claimed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("sent_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "outboundemail",
                "app": "core",
                "indexes": [Index(fields=["status", "updated_at"])],
                "pk_attr": "id",
            },
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="RecordLink",
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
                ("owner_type", fields.CharField(max_length=40)),
                ("owner_id", fields.BigIntField()),
                ("target_type", fields.CharField(max_length=40)),
                ("target_id", fields.BigIntField()),
            ],
            options={
                "table": "recordlink",
                "app": "core",
                "unique_together": (("owner_type", "owner_id", "target_type", "target_id"),),
                "indexes": [
                    Index(fields=["organization_id", "owner_type", "owner_id"]),
                    Index(fields=["target_type", "target_id"]),
                ],
                "pk_attr": "id",
                "table_description": "``owner`` (a lead, session, contact…) is related to ``target`` (a note, email…).",
            },
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="User",
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
                ("email", fields.CharField(unique=True, max_length=254)),
                ("full_name", fields.CharField(default="", max_length=200)),
                ("password_hash", fields.CharField(max_length=255)),
                (
                    "role",
                    fields.CharEnumField(
                        default=Role.STAFF,
                        description="ADMIN: ADMIN\nSTAFF: STAFF\nVIEWER: VIEWER",
                        enum_type=Role,
                        max_length=10,
                    ),
                ),
                ("is_active", fields.BooleanField(default=True)),
                (
                    "last_login_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={"table": "user", "app": "core", "pk_attr": "id"},
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="ApiKey",
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
                ("prefix", fields.CharField(unique=True, max_length=16)),
                ("secret_hash", fields.CharField(max_length=64)),
                (
                    "scopes",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
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
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "last_used_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={"table": "apikey", "app": "core", "pk_attr": "id"},
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="Document",
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
                ("filename", fields.CharField(max_length=255)),
                ("content_type", fields.CharField(max_length=120)),
                ("size", fields.BigIntField()),
                ("sha256", fields.CharField(max_length=64)),
                ("storage_name", fields.CharField(unique=True, max_length=80)),
                (
                    "uploaded_by",
                    fields.ForeignKeyField(
                        "core.User",
                        source_field="uploaded_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
            ],
            options={"table": "document", "app": "core", "pk_attr": "id"},
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="Note",
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
                ("subject", fields.CharField(max_length=255)),
                ("body", fields.TextField(default="", unique=False)),
                (
                    "author",
                    fields.ForeignKeyField(
                        "core.User",
                        source_field="author_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
            ],
            options={"table": "note", "app": "core", "pk_attr": "id"},
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="Task",
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
                ("subject", fields.CharField(max_length=255)),
                ("due_date", fields.DateField(null=True)),
                (
                    "status",
                    fields.CharEnumField(
                        default=TaskStatus.NOT_STARTED,
                        description="NOT_STARTED: NOT_STARTED\nIN_PROGRESS: IN_PROGRESS\nCOMPLETED: COMPLETED\nDEFERRED: DEFERRED",
                        enum_type=TaskStatus,
                        max_length=12,
                    ),
                ),
                (
                    "assignee",
                    fields.ForeignKeyField(
                        "core.User",
                        source_field="assignee_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
            ],
            options={"table": "task", "app": "core", "pk_attr": "id"},
            bases=["TenantModel"],
        ),
    ]
