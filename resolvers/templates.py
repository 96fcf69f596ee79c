"""Email templates ("Modèles de mail"): per organisation, kind and locale, rendered in a
sandboxed Jinja2 environment with autoescape; the text part is derived from the HTML.

Template authors are users, so template code is untrusted: the immutable sandbox refuses
attribute access to Python internals, globals are empty (no ``cycler``, ``joiner``,
``range``…), repetition and power operators are bounded, and an unknown variable is an
error (``StrictUndefined``) reported with its line.
"""

from __future__ import annotations

import operator
import traceback
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from importlib import resources
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tortoise.expressions import F

from models.confirmation import EmailTemplate, TemplateKind
from resolvers.audit import log_changes
from resolvers.context import Scope
from resolvers.errors import StaleVersion, ValidationFailed
from resolvers.runtime import atomic, now

RECORD_TYPE = "email_template"
LOCALES = ("fr", "en")
MAX_REPEAT = 10_000
MAX_EXPONENT = 64
TEMPLATE_FILENAME = "<template>"

# The lead's fields a lead email may show (``lead.<name>``).
LEAD_FIELD_LABELS = {
    "first_name": "first name",
    "last_name": "last name",
    "full_name": "first and last name",
    "email": "email",
    "account_name": "company (account name)",
    "job_title": "job title",
    "department": "department",
    "office_phone": "office phone",
    "mobile": "mobile phone",
    "website": "website",
    "primary_address": "primary address",
    "status": "status",
    "lead_source": "lead source",
    "campaign": "campaign",
    "referred_by": "referred by",
    "description": "description",
    "waitlist_product_code": "product code on the waiting list",
}

DEFAULT_SUBJECTS: dict[tuple[TemplateKind, str], str] = {
    (TemplateKind.DATE_PROPOSAL, "fr"): (
        "Proposition de dates : {{ session.title }} ({{ session.reference }})"
    ),
    (TemplateKind.DATE_PROPOSAL, "en"): (
        "Proposed dates: {{ session.title }} ({{ session.reference }})"
    ),
    (TemplateKind.DATE_PROPOSAL_REMINDER, "fr"): (
        "Rappel - proposition de dates : {{ session.title }} ({{ session.reference }})"
    ),
    (TemplateKind.DATE_PROPOSAL_REMINDER, "en"): (
        "Reminder - proposed dates: {{ session.title }} ({{ session.reference }})"
    ),
    (TemplateKind.RESPONSE_NOTIFICATION, "fr"): (
        "{{ client.name }} : {{ status_label }} ({{ session.reference }})"
    ),
    (TemplateKind.RESPONSE_NOTIFICATION, "en"): (
        "{{ client.name }}: {{ status_label }} ({{ session.reference }})"
    ),
    (TemplateKind.LEAD_EMAIL, "fr"): "{{ organization.name }}",
    (TemplateKind.LEAD_EMAIL, "en"): "{{ organization.name }}",
    (TemplateKind.WAITLIST_SESSION_OPEN, "fr"): (
        "Nouvelle session : {{ session.title }} ({{ session.reference }})"
    ),
    (TemplateKind.WAITLIST_SESSION_OPEN, "en"): (
        "New session: {{ session.title }} ({{ session.reference }})"
    ),
}

_COMMON_VARIABLES = {
    "organization.name": "Name of the training organisation",
    "session.reference": "Session reference",
    "session.title": "Session title",
    "session.location": "Session's default location",
    "client.name": "Client company name",
    "contact.first_name": "Recipient contact's first name",
    "contact.last_name": "Recipient contact's last name",
    "contact.full_name": "Recipient contact's full name",
    "contact.email": "Recipient contact's email",
}
_PROPOSAL_VARIABLES = {
    "planning": "List of slots, each with date, start, end, location (use {% for slot in planning %})",
    "planning[].date": "Slot date (dd/mm/yyyy in French)",
    "planning[].start": "Slot start time (HH:MM)",
    "planning[].end": "Slot end time (HH:MM)",
    "planning[].location": "Slot location (the session's when not set)",
    "deadline": "Answer deadline",
    "accept_url": "Link to the response page, accept pre-selected",
    "decline_url": "Link to the response page, decline pre-selected",
    "response_url": "Link to the response page",
}
_LEAD_VARIABLES = {
    "organization.name": "Name of the training organisation",
    "sender.name": "Name of the person sending",
    "message": "Free text typed by the sender",
    **{f"lead.{name}": f"The lead's {label}" for name, label in LEAD_FIELD_LABELS.items()},
}
VARIABLES: dict[TemplateKind, dict[str, str]] = {
    TemplateKind.DATE_PROPOSAL: {
        **_COMMON_VARIABLES,
        **_PROPOSAL_VARIABLES,
        "message": "Free text typed by the sender",
        "sender.name": "Name of the person sending",
    },
    TemplateKind.DATE_PROPOSAL_REMINDER: {**_COMMON_VARIABLES, **_PROPOSAL_VARIABLES},
    TemplateKind.RESPONSE_NOTIFICATION: {
        **_COMMON_VARIABLES,
        "answer": "ACCEPTED or DECLINED",
        "status_label": "The new confirmation label, e.g. Date(s) acceptée(s) le 23/11/2026",
    },
    TemplateKind.LEAD_EMAIL: _LEAD_VARIABLES,
    TemplateKind.WAITLIST_SESSION_OPEN: {
        **_LEAD_VARIABLES,
        "session.reference": "Session reference",
        "session.title": "Session title",
        "session.location": "Session's default location",
        "session.product_code": "The course code the waiting list is for",
        **{k: v for k, v in _PROPOSAL_VARIABLES.items() if k.startswith("planning")},
    },
}


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """Refuses ``'x' * 10**9`` and ``9 ** 9 ** 9`` before computing them."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError("exponent too large")
            return operator.pow(left, right)
        for seq, times in ((left, right), (right, left)):
            if (
                isinstance(seq, str | list | tuple)
                and isinstance(times, int)
                and len(seq) * times > MAX_REPEAT
            ):
                raise SecurityError("repetition too large")
        return operator.mul(left, right)


def _environment(autoescape: bool) -> _BoundedSandbox:
    env = _BoundedSandbox(autoescape=autoescape, undefined=StrictUndefined)
    env.globals.clear()  # no cycler/joiner/namespace/lipsum/range/dict to poke at
    return env


_HTML_ENV = _environment(autoescape=True)
_SUBJECT_ENV = _environment(autoescape=False)  # a header, not HTML; line breaks are refused


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


def default_template(kind: TemplateKind, locale: str) -> tuple[str, str]:
    """(subject, html) shipped with Trainhub for that kind and locale."""
    name = f"{kind.value.lower()}.{locale}.html"
    html = resources.files("resolvers").joinpath("email_templates", name).read_text("utf-8")
    return DEFAULT_SUBJECTS[(kind, locale)], html


def _line_of(exc: BaseException) -> int | None:
    """The template line a render error happened on (Jinja rewrites the traceback)."""
    lines = [
        frame.lineno
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename == TEMPLATE_FILENAME
    ]
    return lines[-1] if lines else None


def _refusal(field: str, message: str, line: int | None) -> ValidationFailed:
    where = f" (line {line})" if line else ""
    return ValidationFailed(f"{field}{where}: {message}", field=field, line=line)


@lru_cache(maxsize=256)
def _compile(env: _BoundedSandbox, source: str, field: str, allowed: frozenset[str]) -> Any:
    """The compiled template (cached: compiling costs more than rendering, and every
    proposal of an organisation renders the same few sources)."""
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        raise _refusal(field, f"syntax error: {exc.message}", exc.lineno) from None
    unknown = meta.find_undeclared_variables(ast) - allowed
    if unknown:
        name = sorted(unknown)[0]
        line = next(
            (n.lineno for n in ast.find_all(nodes.Name) if n.name == name and n.ctx == "load"),
            None,
        )
        raise _refusal(field, f"unknown variable '{name}'", line)
    return env.from_string(source)


def _render(env: _BoundedSandbox, source: str, field: str, variables: dict[str, Any]) -> str:
    template = _compile(env, source, field, frozenset(variables))
    try:
        return str(template.render(variables))
    except UndefinedError as exc:
        raise _refusal(field, f"unknown variable: {exc.message}", _line_of(exc)) from None
    except SecurityError as exc:
        raise _refusal(field, f"not allowed: {exc}", _line_of(exc)) from None
    except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise _refusal(field, f"cannot render: {exc}", _line_of(exc)) from None


def render(subject: str, html: str, variables: dict[str, Any]) -> RenderedEmail:
    """Render a template; any template mistake is a VALIDATION_ERROR naming field and line."""
    # The template's own text has no line break (refused on save); a value it shows may
    # (a client name, a session title): folded to spaces, the subject stays one header line.
    rendered_subject = " ".join(_render(_SUBJECT_ENV, subject, "subject", variables).split())
    rendered_html = _render(_HTML_ENV, html, "html", variables)
    return RenderedEmail(rendered_subject, rendered_html, html_to_text(rendered_html))


class _TextExtractor(HTMLParser):
    """Readable plain text: blocks on their own lines, cells separated, links spelled out."""

    BLOCKS = frozenset({"p", "div", "tr", "table", "h1", "h2", "h3", "h4", "li", "ul", "ol"})
    SKIP = frozenset({"head", "style", "script", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.href: str | None = None
        self.link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag == "br" or tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag == "a":
            self.href = dict(attrs).get("href")
            self.link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag == "a" and self.href:
            label = " ".join("".join(self.link_text).split())
            # Each link on its own line, so mail clients keep the URL whole and clickable.
            self.parts.append(f"\n{label}: {self.href}\n" if label else f"\n{self.href}\n")
            self.href = None

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.href is not None:
            self.link_text.append(data)
        else:
            self.parts.append(data)

    def text(self) -> str:
        lines = (" ".join(line.split()).strip(" |") for line in "".join(self.parts).split("\n"))
        out: list[str] = []
        for line in lines:
            if line or (out and out[-1]):
                out.append(line)
        return "\n".join(out).strip() + "\n"


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.text()


def sample_variables(kind: TemplateKind) -> dict[str, Any]:
    """Values of every documented variable, to check a template before saving it."""
    person = {"first_name": "Camille", "last_name": "Martin", "full_name": "Camille Martin"}
    values: dict[str, Any] = {
        "organization": {"name": "Organisme"},
        "session": {
            "reference": "S-001",
            "title": "Formation",
            "location": "Paris",
            "product_code": "FORM-01",
        },
        "client": {"name": "Client SA"},
        "contact": {**person, "email": "camille@example.com"},
        "planning": [{"date": "01/12/2026", "start": "09:00", "end": "17:00", "location": "Paris"}],
        "deadline": "25/11/2026",
        "accept_url": "https://example.com/respond/t?answer=accept",
        "decline_url": "https://example.com/respond/t?answer=decline",
        "response_url": "https://example.com/respond/t",
        "message": "Message",
        "sender": {"name": "Alex"},
        "answer": "ACCEPTED",
        "status_label": "Date(s) acceptée(s) le 23/11/2026",
        "lead": {name: "" for name in LEAD_FIELD_LABELS}
        | {"first_name": "Camille", "last_name": "Martin", "full_name": "Camille Martin"},
    }
    top_level = {name.split(".")[0].split("[")[0] for name in VARIABLES[kind]}
    return {name: value for name, value in values.items() if name in top_level}


def check_locale(locale: str) -> str:
    if locale not in LOCALES:
        raise ValidationFailed(f"locale must be one of {', '.join(LOCALES)}", field="locale")
    return locale


async def ensure_default_templates(organization_id: int) -> int:
    """Create the missing default templates of an organisation; returns how many."""
    existing = set(
        await EmailTemplate.filter(organization_id=organization_id).values_list("kind", "locale")
    )
    missing = [
        EmailTemplate(
            organization_id=organization_id,
            kind=kind,
            locale=locale,
            subject=default_template(kind, locale)[0],
            html=default_template(kind, locale)[1],
        )
        for kind in TemplateKind
        for locale in LOCALES
        if (kind, locale) not in existing and (kind.value, locale) not in existing
    ]
    if missing:
        await EmailTemplate.bulk_create(missing)
    return len(missing)


async def list_templates(
    scope: Scope, kind: TemplateKind | None = None, locale: str | None = None
) -> list[EmailTemplate]:
    qs = scope.query(EmailTemplate)
    if kind is not None:
        qs = qs.filter(kind=kind)
    if locale is not None:
        qs = qs.filter(locale=check_locale(locale))
    return await qs.order_by("kind", "locale")


async def get_template(scope: Scope, kind: TemplateKind, locale: str) -> EmailTemplate:
    """The organisation's template (created from the default if it was never stored)."""
    check_locale(locale)
    row = await scope.query(EmailTemplate).filter(kind=kind, locale=locale).first()
    if row is None:
        await ensure_default_templates(scope.organization_id)
        row = await scope.query(EmailTemplate).get(kind=kind, locale=locale)
    return row


async def _save(
    scope: Scope,
    kind: TemplateKind,
    locale: str,
    subject: str,
    html: str,
    version: int | None,
    reason: str,
) -> EmailTemplate:
    scope.require_write()
    render(subject, html, sample_variables(kind))  # refuses syntax errors and unknown variables
    async with atomic():
        row = await get_template(scope, kind, locale)
        before = {"subject": row.subject, "html": row.html}
        filters: dict[str, Any] = {"id": row.id}
        if version is not None:
            filters["version"] = version
        updated = (
            await scope.query(EmailTemplate)
            .filter(**filters)
            .update(subject=subject, html=html, version=F("version") + 1, updated_at=now())
        )
        if not updated:
            raise StaleVersion("the template was changed by someone else", field="version")
        await log_changes(
            scope, RECORD_TYPE, row.id, before, {"subject": subject, "html": html}, reason=reason
        )
        return await scope.get(EmailTemplate, row.id)


async def update_template(
    scope: Scope,
    kind: TemplateKind,
    locale: str,
    *,
    subject: str,
    html: str,
    version: int | None = None,
) -> EmailTemplate:
    if "\r" in subject or "\n" in subject:
        raise ValidationFailed("subject must not contain line breaks", field="subject")
    return await _save(scope, kind, locale, subject, html, version, reason="")


async def reset_template(scope: Scope, kind: TemplateKind, locale: str) -> EmailTemplate:
    subject, html = default_template(kind, check_locale(locale))
    return await _save(scope, kind, locale, subject, html, None, reason="reset to default")


async def render_template(
    scope: Scope, kind: TemplateKind, locale: str, variables: dict[str, Any]
) -> RenderedEmail:
    row = await get_template(scope, kind, locale)
    return render(row.subject, row.html, variables)
