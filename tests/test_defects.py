"""Issue 13's defects, each over HTTP (or WebSocket) through the ASGI app: a caller's
mistake is a typed error, never "Unexpected error." or a 500, and never a traceback in
the server log."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from strawberry import relay

from app.asgi import create_app
from app.settings import Settings
from models.core import ApiScope
from models.leads import Lead
from resolvers import runtime
from tests.confirmation_support import (
    SEND,
    add_session_client,
    link_of,
    path_of,
    proposal_input,
    shown,
)
from tests.conftest import GraphQLClient, LiveServer, Tenant, error_codes
from tests.leads_support import (
    CREATE_LEAD,
    UPDATE_FIELD,
    create_lead,
    joined,
    make_store,
    post_event,
)
from tests.smtp import SmtpServer
from tests.test_clients import CREATE_CONTACT, UPDATE_CONTACT, make_client
from tests.test_graphql_app import TRANSPORT_WS, _subscribe

TYPED_AS_TYPED = "Helene.DUPONT@Example.TEST"
STORED_AS = "Helene.DUPONT@example.test"  # trimmed, the domain lower-cased
UPDATE_LEAD = """mutation($id: ID!, $v: Int!, $i: LeadInput!) {
  updateLead(id: $id, version: $v, input: $i) { id version email } }"""


@pytest.fixture
async def production(settings: Settings) -> AsyncIterator[GraphQLClient]:
    """The app as production runs it: unexpected errors masked."""
    prod = settings.model_copy(
        update={"environment": "production", "secret_key": "production-secret-0123456789abcdef"}
    )
    application = create_app(prod, manage_db=False)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver"
        ) as http,
    ):
        yield GraphQLClient(http)
    runtime.configure(
        runtime.Runtime(secret_key=settings.secret_key, public_base_url=settings.public_base_url)
    )


def assert_typed(body: dict[str, Any], code: str = "VALIDATION_ERROR") -> None:
    assert body["errors"], body
    assert error_codes(body) == [code] * len(body["errors"]), body
    assert "Unexpected" not in json.dumps(body)


# --- 1: updateLeadField without value -------------------------------------------------------


async def test_update_lead_field_without_value_clears_it_as_update_lead_null_does(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    lead = await create_lead(gql, tenant.staff, lastName="Dupont", email="a@x.test")
    omitted = """mutation($id: ID!, $v: Int!, $f: String!) {
      updateLeadField(id: $id, version: $v, field: $f) { version email } }"""
    cleared = await gql.ok(
        omitted, {"id": lead["id"], "v": lead["version"], "f": "email"}, as_=tenant.staff
    )
    assert cleared["updateLeadField"]["email"] == ""
    # A field that cannot be empty: refused, as updateLead refuses its null.
    version = cleared["updateLeadField"]["version"]
    refused = await gql(omitted, {"id": lead["id"], "v": version, "f": "status"}, as_=tenant.staff)
    assert_typed(refused)
    by_update = await gql(
        UPDATE_LEAD, {"id": lead["id"], "v": version, "i": {"status": None}}, as_=tenant.staff
    )
    assert_typed(by_update)
    assert (await Lead.get(id=relay.GlobalID.from_id(lead["id"]).node_id)).version == version


# --- 2: one normalisation of typed addresses ------------------------------------------------


async def test_every_path_stores_a_typed_address_normalised_alike(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    typed = f"  {TYPED_AS_TYPED} "
    created = await create_lead(gql, tenant.staff, lastName="Dupont", email=typed)
    assert created["email"] == STORED_AS
    other = await create_lead(gql, tenant.staff, lastName="Martin")
    updated = await gql.ok(
        UPDATE_LEAD,
        {"id": other["id"], "v": other["version"], "i": {"email": typed}},
        as_=tenant.staff,
    )
    assert updated["updateLead"]["email"] == STORED_AS
    third = await create_lead(gql, tenant.staff, lastName="Durand")
    inline = await gql.ok(
        UPDATE_FIELD,
        {"id": third["id"], "v": third["version"], "f": "email", "x": typed},
        as_=tenant.staff,
    )
    assert inline["updateLeadField"]["email"] == STORED_AS
    acme = await make_client(gql, tenant.staff)
    contact = await gql.ok(
        CREATE_CONTACT,
        {"input": {"clientId": acme["id"], "lastName": "D", "email": typed}},
        as_=tenant.staff,
    )
    assert contact["createContact"]["email"] == STORED_AS
    contact_update = await gql.ok(
        UPDATE_CONTACT,
        {
            "input": {
                "id": contact["createContact"]["id"],
                "version": contact["createContact"]["version"],
                "email": f" other.{TYPED_AS_TYPED}",
            }
        },
        as_=tenant.staff,
    )
    assert contact_update["updateContact"]["email"] == f"other.{STORED_AS}"
    store = await make_store(gql, tenant)
    response = await post_event(client, store, joined("CM-9", email=typed))
    assert response.status_code == 200, response.text
    assert (await Lead.get(store_customer_id="CM-9")).email == STORED_AS
    bad = await gql(
        CREATE_LEAD, {"i": {"lastName": "X", "email": "a@x.test, b@x.test"}}, as_=tenant.staff
    )
    assert_typed(bad)


# --- 3 and 11: subscription cursors ---------------------------------------------------------


@pytest.mark.parametrize("field", ["events", "confirmationChanged", "emailStatusChanged"])
@pytest.mark.parametrize("after", ["abc", "-1", "99999999999999999999"])
async def test_a_bad_subscription_cursor_is_a_typed_error(
    live_server: LiveServer, tenant: Tenant, field: str, after: str
) -> None:
    key = await tenant.api_key(ApiScope.SUBSCRIBE)
    query = f"subscription($after: ID) {{ {field}(after: $after) {{ id }} }}"
    async with websockets.connect(
        f"{live_server.ws_url}/graphql", subprotocols=[TRANSPORT_WS]
    ) as ws:
        await _subscribe(ws, key, query, {"after": after})
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["VALIDATION_ERROR"], message
    assert "after" in errors[0]["message"]


# --- 9: a string where a file is expected ---------------------------------------------------


async def test_upload_document_with_a_string_is_a_typed_error(
    production: GraphQLClient, tenant: Tenant
) -> None:
    body = await production('mutation { uploadDocument(file: "") { id } }', as_=tenant.staff)
    assert_typed(body)
    body = await production(
        "mutation($f: Upload!) { uploadDocument(file: $f) { id } }", {"f": "x"}, as_=tenant.staff
    )
    assert_typed(body)


# --- 10: variables refused by graphql-core --------------------------------------------------


@pytest.mark.parametrize(
    ("query", "variables", "name"),
    [
        ("mutation($i: CreateClientInput!) { createClient(input: $i) { id } }", {"i": {}}, "i"),
        ("query($n: Int) { sessions(first: $n) { totalCount } }", {"n": "ten"}, "n"),
        ("query($n: Int!) { sessions(first: $n) { totalCount } }", {}, "n"),
    ],
)
async def test_a_bad_variable_is_a_validation_error_naming_it(
    production: GraphQLClient, tenant: Tenant, query: str, variables: dict[str, Any], name: str
) -> None:
    body = await production(query, variables, as_=tenant.staff)
    assert_typed(body)
    assert body["errors"][0]["extensions"]["field"] == name
    assert f"${name}" in body["errors"][0]["message"]


# --- 13: several operations without operationName -------------------------------------------


async def test_several_operations_need_an_operation_name(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    document = 'query A { me { canWrite } } mutation B { createClient(input: {name: "X"}) { id } }'
    body = await gql(document, as_=tenant.staff)
    assert_typed(body)
    assert body["data"] is None and "operationName" in body["errors"][0]["message"]
    response = await gql.http.post(
        "/graphql",
        json={"query": document, "operationName": "B"},
        headers=tenant.staff.headers,
    )
    assert response.json()["data"]["createClient"]["id"]


# --- 14: a user's mistake is not logged as an error -----------------------------------------


async def test_user_errors_log_one_info_line_and_real_errors_a_traceback(
    production: GraphQLClient,
    tenant: Tenant,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    production_gql = production
    lead = await create_lead(production_gql, tenant.staff, lastName="Dupont")
    mistakes = [
        ('{ node(id: "garbage") { id } }', {}),  # a malformed global id
        ("query($id: ID!) { lead(id: $id) { id } }", {"id": relay.to_base64("Lead", 10**6)}),
        ('mutation { createClient(input: {name: "X"}) { id } }', {}),  # FORBIDDEN as viewer
        (UPDATE_LEAD, {"id": lead["id"], "v": lead["version"] + 5, "i": {"lastName": "Y"}}),
        ("query($n: Int) { sessions(first: $n) { totalCount } }", {"n": "ten"}),
    ]
    for query, variables in mistakes:
        body = await production_gql(
            query, variables, as_=tenant.viewer if "createClient" in query else tenant.staff
        )
        assert body["errors"] and "Unexpected" not in json.dumps(body)
    user_records = [
        r for r in caplog.records if r.name in ("strawberry.execution", "schema.errors")
    ]
    assert len(user_records) == len(mistakes)
    assert all(r.levelno == logging.INFO and r.exc_info is None for r in user_records)
    assert all("\n" not in r.getMessage() for r in user_records)

    caplog.clear()
    import schema.auth

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a real bug")

    monkeypatch.setattr(schema.auth.organizations, "list_api_keys", broken)
    body = await production_gql("{ apiKeys { id } }", as_=tenant.admin)
    assert body["errors"][0]["message"] == "Unexpected error."
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_info is not None and "a real bug" in str(record.exc_info[1])


# --- 11: never a 500 ------------------------------------------------------------------------


def _nested_variable(levels: int) -> bytes:
    """A request whose variable is a list nested ``levels`` deep."""
    query = "query($v: [String]) { me { canWrite } }"
    return (
        b'{"query":"'
        + query.encode()
        + b'","variables":{"v":'
        + b"[" * levels
        + b"]" * levels
        + b"}}"
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"query":"{ me { canWrite } \xff }"}',  # invalid UTF-8
        _nested_variable(100_000),
        _nested_variable(200),
        b'{"query": ',
    ],
    ids=["invalid-utf8", "nested-100000", "nested-200", "truncated"],
)
async def test_an_unreadable_body_is_a_typed_400(
    production: GraphQLClient, tenant: Tenant, body: bytes
) -> None:
    response = await production.http.post(
        "/graphql",
        content=body,
        headers={**tenant.staff.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert_typed(response.json(), "BAD_REQUEST")


async def test_a_subscription_sent_by_post_is_refused(
    production: GraphQLClient, tenant: Tenant
) -> None:
    body = await production("subscription { events { id } }", as_=tenant.staff)
    assert_typed(body)
    assert "WebSocket" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("query", "values"),
    [
        (
            "query($s: [LeadStatus!]) { leads(filter: {statuses: $s}) { totalCount } }",
            ["NEW"] * 40_000,
        ),
        (
            "query($s: [String!]) { sessions(filter: {productCode: $s}) { totalCount } }",
            [f"P-{i}" for i in range(40_000)],
        ),
    ],
    ids=["leads-statuses", "sessions-product-codes"],
)
async def test_a_list_filter_over_its_cap_is_a_validation_error(
    production: GraphQLClient, tenant: Tenant, query: str, values: list[str]
) -> None:
    body = await production(query, {"s": values}, as_=tenant.staff)
    assert_typed(body)
    assert "1000" in body["errors"][0]["message"].replace(",", "")


# --- 12: request limits ---------------------------------------------------------------------


async def test_a_body_over_the_limit_is_refused_before_it_is_read(
    production: GraphQLClient, tenant: Tenant, settings: Settings
) -> None:
    padding = "x" * settings.graphql_max_body_bytes
    big = json.dumps({"query": "{ me { canWrite } }", "variables": {"pad": padding}}).encode()
    headers = {**tenant.staff.headers, "content-type": "application/json"}
    response = await production.http.post("/graphql", content=big, headers=headers)
    assert response.status_code == 413
    assert_typed(response.json(), "TOO_LARGE")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    response = await production.http.post("/graphql", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert_typed(response.json(), "TOO_LARGE")
    # Under the limit, the same request runs.
    small = await production("{ me { canWrite } }", {"pad": "x" * 1000}, as_=tenant.staff)
    assert small["data"] == {"me": {"canWrite": True}}


async def test_a_query_over_its_length_limit_is_refused(
    production: GraphQLClient, tenant: Tenant, settings: Settings
) -> None:
    spaced = "{ me { canWrite }" + " " * settings.graphql_max_query_chars + "}"
    body = await production(spaced, as_=tenant.staff)
    assert body["status"] == 413
    assert_typed(body, "TOO_LARGE")


# --- 7: the response page speaks the proposal's language ------------------------------------


async def test_the_response_page_speaks_the_proposals_language_not_the_browsers(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    run_worker: Any,
) -> None:
    french = await add_session_client(tenant, reference="S-FR")
    english = await add_session_client(tenant, reference="S-EN")
    await gql.ok(SEND, {"id": french.gid, "input": proposal_input()}, as_=tenant.staff)
    await gql.ok(SEND, {"id": english.gid, "input": proposal_input(locale="en")}, as_=tenant.staff)
    await run_worker()
    links = {path_of(link_of(received)) for received in smtp.received}
    pages = {url: await client.get(url, headers={"Accept-Language": "en-US"}) for url in links}
    (french_url,) = [url for url, page in pages.items() if '<html lang="fr">' in page.text]
    page = pages[french_url]
    assert "J'accepte" in shown(page) and "I accept" not in shown(page)
    # The switch link, in the language it leads to; the answer keeps the chosen language.
    assert '<a href="?lang=en" hreflang="en" lang="en">English</a>' in page.text
    switched = await client.get(french_url + "?lang=en", headers={"Accept-Language": "fr"})
    assert "I accept" in shown(switched) and 'action="' + french_url + '?lang=en"' in switched.text
    answered = await client.post(french_url + "?lang=en", data={"answer": "accept"})
    assert "Your answer has been recorded." in shown(answered)
    (english_url,) = links - {french_url}
    in_english = await client.get(english_url, headers={"Accept-Language": "fr-FR"})
    assert "I accept" in shown(in_english) and '?lang=fr" hreflang="fr"' in in_english.text
    # No proposal behind the link: the browser's language.
    unknown = await client.get("/respond/unknown-token", headers={"Accept-Language": "en-US"})
    assert unknown.status_code == 404 and "Unknown link" in shown(unknown)
