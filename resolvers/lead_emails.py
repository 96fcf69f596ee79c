"""Emails to leads (SPEC §7 "Courriel", and the waiting list → session bridge): composed
once — a template kind, or the subject/body given — then rendered for each lead; who is
skipped and why; the preview of what one lead would get.

A ``Composition`` is plain JSON: a bulk operation keeps it in its arguments, so every
batch (in the request or in the worker) renders from the same sources and values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from markupsafe import Markup, escape

from models.confirmation import TemplateKind
from models.core import Organization, User
from models.leads import Lead
from models.records import Document
from resolvers import labels
from resolvers.audit import as_text
from resolvers.context import Scope
from resolvers.errors import NotFound, ValidationFailed
from resolvers.outbox import clean_header, valid_address
from resolvers.templates import (
    LEAD_FIELD_LABELS,
    RenderedEmail,
    get_template,
    render,
    sample_variables,
)

MAX_MESSAGE_CHARS = 10_000
# What the skip rules and the ``lead`` variables read of a lead.
LEAD_COLUMNS = (
    "id",
    "deleted_at",
    "merged_into_id",
    "email_norm",
    *(name for name in LEAD_FIELD_LABELS if name != "full_name"),
)
# Skipped leads (outcome SKIPPED) and why; not errors: the others are still emailed.
MERGED, DELETED, NO_EMAIL, DUPLICATE_ADDRESS = "MERGED", "DELETED", "NO_EMAIL", "DUPLICATE_ADDRESS"


@dataclass(frozen=True)
class LeadEmailInput:
    """``subject`` / ``body``: template sources replacing the template kind's (same
    variables); ``message``: free text shown where the template puts ``{{ message }}``."""

    locale: str | None = None
    subject: str | None = None
    body: str | None = None
    message: str = ""
    attachment_ids: Sequence[int | None] = ()  # None: an id that names no document


@dataclass(frozen=True)
class Composition:
    kind: str  # the template kind
    locale: str
    subject: str  # template sources
    html: str
    variables: dict[str, Any]  # organisation, sender, message, session…: all but the lead
    attachment_ids: list[int] = field(default_factory=list)
    attachment_names: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Composition:
        return cls(**data)


async def email_locale(scope: Scope, wanted: str | None) -> str:
    if wanted is not None:
        if wanted not in labels.LOCALES:
            raise ValidationFailed("locale must be fr or en", field="input.locale")
        return wanted
    organization = await Organization.get(id=scope.organization_id)
    return labels.locale_of(organization.default_locale)


async def _attachments(scope: Scope, ids: Sequence[int | None]) -> list[Document]:
    """This organisation's documents, in the order asked; another one refuses the email."""
    rows = await scope.get_many(Document, [i for i in ids if i is not None])
    found = {row.id: row for row in rows if row is not None}
    kept: dict[int, Document] = {}
    for position, document_id in enumerate(ids):
        document = found.get(document_id) if document_id is not None else None
        if document is None:
            raise NotFound("unknown document", field=f"input.attachmentIds.{position}")
        kept.setdefault(document.id, document)
    return list(kept.values())


async def sender_name(scope: Scope) -> str:
    user_id = scope.actor.user_id
    user = await User.filter(id=user_id).first() if user_id is not None else None
    return (user.full_name or user.email) if user is not None else scope.actor.label


async def compose(
    scope: Scope,
    kind: TemplateKind,
    data: LeadEmailInput,
    variables: Mapping[str, Any] | None = None,
) -> Composition:
    """Validate the email once (template mistakes, header injection, foreign attachments
    are typed errors naming the input field); ``variables``: the kind's own (session…)."""
    locale = await email_locale(scope, data.locale)
    if len(data.message) > MAX_MESSAGE_CHARS:
        raise ValidationFailed(
            f"message is longer than {MAX_MESSAGE_CHARS} characters", field="input.message"
        )
    template = await get_template(scope, kind, locale)
    subject = template.subject if data.subject is None else data.subject
    html = template.html if data.body is None else data.body
    clean_header(subject, "input.subject")
    try:
        render(subject, html, sample_variables(kind))
    except ValidationFailed as exc:
        field_name = f"input.{_input_name(exc.field)}"
        raise ValidationFailed(exc.message, field=field_name, **exc.details) from None
    organization = await Organization.get(id=scope.organization_id)
    attachments = await _attachments(scope, data.attachment_ids)
    return Composition(
        kind=kind.value,
        locale=locale,
        subject=subject,
        html=html,
        variables={
            **(variables or {}),
            "organization": {"name": organization.name},
            "sender": {"name": await sender_name(scope)},
            "message": data.message,
        },
        attachment_ids=[d.id for d in attachments],
        attachment_names=[d.filename for d in attachments],
    )


def _input_name(template_field: str | None) -> str:
    return "body" if template_field == "html" else template_field or "body"


def _message_markup(message: str) -> Markup:
    """The sender's free text, escaped, line breaks kept."""
    return Markup("<br>\n").join(escape(line) for line in message.splitlines())


def lead_variables(lead: Mapping[str, Any]) -> dict[str, str]:
    values = {name: as_text(lead[name]) or "" for name in LEAD_FIELD_LABELS if name in lead}
    values["full_name"] = " ".join(p for p in (lead["first_name"], lead["last_name"]) if p)
    return values


def render_for(composition: Composition, lead: Mapping[str, Any]) -> RenderedEmail:
    variables = {
        **composition.variables,
        "message": _message_markup(composition.variables["message"]),
        "lead": lead_variables(lead),
    }
    return render(composition.subject, composition.html, variables)


def address_of(lead: Mapping[str, Any]) -> str:
    """The normalised address two leads share when one email reaches both."""
    return str(lead["email_norm"] or lead["email"]).strip().lower()


def skip_reason(lead: Mapping[str, Any], sent_to: set[str]) -> str | None:
    """Why ``lead`` gets no email, given the addresses already emailed; None: it gets one."""
    if lead["merged_into_id"] is not None:
        return MERGED
    if lead["deleted_at"] is not None:
        return DELETED
    if not lead["email"].strip():
        return NO_EMAIL
    if address_of(lead) in sent_to:
        return DUPLICATE_ADDRESS
    return None


def recipient(lead: Mapping[str, Any]) -> str:
    """The lead's address as SMTP takes it; a malformed one is a VALIDATION_ERROR."""
    address = valid_address(lead["email"].strip())
    if address is None:
        raise ValidationFailed(f"'{lead['email']}' is not a valid email address", field="email")
    return address


@dataclass(frozen=True)
class LeadEmailPreview:
    to: str | None  # None: skipped
    skipped_reason: str | None
    email: RenderedEmail
    attachment_names: list[str]


async def preview_lead_email(scope: Scope, lead_id: int, data: LeadEmailInput) -> LeadEmailPreview:
    """Exactly what ``lead_id`` would get from ``sendLeadEmails`` with ``data``; writes nothing."""
    composition = await compose(scope, TemplateKind.LEAD_EMAIL, data)
    rows = await scope.query(Lead).filter(id=lead_id).values(*LEAD_COLUMNS)
    if not rows:
        raise NotFound("lead not found", field="leadId")
    lead = rows[0]
    reason = skip_reason(lead, set())
    return LeadEmailPreview(
        to=None if reason else recipient(lead),
        skipped_reason=reason,
        email=render_for(composition, lead),
        attachment_names=composition.attachment_names,
    )
