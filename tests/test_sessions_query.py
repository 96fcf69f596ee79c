"""The nested sessions query of the SPA and the benchmark: correct data on both
databases and a statement count that does not grow with the page (SPEC §12)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from tests.conftest import GraphQLClient, Tenant
from tests.statements import StatementCounter
from tests.training_grid import seed_grid

NESTED = """
query { sessions(first: 100, orderBy: FIRST_DATE_ASC) { totalCount edges { node {
  id reference title productCode status { value label } firstDate lastDate
  confirmationSummary { value label }
  slots { date startTime endTime location }
  clients { edges { node { id confirmation { state label }
    client { id name mainContact { id email } contacts { id firstName lastName email } } } } }
} } } }
"""


@pytest.fixture
def sql(monkeypatch: pytest.MonkeyPatch) -> Iterator[StatementCounter]:
    yield StatementCounter(monkeypatch)


START = date(2027, 1, 4)


async def _grid(tenant: Tenant, sessions: int, prefix: str) -> None:
    await seed_grid(
        tenant.staff.scope,
        sessions=sessions,
        clients_per_session=2,
        contacts_per_client=2,
        slots_per_session=3,
        start=START,
        prefix=prefix,
    )


async def test_statement_count_does_not_grow_with_the_page(
    gql: GraphQLClient, tenant: Tenant, sql: StatementCounter
) -> None:
    await _grid(tenant, 10, "A")
    sql.statements.clear()
    small = await gql.ok(NESTED, as_=tenant.staff)
    small_count = len(sql.statements)

    await _grid(tenant, 90, "B")
    sql.statements.clear()
    large = await gql.ok(NESTED, as_=tenant.staff)
    large_count = len(sql.statements)

    assert small["sessions"]["totalCount"] == 10 and len(small["sessions"]["edges"]) == 10
    assert large["sessions"]["totalCount"] == 100 and len(large["sessions"]["edges"]) == 100
    assert small_count == large_count, (small_count, sql.statements)
    assert large_count <= 10, sql.statements


async def test_nested_query_returns_the_planning_clients_and_contacts(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    await _grid(tenant, 3, "A")
    edges = (await gql.ok(NESTED, as_=tenant.staff))["sessions"]["edges"]
    first = edges[0]["node"]
    assert [e["node"]["reference"] for e in edges] == ["A-0000", "A-0001", "A-0002"]
    assert first["status"] == {"value": "PLANNED", "label": "Planifiée"}
    assert first["confirmationSummary"] == {
        "value": "PENDING",
        "label": "En attente de confirmation",
    }
    assert first["firstDate"] == START.isoformat()
    assert first["lastDate"] == (START + timedelta(days=14)).isoformat()
    assert first["slots"] == [
        {
            "date": "2027-01-04",
            "startTime": "09:00:00",
            "endTime": "12:30:00",
            "location": "Salle 0",
        },
        {"date": "2027-01-11", "startTime": "09:00:00", "endTime": "12:30:00", "location": "Paris"},
        {
            "date": "2027-01-18",
            "startTime": "09:00:00",
            "endTime": "12:30:00",
            "location": "Salle 2",
        },
    ]
    clients = [e["node"] for e in first["clients"]["edges"]]
    assert [c["confirmation"] for c in clients] == [
        {"state": "TO_CONFIRM", "label": "Date(s) à confirmer"},
        {"state": "ACCEPTED", "label": "Date(s) acceptée(s) le 18/12/2026"},
    ]
    client = clients[0]["client"]
    assert client["name"] == "A client 0000-0"
    assert [c["email"] for c in client["contacts"]] == [
        "contact0-0@example.test",
        "contact0-1@example.test",
    ]
    assert client["mainContact"] == {
        "id": client["contacts"][0]["id"],
        "email": "contact0-0@example.test",
    }


async def test_labels_follow_accept_language(gql: GraphQLClient, tenant: Tenant) -> None:
    await _grid(tenant, 1, "A")
    body = await gql(NESTED, as_=tenant.staff, headers={"Accept-Language": "en-GB,en;q=0.8"})
    node = body["data"]["sessions"]["edges"][0]["node"]
    assert node["status"]["label"] == "Planned"
    assert node["confirmationSummary"]["label"] == "Awaiting confirmation"
    states = [e["node"]["confirmation"]["label"] for e in node["clients"]["edges"]]
    assert states == ["Date(s) to be confirmed", "Date(s) accepted on 2026-12-18"]
