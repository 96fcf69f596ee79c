"""Exports in GraphQL: ``createExportLink`` (a signed URL for a browser), the
organisation's ``auditLog``, and the reading of an export's parameters — the list's own
GraphQL filter and order types, given as JSON — shared with the HTTP route.

Parameters (all optional; the same in the URL of ``/exports/{list}.csv``):
``filter`` the list's filter input as JSON, or ``selection`` ``{"ids": [...]}`` /
``{"filter": {...}, "excludeIds": [...]}``; ``order`` the list's ``orderBy`` value as JSON (an enum value may be given bare);
``columns`` column keys, comma-separated; ``lang`` ``fr`` (default) or ``en``; ``excel``
``1`` for ``;``-separated UTF-8 with a BOM.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import strawberry
from graphql import GraphQLError, coerce_input_value
from graphql.utilities.validate_input_value import validate_input_value
from strawberry.scalars import JSON
from strawberry.types.arguments import convert_argument

from resolvers.errors import ValidationFailed
from resolvers.exports import links
from resolvers.exports.audit import organization_log
from resolvers.exports.csv_export import ExportRequest
from resolvers.exports.lists import list_definition
from resolvers.labels import LOCALES
from resolvers.selections import Selection
from schema.audit import ChangeLogEntry
from schema.clients import Client, ClientFilter, ClientOrder, Contact, ContactFilter
from schema.context import Info
from schema.leads.inputs import LeadFilterInput, LeadOrderBy
from schema.leads.types import Lead
from schema.pagination import Connection, paginate
from schema.selections import selection_of
from schema.sessions.inputs import SessionFilter, SessionOrder
from schema.sessions.types import Session

PARAMETERS = ("filter", "selection", "order", "columns", "lang", "excel")


@dataclass(frozen=True)
class ListInputs:
    """A list's GraphQL argument types, and how they become the resolvers' values."""

    node: type  # the node type its ids are global IDs of
    filter_input: type
    to_filter: Callable[[Any], Any]
    order_input: Any | None  # an input type or an enum; None: the list has one order
    to_order: Callable[[Any], Any] = lambda order: order


INPUTS: dict[str, ListInputs] = {
    "leads": ListInputs(
        Lead, LeadFilterInput, lambda f: f.to_filter(), LeadOrderBy, lambda o: o.to_order()
    ),
    "sessions": ListInputs(Session, SessionFilter, lambda f: f.to_resolver(), SessionOrder),
    "clients": ListInputs(Client, ClientFilter, lambda f: f.to_resolver(), ClientOrder),
    "contacts": ListInputs(Contact, ContactFilter, lambda f: f.to_resolver(), None),
}


def _graphql_name(python_type: Any) -> str:
    definition = (
        getattr(python_type, "__strawberry_definition__", None) or python_type._enum_definition
    )
    return str(definition.name)


def _json(parameters: Mapping[str, str], name: str, *, bare_name: bool = False) -> Any:
    """The parameter's JSON value; with ``bare_name``, a name that is not JSON (an order
    such as ``TITLE_ASC``) stands for itself."""
    raw = parameters.get(name)
    if raw is None or raw == "":
        return None
    try:
        return json.loads(raw)
    except ValueError:
        if bare_name and raw.isidentifier():
            return raw
        raise ValidationFailed(f"{name} is not valid JSON", field=name) from None


def _coerced(schema: strawberry.Schema, value: Any, python_type: Any, field: str) -> Any:
    """``value`` (JSON) as the GraphQL argument of ``python_type`` would be: validated by
    graphql-core exactly as a query's variables are, then converted by strawberry."""
    graphql_type = schema._schema.get_type(_graphql_name(python_type))
    assert graphql_type is not None
    errors: list[str] = []

    def on_error(error: GraphQLError, path: Any) -> None:
        errors.append(error.message)

    validate_input_value(value, graphql_type, on_error)  # type: ignore[arg-type]
    if errors:
        raise ValidationFailed(f"{field}: {errors[0]}", field=field)
    coerced = coerce_input_value(value, graphql_type)  # type: ignore[arg-type]
    return convert_argument(
        coerced, python_type, schema.schema_converter.scalar_registry, schema.config
    )


def _ids(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
        raise ValidationFailed(f"{field} must be a list of IDs", field=field)
    return value


def export_request(
    schema: strawberry.Schema, list_name: str, parameters: Mapping[str, str]
) -> ExportRequest:
    """The export of ``list_name`` that ``parameters`` describe; a bad one is refused
    with the parameter it concerns."""
    definition = list_definition(list_name)
    inputs = INPUTS[definition.name]

    def filter_of(value: Any, field: str) -> Any:
        if value is None:
            return definition.default_filter
        return inputs.to_filter(_coerced(schema, value, inputs.filter_input, field))

    filter_value, given = _json(parameters, "filter"), _json(parameters, "selection")
    if given is not None and filter_value is not None:
        raise ValidationFailed("give filter or selection, not both", field="selection")
    if given is None:
        selection: Selection[Any] = Selection(filter=filter_of(filter_value, "filter"))
    elif not isinstance(given, dict):
        raise ValidationFailed("selection must be an object", field="selection")
    else:
        ids = given.get("ids")
        selection = selection_of(
            inputs.node,
            None if ids is None else _ids(ids, "selection.ids"),
            None if ids is not None else filter_of(given.get("filter") or {}, "selection.filter"),
            _ids(given.get("excludeIds") or [], "selection.excludeIds"),
        )
    order_value = _json(parameters, "order", bare_name=True)
    if inputs.order_input is None and order_value is not None:
        raise ValidationFailed(f"the {definition.name} list has one order only", field="order")
    order = (
        definition.default_order
        if order_value is None
        else inputs.to_order(_coerced(schema, order_value, inputs.order_input, "order"))
    )
    keys = [key.strip() for key in parameters.get("columns", "").split(",") if key.strip()]
    locale = parameters.get("lang") or "fr"
    if locale not in LOCALES:
        raise ValidationFailed(f"lang must be one of {', '.join(LOCALES)}", field="lang")
    described = {
        "filter": filter_value,
        "selection": given,
        "order": order_value,
        "columns": keys,
    }
    return ExportRequest(
        definition=definition,
        selection=selection,
        order=order,
        columns=definition.chosen(keys),
        locale=locale,
        excel=parameters.get("excel", "") in ("1", "true"),
        described={key: value for key, value in described.items() if value},
    )


@strawberry.enum
class ExportList(StrEnum):
    LEADS = "leads"
    SESSIONS = "sessions"
    CLIENTS = "clients"
    CONTACTS = "contacts"


@strawberry.enum
class ExportFormat(StrEnum):
    CSV = "csv"
    PDF = "pdf"


@strawberry.type
class ExportLink:
    url: str = strawberry.field(description="Opens the download without a Bearer header.")
    expires_at: datetime


def _parameter(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


@strawberry.type
class Query:
    @strawberry.field(
        description="The organisation's own log (exports, prints): who, what, when; newest first."
    )
    async def audit_log(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ChangeLogEntry]:
        qs = organization_log(info.context.require_scope())
        return await paginate(qs, first, after, ChangeLogEntry.from_row)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="A signed URL of an export (CSV) or print (PDF) of a list, valid 5 minutes, "
        "for the calling user and this selection only. selection and orderBy take the same "
        "JSON as the URL's selection and order parameters."
    )
    def create_export_link(
        self,
        info: Info,
        list: ExportList,
        selection: JSON | None = None,
        order_by: JSON | None = None,
        format: ExportFormat = ExportFormat.CSV,
        columns: list[str] | None = None,
        lang: str = "fr",
        excel: bool = False,
    ) -> ExportLink:
        scope = info.context.require_scope()
        parameters = {
            "selection": "" if selection is None else _parameter(selection),
            "order": "" if order_by is None else _parameter(order_by),
            "columns": ",".join(columns or ()),
            "lang": lang,
            "excel": "1" if excel else "",
        }
        parameters = {key: value for key, value in parameters.items() if value}
        export_request(info.schema, list.value, parameters)  # refused now if it would be later
        path = links.list_path(list.value, format.value)
        url, expires_at = links.signed_link(scope, path, parameters)
        return ExportLink(url=url, expires_at=expires_at)
