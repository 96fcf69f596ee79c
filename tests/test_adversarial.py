"""Documents written to hurt (SPEC §10–11): fragment cycles, alias and depth bombs, batches,
huge variables, invalid UTF-8, huge pages. Each is refused with a typed error or a 4xx,
never a 500, and runs nothing it should not.

A case failing today because of a defect of issue 13 fixed on another branch is marked
``xfail(strict=True)`` with the defect's number: once the fix is merged it passes, the
strict mark turns it red, and the mark is removed."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from graphql import get_named_type

from models.sessions import Client
from schema import SchemaLimits, build_schema
from schema.context import Context
from schema.errors import MASKED_MESSAGE
from tests.conftest import GraphQLClient, Tenant, error_codes
from tests.isolation_support import live_schema, root_type
from tests.logs import captured_tracebacks


def defect(number: int, what: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"issue 13 defect {number}: {what}")


async def post(http: httpx.AsyncClient, tenant: Tenant, body: Any, **kw: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {**tenant.staff.headers, "Content-Type": "application/json"}
    return await http.post("/graphql", content=content, headers=headers, **kw)


def refused(response: httpx.Response) -> list[dict[str, Any]]:
    """The errors of an answer that ran nothing: a 4xx, or a 200 with no data."""
    assert response.status_code < 500, response.text[:300]
    body = response.json()
    assert body.get("data") is None, body
    assert body["errors"] and all(e["message"] != MASKED_MESSAGE for e in body["errors"])
    return body["errors"]  # type: ignore[no-any-return]


async def test_fragment_cycle_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    query = "{ me { ...A } } fragment A on Me { canWrite ...B } fragment B on Me { ...A }"
    errors = refused(await post(client, tenant, {"query": query}))
    assert "Cannot spread fragment 'A' within itself" in errors[0]["message"]


async def test_alias_bomb_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """Aliases multiplied through fragments count as aliases all the same."""
    fragment = "fragment F on Me { " + " ".join(f"f{i}: canWrite" for i in range(10)) + " }"
    spreads = " ".join(f"m{i}: me {{ ...F }}" for i in range(10))
    errors = refused(await post(client, tenant, {"query": f"{{ {spreads} }} {fragment}"}))
    assert "aliases" in errors[0]["message"]


async def test_depth_bomb_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    nested = "clients { edges { node { client { sessions { " * 12
    query = "{ sessions { edges { node { " + nested + "totalCount" + " } } } } }" * 12 + " } } } }"
    errors = refused(await post(client, tenant, {"query": query}))
    assert "exceeds maximum operation depth" in errors[0]["message"]


async def test_batch_of_operations_is_refused_and_runs_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    create = {"query": 'mutation { createClient(input: { name: "Batched" }) { id } }'}
    response = await post(client, tenant, [create] * 50)
    assert 400 <= response.status_code < 500, response.text[:300]
    assert await Client.filter(name="Batched").count() == 0


async def test_huge_page_is_a_typed_error_everywhere(gql: GraphQLClient, tenant: Tenant) -> None:
    """Every query with a ``first`` argument, asked for 100,000 items."""
    schema = await live_schema(gql, tenant.staff)
    lists = [name for name, f in root_type(schema, "query").fields.items() if "first" in f.args]
    assert len(lists) >= 8
    for name in lists:
        field = root_type(schema, "query").fields[name]
        leaf = "totalCount" if "totalCount" in get_named_type(field.type).fields else "__typename"
        body = await gql(f"{{ {name}(first: 100000) {{ {leaf} }} }}", as_=tenant.staff)
        assert error_codes(body) in ([], ["VALIDATION_ERROR"]), (name, body)


async def test_huge_string_variable_is_a_validation_error(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    body = await gql(
        "mutation($i: CreateClientInput!) { createClient(input: $i) { id } }",
        {"i": {"name": "x" * 1_000_000}},
        as_=tenant.staff,
    )
    assert error_codes(body) == ["VALIDATION_ERROR"]
    assert await Client.all().count() == 0


async def test_confirmation_settings_without_the_argument_is_a_validation_error(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    """Found by the isolation sweep: a nullable argument left out was a TypeError."""
    body = await gql(
        "mutation { updateConfirmationSettings { reminderDaysBeforeDeadline } }", as_=tenant.admin
    )
    assert error_codes(body) == ["VALIDATION_ERROR"]
    assert body["errors"][0]["extensions"]["field"] == "reminderDaysBeforeDeadline"


@defect(11, "invalid UTF-8 in the body answers HTTP 500")
async def test_invalid_utf8_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    refused(await post(client, tenant, b'{"query":"{ me { canWrite } \xff }"}'))


@defect(11, "variables nested 100,000 deep answer HTTP 500")
async def test_deeply_nested_variables_are_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    body = '{"query": "{ me { canWrite } }", "variables": {"v": ' + deep + "}}"
    refused(await post(client, tenant, body.encode()))


@defect(12, "no request-body limit on /graphql")
async def test_oversized_body_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await post(client, tenant, {"query": " " * 10_000_000 + "{ me { canWrite } }"})
    assert response.status_code == 413


@defect(13, "several operations without operationName run the first")
async def test_several_operations_need_an_operation_name(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    query = 'query A { me { canWrite } } mutation B { createClient(input: { name: "B" }) { id } }'
    refused(await post(client, tenant, {"query": query}))


@defect(11, "a subscription sent by HTTP POST answers an untyped error")
async def test_subscription_over_http_is_a_typed_error(gql: GraphQLClient, tenant: Tenant) -> None:
    body = await gql("subscription { events { id } }", as_=tenant.staff)
    assert body["status"] < 500 and error_codes(body) != [""]


@defect(10, "production masks every variables error")
async def test_variables_mistakes_stay_typed_in_production(app: Any, tenant: Tenant) -> None:
    schema = build_schema(SchemaLimits(production=True))
    context = Context(scope=tenant.staff.scope, services=app.state.services)
    result = await schema.execute(
        "mutation($i: CreateClientInput!) { createClient(input: $i) { id } }",
        variable_values={"i": {}},
        context_value=context,
    )
    assert result.errors and (result.errors[0].extensions or {}).get("code") == "VALIDATION_ERROR"


@defect(14, "every user error is logged at ERROR level with a traceback")
async def test_user_mistakes_log_no_traceback(gql: GraphQLClient, tenant: Tenant) -> None:
    with captured_tracebacks() as logs:
        body = await gql(
            "query($id: ID!) { client(id: $id) { id } }", {"id": "nonsense"}, as_=tenant.staff
        )
    assert error_codes(body) == ["NOT_FOUND"]
    assert [record.getMessage() for record in logs.records] == []


@pytest.mark.postgres_only
@defect(11, "a 40,000-item filter list passes asyncpg's 32,767-parameter limit")
async def test_huge_filter_list_is_a_typed_error(gql: GraphQLClient, tenant: Tenant) -> None:
    body = await gql(
        "query($f: LeadFilterInput) { leads(filter: $f) { totalCount } }",
        {"f": {"statuses": ["NEW"] * 40_000}},
        as_=tenant.staff,
    )
    assert body["status"] < 500 and error_codes(body) in ([], ["VALIDATION_ERROR"])
