"""The nested sessions query of the SPA and the benchmark: correct data on both
databases and a statement count that does not grow with the page (SPEC §12)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from models.sessions import Client, Contact
from schema import SchemaLimits, build_schema
from schema.context import Context
from tests.conftest import BACKEND, GraphQLClient, Tenant
from tests.statements import StatementCounter
from tests.training_grid import seed_grid

PLAIN = build_schema(SchemaLimits(fast_execution=False))
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


# The client subtree in the ways a document may spell it (schema/json_sql.py compiles
# what it can; the fast path embeds it only for graphql-core's own field collection).
CLIENT_SHAPES = (
    """query { sessions { edges { node { clients { edges { node {
      client { __typename id n: name name address siret version
        mainContact { id email } contacts { id firstName lastName email phone jobTitle } } } } }
    } } } }""",
    """query($skip: Boolean!, $with: Boolean!) { sessions { edges { node { clients { edges {
      node { client { ...Named contacts { email @skip(if: $skip) id @include(if: $with) }
        ... on Client { contacts { lastName } } mainContact @include(if: $with) { email } } } } } }
    } } } fragment Named on Node { id ... on Client { name } }""",
    """query { sessions { edges { node { clients { edges { node {
      a: client { name } b: client { id mainContact { id } } } } } } } } }""",
    """query { sessions { edges { node { clients { edges { node {
      client { name sessions { reference } contacts { email client { name } } } } } } } } } }""",
)
SHAPE_VARIABLES: tuple[dict[str, bool], ...] = ({}, {"skip": True, "with": False}, {}, {})
EMBEDDED = (True, True, False, False)  # on PostgreSQL: no client or contact read by rows


@pytest.mark.postgres_only
async def test_client_subtrees_are_json_built_by_postgresql(
    gql: GraphQLClient, tenant: Tenant, sql: StatementCounter
) -> None:
    """The nested query's clients come from one JSON statement (and no client or contact
    read), with the same answer as plain graphql-core, names needing escapes included."""
    await _grid(tenant, 3, "A")
    await (
        Client.filter(organization_id=tenant.staff.scope.organization_id)
        .limit(1)
        .update(name='Quote " back\\slash \n new line, é and \u0007')
    )
    await Client.filter(name="A client 0001-1").update(main_contact_id=None)
    sql.statements.clear()
    body = await gql(NESTED, as_=tenant.staff)
    assert _built_in_sql(sql), sql.statements
    assert body == {**await _plain(NESTED, {}, tenant), "status": 200}


@pytest.mark.parametrize(
    ("document", "variables", "embedded"),
    list(zip(CLIENT_SHAPES, SHAPE_VARIABLES, EMBEDDED, strict=True)),
)
async def test_client_subtrees_answer_what_graphql_core_answers(
    gql: GraphQLClient,
    tenant: Tenant,
    sql: StatementCounter,
    document: str,
    variables: dict[str, bool],
    embedded: bool,
) -> None:
    await _grid(tenant, 2, "A")
    sql.statements.clear()
    body = await gql(document, variables, as_=tenant.staff)
    assert _built_in_sql(sql) == (embedded and BACKEND == "postgres"), sql.statements
    assert not body.get("errors"), body["errors"]
    assert body == {**await _plain(document, variables, tenant), "status": 200}


def _built_in_sql(sql: StatementCounter) -> bool:
    """Whether the clients came from JSON statements alone (no client or contact rows)."""
    built = [s for s in sql.statements if "json_build_object" in s]
    rows = [s for s in sql.statements if s not in built]
    return bool(built) and not any(f'FROM "{t}"' in s for s in rows for t in ("client", "contact"))


async def _plain(document: str, variables: dict[str, bool], tenant: Tenant) -> dict[str, Any]:
    """The answer of graphql-core's own execution (no fast path, no JSON built in SQL)."""
    result = await PLAIN.execute(
        document, variable_values=variables, context_value=Context(tenant.staff.scope)
    )
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [error.formatted for error in result.errors]
    return answer


async def test_client_subtrees_keep_other_organisations_rows_out(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    """Every level is filtered on the organisation: a foreign contact whose row names one
    of our clients (a corrupt row; no foreign key prevents it) appears in neither path."""
    await _grid(tenant, 1, "A")
    ours = await Client.filter(organization_id=tenant.org.id).first()
    assert ours is not None
    foreign = await Contact.create(
        organization_id=other_tenant.org.id, client_id=ours.id, last_name="AAA foreign"
    )
    await Client.filter(id=ours.id).update(main_contact_id=foreign.id)
    body = await gql(NESTED, as_=tenant.staff)
    clients = [
        edge["node"]["client"]
        for edge in body["data"]["sessions"]["edges"][0]["node"]["clients"]["edges"]
    ]
    assert "AAA foreign" not in str(body)
    assert [c["mainContact"] for c in clients if c["name"] == ours.name] == [None]
    assert body == {**await _plain(NESTED, {}, tenant), "status": 200}
