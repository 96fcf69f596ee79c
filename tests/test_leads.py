"""Leads through GraphQL: labels, the list and its Previous/Next, statements per page,
the leadChanged subscription."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from strawberry import relay
from tortoise import connections

from models.leads import Lead
from resolvers import runtime
from resolvers.leads.listing import LeadFilter, LeadOrder, list_leads
from schema import build_schema
from schema.context import Context
from schema.pagination import paginate
from schema.prefetch import same
from tests.conftest import GraphQLClient, Tenant, error_codes
from tests.leads_support import (
    LEAD,
    LIST,
    NEIGHBORS,
    UPDATE_FIELD,
    UPSERT,
    create_lead,
    listed_names,
    make_store,
)
from tests.statements import StatementCounter


async def test_labels_follow_the_caller_locale(gql: GraphQLClient, tenant: Tenant) -> None:
    lead = await create_lead(gql, tenant.staff, lastName="Label", waitlistStatus="PENDING")
    assert (lead["status"]["label"], lead["waitlistStatus"]["label"]) == ("Nouveau", "En attente")
    english = await gql.ok(
        LEAD, {"id": lead["id"]}, as_=tenant.staff, headers={"Accept-Language": "en"}
    )
    assert (english["lead"]["status"]["label"], english["lead"]["waitlistStatus"]["label"]) == (
        "New",
        "Pending",
    )


async def test_list_filters_ordering_pages_and_neighbors(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    store = await make_store(gql, tenant)
    at = runtime.now().isoformat()
    await gql.ok(
        UPSERT,
        {
            "s": store.gid,
            "e": [
                {
                    "type": "JOINED",
                    "customerId": "W1",
                    "occurredAt": at,
                    "lastName": "Bravo",
                    "productCode": "PY",
                },
                {
                    "type": "JOINED",
                    "customerId": "W2",
                    "occurredAt": at,
                    "lastName": "Delta",
                    "productCode": "JS",
                },
            ],
        },
        as_=tenant.staff,
    )
    await create_lead(
        gql, tenant.staff, lastName="Alpha", email="alpha@x.test", status="IN_PROCESS"
    )
    await create_lead(gql, tenant.staff, lastName="Charlie", firstName="Émile")
    deleted = await create_lead(gql, tenant.staff, lastName="Echo")
    await gql.ok(
        "mutation($id: ID!) { deleteLead(id: $id) { id } }",
        {"id": deleted["id"]},
        as_=tenant.staff,
    )

    by_name = {"field": "NAME", "descending": False}
    assert await listed_names(gql, tenant.staff, o=by_name) == [
        "Alpha",
        "Bravo",
        "Charlie",
        "Delta",
    ]
    assert await listed_names(gql, tenant.staff, o={"field": "NAME", "descending": True}) == [
        "Delta",
        "Charlie",
        "Bravo",
        "Alpha",
    ]
    assert await listed_names(gql, tenant.staff, o=by_name, f={"includeDeleted": True}) == [
        "Alpha",
        "Bravo",
        "Charlie",
        "Delta",
        "Echo",
    ]
    assert await listed_names(gql, tenant.staff, o=by_name, f={"productCode": "PY"}) == ["Bravo"]
    assert await listed_names(
        gql, tenant.staff, o=by_name, f={"waitlistStatuses": ["PENDING"]}
    ) == [
        "Bravo",
        "Delta",
    ]
    assert await listed_names(gql, tenant.staff, o=by_name, f={"statuses": ["IN_PROCESS"]}) == [
        "Alpha"
    ]
    assert await listed_names(gql, tenant.staff, o=by_name, f={"search": "emile"}) == ["Charlie"]
    assert await listed_names(gql, tenant.staff, o=by_name, f={"search": " ALPHA@x"}) == ["Alpha"]
    assert await listed_names(
        gql, tenant.staff, o=by_name, f={"sourceSystem": "CM Boutique system"}
    ) == [
        "Bravo",
        "Delta",
    ]
    assert await listed_names(
        gql, tenant.staff, o=by_name, f={"assignedUserId": str(tenant.staff.user.id)}
    ) == ["Bravo", "Delta"]
    assert await listed_names(gql, tenant.staff, o=by_name, f={"storeId": store.gid}) == [
        "Bravo",
        "Delta",
    ]
    assert await listed_names(
        gql, tenant.staff, o=by_name, f={"createdFrom": at, "modifiedTo": "2999-01-01T00:00:00Z"}
    ) == ["Alpha", "Bravo", "Charlie", "Delta"]
    assert await listed_names(gql, tenant.staff, o=by_name, f={"createdTo": at}) == []
    # Nullable column: the waitlist ones first in ascending order (NULLs last), id breaks ties.
    assert await listed_names(
        gql, tenant.staff, o={"field": "DATE_ADDED", "descending": False}
    ) == [
        "Bravo",
        "Delta",
        "Alpha",
        "Charlie",
    ]

    first = await gql.ok(LIST, {"o": by_name, "first": 3}, as_=tenant.staff)
    assert first["leads"]["totalCount"] == 4 and first["leads"]["pageInfo"]["hasNextPage"]
    after = first["leads"]["pageInfo"]["endCursor"]
    assert await listed_names(gql, tenant.staff, o=by_name, first=3, after=after) == ["Delta"]

    for order in (
        by_name,
        {"field": "NAME", "descending": True},
        {"field": "DATE_ADDED", "descending": False},
        {"field": "WAITLIST_STATUS", "descending": True},
    ):
        page = await gql.ok(LIST, {"o": order}, as_=tenant.staff)
        ids = [e["node"]["id"] for e in page["leads"]["edges"]]
        for index, lead_id in enumerate(ids):
            hood = (await gql.ok(NEIGHBORS, {"id": lead_id, "o": order}, as_=tenant.staff))["lead"][
                "neighbors"
            ]
            assert (hood["previous"] or {}).get("id") == (ids[index - 1] if index else None), order
            assert (hood["next"] or {}).get("id") == (
                ids[index + 1] if index + 1 < len(ids) else None
            ), order
    filtered = await gql.ok(
        NEIGHBORS, {"id": ids[0], "o": by_name, "f": {"productCode": "JS"}}, as_=tenant.staff
    )
    assert (
        filtered["lead"]["neighbors"]["next"] is None
        or filtered["lead"]["neighbors"]["next"]["id"] in ids
    )
    assert error_codes(await gql(LIST, {"first": 101}, as_=tenant.staff)) == ["VALIDATION_ERROR"]


async def test_list_statement_count_does_not_grow_with_the_page(
    gql: GraphQLClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SPEC §12: a page's SQL statements (as the database client runs them) are constant."""
    query = """{ leads(first: 50) { totalCount edges { node { id lastName status { label }
      assignedUser { email } } } } }"""
    users = [tenant.admin.user.id, tenant.staff.user.id, tenant.viewer.user.id]

    sql = StatementCounter(monkeypatch)

    async def statements_for_page() -> int:
        sql.statements.clear()
        await gql.ok(query, as_=tenant.staff)
        return sql.selects()

    for index in range(2):
        await create_lead(gql, tenant.staff, lastName=f"L{index}", assignedUserId=str(users[index]))
    small = await statements_for_page()
    for index in range(2, 30):
        await create_lead(
            gql, tenant.staff, lastName=f"L{index}", assignedUserId=str(users[index % 3])
        )
    large = await statements_for_page()
    # auth lookups + one page SELECT + one COUNT + one batched user load, whatever the size
    assert 3 <= small == large, (small, large)


async def test_lead_changed_subscription_replays_then_streams_one_lead(
    app: Any, gql: GraphQLClient, tenant: Tenant
) -> None:
    lead = await create_lead(gql, tenant.staff, lastName="Watched")
    other = await create_lead(gql, tenant.staff, lastName="Other")
    subscription = """subscription($id: ID, $after: ID) {
      leadChanged(id: $id, after: $after) { type recordId payload } }"""
    context = Context(scope=tenant.staff.scope, services=app.state.services)
    stream = await build_schema().subscribe(
        subscription, variable_values={"id": lead["id"], "after": "0"}, context_value=context
    )
    try:
        replayed = await asyncio.wait_for(anext(stream), 5)
        assert replayed.data is not None and replayed.data["leadChanged"]["type"] == "lead.created"
        for target in (other, lead):
            await gql.ok(
                UPDATE_FIELD,
                {"id": target["id"], "v": 1, "f": "lastName", "x": "Changed"},
                as_=tenant.staff,
            )
        changed = await asyncio.wait_for(anext(stream), 5)
        assert changed.data is not None
        live = changed.data["leadChanged"]
        assert live["type"] == "lead.updated" and live["payload"]["fields"] == ["last_name"]
        assert live["recordId"] == relay.GlobalID.from_id(lead["id"]).node_id
    finally:
        await stream.aclose()


async def test_more_list_requests_at_once_than_the_pool_has_connections(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    """The page and its COUNT take a pooled connection each (paginate count_too), the
    panels' counts one after them: neither is held while waiting for the other, so four
    times the pool's requests at once all finish, each with its right answer."""
    await Lead.bulk_create(
        [Lead(organization_id=tenant.org.id, last_name=f"L{i:02d}") for i in range(12)]
    )
    query = """{ leads(first: 5) { totalCount edges { node { lastName
      subpanels { key totalCount } } } } }"""
    requests = 4 * getattr(connections.get("default"), "pool_maxsize", 5)
    answers = await asyncio.wait_for(  # a guard against a deadlock, not a speed limit
        asyncio.gather(*(gql.ok(query, as_=tenant.staff) for _ in range(requests))), timeout=120
    )
    for answer in answers:
        assert answer["leads"]["totalCount"] == 12
        nodes = [edge["node"] for edge in answer["leads"]["edges"]]
        assert [n["lastName"] for n in nodes] == [f"L{i:02d}" for i in range(11, 6, -1)]
        assert all(p["totalCount"] == 0 for n in nodes for p in n["subpanels"])


async def test_page_and_count_at_once_inside_a_transaction(tenant: Tenant) -> None:
    """In a transaction both run on its one connection, one after the other."""
    await Lead.bulk_create(
        [Lead(organization_id=tenant.org.id, last_name=f"L{i:02d}") for i in range(7)]
    )
    scope = tenant.staff.scope
    async with runtime.atomic():
        page = await paginate(
            list_leads(scope, LeadFilter(), LeadOrder()), 3, None, same, count_too=True
        )
    assert len(page.edges) == 3 and page.page_info.has_next_page
    assert await page.total_count() == 7
