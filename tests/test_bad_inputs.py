"""Values the database cannot hold are typed user errors, never an unexpected error
(SPEC §11): ids beyond the BIGINT range, NUL characters, text longer than its column,
a NaN amount. Nothing is written."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from models.leads import Lead
from models.sessions import Client, Contact
from schema import SchemaLimits, build_schema
from schema.context import Context
from tests.conftest import GraphQLClient, Tenant, error_codes

HUGE = "99999999999999999999"
CREATE_CLIENT = "mutation($i: CreateClientInput!) { createClient(input: $i) { id } }"
CREATE_CONTACT = "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }"
CREATE_LEAD = "mutation($i: LeadInput!) { createLead(input: $i) { id } }"


def gid(type_name: str, raw: str) -> str:
    return base64.b64encode(f"{type_name}:{raw}".encode()).decode()


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($id: ID!) { client(id: $id) { id } }", {"id": gid("Client", HUGE)}),
        (
            "mutation($i: UpdateClientInput!) { updateClient(input: $i) { id } }",
            {"i": {"id": gid("Client", HUGE), "version": 1, "name": "x"}},
        ),
        (CREATE_CONTACT, {"i": {"lastName": "x", "clientId": gid("Client", HUGE)}}),
        (CREATE_LEAD, {"i": {"lastName": "x", "assignedUserId": HUGE}}),
        ("mutation($id: ID!) { retryEmail(id: $id) { id } }", {"id": "not-a-number"}),
        ("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", {"id": HUGE}),
    ],
)
async def test_out_of_range_ids_are_not_found(
    gql: GraphQLClient, tenant: Tenant, query: str, variables: dict[str, object]
) -> None:
    body = await gql(query, variables, as_=tenant.admin)
    assert error_codes(body) == ["NOT_FOUND"], body
    assert await Contact.all().count() == 0 and await Lead.all().count() == 0


@pytest.mark.parametrize(
    ("query", "variables", "field"),
    [
        (CREATE_CLIENT, {"i": {"name": "x" * 5000}}, "name"),
        (CREATE_CONTACT, {"i": {"lastName": "x" * 5000}}, "lastName"),
        (CREATE_LEAD, {"i": {"lastName": "x", "opportunityAmount": "NaN"}}, "opportunity_amount"),
    ],
)
async def test_values_too_long_or_not_numbers_are_validation_errors(
    gql: GraphQLClient, tenant: Tenant, query: str, variables: dict[str, object], field: str
) -> None:
    body = await gql(query, variables, as_=tenant.staff)
    assert error_codes(body) == ["VALIDATION_ERROR"], body
    assert body["errors"][0]["extensions"]["field"] == field
    assert await Client.all().count() == 0 and await Contact.all().count() == 0
    assert await Lead.all().count() == 0


@pytest.mark.postgres_only
async def test_nul_characters_are_validation_errors(gql: GraphQLClient, tenant: Tenant) -> None:
    """PostgreSQL text cannot hold NUL: the refusal is the caller's, not a crash."""
    cases: list[tuple[str, dict[str, Any]]] = [
        (CREATE_CLIENT, {"i": {"name": "a\x00b"}}),
        (CREATE_LEAD, {"i": {"lastName": "a\x00b"}}),
        ("query($t: String) { clients(filter: {text: $t}) { totalCount } }", {"t": "a\x00"}),
    ]
    for query, variables in cases:
        body = await gql(query, variables, as_=tenant.staff)
        assert error_codes(body) == ["VALIDATION_ERROR"], body
    assert await Client.all().count() == 0 and await Lead.all().count() == 0


async def test_refused_values_stay_readable_when_errors_are_masked(
    app: Any, tenant: Tenant
) -> None:
    """Production masks unexpected errors; a refused value is the caller's and stays typed."""
    schema = build_schema(SchemaLimits(production=True))
    context = Context(scope=tenant.staff.scope, services=app.state.services)
    result = await schema.execute(
        CREATE_CLIENT, variable_values={"i": {"name": "x" * 5000}}, context_value=context
    )
    assert result.errors and (result.errors[0].extensions or {}).get("code") == "VALIDATION_ERROR"
    assert result.errors[0].message == "name must be at most 200 characters"


@pytest.mark.parametrize("after", ["abc", HUGE, "-1"])
async def test_subscription_after_that_is_no_event_id_is_a_validation_error(
    app: Any, tenant: Tenant, after: str
) -> None:
    """``after`` went through int() straight to the database: ValueError or DataError."""
    context = Context(scope=tenant.staff.scope, services=app.state.services)
    stream = await build_schema().subscribe(
        "subscription($a: ID) { events(after: $a) { id } }",
        variable_values={"a": after},
        context_value=context,
    )
    try:
        first = await anext(stream)  # type: ignore[arg-type]
    finally:
        await stream.aclose()  # type: ignore[union-attr]
    assert first.errors and first.errors[0].extensions is not None
    assert first.errors[0].extensions["code"] == "VALIDATION_ERROR"
    assert first.errors[0].extensions["field"] == "after"
