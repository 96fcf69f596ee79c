"""Plain subtrees answered as JSON built by PostgreSQL (SPEC §12), as PostGraphile and
Hasura do: a client with its contacts is some twenty leaf values that Python would read
into records, build into nodes, complete field by field and serialize; here one
statement per page returns each client's JSON text, which the response embeds as it is
(``orjson.Fragment``, the HTTP view encodes with orjson).

A selection is compiled only when every field below it is a column, the Relay ``id``,
``__typename`` or a relation of ``TABLES`` (no arguments, no other directive than
skip/include); the SQL is cached per selection shape. The shape worked out here from
strawberry's selections is a guess: the fast path (schema/execution.py) embeds the JSON
only when graphql-core's own field collection of that field gives the same shape and
every field in it reads plain data (no resolver, guard or extension); otherwise the
value loads its node like any ``Deferred`` and graphql-core executes it as usual. Every
level is filtered on the organisation by ``Scope.sql_condition``. PostgreSQL only:
SQLite keeps the Python path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, TypeVar

import orjson
from strawberry.dataloader import DataLoader
from strawberry.types.nodes import SelectedField, Selection

from models.base import TenantModel
from models.sessions import Client, Contact
from resolvers.context import Scope
from resolvers.dataloaders import CONTACT_ORDER
from schema.context import Context
from schema.prefetch import Prebuilt

T = TypeVar("T")
# (GraphQL type name, ((response name, field name, child shape or None), ...))
Shape = tuple[str, tuple[tuple[str, str, Any], ...]]
_MAX_KEYS = 50  # json_build_object takes at most 100 arguments: 50 keys and values


@dataclass(frozen=True)
class Relation:
    target: str  # GraphQL type name, a key of TABLES
    many: bool
    on: tuple[tuple[str, str], ...]  # (target column, this table's column) pairs
    order: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    """A node type whose plain fields are its row's columns, as its ``from_row`` copies
    them (GraphQL field name → model field name), and whose ``id`` is the Relay id."""

    model: type[TenantModel]
    columns: Mapping[str, str]
    relations: Mapping[str, Relation] = field(default_factory=dict)

    def column(self, name: str) -> str:
        return f'"{self.model._meta.fields_db_projection[name]}"'


TABLES: dict[str, Table] = {
    "Contact": Table(
        Contact,
        {
            "firstName": "first_name",
            "lastName": "last_name",
            "email": "email",
            "phone": "phone",
            "jobTitle": "job_title",
            "version": "version",
        },
    ),
    "Client": Table(
        Client,
        {"name": "name", "address": "address", "siret": "siret", "version": "version"},
        {
            "contacts": Relation("Contact", True, (("client_id", "id"),), CONTACT_ORDER),
            # The main contact is one of the client's own contacts (Client.main_contact).
            "mainContact": Relation(
                "Contact", False, (("id", "main_contact_id"), ("client_id", "id"))
            ),
        },
    ),
}


def guess_shape(type_name: str, selections: Sequence[Selection]) -> Shape | None:
    """The shape of a selection on ``type_name`` if all of it is in ``TABLES``, else None."""
    table = TABLES.get(type_name)
    fields: dict[str, tuple[str, list[Selection]]] = {}
    if table is None or not _collect(selections, fields) or len(fields) > _MAX_KEYS:
        return None
    entries = []
    for response_name, (name, below) in fields.items():
        child: Shape | None = None
        if name in table.relations:
            child = guess_shape(table.relations[name].target, below)
            if child is None:
                return None
        elif name not in table.columns and name not in ("id", "__typename"):
            return None
        entries.append((response_name, name, child))
    return type_name, tuple(entries)


def _collect(
    selections: Iterable[Selection], fields: dict[str, tuple[str, list[Selection]]]
) -> bool:
    """graphql-core's field collection on an object type (where every valid fragment
    applies), merging by response name; False for what is not compiled."""
    for selection in selections:
        directives = selection.directives
        if set(directives) - {"skip", "include"}:
            return False
        if directives.get("skip", {}).get("if") is True:
            continue
        if "include" in directives and directives["include"].get("if") is not True:
            continue
        if not isinstance(selection, SelectedField):  # a fragment spread or inline fragment
            if not _collect(selection.selections, fields):
                return False
            continue
        if selection.arguments:
            return False
        response_name = selection.alias or selection.name
        known = fields.setdefault(response_name, (selection.name, []))
        if known[0] != selection.name:
            return False
        known[1].extend(selection.selections)
    return True


def _object_sql(shape: Shape, alias: str, depth: int) -> str:
    type_name, entries = shape
    table = TABLES[type_name]
    pairs = []
    for response_name, name, child in entries:
        # Response and type names are GraphQL names ([_A-Za-z][_0-9A-Za-z]*): safe to quote.
        if name == "__typename":
            value = f"'{type_name}'"
        elif name == "id":  # strawberry's to_base64("Type", id), without line breaks
            value = (
                f"translate(encode(convert_to('{type_name}:' || {alias}.\"id\", 'UTF8'), "
                "'base64'), E'\\n', '')"
            )
        elif child is None:
            value = f"{alias}.{table.column(table.columns[name])}"
        else:
            value = _relation_sql(table, alias, table.relations[name], child, depth + 1)
        pairs += [f"'{response_name}'", value]
    return f"json_build_object({', '.join(pairs)})"


def _relation_sql(
    parent: Table, parent_alias: str, relation: Relation, shape: Shape, depth: int
) -> str:
    table, alias = TABLES[relation.target], f"t{depth}"
    conditions = [Scope.sql_condition(alias, "$1")] + [
        f"{alias}.{table.column(column)} = {parent_alias}.{parent.column(key)}"
        for column, key in relation.on
    ]
    rows = f'FROM "{table.model._meta.db_table}" {alias} WHERE {" AND ".join(conditions)}'
    value = _object_sql(shape, alias, depth)
    if not relation.many:
        return f"(SELECT {value} {rows})"
    order = ", ".join(f"{alias}.{table.column(name)}" for name in relation.order)
    return f"(SELECT coalesce(json_agg({value} ORDER BY {order}), '[]'::json) {rows})"


@lru_cache(maxsize=256)
def _statement(shape: Shape) -> str:
    """The JSON of each row of the shape's type whose id is in $2, in the organisation $1."""
    table = TABLES[shape[0]]
    return (
        f'SELECT t0."id", {_object_sql(shape, "t0", 0)}::text '
        f'FROM "{table.model._meta.db_table}" t0 '
        f'WHERE {Scope.sql_condition("t0", "$1")} AND t0."id" = ANY($2::bigint[])'
    )


def _json_by_shape(scope: Scope) -> DataLoader[tuple[Shape, tuple[int, ...]], dict[int, Any]]:
    """Rows' JSON by id for (shape, ids) keys: one statement per shape for all the lists
    asked at once (concurrent resolvers of a nested level), as the dataloaders do."""

    async def load(keys: list[tuple[Shape, tuple[int, ...]]]) -> list[dict[int, Any]]:
        wanted: dict[Shape, set[int]] = {}
        for shape, ids in keys:
            wanted.setdefault(shape, set()).update(ids)
        found = {}
        for shape, members in wanted.items():
            db = TABLES[shape[0]].model._meta.db
            values = [scope.organization_id, list(members)]
            _, rows = await db.execute_query(_statement(shape), values)
            found[shape] = {row[0]: orjson.Fragment(row[1]) for row in rows}
        return [found[shape] for shape, _ in keys]

    return DataLoader(load_fn=load, cache=False)


async def prebuilt(
    context: Context,
    type_name: str,
    ids: Sequence[int],
    selections: Sequence[Selection],
    load: Callable[[int], Awaitable[T]],
) -> list[Prebuilt[T] | None] | None:
    """The nodes of ``type_name`` with these ids as JSON for ``selections``, each loading
    through ``load`` where it cannot be embedded; None when the selection is not compiled
    or the database is not PostgreSQL (the caller builds nodes). None in the place of an
    id not found, as the dataloaders give."""
    table = TABLES.get(type_name)
    shape = guess_shape(type_name, selections)
    if table is None or shape is None or table.model._meta.db.capabilities.dialect != "postgres":
        return None
    found = await context.loader(_json_by_shape).load((shape, tuple(ids)))
    return [Prebuilt(found[i], shape, partial(load, i)) if i in found else None for i in ids]
