"""The shortcuts of the nested query's hot path (SPEC §12) keep their guarantees: a
cached document still meets every limit, records read without Tortoise's
conversion equal the ones ``values_list`` gives, orjson answers what json would."""

from __future__ import annotations

import json
from datetime import time
from typing import Any

from strawberry.extensions import parser_cache, validation_cache

from app.asgi import TrainhubGraphQL
from models.sessions import Client, Contact, SessionClient, SessionSlot
from resolvers import dataloaders
from resolvers.dataloaders import ClientRecord, ContactRecord, SessionClientRecord, SlotRecord
from schema import DOCUMENTS_CACHED, SchemaLimits, build_schema
from tests.conftest import Tenant
from tests.test_sessions_query import START
from tests.training_grid import seed_grid

STRICT = SchemaLimits(max_depth=3, max_tokens=40, max_aliases=2)
SHALLOW = "{ __typename }"
THREE_ALIASES = "{ a: __typename b: __typename c: __typename }"
REJECTED = {
    "depth": "{ sessions { edges { node { clients { edges { cursor } } } } } }",
    "tokens": "{ " + " ".join("__typename" for _ in range(50)) + " }",
    "aliases": THREE_ALIASES,
    "unknown field": "{ nope }",
}


def _cache_hits() -> tuple[int, int]:
    # strawberry's module-level caches behind ParserCache / ValidationCache: lru_cache
    # wrappers, which strawberry types as plain callables.
    parsed: Any = parser_cache._get_parse_cache(DOCUMENTS_CACHED)
    validated: Any = validation_cache._get_validate_cache(DOCUMENTS_CACHED)
    return parsed.cache_info().hits, validated.cache_info().hits


async def test_cached_documents_still_meet_every_limit() -> None:
    schema = build_schema(STRICT)
    for _ in range(3):  # the first time checked, then from the caches
        assert (await schema.execute(SHALLOW)).data == {"__typename": "Query"}
        for limit, document in REJECTED.items():
            result = await schema.execute(document)
            assert result.data is None and result.errors, limit


async def test_the_caches_keep_each_schemas_own_verdict() -> None:
    """The caches are shared by every schema: a document refused by one schema's limits
    is not let through by another's verdict, nor the other way round."""
    strict, lax = build_schema(STRICT), build_schema()
    for schema, answered in [(strict, False), (lax, True), (strict, False), (lax, True)]:
        result = await schema.execute(THREE_ALIASES)
        assert (result.errors is None) is answered


async def test_a_repeated_document_is_neither_parsed_nor_validated_again() -> None:
    schema = build_schema()
    query = "{ first: __typename }"
    await schema.execute(query)
    parsed, validated = _cache_hits()
    result = await schema.execute(query)
    assert result.data == {"first": "Query"}
    assert _cache_hits() == (parsed + 1, validated + 1)


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
        (SessionClient, SessionClientRecord),
        (Contact, ContactRecord),
        (Client, ClientRecord),
    ):
        query = scope.query(model).order_by("id")
        expected = [record._make(row) for row in await query.values_list(*record._fields)]
        every_id: list[int] = await model.all().values_list("id", flat=True)  # type: ignore[assignment]  # Tortoise types flat values as tuples
        read = await dataloaders._records_in(scope, model, record, "id", every_id, ("id",))
        assert len(read) == len(expected) > 0 and len(every_id) > len(read)
        assert [tuple(map(_wall, r)) for r in read] == [tuple(map(_wall, r)) for r in expected]
        assert [tuple(map(type, r)) for r in read] == [
            tuple(type(v) if not isinstance(v, time) else time for v in r) for r in expected
        ]


def test_json_encoding_answers_what_json_would() -> None:
    view = TrainhubGraphQL({}, schema=build_schema())
    data = {"data": {"é": ["x", 1, 2.5, True, None]}, "errors": [{"message": "m"}]}
    encoded = view.encode_json(data)
    assert isinstance(encoded, str) and json.loads(encoded) == data
    huge = {"data": {"n": 2**70}}  # refused by orjson: json takes it
    assert json.loads(view.encode_json(huge)) == huge
