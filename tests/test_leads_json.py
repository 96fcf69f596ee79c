"""The leads list page with its nodes' JSON built by PostgreSQL (schema/json_sql.py,
SPEC §12): the same answer as plain graphql-core for every way a document spells the
page, one page statement whatever its size, and only the caller's organisation's leads.
On SQLite the same documents take the Python path and give the same answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tortoise import Tortoise, connections

from models.core import ApiScope
from models.leads import Lead, LeadStatus, WaitlistStatus
from models.records import RecordLink
from resolvers.context import Scope, system_scope
from schema import SchemaLimits, build_schema
from schema.context import Context
from tests.conftest import BACKEND, GraphQLClient, Tenant
from tests.statements import StatementCounter

PLAIN = build_schema(SchemaLimits(fast_execution=False))
PAGE = """query { leads(orderBy: {field: NAME, descending: false}, first: 50) {
  totalCount edges { cursor node { id firstName lastName email waitlistProductCode
  status { value label } waitlistStatus { value } } } } }"""
# The page's nodes in the ways a document may spell them; embedded: built in SQL on
# PostgreSQL (every selected field compiles and graphql-core collects the same shape).
SHAPES: tuple[tuple[str, dict[str, Any], bool], ...] = (
    (PAGE, {}, True),
    (
        """query($skip: Boolean!, $with: Boolean!) { leads(first: 10) { edges { node {
          __typename ...Named s: status { label __typename value } email @skip(if: $skip)
          waitlistStatus @include(if: $with) { label } ... on Lead { mobile isWaitlistEntry
          waitlistPurchaseDate lawfulBasisReviewDate storeCustomerId version } } } } }
        fragment Named on Node { id ... on Lead { lastName n: firstName } }""",
        {"skip": True, "with": False},
        True,
    ),
    (  # the list's own filter and order (a nullable column's), a page further on
        """query { leads(filter: {productCode: "PY-101", statuses: [NEW, ASSIGNED, DEAD]},
          orderBy: {field: WAITLIST_STATUS}, first: 3, after: "b2Zmc2V0OjE=") {
          totalCount pageInfo { hasNextPage endCursor } edges { node { lastName
          waitlistStatus { value label } } } } }""",
        {},
        True,
    ),
    (
        """query { leads(first: 10) { totalCount edges { node { lastName
          subpanels { key totalCount } } } } }""",
        {},
        True,
    ),
    (
        """query { leads(first: 10) { edges { node { id subpanels { __typename
          t: title collapsed n: totalCount key ... on Subpanel { totalCount } } } } } }""",
        {},
        True,
    ),
    (  # a panel's records: not built in SQL
        """query { leads(first: 10) { edges { node { id subpanels { key totalCount
          records { totalCount } } } } } }""",
        {},
        False,
    ),
    (  # a field kept in Python (a timestamp) and one with its own resolver
        """query { leads(first: 10) { edges { node { id lastName createdAt
          assignedUser { email } } } } }""",
        {},
        False,
    ),
    (  # a field that takes arguments
        """query { leads(first: 10) { edges { node { id subpanels(keys: ["notes"]) { key } } } } }""",
        {},
        False,
    ),
)


@pytest.fixture
def sql(monkeypatch: pytest.MonkeyPatch) -> Iterator[StatementCounter]:
    yield StatementCounter(monkeypatch)


async def _leads(tenant: Tenant, count: int, prefix: str = "L") -> None:
    """``count`` leads; lead number i gets i % 3 notes (links to them: what is counted)."""
    await Lead.bulk_create(
        [
            Lead(
                organization_id=tenant.org.id,
                first_name=f"F{i}",
                last_name=f"{prefix}{i:03d}",
                email=f"{prefix.lower()}{i}@exemple.fr",
                status=list(LeadStatus)[i % len(LeadStatus)],
                waitlist_status=WaitlistStatus.PENDING if i % 2 else None,
                waitlist_product_code="PY-101",
            )
            for i in range(count)
        ]
    )
    leads = await Lead.filter(organization_id=tenant.org.id, last_name__startswith=prefix)
    await _notes(tenant.org.id, [(lead.id, int(lead.last_name[-3:]) % 3) for lead in leads])


async def _notes(organization_id: int, owners: list[tuple[int, int]], first: int = 0) -> None:
    """Note links of a lead owner for each (lead id, number of links), to notes ``first``…
    (links are unique across organisations)."""
    await RecordLink.bulk_create(
        [
            RecordLink(
                organization_id=organization_id,
                owner_type="lead",
                owner_id=lead_id,
                target_type="note",
                target_id=lead_id * 10 + first + n,
            )
            for lead_id, links in owners
            for n in range(links)
        ]
    )


def _page_statements(sql: StatementCounter) -> tuple[list[str], list[str]]:
    """The statements that built leads' JSON, and the others that read lead rows (a
    COUNT reads none)."""
    built = [s for s in sql.statements if "json_build_object" in s]
    rows = [s for s in sql.statements if s not in built and 'FROM "lead"' in s]
    return built, [s for s in rows if "COUNT(" not in s]


async def _plain(
    document: str,
    variables: dict[str, Any],
    tenant: Tenant,
    locale: str = "fr",
    scope: Scope | None = None,
) -> dict[str, Any]:
    """The answer of graphql-core's own execution (no fast path, no JSON built in SQL),
    for the staff member unless ``scope`` is given."""
    context = Context(scope or tenant.staff.scope, locale=locale)
    result = await PLAIN.execute(document, variable_values=variables, context_value=context)
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [error.formatted for error in result.errors]
    return answer


@pytest.mark.parametrize(("document", "variables", "embedded"), SHAPES)
async def test_lead_pages_answer_what_graphql_core_answers(
    gql: GraphQLClient,
    tenant: Tenant,
    sql: StatementCounter,
    document: str,
    variables: dict[str, Any],
    embedded: bool,
) -> None:
    await _leads(tenant, 12)
    await Lead.filter(last_name="L003").update(first_name='Quote " back\\slash \n é \u0007')
    sql.statements.clear()
    body = await gql(document, variables, as_=tenant.staff)
    built, rows = _page_statements(sql)
    assert (bool(built) and not rows) == (embedded and BACKEND == "postgres"), sql.statements
    assert not body.get("errors"), body["errors"]
    assert body["data"]["leads"]["edges"]  # not vacuous
    assert body == {**await _plain(document, variables, tenant), "status": 200}


async def test_labels_in_sql_follow_accept_language(gql: GraphQLClient, tenant: Tenant) -> None:
    await _leads(tenant, 6)
    body = await gql(PAGE, as_=tenant.staff, headers={"Accept-Language": "en-GB,en;q=0.8"})
    labels = {
        e["node"]["status"]["value"]: e["node"]["status"]["label"]
        for e in body["data"]["leads"]["edges"]
    }
    assert labels["IN_PROCESS"] == "In process" and labels["NEW"] == "New", labels
    assert body == {**await _plain(PAGE, {}, tenant, locale="en"), "status": 200}


async def test_page_statements_do_not_grow_with_the_page(
    gql: GraphQLClient, tenant: Tenant, sql: StatementCounter
) -> None:
    """One page statement (its JSON on PostgreSQL) and one COUNT at 3 leads as at 50."""
    await _leads(tenant, 3)
    sql.statements.clear()
    await gql.ok(PAGE, as_=tenant.staff)
    small = sql.selects()
    await _leads(tenant, 47, prefix="M")
    sql.statements.clear()
    answer = await gql.ok(PAGE, as_=tenant.staff)
    assert len(answer["leads"]["edges"]) == 50
    assert small == sql.selects(), sql.statements
    built, rows = _page_statements(sql)
    # The page and its COUNT: no other statement reads leads.
    assert (len(built), len(rows)) == ((1, 0) if BACKEND == "postgres" else (0, 1)), sql.statements


async def test_other_organisations_leads_stay_out(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    """The page statement is filtered on the caller's organisation (the list's own
    queryset, and again on the rows whose JSON it builds)."""
    await _leads(tenant, 4)
    await _leads(other_tenant, 5, prefix="AAA foreign ")
    body = await gql(PAGE, as_=tenant.staff)
    assert "foreign" not in str(body)
    assert body["data"]["leads"]["totalCount"] == 4
    assert body == {**await _plain(PAGE, {}, tenant), "status": 200}


PANELS_SELECTED = "subpanels { key title collapsed totalCount }"
PANELS = f"""query {{ leads(first: 50) {{ edges {{ node {{ lastName
  {PANELS_SELECTED} }} }} }} }}"""
COLLAPSE = """mutation { setSubpanelCollapsed(recordType: LEAD, key: "notes", collapsed: true) {
  stored } }"""
REORDER = """mutation { reorderSubpanels(recordType: LEAD,
  keys: ["change_log", "notes", "tasks", "documents", "emails"]) { stored } }"""


async def test_panels_follow_the_callers_layout_and_language(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    await _leads(tenant, 6)
    await gql.ok(COLLAPSE, as_=tenant.staff)
    await gql.ok(REORDER, as_=tenant.staff)
    body = await gql(PANELS, as_=tenant.staff, headers={"Accept-Language": "en"})
    for edge in body["data"]["leads"]["edges"]:
        panels = edge["node"]["subpanels"]
        assert [p["key"] for p in panels] == ["change_log", "notes", "tasks", "documents", "emails"]
        assert [p["key"] for p in panels if p["collapsed"]] == ["change_log", "notes"]
        assert panels[1]["totalCount"] == int(edge["node"]["lastName"][-3:]) % 3
    assert body["data"]["leads"]["edges"][0]["node"]["subpanels"][0]["title"] == "Change log"
    assert body == {**await _plain(PANELS, {}, tenant, locale="en"), "status": 200}
    # Another user of the organisation keeps the default layout.
    other = await gql(PANELS, as_=tenant.admin)
    assert [p["key"] for p in other["data"]["leads"]["edges"][0]["node"]["subpanels"]][0] == "notes"


async def test_other_organisations_panel_rows_are_not_counted(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    """A foreign organisation's links naming our leads (a corrupt row: no foreign key
    prevents it) count in neither path."""
    await _leads(tenant, 4)
    ours = [lead.id for lead in await Lead.filter(organization_id=tenant.org.id)]
    await _notes(other_tenant.org.id, [(lead_id, 5) for lead_id in ours], first=3)
    body = await gql(PANELS, as_=tenant.staff)
    for edge in body["data"]["leads"]["edges"]:
        notes = edge["node"]["subpanels"][0]
        assert notes["key"] == "notes"
        assert notes["totalCount"] == int(edge["node"]["lastName"][-3:]) % 3
    assert body == {**await _plain(PANELS, {}, tenant), "status": 200}


@pytest.mark.postgres_only
async def test_the_page_statement_keeps_its_plan(
    gql: GraphQLClient, tenant: Tenant, sql: StatementCounter
) -> None:
    """PostgreSQL plans a prepared statement for its values five times, then keeps a
    generic plan if it costs no more. With the page size or the panels' link types as
    placeholders, the generic plan of a sorted page of thousands of leads (costed for an
    unknown limit, on a guessed index) never wins: 0.7–2.9 ms of planning on every page
    with the panels' counts (SPEC §12)."""
    await _leads(tenant, 3000)
    await Tortoise.get_connection("default").execute_script("ANALYZE lead, recordlink")
    sql.statements.clear()
    await gql.ok(PAGE.replace("waitlistStatus { value }", PANELS_SELECTED), as_=tenant.staff)
    (statement,) = _page_statements(sql)[0]
    values = sql.last_arguments[statement][0]
    async with connections.get("default").acquire_connection() as connection:
        for _ in range(8):
            await connection.fetch(statement, *values)
        plans = await connection.fetchrow(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
            statement,
        )
    assert plans["generic_plans"] >= 1, dict(plans)


async def test_a_first_page_of_rows_has_its_size_written_and_no_offset(
    gql: GraphQLClient, tenant: Tenant, sql: StatementCounter
) -> None:
    """``paginate`` writes a page's LIMIT as a number and leaves the first page without
    OFFSET, as the JSON page above: a placeholder of either keeps PostgreSQL from
    reusing the plan (whether it then does depends on the data, so only the statement is
    asserted here); later pages keep one statement with the offset as a placeholder."""
    await _leads(tenant, 4)
    rows_page = PAGE.replace("waitlistStatus { value }", "createdAt")  # kept in Python
    for after, offset_sql in ((None, False), ("b2Zmc2V0OjE=", True)):
        sql.statements.clear()
        document = (
            rows_page
            if after is None
            else rows_page.replace("first: 50", f'first: 50, after: "{after}"')
        )
        await gql.ok(document, as_=tenant.staff)
        (statement,) = _page_statements(sql)[1]
        assert "LIMIT 51" in statement, statement
        assert ("OFFSET" in statement) == offset_sql, statement


async def test_an_api_keys_page_has_the_default_panels(
    gql: GraphQLClient, tenant: Tenant, sql: StatementCounter
) -> None:
    """An API key has no stored layout: its page's panels are the default ones, in one
    page statement as a user's (no layout query)."""
    await _leads(tenant, 6)
    await gql.ok(COLLAPSE, as_=tenant.staff)  # a user's layout changes nothing for the key
    key = await tenant.api_key(ApiScope.READ)
    sql.statements.clear()
    body = await gql(PANELS, as_=key)
    assert not any("subpanellayout" in s for s in sql.statements), sql.statements
    for edge in body["data"]["leads"]["edges"]:
        panels = edge["node"]["subpanels"]
        assert [p["key"] for p in panels] == ["notes", "tasks", "documents", "emails", "change_log"]
        assert not panels[0]["collapsed"]  # the staff member's collapsed notes are theirs
        assert panels[0]["totalCount"] == int(edge["node"]["lastName"][-3:]) % 3
    # What graphql-core answers for a caller without a user (the organisation's system).
    plain = await _plain(PANELS, {}, tenant, scope=system_scope(tenant.org.id))
    assert body == {**plain, "status": 200}
