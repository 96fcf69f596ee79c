"""The session list over HTTP: each filter, each sort order, pages."""

from __future__ import annotations

from typing import Any

from tests.conftest import GraphQLClient, Tenant, error_codes
from tests.test_clients import make_client
from tests.test_sessions import ADD_CLIENT, LIST, SLOTS, make_session


async def test_list_filters_orders_and_pages(gql: GraphQLClient, tenant: Tenant) -> None:
    acme = await make_client(gql, tenant.staff, "Acme")
    await make_session(gql, tenant.staff, "R-3", title="Word", productCode="WD", slots=[SLOTS[0]])
    s2 = await make_session(
        gql, tenant.staff, "R-1", title="Excel", productCode="XL", slots=[SLOTS[1]]
    )
    await make_session(
        gql,
        tenant.staff,
        "R-2",
        title="Access",
        productCode="XL",
        status="PLANNED",
        ownerId=str(tenant.admin.user.id),
        slots=[{"date": "2027-06-01", "startTime": "09:00", "endTime": "12:00"}],
    )
    await make_session(gql, tenant.staff, "R-4", title="Unplanned")
    await gql.ok(ADD_CLIENT, {"s": s2["id"], "c": acme["id"]}, as_=tenant.staff)

    async def refs(order: str = "FIRST_DATE_ASC", **filter: Any) -> list[str]:
        data = await gql.ok(LIST, {"filter": filter, "order": order}, as_=tenant.viewer)
        return [e["node"]["reference"] for e in data["sessions"]["edges"]]

    assert await refs() == ["R-1", "R-3", "R-2", "R-4"]
    assert await refs("FIRST_DATE_DESC") == ["R-2", "R-3", "R-1", "R-4"]
    assert await refs("TITLE_ASC") == ["R-2", "R-1", "R-4", "R-3"]
    assert await refs("REFERENCE_DESC") == ["R-4", "R-3", "R-2", "R-1"]
    assert (await refs("SUMMARY_ASC"))[0] == "R-1"
    assert await refs(status=["PLANNED"]) == ["R-2"]
    assert await refs(productCode=["XL"]) == ["R-1", "R-2"]
    assert await refs(slotFrom="2027-03-02", slotTo="2027-05-01") == ["R-3"]
    assert await refs(slotFrom="2027-03-02") == ["R-3", "R-2"]
    assert await refs(ownerId=[str(tenant.admin.user.id)]) == ["R-2"]
    assert await refs(confirmationSummary=["TO_CONFIRM"]) == ["R-1"]
    assert await refs(text="exc") == ["R-1"]
    assert await refs(text="r-4") == ["R-4"]

    page = (await gql.ok(LIST, {"order": "REFERENCE_ASC", "first": 3}, as_=tenant.viewer))[
        "sessions"
    ]
    assert page["totalCount"] == 4 and page["pageInfo"]["hasNextPage"]
    rest = await gql.ok(
        LIST, {"order": "REFERENCE_ASC", "after": page["pageInfo"]["endCursor"]}, as_=tenant.viewer
    )
    assert [e["node"]["reference"] for e in rest["sessions"]["edges"]] == ["R-4"]
    too_many = await gql(LIST, {"order": "TITLE_ASC", "first": 101}, as_=tenant.viewer)
    assert error_codes(too_many) == ["VALIDATION_ERROR"]
