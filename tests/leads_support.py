"""Helpers shared by the lead and webhook tests: stores, signed events, leads via GraphQL."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from models.leads import Lead
from resolvers import runtime
from tests.conftest import GraphQLClient, Member, Tenant

LEAD_FIELDS = """id version firstName lastName email officePhone mobile accountName
  status { value label } waitlistStatus { value label } waitlistProductCode
  waitlistDateAdded waitlistPurchaseDate waitlistOrderNumber waitlistEmailsSent
  storeCustomerId sourceSystem storeId deletedAt mergedIntoId convertedContactId
  assignedUser { email }"""

CREATE_LEAD = f"mutation($i: LeadInput!) {{ createLead(input: $i) {{ {LEAD_FIELDS} }} }}"
LEAD = f"query($id: ID!) {{ lead(id: $id) {{ {LEAD_FIELDS} }} }}"
LIST = """query($f: LeadFilterInput, $o: LeadOrderBy, $first: Int, $after: String) {
  leads(filter: $f, orderBy: $o, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id lastName } } } }"""
NEIGHBORS = """query($id: ID!, $f: LeadFilterInput, $o: LeadOrderBy) {
  lead(id: $id) { neighbors(filter: $f, orderBy: $o) { previous { id } next { id } } } }"""
UPDATE_FIELD = """mutation($id: ID!, $v: Int!, $f: String!, $x: String) {
  updateLeadField(id: $id, version: $v, field: $f, value: $x) { id version email status { value } } }"""
UPSERT = """mutation($s: ID!, $e: [WaitlistEntryInput!]!, $k: String,
    $p: ErrorPolicy! = REJECT_EVERYTHING) {
  upsertWaitlistEntries(storeId: $s, entries: $e, idempotencyKey: $k, errorPolicy: $p) {
    count results { index id outcome errors { code field message } record { id email } } } }"""


@dataclass
class StoreKeys:
    gid: str
    pk: int
    secret: str


async def make_store(gql: GraphQLClient, tenant: Tenant, name: str = "CM Boutique") -> StoreKeys:
    data = await gql.ok(
        """mutation($i: StoreInput!) { createStore(input: $i) {
             secret store { id name sourceSystem webhookPath defaultAssignee { email } } } }""",
        {
            "i": {
                "name": name,
                "sourceSystem": f"{name} system",
                "defaultAssigneeId": str(tenant.staff.user.id),
            }
        },
        as_=tenant.admin,
    )
    created = data["createStore"]
    pk = int(created["store"]["webhookPath"].rsplit("/", 1)[1])
    return StoreKeys(created["store"]["id"], pk, created["secret"])


def stamp(at: datetime | None = None) -> str:
    return (at or runtime.now()).astimezone(UTC).isoformat()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post_event(
    http: httpx.AsyncClient,
    store: StoreKeys,
    payload: dict[str, Any],
    *,
    secret: str | None = None,
    raw: bytes | None = None,
) -> httpx.Response:
    """POST one signed event (``timestamp`` defaults to now)."""
    body = raw if raw is not None else json.dumps({"timestamp": stamp(), **payload}).encode()
    return await http.post(
        f"/webhooks/stores/{store.pk}",
        content=body,
        headers={
            "X-Signature": signature(secret or store.secret, body),
            "Content-Type": "application/json",
        },
    )


def joined(customer: str, at: datetime | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "type": "waitlist.joined",
        "customerId": customer,
        "occurredAt": stamp(at),
        "firstName": "Hélène",
        "lastName": "Dupont",
        "email": f"{customer.lower()}@example.test",
        "productCode": "PY-101",
        **extra,
    }


async def upsert(
    gql: GraphQLClient,
    member: Member,
    store: StoreKeys,
    entries: list[dict[str, Any]],
    **variables: Any,
) -> dict[str, Any]:
    """upsertWaitlistEntries' payload (``p``: the error policy, ``k``: idempotency key)."""
    data = await gql.ok(UPSERT, {"s": store.gid, "e": entries, **variables}, as_=member)
    return data["upsertWaitlistEntries"]  # type: ignore[no-any-return]


async def create_lead(gql: GraphQLClient, member: Member, **fields: Any) -> dict[str, Any]:
    return (await gql.ok(CREATE_LEAD, {"i": fields}, as_=member))["createLead"]


async def listed_names(gql: GraphQLClient, member: Member, **variables: Any) -> list[str]:
    """Last names of the first page of ``leads`` (``f``: filter, ``o``: order)."""
    data = await gql.ok(LIST, variables, as_=member)
    return [edge["node"]["lastName"] for edge in data["leads"]["edges"]]


async def lead_count(**filters: Any) -> int:
    return await Lead.filter(**filters).count()
