"""Email templates ("Modèles de mail"): list, read, update, reset, variables."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from models.confirmation import EmailTemplate as EmailTemplateRow
from models.confirmation import TemplateKind as TemplateKindModel
from resolvers import templates
from schema.context import Info

TemplateKind = strawberry.enum(TemplateKindModel, name="EmailTemplateKind")


@strawberry.type(description="Subject and HTML body (Jinja2, sandboxed) of one kind of email.")
class EmailTemplate(relay.Node):
    id: relay.NodeID[int]
    kind: TemplateKind  # type: ignore[valid-type]
    locale: str
    subject: str
    html: str
    version: int
    updated_at: datetime

    @classmethod
    def from_row(cls, row: EmailTemplateRow) -> EmailTemplate:
        return cls(
            id=row.id,
            kind=row.kind,
            locale=row.locale,
            subject=row.subject,
            html=row.html,
            version=row.version,
            updated_at=row.updated_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[EmailTemplate | None]:
        rows = await info.context.require_scope().get_many(EmailTemplateRow, node_ids)
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type
class TemplateVariable:
    name: str
    description: str


@strawberry.input
class EmailTemplateInput:
    kind: TemplateKind  # type: ignore[valid-type]
    locale: str
    subject: str
    html: str
    version: int | None = strawberry.field(
        default=None, description="The version read; a newer stored one is STALE_VERSION."
    )


@strawberry.type
class Query:
    @strawberry.field(description="The organisation's templates (every kind and locale).")
    async def email_templates(
        self,
        info: Info,
        kind: TemplateKind | None = None,  # type: ignore[valid-type]
        locale: str | None = None,
    ) -> list[EmailTemplate]:
        rows = await templates.list_templates(info.context.require_scope(), kind, locale)
        return [EmailTemplate.from_row(r) for r in rows]

    @strawberry.field
    async def email_template(
        self,
        info: Info,
        kind: TemplateKind,  # type: ignore[valid-type]
        locale: str = "fr",
    ) -> EmailTemplate:
        row = await templates.get_template(info.context.require_scope(), kind, locale)
        return EmailTemplate.from_row(row)

    @strawberry.field(description="Variables a template of this kind may use.")
    def email_template_variables(
        self,
        info: Info,
        kind: TemplateKind,  # type: ignore[valid-type]
    ) -> list[TemplateVariable]:
        info.context.require_scope()
        return [
            TemplateVariable(name=name, description=description)
            for name, description in templates.VARIABLES[kind].items()
        ]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Change a template; a syntax error or unknown variable is refused with its line."
    )
    async def update_email_template(self, info: Info, input: EmailTemplateInput) -> EmailTemplate:
        row = await templates.update_template(
            info.context.require_writer(),
            input.kind,
            input.locale,
            subject=input.subject,
            html=input.html,
            version=input.version,
        )
        return EmailTemplate.from_row(row)

    @strawberry.mutation(description="Put back the template shipped with Trainhub.")
    async def reset_email_template(
        self,
        info: Info,
        kind: TemplateKind,  # type: ignore[valid-type]
        locale: str,
    ) -> EmailTemplate:
        row = await templates.reset_template(info.context.require_writer(), kind, locale)
        return EmailTemplate.from_row(row)
