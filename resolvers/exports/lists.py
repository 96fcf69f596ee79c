"""The exportable lists (leads, sessions, clients, contacts): one definition each, shared by
the CSV export and the PDF print.

A definition says which records (the GraphQL list's own queryset, filter and order
types), which columns (the list's columns, with their French and English headers and
their ``Display``) and how a row's cells are computed: the columns' model fields are read
in batches (``rows.py``), then ``related`` loads what a batch's labels need (users,
clients, session clients) in a few statements, and each column turns a row into its cell
text. Each column also says the same computation as an SQL expression (``Column.sql``),
for PostgreSQL to write the CSV itself (``server_csv``); ``tests/test_exports_copy.py``
holds the two to the same bytes.

The CSV writes a cell as it is computed, for a spreadsheet to parse in any locale:
numbers plain (``12``), dates ``YYYY-MM-DD`` and datetimes ``YYYY-MM-DD HH:MM:SS`` in the
organisation's time zone (the forms Excel, LibreOffice and Google Sheets all read as a
date and time; the API's ISO text with its ``T``, microseconds and offset stays text in
Excel), enumerations by their label in the export's language. A print shows the same
cells as a reader expects them (``printed``): 03/12/2026 14:05 in French.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from operator import itemgetter
from typing import Any, Generic, TypeVar, cast

from babel.numbers import format_decimal
from tortoise.queryset import QuerySet

from models.base import TenantModel
from models.core import User
from models.leads import Lead
from models.sessions import Client, ConfirmationState, Contact, SessionClient, TrainingSession
from resolvers import dataloaders, labels
from resolvers.clients import (
    ClientFilter,
    ClientOrder,
    ContactFilter,
    clients_query,
    contacts_query,
)
from resolvers.confirmation.history import confirmation_label
from resolvers.context import Scope
from resolvers.errors import ValidationFailed
from resolvers.leads.listing import LeadFilter, LeadOrder, list_leads
from resolvers.sessions.listing import SessionFilter, SessionOrder, sessions_query

F = TypeVar("F")  # the list's filter type
S = TypeVar("S")  # the list's sort (order) type
Row = Mapping[str, Any]  # one record's model fields, by field name


class Display(StrEnum):
    """What a column's cells are: how a print shows them, whether a spreadsheet could
    run them. The CSV keeps the cell as computed (see the module's docstring)."""

    TEXT = "text"  # free text a user typed (or a name): neutralised in the CSV
    LABEL = "label"  # an id, or a label the system wrote: shown as is
    NUMBER = "number"  # an integer: grouped by thousands in a print
    DATE = "date"  # YYYY-MM-DD
    DATETIME = "datetime"  # YYYY-MM-DD HH:MM:SS, in the organisation's time zone


def _printed_datetime(day: Callable[[str], str]) -> Callable[[str], str]:
    # To the minute, as the record prints and the emails show a moment.
    return lambda cell: f"{day(cell[:10])} {cell[11:16]}" if cell else ""


def _printed_number(locale: str) -> Callable[[str], str]:
    return lambda cell: format_decimal(int(cell), locale=locale) if cell else ""


def printed(display: Display, locale: str) -> Callable[[str], str] | None:
    """How a print shows a cell of ``display`` in ``locale`` (None: as it is), the way
    the record prints do (``resolvers.prints.records.Printing``): 03/12/2026 14:05 in
    French, 2026-12-03 14:05 in English."""
    day = labels.DATE_FORMAT[labels.locale_of(locale)]
    if display is Display.DATE:
        return lambda cell: day(cell) if cell else ""
    if display is Display.DATETIME:
        return _printed_datetime(day)
    if display is Display.NUMBER:
        return _printed_number(labels.locale_of(locale))
    return None


@dataclass(frozen=True)
class Batch:
    """What the cells of one batch of rows need beyond the rows themselves."""

    locale: str
    time_zone: str  # the organisation's
    related: Any = None  # the list's own lookups (``ListDefinition.related``)


Cells = Callable[[Sequence[Row], "Batch"], list[str]]
# What a free-text cell a spreadsheet would run as a formula starts with (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def sql_literal(text: str) -> str:
    """``text`` as an SQL string constant (standard_conforming_strings, PostgreSQL's
    default: only the quote is special)."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class CellSql:
    """What a column's SQL expression is written against, where the server writes the CSV
    itself (``server_csv``): the list's table, the export's language, the organisation
    (its lookups are scoped with ``Scope.sql_condition``), and ``cell``, which turns the
    text of a value into its cell (neutralised if the column is free text, NULL when
    empty, since COPY writes an empty text as ``""``)."""

    model: type[TenantModel]
    locale: str
    organization_id: int
    cell: Callable[[str], str]

    def field(self, name: str) -> str:
        return f'"{self.model._meta.db_table}"."{name}"'


# The text of a field of each display, as the rows' Python path writes it (``lists``'
# docstring); datetimes in the connection's zone, the organisation's.
FIELD_SQL = {
    Display.TEXT: "{}",
    Display.LABEL: "{}::text",
    Display.NUMBER: "{}::text",
    Display.DATE: "to_char({}, 'YYYY-MM-DD')",
    Display.DATETIME: "to_char({}, 'YYYY-MM-DD HH24:MI:SS')",
}


@dataclass(frozen=True)
class Column:
    key: str  # camelCase: what ``columns=`` names; the GraphQL list field it shows
    fr: str
    en: str
    reads: tuple[str, ...]  # the model fields its cells are computed from
    # Its cell in each row of a batch: a column at a time, a comprehension per batch
    # rather than a call per cell (100,000 rows × 14 columns is the export's hot loop).
    cells: Cells
    display: Display
    looks_up: bool = False  # its cells read the batch's lookups (``ListDefinition.related``)
    # The same cells computed by the server, as an SQL expression (None: Python only).
    sql: Callable[[CellSql], str] | None = None

    @property
    def user_text(self) -> bool:
        """Free text: a spreadsheet could run it as a formula (typed values and labels
        cannot start with one, and a negative number is not one)."""
        return self.display is Display.TEXT

    def header(self, locale: str) -> str:
        return self.en if labels.locale_of(locale) == "en" else self.fr


def field_column(
    key: str,
    fr: str,
    en: str,
    name: str,
    display: Display = Display.TEXT,
    label: Callable[[Any, str], str] | None = None,
) -> Column:
    """A column of the model field ``name``: empty when null; free text as typed; an
    enumeration by its ``label`` in the export's language; a number, date or datetime as
    ``rows.record_batches`` reads it (text already: dates and datetimes as the module's
    docstring says)."""
    value_of = itemgetter(name)
    if label is not None:
        label_of = cache(label)  # a handful of values, looked up once each

        def cells(rows: Sequence[Row], batch: Batch) -> list[str]:
            locale = batch.locale
            return [label_of(value, locale) if (value := row[name]) else "" for row in rows]

    elif display in (Display.TEXT, Display.DATE, Display.DATETIME):

        def cells(rows: Sequence[Row], batch: Batch) -> list[str]:
            # map and itemgetter loop in C; a column seldom holds a null
            values = list(map(value_of, rows))
            return [value or "" for value in values] if None in values else values

    else:

        def cells(rows: Sequence[Row], batch: Batch) -> list[str]:
            values = list(map(value_of, rows))
            if None in values:
                return ["" if value is None else str(value) for value in values]
            return list(map(str, values))

    def sql(on: CellSql) -> str:
        if label is None:
            return on.cell(FIELD_SQL[display].format(on.field(name)))
        values = on.model._meta.fields_map[name].enum_type  # type: ignore[attr-defined]
        whens = " ".join(
            f"WHEN {sql_literal(value.value)} THEN {sql_literal(label_of(value.value, on.locale))}"
            for value in values
        )
        return on.cell(f"CASE {on.field(name)} {whens} END")

    return Column(key, fr, en, (name,), cells, display, sql=sql)


def labelled(key: str, fr: str, en: str, name: str, label: Callable[[Any, str], str]) -> Column:
    return field_column(key, fr, en, name, Display.LABEL, label)


@dataclass(frozen=True)
class NameSql:
    """How the server names a record of ``model``: ``name``, an SQL expression over its
    columns (the table aliased ``found``), as ``related``'s Python names it."""

    model: type[TenantModel]
    name: str

    def of(self, on: CellSql, id_field: str) -> str:
        """The name of the record whose id is in ``id_field`` (NULL when none), looked up
        in the organisation's names (scoped as ``related``'s lookups are) gathered once
        per statement: a subquery per row cost more than the rest of the row, and kept
        the cells out of PostgreSQL's parallel workers."""
        scoped = Scope.sql_condition("found", str(int(on.organization_id)))
        names = (
            f'SELECT jsonb_object_agg(found."id"::text, {on.cell(self.name)})'
            f' FROM "{self.model._meta.db_table}" AS found WHERE {scoped}'
        )
        return f"(({names}) ->> {on.field(id_field)}::text)"


def looked_up(
    key: str, fr: str, en: str, name: str, named: NameSql, part: str | None = None
) -> Column:
    """A column of the name ``related`` found for the id in ``name`` (empty when none);
    ``named``: the same name in SQL; ``part``: the attribute of the lookups that holds
    them, when the list has several."""

    def cells(rows: Sequence[Row], batch: Batch) -> list[str]:
        found = batch.related if part is None else getattr(batch.related, part)
        return [found.get(row[name], "") for row in rows]

    def sql(on: CellSql) -> str:
        return named.of(on, name)

    return Column(key, fr, en, (name,), cells, Display.TEXT, looks_up=True, sql=sql)


def table(columns: Sequence[Column], rows: Sequence[Row], batch: Batch) -> list[tuple[str, ...]]:
    """The cells of ``rows`` as a print shows them, a tuple per row in the order of
    ``columns``."""
    shown: list[list[str]] = []
    for column in columns:
        cells = column.cells(rows, batch)
        show = printed(column.display, batch.locale)
        shown.append(cells if show is None else [show(cell) for cell in cells])
    return list(zip(*shown, strict=True))


@dataclass(frozen=True)
class ListDefinition(Generic[F, S]):
    name: str  # in the URL (/exports/{name}.csv) and the audit log
    model: type[TenantModel]
    columns: tuple[Column, ...]
    query: Callable[[Scope, F, S], QuerySet[Any]]  # the GraphQL list's queryset
    default_filter: F
    # The filter an id selection is read through: every record of the type, so that a
    # given id is exported even where the list hides it by default (deleted leads).
    all_records: F
    default_order: S
    related: Callable[[Scope, Sequence[Row]], Awaitable[Any]] | None = None
    related_reads: tuple[str, ...] = ()  # the fields ``related`` reads from the rows
    by_key: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_key", {column.key: column for column in self.columns})

    def chosen(self, keys: Sequence[str] | None) -> tuple[Column, ...]:
        """The columns named by ``keys`` in that order (every column when none given)."""
        if not keys:
            return self.columns
        unknown = [key for key in keys if key not in self.by_key]
        if unknown:
            raise ValidationFailed(
                f"unknown column(s) {', '.join(unknown)}; the {self.name} columns are "
                + ", ".join(self.by_key),
                field="columns",
            )
        return tuple(self.by_key[key] for key in dict.fromkeys(keys))

    def reads(self, columns: Sequence[Column]) -> tuple[str, ...]:
        """The model fields to read for ``columns`` (always the id first)."""
        related = self.related_reads if any(c.looks_up for c in columns) else ()
        names = dict.fromkeys(("id", *(name for c in columns for name in c.reads), *related))
        return tuple(names)

    async def batch(
        self,
        scope: Scope,
        rows: Sequence[Row],
        columns: Sequence[Column],
        locale: str,
        time_zone: str,
    ) -> Batch:
        """What the cells of ``columns`` need for ``rows``: their lookups only if a column
        reads them."""
        looks_up = self.related is not None and any(c.looks_up for c in columns)
        related = await self.related(scope, rows) if self.related and looks_up else None
        return Batch(labels.locale_of(locale), time_zone, related)


async def organization_time_zone(scope: Scope) -> str:
    """The zone an export writes its datetimes in (the organisation's)."""
    zones = await dataloaders.organization_time_zone(scope).load_fn([scope.organization_id])
    return str(zones[0])


# ---- Lookups a batch's cells need (a statement or two per batch, never one per row) ----


async def _names(
    scope: Scope,
    model: type[TenantModel],
    rows: Sequence[Row],
    field_name: str,
    reads: tuple[str, ...],
    name: Callable[..., str],
) -> dict[int, str]:
    """The records of ``model`` whose ids the rows hold in ``field_name``, by id: each
    shown by ``name`` of its ``reads``."""
    ids = {row[field_name] for row in rows if row[field_name] is not None}
    if not ids:
        return {}
    found = await scope.query(model).filter(id__in=ids).values_list("id", *reads)
    return {pk: name(*values) for pk, *values in found}


def _user_names(scope: Scope, rows: Sequence[Row], field_name: str) -> Awaitable[dict[int, str]]:
    """Users by id, shown by full name, else email (``USER_NAME`` in SQL)."""
    return _names(scope, User, rows, field_name, ("full_name", "email"), lambda n, e: n or e)


USER_NAME = NameSql(User, "coalesce(nullif(found.full_name, ''), found.email)")
# Spaces only are trimmed, the same in both: Python's strip() and SQL's btrim() differ on
# other white space.
CONTACT_NAME = NameSql(Contact, "btrim(found.first_name || ' ' || found.last_name, ' ')")
CLIENT_NAME = NameSql(Client, "found.name")


async def _assignees(scope: Scope, rows: Sequence[Row]) -> dict[int, str]:
    return await _user_names(scope, rows, "assigned_user_id")


async def _main_contacts(scope: Scope, rows: Sequence[Row]) -> dict[int, str]:
    return await _names(
        scope,
        Contact,
        rows,
        "main_contact_id",
        ("first_name", "last_name"),
        lambda first, last: f"{first} {last}".strip(" "),  # as CONTACT_NAME
    )


async def _client_names(scope: Scope, rows: Sequence[Row]) -> dict[int, str]:
    return await _names(scope, Client, rows, "client_id", ("name",), str)


@dataclass(frozen=True)
class SessionLookups:
    owners: dict[int, str]
    # per session: (client name, its "Etat confirmation" label source) in enrolment order
    clients: dict[int, list[tuple[str, dataloaders.SessionClientRecord]]]


async def _session_lookups(scope: Scope, rows: Sequence[Row]) -> SessionLookups:
    session_ids = [row["id"] for row in rows]
    # The loaders' batch functions return values, never per-key exceptions.
    per_session = cast(
        "Sequence[list[dataloaders.SessionClientRecord]]",
        await dataloaders.session_clients_by_session(scope).load_fn(session_ids),
    )
    client_ids = list({sc.client_id for group in per_session for sc in group})
    client_rows = await dataloaders.clients_by_id(scope).load_fn(client_ids) if client_ids else []
    names = {c.id: c.name for c in client_rows if isinstance(c, dataloaders.ClientRecord)}
    return SessionLookups(
        owners=await _user_names(scope, rows, "owner_id"),
        clients={
            session_id: [(names.get(sc.client_id, ""), sc) for sc in group]
            for session_id, group in zip(session_ids, per_session, strict=True)
        },
    )


def _session_clients_cells(rows: Sequence[Row], batch: Batch) -> list[str]:
    """Each client with the label of its "Etat confirmation" column, in enrolment order,
    a line each."""
    lookups: SessionLookups = batch.related
    return [
        "\n".join(
            f"{name} : {confirmation_label(sc, batch.time_zone, batch.locale)}"
            for name, sc in lookups.clients.get(row["id"], [])
        )
        for row in rows
    ]


def _confirmation_label_sql(locale: str) -> str:
    """``confirmation_label`` of the session client aliased ``sc`` in SQL: its state's
    template with its dates filled in (dates in the connection's zone, the organisation's;
    "—" for none, as ``labels.format_date``)."""
    day = labels.SQL_DATE_FORMAT[locale]
    dates = {
        "{sent}": f"coalesce(to_char(sc.\"confirmation_sent_at\", '{day}'), '—')",
        "{deadline}": f"coalesce(to_char(sc.\"confirmation_deadline\", '{day}'), '—')",
        "{answered}": f"coalesce(to_char(sc.\"confirmation_answered_at\", '{day}'), '—')",
    }
    whens = []
    for state in ConfirmationState:
        template = labels.CONFIRMATION_STATE[locale][state]
        label = sql_literal(template)
        for placeholder, text in dates.items():
            if placeholder in template:
                label = f"replace({label}, '{placeholder}', {text})"
        whens.append(f"WHEN {sql_literal(state.value)} THEN {label}")
    return f'CASE sc."confirmation_state" {" ".join(whens)} END'


def _session_clients_sql(on: CellSql) -> str:
    """``_session_clients_cells`` in SQL: the session's clients (of the organisation, as
    the loaders scope them) in enrolment order, a line each."""
    organization = str(int(on.organization_id))
    line = f"coalesce(client.\"name\", '') || ' : ' || {_confirmation_label_sql(on.locale)}"
    # PostgreSQL computes the same aggregate once, however often ``cell`` repeats it.
    lines = f"string_agg({line}, E'\\n' ORDER BY sc.\"id\")"
    return (
        f'(SELECT {on.cell(lines)} FROM "{SessionClient._meta.db_table}" AS sc'
        f' LEFT JOIN "{Client._meta.db_table}" AS client ON client."id" = sc."client_id"'
        f" AND {Scope.sql_condition('client', organization)}"
        f' WHERE sc."session_id" = {on.field("id")}'
        f" AND {Scope.sql_condition('sc', organization)})"
    )


# ---- The lists ----------------------------------------------------------------------

ID = field_column("id", "ID", "ID", "id", Display.LABEL)

LEADS: ListDefinition[LeadFilter, LeadOrder] = ListDefinition(
    name="leads",
    model=Lead,
    columns=(
        ID,
        field_column("firstName", "Prénom", "First name", "first_name"),
        field_column("lastName", "Nom", "Last name", "last_name"),
        field_column("email", "E-mail", "Email", "email"),
        labelled("status", "Statut", "Status", "status", labels.lead_value),
        field_column("accountName", "Nom du compte", "Account name", "account_name"),
        labelled(
            "waitlistStatus",
            "Statut liste d'attente",
            "Waiting list status",
            "waitlist_status",
            labels.lead_value,
        ),
        field_column(
            "waitlistProductCode", "Code produit", "Product code", "waitlist_product_code"
        ),
        field_column(
            "waitlistDateAdded",
            "Date d'ajout",
            "Date added",
            "waitlist_date_added",
            Display.DATETIME,
        ),
        field_column(
            "waitlistEmailsSent",
            "E-mails envoyés",
            "Emails sent",
            "waitlist_emails_sent",
            Display.NUMBER,
        ),
        field_column("sourceSystem", "Système source", "Source system", "source_system"),
        looked_up("assignedUser", "Assigné à", "Assigned to", "assigned_user_id", USER_NAME),
        field_column(
            "createdAt", "Date de création", "Date created", "created_at", Display.DATETIME
        ),
        field_column(
            "updatedAt", "Date de modification", "Date modified", "updated_at", Display.DATETIME
        ),
    ),
    query=list_leads,
    default_filter=LeadFilter(),
    all_records=LeadFilter(include_deleted=True),
    default_order=LeadOrder(),
    related=_assignees,
    related_reads=("assigned_user_id",),
)

SESSIONS: ListDefinition[SessionFilter, SessionOrder] = ListDefinition(
    name="sessions",
    model=TrainingSession,
    columns=(
        ID,
        field_column("reference", "Référence", "Reference", "reference"),
        field_column("title", "Intitulé", "Title", "title"),
        field_column("productCode", "Code produit", "Product code", "product_code"),
        field_column("location", "Lieu", "Location", "location"),
        labelled("status", "Statut", "Status", "status", labels.session_status),
        field_column("firstDate", "Première date", "First date", "first_date", Display.DATE),
        field_column("lastDate", "Dernière date", "Last date", "last_date", Display.DATE),
        looked_up("owner", "Responsable", "Owner", "owner_id", USER_NAME, part="owners"),
        labelled(
            "confirmationSummary",
            "confirmation dates Client",
            "Client date confirmation",
            "confirmation_summary",
            labels.confirmation_summary,
        ),
        Column(
            "clients",
            "Clients (Etat confirmation)",
            "Clients (confirmation state)",
            ("id",),
            _session_clients_cells,
            Display.TEXT,
            looks_up=True,
            sql=_session_clients_sql,
        ),
    ),
    query=sessions_query,
    default_filter=SessionFilter(),
    all_records=SessionFilter(),
    default_order=SessionOrder.FIRST_DATE_ASC,
    related=_session_lookups,
    related_reads=("owner_id",),
)

CLIENTS: ListDefinition[ClientFilter, ClientOrder] = ListDefinition(
    name="clients",
    model=Client,
    columns=(
        ID,
        field_column("name", "Nom", "Name", "name"),
        field_column("address", "Adresse", "Address", "address"),
        field_column("siret", "SIRET", "SIRET", "siret"),
        looked_up(
            "mainContact", "Contact principal", "Main contact", "main_contact_id", CONTACT_NAME
        ),
    ),
    query=clients_query,
    default_filter=ClientFilter(),
    all_records=ClientFilter(),
    default_order=ClientOrder.NAME_ASC,
    related=_main_contacts,
    related_reads=("main_contact_id",),
)


def _contacts_query(scope: Scope, where: ContactFilter, order: None) -> QuerySet[Contact]:
    return contacts_query(scope, where)  # one order only: by last then first name


CONTACTS: ListDefinition[ContactFilter, None] = ListDefinition(
    name="contacts",
    model=Contact,
    columns=(
        ID,
        field_column("lastName", "Nom", "Last name", "last_name"),
        field_column("firstName", "Prénom", "First name", "first_name"),
        field_column("email", "E-mail", "Email", "email"),
        field_column("phone", "Téléphone", "Phone", "phone"),
        field_column("jobTitle", "Fonction", "Job title", "job_title"),
        looked_up("client", "Client", "Client", "client_id", CLIENT_NAME),
    ),
    query=_contacts_query,
    default_filter=ContactFilter(),
    all_records=ContactFilter(),
    default_order=None,
    related=_client_names,
    related_reads=("client_id",),
)

LISTS: dict[str, ListDefinition[Any, Any]] = {
    definition.name: definition for definition in (LEADS, SESSIONS, CLIENTS, CONTACTS)
}


def list_definition(name: str) -> ListDefinition[Any, Any]:
    try:
        return LISTS[name]
    except KeyError:
        raise ValidationFailed(
            f"unknown list {name!r}; one of {', '.join(LISTS)}", field="list"
        ) from None
