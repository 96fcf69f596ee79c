"""The exportable lists (leads, sessions, clients, contacts): one definition each, shared by
the CSV export and the PDF print.

A definition says which records (the GraphQL list's own queryset, filter and order
types), which columns (the list's columns, with their French and English headers) and how
a row's cells are computed: the columns' model fields are read in batches (``rows.py``),
then ``related`` loads what a batch's labels need (users, clients, session clients) in a
few statements, and each column turns a row into its cell text. Values are written as
the API shows them (ISO dates and datetimes, numbers as they are) except enumerations,
which show their label in the export's language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any, Generic, TypeVar, cast

from tortoise.queryset import QuerySet

from models.base import TenantModel
from models.core import User
from models.leads import Lead
from models.sessions import Client, Contact, TrainingSession
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
ISO = (date, datetime)  # written in ISO 8601, as the API writes them


@dataclass(frozen=True)
class Batch:
    """What the cells of one batch of rows need beyond the rows themselves."""

    locale: str
    related: Any = None  # the list's own lookups (``ListDefinition.related``)


Cells = Callable[[Sequence[Row], "Batch"], list[str]]


@dataclass(frozen=True)
class Column:
    key: str  # camelCase: what ``columns=`` names; the GraphQL list field it shows
    fr: str
    en: str
    reads: tuple[str, ...]  # the model fields its cells are computed from
    # Its cell in each row of a batch: a column at a time, a comprehension per batch
    # rather than a call per cell (100,000 rows × 14 columns is the export's hot loop).
    cells: Cells
    # Free text a user typed: a spreadsheet could run it as a formula (typed values and
    # labels cannot start with one, and a negative number is not one).
    user_text: bool = False
    looks_up: bool = False  # its cells read the batch's lookups (``ListDefinition.related``)

    def header(self, locale: str) -> str:
        return self.en if labels.locale_of(locale) == "en" else self.fr


def text(key: str, fr: str, en: str, name: str) -> Column:
    """A column of free text as typed (never null: the text fields default to "")."""
    return Column(
        key, fr, en, (name,), lambda rows, _: [row[name] or "" for row in rows], user_text=True
    )


def typed(key: str, fr: str, en: str, name: str) -> Column:
    """A column of a number, date or datetime as the API writes it (ISO 8601 dates)."""

    def cells(rows: Sequence[Row], _: Batch) -> list[str]:
        return [
            ""
            if (value := row[name]) is None
            else value.isoformat()
            if isinstance(value, ISO)
            else str(value)
            for row in rows
        ]

    return Column(key, fr, en, (name,), cells)


def labelled(key: str, fr: str, en: str, name: str, label: Callable[[Any, str], str]) -> Column:
    """A column of an enumeration field shown by its label (empty when null)."""
    label_of = cache(label)  # a handful of values, looked up once each

    def cells(rows: Sequence[Row], batch: Batch) -> list[str]:
        locale = batch.locale
        return [label_of(value, locale) if (value := row[name]) else "" for row in rows]

    return Column(key, fr, en, (name,), cells)


def looked_up(key: str, fr: str, en: str, name: str) -> Column:
    """A column of what ``related`` found for the id in ``name`` (empty when none)."""

    def cells(rows: Sequence[Row], batch: Batch) -> list[str]:
        found = batch.related
        return [found.get(row[name], "") for row in rows]

    return Column(key, fr, en, (name,), cells, user_text=True, looks_up=True)


def table(columns: Sequence[Column], rows: Sequence[Row], batch: Batch) -> list[tuple[str, ...]]:
    """The cells of ``rows``, a tuple per row in the order of ``columns``."""
    return list(zip(*(column.cells(rows, batch) for column in columns), strict=True))


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
        self, scope: Scope, rows: Sequence[Row], columns: Sequence[Column], locale: str
    ) -> Batch:
        """What the cells of ``columns`` need for ``rows``: their lookups only if a column
        reads them."""
        looks_up = self.related is not None and any(c.looks_up for c in columns)
        related = await self.related(scope, rows) if self.related and looks_up else None
        return Batch(labels.locale_of(locale), related)


# ---- Lookups a batch's cells need (a statement or two per batch, never one per row) ----


async def _user_names(scope: Scope, ids: set[int]) -> dict[int, str]:
    """Users by id, shown by full name, else email."""
    if not ids:
        return {}
    users = await scope.query(User).filter(id__in=ids).values_list("id", "full_name", "email")
    return {pk: name or email for pk, name, email in users}


def _ids(rows: Sequence[Row], name: str) -> set[int]:
    return {row[name] for row in rows if row[name] is not None}


async def _assignees(scope: Scope, rows: Sequence[Row]) -> dict[int, str]:
    return await _user_names(scope, _ids(rows, "assigned_user_id"))


@dataclass(frozen=True)
class SessionLookups:
    owners: dict[int, str]
    # per session: (client name, its "Etat confirmation" label source) in enrolment order
    clients: dict[int, list[tuple[str, dataloaders.SessionClientRecord]]]
    time_zone: str


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
    zones = await dataloaders.organization_time_zone(scope).load_fn([scope.organization_id])
    return SessionLookups(
        owners=await _user_names(scope, _ids(rows, "owner_id")),
        clients={
            session_id: [(names.get(sc.client_id, ""), sc) for sc in group]
            for session_id, group in zip(session_ids, per_session, strict=True)
        },
        time_zone=str(zones[0]),
    )


def _session_clients_cells(rows: Sequence[Row], batch: Batch) -> list[str]:
    """Each client with the label of its "Etat confirmation" column, in enrolment order,
    a line each."""
    lookups: SessionLookups = batch.related
    return [
        "\n".join(
            f"{name} : {confirmation_label(sc, lookups.time_zone, batch.locale)}"
            for name, sc in lookups.clients.get(row["id"], [])
        )
        for row in rows
    ]


async def _main_contacts(scope: Scope, rows: Sequence[Row]) -> dict[int, str]:
    ids = _ids(rows, "main_contact_id")
    if not ids:
        return {}
    contacts = (
        await scope.query(Contact).filter(id__in=ids).values_list("id", "first_name", "last_name")
    )
    return {pk: f"{first} {last}".strip() for pk, first, last in contacts}


async def _client_names(scope: Scope, rows: Sequence[Row]) -> dict[int, str]:
    ids = _ids(rows, "client_id")
    if not ids:
        return {}
    return dict(await scope.query(Client).filter(id__in=ids).values_list("id", "name"))


def _owner_cells(rows: Sequence[Row], batch: Batch) -> list[str]:
    owners = batch.related.owners
    return [owners.get(row["owner_id"], "") for row in rows]


# ---- The lists ----------------------------------------------------------------------

ID = Column("id", "ID", "ID", ("id",), lambda rows, _: [str(row["id"]) for row in rows])

LEADS: ListDefinition[LeadFilter, LeadOrder] = ListDefinition(
    name="leads",
    model=Lead,
    columns=(
        ID,
        text("firstName", "Prénom", "First name", "first_name"),
        text("lastName", "Nom", "Last name", "last_name"),
        text("email", "E-mail", "Email", "email"),
        labelled("status", "Statut", "Status", "status", labels.lead_value),
        text("accountName", "Nom du compte", "Account name", "account_name"),
        labelled(
            "waitlistStatus",
            "Statut liste d'attente",
            "Waiting list status",
            "waitlist_status",
            labels.lead_value,
        ),
        text("waitlistProductCode", "Code produit", "Product code", "waitlist_product_code"),
        typed("waitlistDateAdded", "Date d'ajout", "Date added", "waitlist_date_added"),
        typed("waitlistEmailsSent", "E-mails envoyés", "Emails sent", "waitlist_emails_sent"),
        text("sourceSystem", "Système source", "Source system", "source_system"),
        looked_up("assignedUser", "Assigné à", "Assigned to", "assigned_user_id"),
        typed("createdAt", "Date de création", "Date created", "created_at"),
        typed("updatedAt", "Date de modification", "Date modified", "updated_at"),
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
        text("reference", "Référence", "Reference", "reference"),
        text("title", "Intitulé", "Title", "title"),
        text("productCode", "Code produit", "Product code", "product_code"),
        text("location", "Lieu", "Location", "location"),
        labelled("status", "Statut", "Status", "status", labels.session_status),
        typed("firstDate", "Première date", "First date", "first_date"),
        typed("lastDate", "Dernière date", "Last date", "last_date"),
        Column("owner", "Responsable", "Owner", ("owner_id",), _owner_cells, True, looks_up=True),
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
            user_text=True,
            looks_up=True,
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
        text("name", "Nom", "Name", "name"),
        text("address", "Adresse", "Address", "address"),
        text("siret", "SIRET", "SIRET", "siret"),
        looked_up("mainContact", "Contact principal", "Main contact", "main_contact_id"),
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
        text("lastName", "Nom", "Last name", "last_name"),
        text("firstName", "Prénom", "First name", "first_name"),
        text("email", "E-mail", "Email", "email"),
        text("phone", "Téléphone", "Phone", "phone"),
        text("jobTitle", "Fonction", "Job title", "job_title"),
        looked_up("client", "Client", "Client", "client_id"),
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
