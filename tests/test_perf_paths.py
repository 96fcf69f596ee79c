"""The shortcuts of the nested query's hot path (SPEC §12) keep their guarantees: a
remembered document still passes every limit, records read without Tortoise's
conversion equal the ones ``values_list`` gives, orjson answers what json would."""

from __future__ import annotations

import json
from datetime import time
from typing import Any

import strawberry
from strawberry.extensions import MaxTokensLimiter, QueryDepthLimiter

from app.asgi import TrainhubGraphQL
from models.sessions import Client, Contact, SessionClient, SessionSlot
from resolvers import dataloaders
from resolvers.dataloaders import ClientRecord, ContactRecord, EnrolmentRecord, SlotRecord
from schema import CheckedDocuments, SkipCheckedDocuments
from tests.conftest import Tenant
from tests.test_sessions_query import START
from tests.training_grid import seed_grid


@strawberry.type
class Node:
    name: str

    @strawberry.field
    def child(self) -> Node:
        return Node(name=self.name + "+")


@strawberry.type
class Query:
    @strawberry.field
    def root(self) -> Node:
        return Node(name="r")


def _schema(checked: CheckedDocuments) -> strawberry.Schema:
    return strawberry.Schema(
        Query,
        extensions=[
            lambda: SkipCheckedDocuments(checked),
            lambda: QueryDepthLimiter(max_depth=3),
            lambda: MaxTokensLimiter(max_token_count=40),
        ],
    )


async def test_only_documents_that_passed_every_check_are_remembered() -> None:
    checked = CheckedDocuments()
    schema = _schema(checked)
    shallow, deep = "{ root { child { name } } }", "{ root { child { child { child { name } } } } }"
    too_long = "{ " + " ".join(f"a{i}: root {{ name }}" for i in range(10)) + " }"
    invalid = "{ root { nope } }"
    for _ in range(2):
        assert (await schema.execute(shallow)).data == {"root": {"child": {"name": "r+"}}}
        for rejected in (deep, too_long, invalid):
            result = await schema.execute(rejected)
            assert result.data is None and result.errors, rejected
    assert checked.get(shallow) is not None
    assert all(checked.get(q) is None for q in (deep, too_long, invalid))


async def test_a_remembered_document_is_not_parsed_again() -> None:
    checked = CheckedDocuments()
    schema = _schema(checked)
    query = "{ root { name } }"
    await schema.execute(query)
    document = checked.get(query)
    result = await schema.execute(query)
    assert result.data == {"root": {"name": "r"}} and checked.get(query) is document


def test_the_document_cache_is_bounded() -> None:
    checked = CheckedDocuments(size=2)
    documents: dict[str, Any] = {q: object() for q in ("{ a }", "{ b }", "{ c }")}
    for query, document in documents.items():
        checked.add(query, document)
        checked.get("{ a }")  # used: kept
    assert checked.get("{ a }") is documents["{ a }"]
    assert checked.get("{ b }") is None and checked.get("{ c }") is documents["{ c }"]


def _wall(value: Any) -> Any:
    # Tortoise attaches its (fixed UTC) zone to times; consumers drop it (wall_time).
    return value.replace(tzinfo=None) if isinstance(value, time) else value


async def _grid(tenant: Tenant, prefix: str) -> None:
    await seed_grid(
        tenant.staff.scope,
        sessions=3,
        clients_per_session=2,
        contacts_per_client=2,
        slots_per_session=2,
        start=START,
        prefix=prefix,
    )


async def test_records_equal_what_values_list_gives(tenant: Tenant, other_tenant: Tenant) -> None:
    await _grid(tenant, "R")
    await _grid(other_tenant, "O")
    scope = tenant.staff.scope
    for model, record in (
        (SessionSlot, SlotRecord),
        (SessionClient, EnrolmentRecord),
        (Contact, ContactRecord),
        (Client, ClientRecord),
    ):
        query = scope.query(model).order_by("id")
        expected = [record._make(row) for row in await query.values_list(*record._fields)]
        every_id = await model.all().values_list("id", flat=True)  # the other tenant's too
        read = await dataloaders._records_in(scope, model, record, "id", every_id, ("id",))
        assert len(read) == len(expected) > 0 and len(every_id) > len(read)
        assert [tuple(map(_wall, r)) for r in read] == [tuple(map(_wall, r)) for r in expected]
        assert [tuple(map(type, r)) for r in read] == [
            tuple(type(v) if not isinstance(v, time) else time for v in r) for r in expected
        ]


def test_json_encoding_answers_what_json_would() -> None:
    view = TrainhubGraphQL({}, schema=strawberry.Schema(Query))
    data = {"data": {"é": ["x", 1, 2.5, True, None]}, "errors": [{"message": "m"}]}
    encoded = view.encode_json(data)
    assert isinstance(encoded, str) and json.loads(encoded) == data
    huge = {"data": {"n": 2**70}}  # refused by orjson: json takes it
    assert json.loads(view.encode_json(huge)) == huge
