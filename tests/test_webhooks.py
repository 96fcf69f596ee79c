"""The store webhook: signature, freshness, validation, replay and ordering, isolation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from strawberry import relay

from app import webhooks
from models.audit import ChangeLogEntry, DomainEvent
from models.leads import Lead, WaitlistStatus
from resolvers import runtime
from tests.conftest import GraphQLClient, Tenant
from tests.leads_support import StoreKeys, joined, lead_count, make_store, post_event, stamp


def lead_gid(pk: int) -> str:
    return str(relay.GlobalID("Lead", str(pk)))


async def test_signed_joined_event_creates_the_lead(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    store = await make_store(gql, tenant)
    response = await post_event(client, store, joined("CM-1"))
    assert response.status_code == 200, response.text
    assert response.json()["result"] == "CREATED"
    lead = await Lead.get(store_customer_id="CM-1")
    assert (lead.organization_id, lead.store_id) == (tenant.org.id, store.pk)
    assert lead.waitlist_status == WaitlistStatus.PENDING and lead.is_waitlist_entry
    assert lead.waitlist_product_code == "PY-101" and lead.source_system == "CM Boutique system"
    assert lead.assigned_user_id == tenant.staff.user.id  # the store's default assignee
    assert lead.email_norm == "cm-1@example.test" and lead.name_norm == "helene dupont"
    log = await ChangeLogEntry.filter(record_id=lead.id, record_type="lead")
    assert {e.actor_kind for e in log} == {"STORE"}
    assert any(e.action == "ingest" and e.field == "" for e in log)
    types = set(await DomainEvent.filter(record_id=lead.id).values_list("type", flat=True))
    assert {"lead.created", "lead.waitlist_status_changed"} <= types


async def test_later_events_update_the_lead(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    store = await make_store(gql, tenant)
    start = runtime.now() - timedelta(minutes=3)
    await post_event(client, store, joined("CM-2", start))
    for payload in (
        {
            "type": "waitlist.email_sent",
            "emailsSent": 2,
            "occurredAt": stamp(start + timedelta(seconds=1)),
        },
        {"type": "waitlist.removed", "occurredAt": stamp(start + timedelta(seconds=2))},
        {
            "type": "waitlist.purchased",
            "purchaseDate": "2026-11-20",
            "orderNumber": "O-77",
            "occurredAt": stamp(start + timedelta(seconds=3)),
        },
    ):
        response = await post_event(client, store, {"customerId": "CM-2", **payload})
        assert response.json()["result"] == "UPDATED", response.text
    lead = await Lead.get(store_customer_id="CM-2")
    assert lead.waitlist_emails_sent == 2 and lead.waitlist_status == WaitlistStatus.REMOVED
    assert str(lead.waitlist_purchase_date) == "2026-11-20" and lead.waitlist_order_number == "O-77"
    assert await lead_count() == 1


async def test_bad_signature_unknown_store_stale_and_malformed_store_nothing(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    store = await make_store(gql, tenant)
    assert (await post_event(client, store, joined("X"), secret="wrong")).status_code == 401
    unsigned = await client.post(f"/webhooks/stores/{store.pk}", content=b"{}")
    assert unsigned.status_code == 401
    ghost = await post_event(
        client, type(store)(store.gid, store.pk + 999, store.secret), joined("X")
    )
    assert ghost.status_code == 401
    old = stamp(runtime.now() - timedelta(minutes=6))
    stale = await post_event(client, store, {**joined("X"), "timestamp": old})
    assert stale.status_code == 400 and stale.json()["field"] == "timestamp"
    future = stamp(runtime.now() + timedelta(minutes=6))
    assert (
        await post_event(client, store, {**joined("X"), "timestamp": future})
    ).status_code == 400
    cases = {
        b"not json": "not valid JSON",
        b"[1, 2]": "JSON object",
        json.dumps(
            {"timestamp": stamp(), "type": "waitlist.nope", "customerId": "X"}
        ).encode(): "type",
        json.dumps({"timestamp": stamp(), "type": "waitlist.joined"}).encode(): "customerId",
        json.dumps({**joined("X"), "timestamp": stamp(), "email": "nope"}).encode(): "email",
        json.dumps(
            {**joined("X"), "timestamp": stamp(), "productCode": None}
        ).encode(): "productCode",
        json.dumps(
            {
                "timestamp": stamp(),
                "type": "waitlist.email_sent",
                "customerId": "X",
                "emailsSent": -1,
            }
        ).encode(): "emailsSent",
        json.dumps(
            {**joined("X"), "timestamp": stamp(), "lastName": "x" * 101}
        ).encode(): "last_name",
        json.dumps({**joined("X"), "timestamp": None}).encode(): "timestamp",
    }
    for body, reason in cases.items():
        response = await post_event(client, store, {}, raw=body)
        assert response.status_code == 400, (body, response.text)
        assert reason in response.text, (reason, response.text)
    huge = json.dumps({**joined("X"), "timestamp": stamp(), "description": "x" * 70_000}).encode()
    assert (await post_event(client, store, {}, raw=huge)).status_code == 413
    assert await lead_count() == 0
    assert await ChangeLogEntry.filter(record_type="lead").count() == 0
    assert await DomainEvent.filter(record_type="lead").count() == 0


async def test_replay_is_idempotent_and_older_events_never_overwrite(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    store = await make_store(gql, tenant)
    base = runtime.now() - timedelta(minutes=4)
    event = joined("CM-3", base)
    assert (await post_event(client, store, event)).json()["result"] == "CREATED"
    log_size = await ChangeLogEntry.all().count()
    events = await DomainEvent.all().count()
    replay = await post_event(client, store, event)
    assert replay.json()["result"] == "UNCHANGED"
    assert (await ChangeLogEntry.all().count(), await DomainEvent.all().count()) == (
        log_size,
        events,
    )

    newer = {
        "customerId": "CM-3",
        "type": "waitlist.removed",
        "occurredAt": stamp(base + timedelta(minutes=2)),
    }
    await post_event(client, store, newer)
    # Arrives late: joined again (older) and a first email count (older) for this customer.
    late_join = joined("CM-3", base + timedelta(minutes=1), productCode="JS-200")
    assert (await post_event(client, store, late_join)).json()["result"] == "STALE"
    late_count = {
        "customerId": "CM-3",
        "type": "waitlist.email_sent",
        "emailsSent": 4,
        "occurredAt": stamp(base + timedelta(minutes=1)),
    }
    assert (await post_event(client, store, late_count)).json()["result"] == "UPDATED"
    lead = await Lead.get(store_customer_id="CM-3")
    assert lead.waitlist_status == WaitlistStatus.REMOVED  # the newer event stands
    assert lead.waitlist_product_code == "PY-101"
    assert lead.waitlist_emails_sent == 4  # an empty field is filled by an older event
    assert await lead_count() == 1


async def test_store_of_one_org_never_touches_another_orgs_leads(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    store_a = await make_store(gql, tenant)
    store_b = await make_store(gql, other_tenant, "B shop")
    await post_event(client, store_b, joined("SAME"))
    lead_b = await Lead.get(store_customer_id="SAME")
    before = (lead_b.version, lead_b.waitlist_status)
    # Same customer id through org A's store: a separate lead in org A.
    assert (await post_event(client, store_a, joined("SAME"))).json()["result"] == "CREATED"
    # Org A's secret on org B's store URL is refused.
    assert (
        await post_event(client, store_b, joined("SAME"), secret=store_a.secret)
    ).status_code == 401
    await lead_b.refresh_from_db()
    assert (lead_b.version, lead_b.waitlist_status) == before
    orgs = sorted(
        await Lead.filter(store_customer_id="SAME").values_list("organization_id", flat=True)
    )
    assert orgs == sorted([tenant.org.id, other_tenant.org.id])


async def test_store_secret_is_never_readable_and_only_admins_create_stores(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    store = await make_store(gql, tenant)
    listed = await gql.ok("{ stores { id name webhookPath } }", as_=tenant.staff)
    assert listed["stores"][0]["id"] == store.gid
    assert (await gql("{ stores { secret } }", as_=tenant.admin))["errors"]
    body = await gql('mutation { createStore(input: {name: "x"}) { secret } }', as_=tenant.staff)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_events_of_a_merged_customer_go_to_the_lead_it_was_merged_into(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    store = await make_store(gql, tenant)
    first = (await post_event(client, store, joined("M1"))).json()["leadId"]
    second = (await post_event(client, store, joined("M2"))).json()["leadId"]
    merge = (
        """mutation($p: ID!, $d: [ID!]!) { mergeLeads(primaryId: $p, duplicateIds: $d) { id } }"""
    )
    await gql.ok(merge, {"p": lead_gid(first), "d": [lead_gid(second)]}, as_=tenant.staff)
    removed = {"customerId": "M2", "type": "waitlist.removed", "occurredAt": stamp()}
    response = await post_event(client, store, removed)
    assert response.json() == {"result": "UPDATED", "leadId": first}
    assert (await Lead.get(id=first)).waitlist_status == WaitlistStatus.REMOVED
    merged = await Lead.get(id=second)
    assert merged.waitlist_status == WaitlistStatus.PENDING and merged.merged_into_id == first


async def test_a_store_can_keep_the_secret_its_platform_gave(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    create = """mutation($i: StoreInput!) { createStore(input: $i) {
      secret store { id webhookPath } } }"""
    short = await gql(create, {"i": {"name": "CM", "secret": "too-short"}}, as_=tenant.admin)
    assert short["errors"][0]["extensions"] == {"code": "VALIDATION_ERROR", "field": "secret"}
    given = "cm-platform-secret-0123456789"
    created = await gql.ok(create, {"i": {"name": "CM", "secret": given}}, as_=tenant.admin)
    store = created["createStore"]
    assert store["secret"] == given
    keys = StoreKeys(
        store["store"]["id"], int(store["store"]["webhookPath"].rsplit("/", 1)[1]), given
    )
    assert (await post_event(client, keys, joined("G1"))).status_code == 200
    lead = await Lead.get(store_customer_id="G1")
    assert lead.assigned_user_id is None and lead.status.value == "NEW"


async def test_webhook_is_rate_limited_per_store(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "WEBHOOK_RATE_PER_MINUTE", 2)
    runtime.current().clock = lambda: datetime(
        2025, 1, 1, 0, 0, 30, tzinfo=UTC
    )  # one window of its own
    store = await make_store(gql, tenant)
    codes = [(await post_event(client, store, joined(f"R{i}"))).status_code for i in range(3)]
    assert codes == [200, 200, 429]
    assert await lead_count() == 2


async def test_out_of_range_store_id_and_nul_characters_store_nothing(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """They used to reach the database and answer 500."""
    store = await make_store(gql, tenant)
    huge = type(store)(store.gid, 10**20, store.secret)
    assert (await post_event(client, huge, joined("X"))).status_code == 401
    refused = await post_event(client, store, joined("X", firstName="Hé\x00lène"))
    assert refused.status_code == 400 and refused.json()["field"] == "firstName"
    assert await lead_count() == 0
