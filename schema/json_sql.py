"""Plain subtrees answered as JSON built by PostgreSQL (SPEC §12), as PostGraphile and
Hasura do: a client with its contacts is some twenty leaf values that Python would read
into records, build into nodes, complete field by field and serialize; here one
statement per page returns each client's JSON text, which the response embeds as it is
(``orjson.Fragment``, the HTTP view encodes with orjson). Two ways in: ``prebuilt``
(nodes by id, batched like a dataloader: the sessions' clients) and ``page_fetch`` (a
list resolver's own filtered, ordered page, ids and JSON in one statement: the leads,
with their subpanels' counts).

A selection is compiled only when every field below it is a column, the Relay ``id``,
``__typename``, a relation, a labelled value (``{ value label }``, the label in the
caller's locale) or the subpanels of ``TABLES`` (no arguments, no other directive than
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
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import lru_cache, partial
from typing import Any, TypeVar

import orjson
from pypika_tortoise.terms import Parameterizer
from strawberry.dataloader import DataLoader
from strawberry.types.nodes import SelectedField, Selection
from strawberry.utils.str_converters import to_camel_case
from tortoise.expressions import RawSQL
from tortoise.queryset import QuerySet

from models.base import TenantModel
from models.leads import Lead, LeadStatus, WaitlistStatus
from models.sessions import Client, Contact
from resolvers import labels
from resolvers.context import Scope
from resolvers.dataloaders import CONTACT_ORDER
from resolvers.subpanels.layout import Layout, layout_without_query
from resolvers.subpanels.loaders import panel_layouts
from resolvers.subpanels.registry import OwnerType, panel_of, panels_of
from resolvers.subpanels.sources import ConstantTextInline, grouped_counts
from schema.context import Context
from schema.leads.types import PLAIN_FIELDS as LEAD_FIELDS
from schema.pagination import literal_limit
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
class Labelled:
    """A ``{ value label }`` object of an enum column (schema/leads/enums.py): the
    member's GraphQL name and its label in the caller's locale; null when the column is."""

    target: str  # GraphQL type name, a key of LABELLED
    column: str  # model field name


# The labelled value types: their enum, whose labels are resolvers.labels.lead_value's.
LABELLED: dict[str, type[Enum]] = {
    "LeadStatusValue": LeadStatus,
    "WaitlistStatusValue": WaitlistStatus,
}


@dataclass(frozen=True)
class Table:
    """A node type whose plain fields are its row's columns, as its ``from_row`` copies
    them (GraphQL field name → model field name), and whose ``id`` is the Relay id."""

    model: type[TenantModel]
    columns: Mapping[str, str]
    relations: Mapping[str, Relation] = field(default_factory=dict)
    labelled: Mapping[str, Labelled] = field(default_factory=dict)
    # Its ``subpanels`` field (selected without ``keys``): the caller's panels of this
    # record type, their counts as the subpanel loaders count them (in a page statement).
    panels: OwnerType | None = None

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
    "Lead": Table(
        Lead,
        {
            to_camel_case(name): name
            for name in LEAD_FIELDS
            # PostgreSQL's JSON of these differs from their GraphQL serialization (a
            # decimal's text, a timestamp's time zone and digits): they stay in Python.
            if Lead._meta.fields_map[name].field_type not in (datetime, Decimal)
        },
        labelled={
            "status": Labelled("LeadStatusValue", "status"),
            "waitlistStatus": Labelled("WaitlistStatusValue", "waitlist_status"),
        },
        panels=OwnerType.LEAD,
    ),
}
# A Subpanel's fields other than totalCount, as ``Subpanel.of`` fills them (enums by
# their GraphQL names, the members' names), for a panel and the caller's collapse state.
SUBPANEL_FIELDS: dict[str, Callable[[str, bool, str], str]] = {
    "key": lambda key, collapsed, locale: _literal(key),
    "title": lambda key, collapsed, locale: _literal(labels.subpanel_title(key, locale)),
    "collapsed": lambda key, collapsed, locale: "true" if collapsed else "false",
}


def guess_shape(type_name: str, selections: Sequence[Selection]) -> Shape | None:
    """The shape of a selection on ``type_name`` if all of it is in ``TABLES``, else None."""
    table = TABLES.get(type_name)
    fields: dict[str, tuple[str, list[Selection]]] = {}
    if table is None or not _collect(selections, fields) or len(fields) > _MAX_KEYS:
        return None
    entries = []
    for response_name, (name, below) in fields.items():
        child = None
        if name not in table.columns and name not in ("id", "__typename"):
            child = _child_shape(table, name, below)
            if child is None:
                return None
        entries.append((response_name, name, child))
    return type_name, tuple(entries)


def _child_shape(table: Table, name: str, selections: Sequence[Selection]) -> Shape | None:
    """The shape below a field of ``table`` that is an object: a relation, a labelled
    value, the subpanels; None for any other field or selection."""
    if name in table.relations:
        return guess_shape(table.relations[name].target, selections)
    if name in table.labelled:
        return _leaves_shape(table.labelled[name].target, selections, ("value", "label"))
    if name == "subpanels" and table.panels is not None and _counted_at_once(table.panels):
        return _leaves_shape("Subpanel", selections, (*SUBPANEL_FIELDS, "totalCount"))
    return None


def _leaves_shape(
    type_name: str, selections: Sequence[Selection], leaves: Sequence[str]
) -> Shape | None:
    """The shape of a selection of some of ``leaves`` (and ``__typename``), else None."""
    fields: dict[str, tuple[str, list[Selection]]] = {}
    if not _collect(selections, fields):
        return None
    entries = tuple((response_name, name, None) for response_name, (name, _) in fields.items())
    if any(name not in leaves and name != "__typename" for _, name, _ in entries):
        return None
    return type_name, entries


def _counted_at_once(owner_type: OwnerType) -> bool:
    return all(panel.source.counted_at_once for panel in panels_of(owner_type))


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


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Compiling:
    """What a statement's SQL depends on besides the shape: the placeholder the
    organisation's id is bound to and the caller's locale (the labels)."""

    organization: str
    locale: str
    # The caller's panels of the record type, in their order: (key, collapsed) pairs,
    # their counts in the statement's ``panel_counts`` rows (part = the position here).
    panels: tuple[tuple[str, bool], ...] = ()


def _object_sql(shape: Shape, alias: str, depth: int, how: Compiling) -> str:
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
        elif name in table.labelled:
            value = _labelled_sql(
                f"{alias}.{table.column(table.labelled[name].column)}", child, how
            )
        elif name == "subpanels":
            value = _subpanels_sql(child, how)
        elif child is None:
            value = f"{alias}.{table.column(table.columns[name])}"
        else:
            value = _relation_sql(table, alias, table.relations[name], child, depth + 1, how)
        pairs += [f"'{response_name}'", value]
    return f"json_build_object({', '.join(pairs)})"


def _labelled_sql(column: str, shape: Shape, how: Compiling) -> str:
    """The value object of an enum column: its member's GraphQL name (strawberry's enum
    names are the members' names) and label, both looked up by the stored value."""
    type_name, entries = shape
    members = list(LABELLED[type_name])

    def case(text: Callable[[Any], str]) -> str:
        whens = " ".join(f"WHEN {_literal(m.value)} THEN {_literal(text(m))}" for m in members)
        return f"CASE {column} {whens} END"

    values = {
        "__typename": f"'{type_name}'",
        "value": case(lambda member: member.name),
        "label": case(lambda member: labels.lead_value(member.value, how.locale)),
    }
    pairs = [f"'{response_name}', {values[name]}" for response_name, name, _ in entries]
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE json_build_object({', '.join(pairs)}) END"


def _subpanels_sql(shape: Shape, how: Compiling) -> str:
    """The caller's panels of the page's record, each with its count (0 without rows)."""
    type_name, entries = shape
    panels = []
    for part, (key, collapsed) in enumerate(how.panels):
        values = {name: make(key, collapsed, how.locale) for name, make in SUBPANEL_FIELDS.items()}
        values["__typename"] = f"'{type_name}'"
        values["totalCount"] = f"coalesce(panel_totals.n{part}, 0)"
        pairs = [f"'{response_name}', {values[name]}" for response_name, name, _ in entries]
        panels.append(f"json_build_object({', '.join(pairs)})")
    return f"json_build_array({', '.join(panels)})"


def _relation_sql(
    parent: Table, parent_alias: str, relation: Relation, shape: Shape, depth: int, how: Compiling
) -> str:
    table, alias = TABLES[relation.target], f"t{depth}"
    conditions = [Scope.sql_condition(alias, how.organization)] + [
        f"{alias}.{table.column(column)} = {parent_alias}.{parent.column(key)}"
        for column, key in relation.on
    ]
    rows = f'FROM "{table.model._meta.db_table}" {alias} WHERE {" AND ".join(conditions)}'
    value = _object_sql(shape, alias, depth, how)
    if not relation.many:
        return f"(SELECT {value} {rows})"
    order = ", ".join(f"{alias}.{table.column(name)}" for name in relation.order)
    return f"(SELECT coalesce(json_agg({value} ORDER BY {order}), '[]'::json) {rows})"


@lru_cache(maxsize=256)
def _statement(shape: Shape, locale: str) -> str:
    """The JSON of each row of the shape's type whose id is in $2, in the organisation $1."""
    table = TABLES[shape[0]]
    return (
        f'SELECT t0."id", {_object_sql(shape, "t0", 0, Compiling("$1", locale))}::text '
        f'FROM "{table.model._meta.db_table}" t0 '
        f'WHERE {Scope.sql_condition("t0", "$1")} AND t0."id" = ANY($2::bigint[])'
    )


@lru_cache(maxsize=256)
def _page_statement(shape: Shape, how: Compiling, ids_sql: str, counts_sql: str) -> str:
    """The JSON of the rows ``ids_sql`` selects, in its order (an ARRAY of a subquery
    keeps the subquery's order), each level in the organisation ``how.organization``;
    ``counts_sql``, if any: the page's panel counts (owners in ``page``)."""
    table = TABLES[shape[0]]
    value = _object_sql(shape, "t0", 0, how)
    counts = joined = ""
    if counts_sql:  # one row per owner with rows, a column per panel (its part)
        columns = "".join(
            f", max(n) FILTER (WHERE part = {i}) AS n{i}" for i in range(len(how.panels))
        )
        counts = (
            f", panel_counts AS ({counts_sql}), panel_totals AS "
            f"(SELECT owner{columns} FROM panel_counts GROUP BY owner)"
        )
        joined = 'LEFT JOIN panel_totals ON panel_totals.owner = t0."id" '
    return (
        "WITH page AS (SELECT id, position "
        f"FROM unnest(ARRAY({ids_sql})) WITH ORDINALITY AS p(id, position)){counts} "
        f'SELECT t0."id", {value}::text FROM page '
        f'JOIN "{table.model._meta.db_table}" t0 ON t0."id" = page.id {joined}'
        f"WHERE {Scope.sql_condition('t0', how.organization)} ORDER BY page.position"
    )


def _json_by_shape(scope: Scope) -> DataLoader[tuple[Shape, str, tuple[int, ...]], dict[int, Any]]:
    """Rows' JSON by id for (shape, locale, ids) keys: one statement per shape for all the
    lists asked at once (concurrent resolvers of a nested level), as the dataloaders do."""

    async def load(keys: list[tuple[Shape, str, tuple[int, ...]]]) -> list[dict[int, Any]]:
        wanted: dict[tuple[Shape, str], set[int]] = {}
        for shape, locale, ids in keys:
            wanted.setdefault((shape, locale), set()).update(ids)
        found = {}
        for (shape, locale), members in wanted.items():
            db = TABLES[shape[0]].model._meta.db
            values = [scope.organization_id, list(members)]
            _, rows = await db.execute_query(_statement(shape, locale), values)
            found[shape, locale] = {row[0]: orjson.Fragment(row[1]) for row in rows}
        return [found[shape, locale] for shape, locale, _ in keys]

    return DataLoader(load_fn=load, cache=False)


def _compiled(type_name: str, selections: Sequence[Selection]) -> Shape | None:
    """The shape of ``selections`` when they compile on this database, else None."""
    table = TABLES.get(type_name)
    if table is None or table.model._meta.db.capabilities.dialect != "postgres":
        return None
    return guess_shape(type_name, selections)


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
    shape = _compiled(type_name, selections)
    if shape is None or _with_panels(shape):  # panels are counted in page statements only
        return None
    key = (shape, context.locale, tuple(ids))
    found = await context.loader(_json_by_shape).load(key)
    return [Prebuilt(found[i], shape, partial(load, i)) if i in found else None for i in ids]


@lru_cache(maxsize=256)
def _page_counts(
    scope: Scope, owner_type: OwnerType, keys: tuple[str, ...], start: int
) -> tuple[str, tuple[Any, ...]]:
    """The grouped COUNTs of these panels (their parts in this order) for the owners in
    the statement's ``page``, as the subpanel loaders count them (resolvers/subpanels/
    sources.py), placeholders numbered after ``start`` values; and their values. ''
    without panels. Rendered once per scope and layout."""
    if not keys:
        return "", ()
    parameters = ConstantTextInline()
    parameters.values.extend([None] * start)  # the page's own, numbered first
    owners = RawSQL("(SELECT id FROM page)")
    parts = [(panel_of(owner_type, key).source, owner_type.value, owners) for key in keys]
    sql = grouped_counts(scope, parts, parameters)
    return sql, tuple(parameters.values[start:])


def _with_panels(shape: Shape) -> bool:
    return any(name == "subpanels" for _, name, _ in shape[1])


PageFetch = Callable[[QuerySet[Any]], Awaitable[list[Any]]]


def page_fetch(
    context: Context,
    type_name: str,
    selections: Sequence[Selection] | None,
    load: Callable[[int], Awaitable[T]],
) -> PageFetch | None:
    """How ``paginate`` fetches a page of ``type_name`` as JSON for ``selections`` (the
    list resolver's own filtered, ordered and sliced queryset, its ids selected in one
    statement with their JSON), each node loading through ``load`` where it cannot be
    embedded; None when the selection is not compiled (the caller builds nodes)."""
    shape = None if selections is None else _compiled(type_name, selections)
    if shape is None:
        return None
    found_shape = shape
    owner_type = TABLES[type_name].panels
    layout: Layout | Awaitable[Layout] | None = None
    if owner_type is not None and _with_panels(shape):
        # Asked now: the caller's layout is read while the page's SQL is rendered (an API
        # key's is known: the page statement then goes out before the COUNT's).
        layout = layout_without_query(context.require_scope(), owner_type)
        if layout is None:
            layout = context.loader(panel_layouts).load(owner_type)

    async def fetch(page: QuerySet[Any]) -> list[Any]:
        scope = context.require_scope()
        ids = page.values_list("id", flat=True)
        ids._choose_db_if_not_chosen()  # what .sql() does, keeping the values
        ids._make_query()
        literal_limit(ids.query)
        # One parameterizer numbers the page's placeholders, then the counts' ($1 … $n).
        parameters = Parameterizer()
        ids_sql = ids.query.get_parameterized_sql(
            ids.query.QUERY_CLS.SQL_CONTEXT.copy(parameterizer=parameters)
        )[0]
        values = parameters.values
        panels: tuple[tuple[str, bool], ...] = ()
        counts_sql = ""
        if owner_type is not None and layout is not None:
            known = layout if isinstance(layout, Layout) else await layout
            panels = tuple((s.panel.key, s.collapsed) for s in known.panels)
            keys = tuple(key for key, _ in panels)
            counts_sql, counted = _page_counts(scope, owner_type, keys, len(values))
            values = [*values, *counted]
        how = Compiling(f"${len(values) + 1}", context.locale, panels)
        sql = _page_statement(found_shape, how, ids_sql, counts_sql)
        _, rows = await ids._db.execute_query(sql, [*values, scope.organization_id])
        return [
            Prebuilt(orjson.Fragment(row[1]), found_shape, partial(load, row[0])) for row in rows
        ]

    return fetch
