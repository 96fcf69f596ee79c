"""Real records of every kind an ID argument names, made for one organisation through the
API as its administrator: what the isolation sweep tries as another organisation."""

from __future__ import annotations

import json
from typing import Any

import httpx
from strawberry import relay

from models.audit import DomainEvent
from tests.conftest import GraphQLClient, Tenant
from tests.subpanels_support import add_note, create_related, make_records

PDF = b"%PDF-1.7\n" + b"0123456789" * 100
MISSING_PK = 999_999_999  # far past any row a test run makes, yet a valid BIGINT


async def upload(http: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    """uploadDocument as a GraphQL multipart request: the decoded answer."""
    operations = {
        "query": "mutation($f: Upload!) { uploadDocument(file: $f) { id } }",
        "variables": {"f": None},
    }
    response = await http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
        files={"0": ("programme.pdf", PDF, "application/pdf")},
        headers=headers,
    )
    body: dict[str, Any] = response.json()
    return body


async def make_tenant_records(
    gql: GraphQLClient, http: httpx.AsyncClient, tenant: Tenant, tag: str
) -> dict[str, str]:
    """One record of each kind (keys as in ``isolation_answers.KINDS``): ids as the API
    takes them (global ids, plain ids for users and events)."""
    admin = tenant.admin
    ids = await make_records(gql, admin, tag)
    session = await gql.ok(
        "query($id: ID!) { session(id: $id) { slots { id } } }", {"id": ids["Session"]}, as_=admin
    )
    ids["SessionSlot"] = session["session"]["slots"][0]["id"]
    ids["Note"] = await add_note(gql, admin, ids["Lead"], f"Note {tag}")
    task = await create_related(gql, admin, ids["Lead"], task={"subject": f"Task {tag}"})
    ids["Task"] = task["record"]["id"]
    ids["Document"] = (await upload(http, admin.headers))["data"]["uploadDocument"]["id"]
    ids["User"] = str(tenant.staff.user.id)
    created = await gql.ok(
        """mutation($i: StoreInput!) { createStore(input: $i) { store { id } } }""",
        {"i": {"name": f"Boutique {tag}"}},
        as_=admin,
    )
    ids["Store"] = created["createStore"]["store"]["id"]
    key = await gql.ok(
        'mutation { createApiKey(name: "sweep", scopes: [READ]) { apiKey { id } } }', as_=admin
    )
    ids["ApiKey"] = key["createApiKey"]["apiKey"]["id"]
    sent = await gql.ok(
        """mutation($id: ID!, $input: DateProposalInput!) {
             sendDateProposal(sessionClientId: $id, input: $input) { proposal { email { id } } } }""",
        {"id": ids["SessionClient"], "input": {"deadline": "2027-02-01"}},
        as_=admin,
    )
    ids["Email"] = sent["sendDateProposal"]["proposal"]["email"]["id"]
    ids["LeadMerge"] = await _merge(gql, tenant, tag)
    ids["BulkOperation"] = await _bulk_delete(gql, tenant, tag)
    # The first: replaying ``after`` it has the organisation's later events to leak.
    first_event = await DomainEvent.filter(organization_id=tenant.org.id).order_by("id").first()
    assert first_event is not None
    ids["Event"] = str(first_event.id)
    return ids


async def _lead(gql: GraphQLClient, tenant: Tenant, last_name: str) -> str:
    data = await gql.ok(
        "mutation($i: LeadInput!) { createLead(input: $i) { id } }",
        {"i": {"lastName": last_name}},
        as_=tenant.admin,
    )
    return data["createLead"]["id"]  # type: ignore[no-any-return]


async def _merge(gql: GraphQLClient, tenant: Tenant, tag: str) -> str:
    primary = await _lead(gql, tenant, f"Primary {tag}")
    duplicate = await _lead(gql, tenant, f"Duplicate {tag}")
    data = await gql.ok(
        "mutation($p: ID!, $d: [ID!]!) { mergeLeads(primaryId: $p, duplicateIds: $d) { id } }",
        {"p": primary, "d": [duplicate]},
        as_=tenant.admin,
    )
    return data["mergeLeads"]["id"]  # type: ignore[no-any-return]


async def _bulk_delete(gql: GraphQLClient, tenant: Tenant, tag: str) -> str:
    lead = await _lead(gql, tenant, f"Deleted {tag}")
    data = await gql.ok(
        "mutation($s: LeadSelection!) { deleteLeads(selection: $s) { id status } }",
        {"s": {"ids": [lead]}},
        as_=tenant.admin,
    )
    return data["deleteLeads"]["id"]  # type: ignore[no-any-return]


def missing_id(real: str) -> str:
    """An id of the same kind and form as ``real`` that names no row."""
    if real.isdigit():
        return str(MISSING_PK)
    return relay.to_base64(relay.GlobalID.from_id(real).type_name, MISSING_PK)


def spellings(real: str) -> list[str]:
    """How an id may appear in an answer: as given, and as its row number."""
    if real.isdigit():
        return [real]
    return [real, relay.GlobalID.from_id(real).node_id]
