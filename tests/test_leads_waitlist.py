"""upsertWaitlistEntries over HTTP: the bulk contract's three error policies, outcomes,
optional fields left out under IGNORE_FAILED, idempotency, the cap, unknown stores."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from strawberry import relay

from models.audit import ChangeLogEntry, DomainEvent
from models.leads import Lead
from resolvers import runtime
from tests.conftest import GraphQLClient, Tenant, error_codes
from tests.leads_support import UPSERT, lead_count, make_store, upsert


def entry(customer: str, **fields: Any) -> dict[str, Any]:
    """A JOINED entry, valid unless ``fields`` say otherwise."""
    return {
        "type": "JOINED",
        "customerId": customer,
        "occurredAt": runtime.now().isoformat(),
        "lastName": customer.title(),
        "productCode": "PY-101",
        **fields,
    }


async def written() -> tuple[int, int, int]:
    """Leads, their change-log rows, their events: what an upsert may have written."""
    return (
        await lead_count(),
        await ChangeLogEntry.filter(record_type="lead").count(),
        await DomainEvent.filter(record_type="lead").count(),
    )


def errors_of(item: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["code"], e["field"]) for e in item["errors"]]


async def test_each_entry_has_an_outcome_and_a_retry_with_the_key_writes_nothing(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    store = await make_store(gql, tenant)
    at = runtime.now() - timedelta(minutes=1)
    entries = [
        entry("c1", occurredAt=at.isoformat()),
        entry("c2", productCode=None),  # joining needs the product code
        {"type": "EMAIL_SENT", "customerId": "c1", "occurredAt": at.isoformat(), "emailsSent": 3},
    ]
    first = await upsert(gql, tenant.staff, store, entries, p="REJECT_FAILED_ROWS", k="batch-1")
    assert first["count"] == 2
    assert [r["outcome"] for r in first["results"]] == ["CREATED", None, "UPDATED"]
    assert errors_of(first["results"][1]) == [("VALIDATION_ERROR", "entries.1.productCode")]
    assert (
        first["results"][0]["id"]
        == first["results"][2]["id"]
        == first["results"][0]["record"]["id"]
    )
    before = await written()

    again = await upsert(gql, tenant.staff, store, entries, p="REJECT_FAILED_ROWS", k="batch-1")
    assert again == first and await written() == before

    replay = await upsert(gql, tenant.staff, store, [entries[2]])
    older = {**entries[2], "occurredAt": (at - timedelta(minutes=1)).isoformat()}
    stale = await upsert(gql, tenant.staff, store, [older])
    assert [replay["results"][0]["outcome"], stale["results"][0]["outcome"]] == [
        "UNCHANGED",
        "STALE",
    ]
    assert await written() == before
    assert error_codes(await gql(UPSERT, {"s": store.gid, "e": entries}, as_=tenant.viewer)) == [
        "FORBIDDEN"
    ]


async def test_reject_everything_writes_nothing_when_one_entry_is_bad(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    store = await make_store(gql, tenant)
    entries = [entry("g1"), entry("bad", email="not an address"), entry("g2")]
    payload = await upsert(gql, tenant.staff, store, entries)  # the default policy
    assert payload["count"] == 0
    good, bad = payload["results"][0], payload["results"][1]
    assert errors_of(bad) == [("VALIDATION_ERROR", "entries.1.email")]
    assert "not a valid email address" in bad["errors"][0]["message"]
    for item in (good, payload["results"][2]):
        assert (item["id"], item["record"], item["outcome"], item["errors"]) == (
            None,
            None,
            None,
            [],
        )
    assert await written() == (0, 0, 0)


async def test_reject_failed_rows_writes_only_the_good_entries(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    store = await make_store(gql, tenant)
    entries = [entry("g1"), entry("bad", email="not an address"), entry("g2")]
    payload = await upsert(gql, tenant.staff, store, entries, p="REJECT_FAILED_ROWS")
    assert payload["count"] == 2
    assert [r["outcome"] for r in payload["results"]] == ["CREATED", None, "CREATED"]
    assert errors_of(payload["results"][1]) == [("VALIDATION_ERROR", "entries.1.email")]
    customers = await Lead.all().order_by("id").values_list("store_customer_id", flat=True)
    assert customers == ["g1", "g2"]
    ids = await Lead.all().values_list("id", flat=True)
    logged = await ChangeLogEntry.filter(record_type="lead").values_list("record_id", flat=True)
    events = await DomainEvent.filter(record_type="lead").values_list("record_id", flat=True)
    assert set(logged) == set(events) == set(ids)


async def test_ignore_failed_leaves_invalid_optional_fields_out(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    store = await make_store(gql, tenant)
    at = runtime.now().isoformat()
    known_entry = entry("known", occurredAt=at, email="known@example.test")
    await upsert(gql, tenant.staff, store, [known_entry])
    entries = [
        entry("new", email="not an address", firstName="x" * 101),
        {**known_entry, "email": "also wrong", "emailsSent": -1},
        entry("   "),  # a required field: the entry fails whatever the policy
    ]
    payload = await upsert(gql, tenant.staff, store, entries, p="IGNORE_FAILED")
    assert payload["count"] == 2
    new, known, blank = payload["results"]
    assert (new["outcome"], new["record"]["email"]) == ("CREATED", "")
    assert errors_of(new) == [
        ("VALIDATION_ERROR", "entries.0.email"),
        ("VALIDATION_ERROR", "entries.0.firstName"),
    ]
    lead = await Lead.get(store_customer_id="new")
    assert (lead.email, lead.first_name, lead.last_name) == ("", "", "New")
    assert (known["outcome"], known["record"]["email"]) == ("UNCHANGED", "known@example.test")
    assert errors_of(known) == [
        ("VALIDATION_ERROR", "entries.1.emailsSent"),
        ("VALIDATION_ERROR", "entries.1.email"),
    ]
    assert (blank["id"], errors_of(blank)) == (None, [("VALIDATION_ERROR", "entries.2.customerId")])
    assert await lead_count() == 2

    # Under the REJECT policies the same optional-field error fails the entry.
    strict = await upsert(gql, tenant.staff, store, entries[:1], p="REJECT_FAILED_ROWS")
    assert (strict["count"], strict["results"][0]["id"]) == (0, None)
    assert errors_of(strict["results"][0]) == errors_of(new)


async def test_more_than_500_entries_are_refused_whole(gql: GraphQLClient, tenant: Tenant) -> None:
    store = await make_store(gql, tenant)
    body = await gql(
        UPSERT,
        {"s": store.gid, "e": [entry(f"c{i}") for i in range(501)], "p": "IGNORE_FAILED"},
        as_=tenant.staff,
    )
    assert error_codes(body) == ["VALIDATION_ERROR"]
    assert body["errors"][0]["extensions"]["field"] == "entries"
    assert await written() == (0, 0, 0)


async def test_an_unknown_store_is_not_found_on_store_id(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await make_store(gql, other_tenant)
    lead_id = str(relay.GlobalID("Lead", "1"))
    for store_id in (theirs.gid, str(relay.GlobalID("Store", "999999")), lead_id):
        body = await gql(UPSERT, {"s": store_id, "e": [entry("c1")]}, as_=tenant.staff)
        assert error_codes(body) == ["NOT_FOUND"], body
        assert body["errors"][0]["extensions"]["field"] == "storeId"
    assert await written() == (0, 0, 0)


async def test_a_value_the_database_refuses_is_an_error_of_its_entry_only(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    # A customer id longer than its column is refused with its entry, not the whole call.
    store = await make_store(gql, tenant)
    entries = [entry("c1"), entry("x" * 300, lastName="Long"), entry("c3")]
    result = await upsert(gql, tenant.staff, store, entries, p="REJECT_FAILED_ROWS")
    assert result["count"] == 2
    assert [r["outcome"] for r in result["results"]] == ["CREATED", None, "CREATED"]
    assert [e["code"] for e in result["results"][1]["errors"]] == ["VALIDATION_ERROR"]
    assert result["results"][1]["errors"][0]["field"] == "entries.1.customerId"
    assert await lead_count() == 2
