"""The fast execution path for plain data (schema/execution.py) answers exactly what
graphql-core's regular path answers: data, errors, null propagation."""

from __future__ import annotations

from typing import Any

import strawberry

from schema import SchemaLimits, build_schema
from schema.context import Context
from schema.execution import FastFieldsExecutionContext
from tests.conftest import Tenant
from tests.test_sessions_query import NESTED, START
from tests.training_grid import seed_grid

RICH = """
query($withContacts: Boolean!) {
  sessions(first: 5, orderBy: TITLE_DESC) { totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { __typename ...S
      planning: slots { ... on SessionSlot { d: date startTime } __typename }
      clients(first: 1) { totalCount edges { node { id confirmation { ...C }
        client { __typename id name
          contacts @include(if: $withContacts) { id email }
          mainContact @skip(if: $withContacts) { lastName }
          sessions { reference clients { edges { node { client { name } } } } } } } } } } } }
}
fragment S on Session { id reference status { value label } confirmationSummary { value } }
fragment C on Confirmation { state label listValue { value label } }
"""


async def _both(tenant: Tenant, query: str, variables: dict[str, Any], locale: str = "fr") -> Any:
    results = []
    for fast in (True, False):
        schema = build_schema(SchemaLimits(fast_execution=fast, max_depth=20, max_tokens=5000))
        context = Context(scope=tenant.staff.scope, locale=locale)
        result = await schema.execute(query, variable_values=variables, context_value=context)
        results.append((result.data, [e.formatted for e in result.errors or []]))
    return results


async def test_same_answers_as_graphql_core(tenant: Tenant) -> None:
    await seed_grid(
        tenant.staff.scope,
        sessions=6,
        clients_per_session=2,
        contacts_per_client=2,
        slots_per_session=2,
        start=START,
        prefix="X",
    )
    for variables in ({"withContacts": True}, {"withContacts": False}):
        fast, regular = await _both(tenant, RICH, variables)
        assert fast == regular and fast[0] is not None and not fast[1]
    fast, regular = await _both(tenant, NESTED, {}, locale="en")
    assert fast == regular and len(fast[0]["sessions"]["edges"]) == 6


@strawberry.type
class Item:
    name: str
    maybe: str | None
    tags: list[str]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [Item(name="a", maybe=None, tags=["x"]), Item(name=None, maybe="b", tags=[])]  # type: ignore[arg-type]

    @strawberry.field
    def one(self) -> Item:
        return Item(name="c", maybe=None, tags=[None])  # type: ignore[list-item]


async def _answers(query: str) -> tuple[Any, Any]:
    answers = []
    for execution_context_class in (FastFieldsExecutionContext, None):
        schema = strawberry.Schema(Query, execution_context_class=execution_context_class)
        result = await schema.execute(query)
        answers.append((result.data, [e.formatted for e in result.errors or []]))
    return answers[0], answers[1]


async def test_errors_and_null_propagation_are_unchanged() -> None:
    fast, regular = await _answers("{ items { name maybe tags } }")
    assert fast == regular
    assert fast[0] is None  # a null in non-null `name` propagates to the (non-null) root
    assert [e["path"] for e in fast[1]] == [["items", 1, "name"]]

    fast, regular = await _answers("{ one { tags } alias: one { name } }")
    assert fast == regular
    assert fast[0] is None and [e["path"] for e in fast[1]] == [["one", "tags", 0]]

    fast, regular = await _answers("{ alias: one { name maybe n: name __typename } }")
    assert (
        fast
        == regular
        == ({"alias": {"name": "c", "maybe": None, "n": "c", "__typename": "Item"}}, [])
    )
