import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from models.confirmation import ProposalAnswerKind, TemplateKind


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("training", "0001_initial")]

    initial = True

    operations = [
        ops.CreateModel(
            name="DateProposal",
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
                    "session_client",
                    fields.ForeignKeyField(
                        "training.SessionClient",
                        source_field="session_client_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="proposals",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("session_id", fields.BigIntField()),
                ("token_hash", fields.CharField(unique=True, max_length=64)),
                ("reminder_token_hash", fields.CharField(null=True, unique=True, max_length=64)),
                ("deadline", fields.DateField()),
                (
                    "planning",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
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
                ("message", fields.TextField(default="", unique=False)),
                (
                    "attachment_ids",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("locale", fields.CharField(default="fr", max_length=5)),
                ("sender_kind", fields.CharField(max_length=16)),
                ("sender_id", fields.CharField(null=True, max_length=64)),
                ("sender_label", fields.CharField(default="", max_length=200)),
                ("email_id", fields.BigIntField(null=True)),
                ("reminder_email_id", fields.BigIntField(null=True)),
                (
                    "reminder_sent_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "superseded_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "answer",
                    fields.CharEnumField(
                        null=True,
                        description="ACCEPTED: ACCEPTED\nDECLINED: DECLINED",
                        enum_type=ProposalAnswerKind,
                        max_length=10,
                    ),
                ),
                (
                    "answered_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "dateproposal",
                "app": "confirmation",
                "pk_attr": "id",
                "table_description": "A proposal of the session's dates emailed to a client, answerable through a link.",
            },
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="EmailTemplate",
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
                    "kind",
                    fields.CharEnumField(
                        description="DATE_PROPOSAL: DATE_PROPOSAL\nDATE_PROPOSAL_REMINDER: DATE_PROPOSAL_REMINDER\nRESPONSE_NOTIFICATION: RESPONSE_NOTIFICATION",
                        enum_type=TemplateKind,
                        max_length=30,
                    ),
                ),
                ("locale", fields.CharField(max_length=5)),
                ("subject", fields.CharField(max_length=400)),
                ("html", fields.TextField(unique=False)),
            ],
            options={
                "table": "emailtemplate",
                "app": "confirmation",
                "unique_together": (("organization_id", "kind", "locale"),),
                "pk_attr": "id",
                "table_description": "One organisation's subject and HTML body for a kind of email in one locale.",
            },
            bases=["TenantModel"],
        ),
        ops.CreateModel(
            name="ProposalAnswer",
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
                    "proposal",
                    fields.ForeignKeyField(
                        "confirmation.DateProposal",
                        source_field="proposal_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="answers",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "answer",
                    fields.CharEnumField(
                        description="ACCEPTED: ACCEPTED\nDECLINED: DECLINED",
                        enum_type=ProposalAnswerKind,
                        max_length=10,
                    ),
                ),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("ip", fields.CharField(default="", max_length=64)),
            ],
            options={
                "table": "proposalanswer",
                "app": "confirmation",
                "pk_attr": "id",
                "table_description": "Every answer a client gave to a proposal, the last one standing.",
            },
            bases=["TenantModel"],
        ),
    ]
