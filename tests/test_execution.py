"""The fast executor gives exactly graphql-core's result — data, errors, error paths and
null propagation — on every GraphQL feature a page can use."""

from __future__ import annotations

import asyncio
import enum
import json
from dataclasses import dataclass
from typing import Any

import pytest
import strawberry

from schema.execution import NOT_READY, PRELOADED
from schema.execution import FastFieldsExecutionContext as FastExecutor


@strawberry.enum
class Color(enum.Enum):
    RED = "RED"
    BLUE = "BLUE"


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Tag(Named):
    name: str
    color: Color
    weight: float | None = None


RESOLVED: list[str] = []  # titles of the items whose firstTags resolver ran


def _first_tags(item: Any, first: int = 1, prefix: str | None = None) -> Any:
    """Item.firstTags without its resolver: not ready for item t0 (its resolver runs)."""
    if item.title == "t0":
        return NOT_READY
    if first < 0:
        raise ValueError("first must not be negative")
    return [tag for tag in item.tags[:first] if prefix is None or tag.name.startswith(prefix)]


@strawberry.type
class Item:
    id: strawberry.ID
    title: str
    maybe_title: str | None
    tags: list[Tag]
    nullable_tags: list[Tag | None] | None
    scores: list[int]
    owner: Tag | None
    best: Tag  # a non-null object: a null there propagates

    @strawberry.field(metadata={PRELOADED: _first_tags})
    def first_tags(self, first: int = 1, prefix: str | None = None) -> list[Tag]:
        RESOLVED.append(self.title)
        page = _first_tags(self, first, prefix)
        return self.tags[:first] if page is NOT_READY else page

    @strawberry.field
    async def slow_title(self) -> str:
        await asyncio.sleep(0)
        return self.title.upper()

    @strawberry.field
    def boom(self) -> str | None:
        raise ValueError(f"boom on {self.id}")

    @strawberry.field
    async def async_boom(self) -> str:
        await asyncio.sleep(0)
        raise ValueError(f"async boom on {self.id}")


@dataclass
class Bad:
    """An object breaking its declared type in various ways."""

    id: str = "bad"
    title: Any = None  # non-null String gets null
    maybe_title: Any = 12.5  # String coerces floats: fine
    tags: Any = None
    nullable_tags: Any = None
    scores: Any = ("x",)  # Int cannot coerce "x"
    owner: Any = None
    best: Any = None  # non-null Tag gets null


def make_items() -> list[Any]:
    tags = [Tag(name="a", color=Color.RED, weight=1.5), Tag(name="b", color=Color.BLUE)]
    items: list[Any] = [
        Item(
            id=strawberry.ID(str(i)),
            title=f"t{i}",
            maybe_title=None if i % 2 else "m",
            tags=tags,
            nullable_tags=[tags[0], None],
            scores=[i, i + 1],
            owner=tags[1] if i else None,
            best=tags[0],
        )
        for i in range(3)
    ]
    return items


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return make_items()

    @strawberry.field
    def maybe_items(self) -> list[Item] | None:
        return [*make_items(), Bad()]  # type: ignore[list-item]

    @strawberry.field
    def item_or_null(self) -> Item | None:
        return Bad()  # type: ignore[return-value]

    @strawberry.field
    def named(self) -> list[Named]:
        return make_items()[0].tags


QUERIES = [
    "{ items { id title maybeTitle scores tags { name color weight } owner { name } } }",
    "{ a: items { x: title y: title id } b: items { __typename id } }",
    "query($skip: Boolean!) { items { id title @skip(if: $skip) tags @include(if: $skip) { name } } }",
    "fragment F on Tag { name color } { items { id tags { ...F __typename } owner { ... on Tag { weight } } } }",
    "{ items { id slowTitle tags { name } } }",
    "{ items { id boom title } }",
    "{ items { id asyncBoom title } }",
    "{ maybeItems { id title } }",
    "{ maybeItems { id scores } }",
    "{ maybeItems { id maybeTitle tags { name } } }",
    "{ itemOrNull { id title } }",
    "{ itemOrNull { id maybeTitle } }",
    "{ items { nullableTags { name } } }",
    "{ items { best { name } owner { name } } }",
    "{ maybeItems { id best { name color } owner { name } } }",
    "{ itemOrNull { best { __typename } } }",
    "{ items { id firstTags { name } two: firstTags(first: 2) { name color } } }",
    'query($skip: Boolean!) { items { firstTags(first: 2, prefix: "b") @include(if: $skip) { name } } }',
    "{ items { id firstTags(first: -1) { name } } }",
    "{ maybeItems { id firstTags { name } } }",
    "{ named { name ... on Tag { color } __typename } }",
]


def _normalise(result: Any) -> dict[str, Any]:
    return json.loads(
        json.dumps(
            {
                "data": result.data,
                "errors": sorted(
                    (
                        {
                            "message": e.message,
                            "path": e.path,
                            "locations": [tuple(loc) for loc in e.locations or []],
                        }
                        for e in result.errors or []
                    ),
                    key=lambda e: json.dumps(e),
                ),
            }
        )
    )


@pytest.mark.parametrize("query", QUERIES)
async def test_same_result_as_graphql_core(query: str) -> None:
    reference = strawberry.Schema(Query)
    fast = strawberry.Schema(Query, execution_context_class=FastExecutor)
    for variables in ({"skip": True}, {"skip": False}):
        expected = await reference.execute(query, variable_values=variables)
        actual = await fast.execute(query, variable_values=variables)
        assert _normalise(actual) == _normalise(expected)
        # Response keys keep the query's order (ordered result maps).
        assert json.dumps(actual.data) == json.dumps(expected.data)


async def test_error_cases_are_really_exercised() -> None:
    result = await strawberry.Schema(Query, execution_context_class=FastExecutor).execute(
        "{ maybeItems { id title } }"
    )
    assert result.data == {"maybeItems": None}
    assert result.errors and result.errors[0].path == ["maybeItems", 3, "title"]


async def test_preloaded_fields_skip_their_resolver_when_ready() -> None:
    fast = strawberry.Schema(Query, execution_context_class=FastExecutor)
    RESOLVED.clear()
    result = await fast.execute("{ items { firstTags(first: 2) { name } } }")
    assert not result.errors and RESOLVED == ["t0"]  # the one that was not ready
