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


@strawberry.type
class Item:
    id: strawberry.ID
    title: str
    maybe_title: str | None
    tags: list[Tag]
    nullable_tags: list[Tag | None] | None
    scores: list[int]
    owner: Tag | None

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


def make_items() -> list[Any]:
    tags = [Tag(name="a", color=Color.RED, weight=1.5), Tag(name="b", color=Color.BLUE)]
    items: list[Any] = [
        Item(
            id=str(i),
            title=f"t{i}",
            maybe_title=None if i % 2 else "m",
            tags=tags,
            nullable_tags=[tags[0], None],
            scores=[i, i + 1],
            owner=tags[1] if i else None,
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
