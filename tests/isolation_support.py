"""The isolation sweep's machinery, generated from the live schema's introspection: every
root field that takes an ID (directly, in a list, or inside input objects), and a minimal
valid call of any root field with the ids and values the caller chooses."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    build_client_schema,
    get_introspection_query,
    get_named_type,
    is_leaf_type,
    is_required_argument,
    is_required_input_field,
)

from tests.conftest import GraphQLClient, Member

OPERATIONS = ("query", "mutation", "subscription")


@dataclass(frozen=True)
class IdSite:
    """Where an ID goes in a root field's arguments: ``path`` is the argument's name, then
    the input fields down to the ID (a list on the way takes one item)."""

    operation: str
    field: str
    path: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.field}({'.'.join(self.path)})"


async def live_schema(gql: GraphQLClient, member: Member) -> GraphQLSchema:
    """The schema as a client sees it: built from an introspection query over HTTP."""
    return build_client_schema(await gql.ok(get_introspection_query(one_of=True), as_=member))  # type: ignore[arg-type]


def root_type(schema: GraphQLSchema, operation: str) -> GraphQLObjectType:
    root = {
        "query": schema.query_type,
        "mutation": schema.mutation_type,
        "subscription": schema.subscription_type,
    }[operation]
    assert root is not None
    return root


def _id_paths(
    type_: GraphQLInputType, path: tuple[str, ...], seen: frozenset[str]
) -> Iterator[tuple[str, ...]]:
    named = get_named_type(type_)
    if named.name == "ID":
        yield path
    elif isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        for name, field in named.fields.items():
            yield from _id_paths(field.type, (*path, name), seen | {named.name})


def id_sites(schema: GraphQLSchema) -> list[IdSite]:
    return [
        IdSite(operation, name, path)
        for operation in OPERATIONS
        for name, field in root_type(schema, operation).fields.items()
        for arg_name, arg in field.args.items()
        for path in _id_paths(arg.type, (arg_name,), frozenset())
    ]


# What a required argument of another type gets, by scalar or enum name.
SCALAR_SAMPLES: dict[str, Any] = {
    "String": "sweep",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "Date": "2027-03-01",
    "DateTime": "2027-03-01T09:00:00+00:00",
    "Time": "09:00:00",
    "Decimal": "1",
    "JSON": {},
}

Fill = Callable[[tuple[str, ...], GraphQLNamedType], Any]


def _value(
    type_: GraphQLInputType,
    path: tuple[str, ...],
    target: tuple[str, ...] | None,
    target_value: Any,
    fill: Fill,
) -> Any:
    """A value of ``type_`` at ``path``: ``target_value`` where ``target`` points, what
    ``fill`` gives for every required leaf, required input fields only."""
    if isinstance(type_, GraphQLNonNull):
        return _value(type_.of_type, path, target, target_value, fill)
    if isinstance(type_, GraphQLList):
        return [_value(type_.of_type, path, target, target_value, fill)]
    if target == path:
        return target_value
    if isinstance(type_, GraphQLInputObjectType):
        chosen = [
            name
            for name, field in type_.fields.items()
            if _leads_to(target, (*path, name)) or is_required_input_field(field)
        ]
        if type_.is_one_of and not chosen:
            chosen = [next(iter(type_.fields))]  # @oneOf: exactly one field
        return {
            name: _value(type_.fields[name].type, (*path, name), target, target_value, fill)
            for name in chosen
        }
    return fill(path, type_)  # type: ignore[arg-type]


def _leads_to(target: tuple[str, ...] | None, path: tuple[str, ...]) -> bool:
    return target is not None and target[: len(path)] == path


def selection(type_: GraphQLOutputType, depth: int = 2) -> str:
    """``__typename`` and the leaves without required arguments, ``depth`` objects deep:
    enough to see a foreign record's data, or a count that gives it away."""
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    parts = ["__typename"]
    if isinstance(named, GraphQLObjectType) and depth > 0:
        for name, field in named.fields.items():
            if any(is_required_argument(arg) for arg in field.args.values()):
                continue
            sub = get_named_type(field.type)
            if is_leaf_type(sub):
                parts.append(name)
            elif depth > 1 and isinstance(sub, GraphQLObjectType):
                parts.append(name + selection(field.type, depth - 1))
    return " { " + " ".join(parts) + " }"


def document(
    schema: GraphQLSchema,
    operation: str,
    field_name: str,
    fill: Fill,
    target: tuple[str, ...] | None = None,
    target_value: Any = None,
) -> tuple[str, dict[str, Any]]:
    """A call of the root field: its required arguments (and the one ``target`` is in) as
    variables, a selection of what it answers."""
    field = root_type(schema, operation).fields[field_name]
    variables: dict[str, Any] = {}
    declared, passed = [], []
    for name, arg in field.args.items():
        if not (_leads_to(target, (name,)) or is_required_argument(arg)):
            continue
        variables[name] = _value(arg.type, (name,), target, target_value, fill)
        declared.append(f"${name}: {arg.type}")
        passed.append(f"{name}: ${name}")
    head = f"{operation}({', '.join(declared)})" if declared else operation
    args = f"({', '.join(passed)})" if passed else ""
    return f"{head} {{ {field_name}{args}{selection(field.type)} }}", variables


def normalised(body: dict[str, Any], names: dict[str, str]) -> Any:
    """The answer with each id spelling of ``names`` (in any text of it) replaced by its
    name: what must not differ between a call with a foreign id and one with a missing id."""
    if not names:
        return {"data": body.get("data"), "errors": body.get("errors")}
    spelled = "|".join(re.escape(s) for s in sorted(names, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w=+/])({spelled})(?![\w=+/])")

    def rename(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub(lambda m: names[m.group(1)], value)
        if isinstance(value, dict):
            return {k: rename(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rename(v) for v in value]
        return value

    return rename({"data": body.get("data"), "errors": body.get("errors")})
