"""Differential test of the fast execution path (schema/execution.py, SPEC §12): every
query document written in the test suite, and documents generated from the schema, are
answered by the product's schema and by the same schema on plain graphql-core execution,
on the same demo data, as an admin, a viewer, another organisation's staff and nobody —
data and errors must be identical (the fast path's as encoded JSON, so that the subtrees
PostgreSQL built are compared too)."""

from __future__ import annotations

import ast
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import strawberry
from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    OperationDefinitionNode,
    OperationType,
    VariableDefinitionNode,
    get_named_type,
    is_leaf_type,
    parse,
    type_from_ast,
    validate,
)
from graphql.error import GraphQLSyntaxError

from app.demo import DEMO_ADMIN, DEMO_VIEWER, seed_demo
from models.core import User
from resolvers.context import Actor, ActorKind, Scope
from schema import SchemaLimits, build_schema
from schema.context import Context
from tests.conftest import BACKEND, Tenant

TESTS = Path(__file__).parent
LIMITS = {"max_depth": 30, "max_tokens": 20_000, "max_aliases": 100}
FAST = build_schema(SchemaLimits(**LIMITS))  # type: ignore[arg-type]
PLAIN = build_schema(SchemaLimits(fast_execution=False, **LIMITS))  # type: ignore[arg-type]
GENERATED = 40  # documents generated from the schema
ROOTS = ("sessions", "clients", "contacts", "leads", "me", "sessionClients", "templates")


def _strings(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


def _queries(text: str, schema: GraphQLSchema) -> DocumentNode | None:
    """``text`` as a valid document of queries only (mutations write, subscriptions stream)."""
    if "{" not in text:
        return None
    try:
        document = parse(text)
    except GraphQLSyntaxError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations or any(op.operation != OperationType.QUERY for op in operations):
        return None
    if len(operations) > 1 or validate(schema, document):
        return None
    return document


def suite_documents() -> list[str]:
    """Every query document the test modules spell out as a string literal."""
    schema = FAST._schema
    found = {
        text
        for path in sorted(TESTS.glob("test_*.py"))
        for text in _strings(path)
        if _queries(text, schema) is not None
    }
    return sorted(found)


# --- documents generated from the schema ----------------------------------------------


def _optional_arguments(field: GraphQLField) -> bool:
    return not any(isinstance(arg.type, GraphQLNonNull) for arg in field.args.values())


def _selection(rng: random.Random, type_: GraphQLObjectType, depth: int) -> str:
    """A random selection of ``type_``: leaves, nested objects, aliases, fragments and
    directives, with the fields' optional arguments left at their defaults."""
    parts: list[str] = []
    names = sorted(type_.fields)
    for name in rng.sample(names, k=min(len(names), rng.randint(2, 7))):
        field = type_.fields[name]
        if not _optional_arguments(field) or name == "subpanels" and depth > 1:
            continue
        named = get_named_type(field.type)
        if is_leaf_type(named):
            sub = ""
        elif isinstance(named, GraphQLObjectType) and depth < 4:
            sub = " { " + _selection(rng, named, depth + 1) + " }"
        else:
            continue
        alias = f"a{rng.randint(0, 999)}: " if rng.random() < 0.2 else ""
        directive = rng.choice(["", "", "", " @include(if: false)", " @skip(if: false)"])
        part = f"{alias}{name}{directive}{sub}"
        if rng.random() < 0.15:
            part = f"... on {type_.name} {{ {part} }}"
        parts.append(part)
    return " ".join(parts) or "__typename"


def generated_documents(count: int, seed: int = 12) -> list[str]:
    rng, query = random.Random(seed), FAST._schema.query_type
    assert query is not None
    documents: list[str] = []
    while len(documents) < count:
        name = rng.choice(ROOTS)
        field = query.fields.get(name)
        named = field and get_named_type(field.type)
        if not (field and isinstance(named, GraphQLObjectType) and _optional_arguments(field)):
            continue
        text = f"query {{ {name} {{ {_selection(rng, named, 1)} }} }}"
        if _queries(text, FAST._schema) is not None:
            documents.append(text)
    return documents


# --- running both ---------------------------------------------------------------------


def _value_of(type_: GraphQLType, ids: list[str]) -> Any:
    """A value for a variable: a real Relay id for an ID, else a plain value of the type
    (an input object gets its required fields only)."""
    if isinstance(type_, GraphQLNonNull):
        return _value_of(type_.of_type, ids)
    if isinstance(type_, GraphQLList):
        return [_value_of(type_.of_type, ids)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {
            name: _value_of(field.type, ids)
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull)
        }
    plain = {"ID": ids[0], "String": "a", "Int": 1, "Float": 1.0, "Boolean": True}
    return plain.get(type_.name, "2026-01-01")  # type: ignore[attr-defined]  # dates


def _variables(text: str, ids: list[str]) -> dict[str, Any]:
    definitions: list[VariableDefinitionNode] = [
        v
        for d in parse(text).definitions
        if isinstance(d, OperationDefinitionNode)
        for v in d.variable_definitions or ()
    ]
    return {
        v.variable.name.value: _value_of(type_from_ast(FAST._schema, v.type), ids)  # type: ignore[arg-type]
        for v in definitions
    }


async def _answer(schema: strawberry.Schema, text: str, variables: Any, scope: Scope | None) -> Any:
    """Data and errors as the client reads them: the fast path's answer is encoded like the
    HTTP view's (orjson, embedding the JSON PostgreSQL built for plain subtrees)."""
    fast = schema is FAST
    context = Context(scope, json_fragments=fast)
    result = await schema.execute(text, variable_values=variables, context_value=context)
    if fast and _embeds_json(result.data):
        EMBEDDED.append(text)
    data = orjson.loads(orjson.dumps(result.data)) if fast else result.data
    return data, [error.formatted for error in result.errors or []]


EMBEDDED: list[str] = []  # the documents whose fast answer embedded prebuilt JSON


def _embeds_json(data: Any) -> bool:
    if isinstance(data, orjson.Fragment):
        return True
    values = data.values() if isinstance(data, dict) else data if isinstance(data, list) else ()
    return any(_embeds_json(value) for value in values)


async def _scope_of(email: str) -> Scope:
    user = await User.get(email=email)
    return Scope(user.organization_id, Actor(ActorKind.USER, str(user.id), email, role=user.role))


def _relay_ids(data: Any) -> Iterator[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "id" and isinstance(value, str):
                yield value
            else:
                yield from _relay_ids(value)
    elif isinstance(data, list):
        for item in data:
            yield from _relay_ids(item)


async def test_fast_path_answers_what_graphql_core_answers(tenant: Tenant) -> None:
    await seed_demo(lambda _: None)
    admin, viewer = await _scope_of(DEMO_ADMIN[0]), await _scope_of(DEMO_VIEWER[0])
    actors = [admin, viewer, tenant.staff.scope, None]
    suite, generated = suite_documents(), generated_documents(GENERATED)
    assert len(suite) > 30, "the suite's documents were not found"

    listing = await _answer(PLAIN, "{ sessions { edges { node { id } } } }", {}, admin)
    clients = await _answer(PLAIN, "{ clients { edges { node { id } } } }", {}, admin)
    ids = [*list(_relay_ids(listing[0]))[:1], *list(_relay_ids(clients[0]))[:1]]
    answered_with_data = 0
    for text in suite + generated:
        variables = _variables(text, ids)
        for scope in actors:
            fast = await _answer(FAST, text, variables, scope)
            plain = await _answer(PLAIN, text, variables, scope)
            assert fast == plain, (text, variables, scope)
            answered_with_data += bool(fast[0]) and not fast[1]
    # Not vacuous: most documents really answered data on the demo organisation.
    assert answered_with_data > len(suite + generated) // 2
    if BACKEND == "postgres":  # and some of them with subtrees built in SQL: clients, leads
        assert len(set(EMBEDDED)) >= 3, EMBEDDED
        leads = {text for text in EMBEDDED if "leads" in text}
        with_panels = {text for text in leads if "subpanels {" in text}
        assert len(leads) >= 5 and len(with_panels) >= 2, leads
