"""Panel counts for a whole list page without N+1 (SPEC §12): one statement (a grouped
COUNT per (record type, panel), UNION ALL), whatever the number of records on the page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from models.leads import Lead
from models.records import Note, RecordLink, Task
from resolvers import runtime
from resolvers.links import link
from resolvers.outbox import queue_email
from tests.conftest import BACKEND, GraphQLClient, Tenant
from tests.statements import StatementCounter
from tests.training_grid import seed_grid

LEADS = """query($first: Int) { leads(first: $first) { edges { node { id lastName
  subpanels { key totalCount } } } } }"""
SESSIONS = """query { sessions(first: 100) { edges { node { reference
  subpanels { key totalCount }
  clients { edges { node { subpanels { key totalCount } } } } } } } }"""


@pytest.fixture
def sql(monkeypatch: pytest.MonkeyPatch) -> Iterator[StatementCounter]:
    yield StatementCounter(monkeypatch)


async def _leads(tenant: Tenant, first: int, count: int) -> None:
    """``count`` leads; lead number i has i % 3 notes, i % 2 tasks and an email if i % 4 == 0."""
    scope = tenant.staff.scope
    org = tenant.org.id
    async with runtime.atomic():
        for i in range(first, first + count):
            lead = await Lead.create(organization_id=org, last_name=f"L{i:03d}")
            for n in range(i % 3):
                note = await Note.create(organization_id=org, subject=f"n{n}")
                await link(scope, ("lead", lead.id), ("note", note.id))
            for n in range(i % 2):
                task = await Task.create(organization_id=org, subject=f"t{n}")
                await link(scope, ("lead", lead.id), ("task", task.id))
            if i % 4 == 0:
                await queue_email(
                    scope,
                    to=["x@x.test"],
                    subject="s",
                    html="h",
                    text="t",
                    concerns=[("lead", lead.id)],
                )


def _expected(i: int) -> dict[str, int]:
    return {
        "notes": i % 3,
        "tasks": i % 2,
        "documents": 0,
        "emails": int(i % 4 == 0),
        "change_log": 0,
    }


async def test_leads_page_counts_cost_the_same_at_10_and_50_leads(
    gql: GraphQLClient, tenant: Tenant, sql: StatementCounter
) -> None:
    await _leads(tenant, 0, 50)
    counts = []
    for size in (10, 50):
        sql.statements.clear()
        edges = (await gql.ok(LEADS, {"first": size}, as_=tenant.staff))["leads"]["edges"]
        counts.append(len(sql.statements))
        assert len(edges) == size
        for edge in edges:
            i = int(edge["node"]["lastName"][1:])
            panels = {p["key"]: p["totalCount"] for p in edge["node"]["subpanels"]}
            assert panels == _expected(i), i
    assert counts[0] == counts[1], sql.statements
    # The caller's user, the page, their layout, and the five panels' grouped COUNTs in
    # one statement; on PostgreSQL those counts are part of the page's JSON statement.
    assert counts[1] == (3 if BACKEND == "postgres" else 4), sql.statements
    assert sql.statements[-1].count("UNION ALL") == 4, sql.statements
    assert await RecordLink.filter(owner_type="lead").count() == sum(
        sum(_expected(i).values()) for i in range(50)
    )


async def _grid(tenant: Tenant, sessions: int, prefix: str) -> None:
    await seed_grid(
        tenant.staff.scope,
        sessions=sessions,
        clients_per_session=2,
        contacts_per_client=1,
        slots_per_session=1,
        start=date(2027, 1, 4),
        prefix=prefix,
    )


async def test_sessions_page_with_their_clients_panels_is_constant_too(
    gql: GraphQLClient, tenant: Tenant, sql: StatementCounter
) -> None:
    async def statements() -> int:
        sql.statements.clear()
        edges = (await gql.ok(SESSIONS, as_=tenant.staff))["sessions"]["edges"]
        for edge in edges:
            panels = {p["key"]: p["totalCount"] for p in edge["node"]["subpanels"]}
            assert panels["clients"] == 2 and panels["proposals"] == 0
            for enrolled in edge["node"]["clients"]["edges"]:
                assert [p["key"] for p in enrolled["node"]["subpanels"]][0] == "proposals"
        return len(sql.statements)

    await _grid(tenant, 10, "A")
    small = await statements()
    await _grid(tenant, 40, "B")
    large = await statements()
    assert small == large, sql.statements


async def test_the_same_shape_of_page_counts_its_own_leads_and_organisation(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    """The counting statement is rendered once per shape of page: the next page (other
    ids) and another organisation (its own leads, none of these links) still get their
    own counts."""
    await _leads(tenant, 0, 20)
    await _leads(other_tenant, 100, 10)  # ids of its own, counts by their numbers
    query = """query($after: String) { leads(first: 10, after: $after) {
      pageInfo { endCursor } edges { node { lastName subpanels { key totalCount } } } } }"""
    pages: list[dict[str, Any]] = []
    for member, after in ((tenant.staff, None), (tenant.staff, "next"), (other_tenant.staff, None)):
        variables = {"after": pages[-1]["pageInfo"]["endCursor"] if after else None}
        pages.append((await gql.ok(query, variables, as_=member))["leads"])
    seen = []
    for page in pages:
        for edge in page["edges"]:
            i = int(edge["node"]["lastName"][1:])
            panels = {p["key"]: p["totalCount"] for p in edge["node"]["subpanels"]}
            assert panels == _expected(i), i
            seen.append(i)
    assert sorted(seen) == [*range(20), *range(100, 110)]
