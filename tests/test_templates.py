"""Email templates: defaults per organisation, edits, refusals with their line, the
Jinja2 sandbox against classic injection payloads, and their use in sent emails."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from models.audit import ChangeLogEntry
from models.confirmation import EmailTemplate
from resolvers import runtime
from tests.confirmation_support import PREVIEW, add_session_client, proposal_input
from tests.conftest import GraphQLClient, Tenant, error_codes

LIST = "{ emailTemplates { kind locale subject version } }"
READ = "query($k: EmailTemplateKind!, $l: String!) { emailTemplate(kind: $k, locale: $l) { id subject html version } }"
VARIABLES = (
    "query($k: EmailTemplateKind!) { emailTemplateVariables(kind: $k) { name description } }"
)
UPDATE = """
mutation($input: EmailTemplateInput!) {
  updateEmailTemplate(input: $input) { kind locale subject html version }
}"""
RESET = """
mutation($k: EmailTemplateKind!, $l: String!) {
  resetEmailTemplate(kind: $k, locale: $l) { subject html version }
}"""

INJECTIONS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ session.__class__.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__.os }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ range.__self__ }}",
    "{{ self.__init__.__globals__.__builtins__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__ }}",
    "{{ session.title.format.__globals__ }}",
    "{{ session|attr('__class__') }}",
    "{% for x in planning %}{{ x.__class__ }}{% endfor %}",
    "{{ planning.append(1) }}",
    "{{ planning.pop() }}",
    "{{ 'a' * 100000000 }}",
    "{{ 2 ** 100000000 }}",
    "{% set s = 'x' %}{{ s.__class__ }}",
    "{% import 'os' as os %}",
    "{% include '/etc/passwd' %}",
    "{% extends '/etc/passwd' %}",
]


def _input(html: str, subject: str = "Dates {{ session.title }}", **extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "kind": "DATE_PROPOSAL",
            "locale": "fr",
            "subject": subject,
            "html": html,
            **extra,
        }
    }


async def test_defaults_exist_per_organisation(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    templates = (await gql.ok(LIST, as_=tenant.viewer))["emailTemplates"]
    assert sorted((t["kind"], t["locale"]) for t in templates) == sorted(
        (kind, locale)
        for kind in (
            "DATE_PROPOSAL",
            "DATE_PROPOSAL_REMINDER",
            "RESPONSE_NOTIFICATION",
            "LEAD_EMAIL",
            "WAITLIST_SESSION_OPEN",
        )
        for locale in ("fr", "en")
    )
    assert await EmailTemplate.filter(organization_id=other_tenant.org.id).count() == 10
    variables = (await gql.ok(VARIABLES, {"k": "DATE_PROPOSAL"}, as_=tenant.viewer))[
        "emailTemplateVariables"
    ]
    names = {v["name"] for v in variables}
    assert {
        "session.title",
        "planning",
        "deadline",
        "accept_url",
        "decline_url",
        "message",
    } <= names


async def test_update_is_used_by_emails_then_reset(gql: GraphQLClient, tenant: Tenant) -> None:
    html = "<p>Bonjour {{ contact.first_name }}</p>\n<p><a href='{{ accept_url }}'>Oui</a></p>"
    updated = (await gql.ok(UPDATE, _input(html, version=1), as_=tenant.staff))[
        "updateEmailTemplate"
    ]
    assert updated["version"] == 2 and updated["html"] == html
    assert await ChangeLogEntry.filter(record_type="email_template", field="html").count() == 1

    sc = await add_session_client(tenant)
    preview = (await gql.ok(PREVIEW, {"id": sc.gid, "input": proposal_input()}, as_=tenant.staff))[
        "previewDateProposal"
    ]
    assert preview["subject"] == "Dates Sécurité incendie"
    assert preview["text"].startswith("Bonjour Claire\n")
    assert "Oui: http://testserver/respond/PREVIEW-LINK?answer=accept" in preview["text"]

    stale = await gql(UPDATE, _input(html, version=1), as_=tenant.staff)
    assert error_codes(stale) == ["STALE_VERSION"]

    reset = (await gql.ok(RESET, {"k": "DATE_PROPOSAL", "l": "fr"}, as_=tenant.staff))[
        "resetEmailTemplate"
    ]
    assert reset["subject"].startswith("Proposition de dates") and reset["version"] == 3


async def test_an_edit_moves_updated_at_and_bumps_the_stored_version(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    """The edit used to write ``version = read version + 1`` and leave updated_at alone."""
    later = runtime.now() + timedelta(days=3)
    runtime.current().clock = lambda: later
    html = "<p>{{ session.title }}</p>"
    await gql.ok(UPDATE, _input(html), as_=tenant.staff)
    row = await EmailTemplate.get(organization_id=tenant.org.id, kind="DATE_PROPOSAL", locale="fr")
    assert (row.version, row.updated_at) == (2, later)
    await gql.ok(UPDATE, _input(html + " "), as_=tenant.staff)
    assert (await EmailTemplate.get(id=row.id)).version == 3


async def test_syntax_error_and_unknown_variable_are_refused_with_their_line(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    body = await gql(UPDATE, _input("<p>ok</p>\n<p>{% if session.title %}</p>"), as_=tenant.staff)
    assert error_codes(body) == ["VALIDATION_ERROR"]
    assert body["errors"][0]["extensions"]["field"] == "html"
    assert body["errors"][0]["extensions"]["line"] == 2

    body = await gql(UPDATE, _input("<p>ok</p>\n\n<p>{{ unknown_thing }}</p>"), as_=tenant.staff)
    assert body["errors"][0]["extensions"]["line"] == 3
    assert "unknown_thing" in body["errors"][0]["message"]

    body = await gql(UPDATE, _input("<p>\n{{ session.nope }}</p>"), as_=tenant.staff)
    assert body["errors"][0]["extensions"]["line"] == 2

    body = await gql(UPDATE, _input("<p></p>", subject="{{ client.name }"), as_=tenant.staff)
    assert body["errors"][0]["extensions"]["field"] == "subject"

    body = await gql(UPDATE, _input("<p></p>", subject="Hi\r\nBcc: x@evil.test"), as_=tenant.staff)
    assert error_codes(body) == ["VALIDATION_ERROR"]
    # RESPONSE_NOTIFICATION has no accept link: the variable is unknown there.
    body = await gql(
        UPDATE,
        {
            "input": {
                "kind": "RESPONSE_NOTIFICATION",
                "locale": "en",
                "subject": "x",
                "html": "{{ accept_url }}",
            }
        },
        as_=tenant.staff,
    )
    assert error_codes(body) == ["VALIDATION_ERROR"]
    assert await EmailTemplate.filter(version__gt=1).count() == 0


@pytest.mark.parametrize("payload", INJECTIONS)
async def test_sandbox_refuses_injection(gql: GraphQLClient, tenant: Tenant, payload: str) -> None:
    body = await gql(UPDATE, _input(f"<p>x</p>\n{payload}"), as_=tenant.staff)
    assert error_codes(body) == ["VALIDATION_ERROR"], body
    assert body["errors"][0]["extensions"]["line"] == 2
    assert await EmailTemplate.filter(version__gt=1).count() == 0


async def test_autoescape_of_values(gql: GraphQLClient, tenant: Tenant) -> None:
    sc = await add_session_client(tenant, client_name="<script>alert(1)</script> & Cie")
    await gql.ok(UPDATE, _input("<p>{{ client.name }}</p>"), as_=tenant.staff)
    preview = (await gql.ok(PREVIEW, {"id": sc.gid, "input": proposal_input()}, as_=tenant.staff))[
        "previewDateProposal"
    ]
    assert preview["html"] == "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; Cie</p>"
    assert preview["text"] == "<script>alert(1)</script> & Cie\n"


async def test_writers_only_and_isolation(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    assert error_codes(await gql(UPDATE, _input("<p></p>"), as_=tenant.viewer)) == ["FORBIDDEN"]
    await gql.ok(UPDATE, _input("<p>A only</p>"), as_=tenant.staff)
    other = (await gql.ok(READ, {"k": "DATE_PROPOSAL", "l": "fr"}, as_=other_tenant.staff))[
        "emailTemplate"
    ]
    assert other["html"] != "<p>A only</p>" and other["version"] == 1
    assert error_codes(await gql(READ, {"k": "DATE_PROPOSAL", "l": "de"}, as_=tenant.staff)) == [
        "VALIDATION_ERROR"
    ]
