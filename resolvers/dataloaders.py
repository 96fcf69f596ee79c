"""Per-request dataloaders for the training domain's nested fields (SPEC §12).

Each factory takes the caller's ``Scope`` (so every batch stays inside the organisation)
and is registered once per request through ``info.context.loader(factory)``: a nested
field costs one statement per level of the query, whatever the page size.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from typing import Any, NamedTuple, TypeVar, cast

from strawberry.dataloader import DataLoader

from models.base import TenantModel
from models.confirmation import DateProposal, ProposalAnswer
from models.core import Organization, User
from models.leads import Lead
from models.outbox import OutboundEmail
from models.records import Document
from models.sessions import (
    Client,
    ConfirmationState,
    ConfirmationSummary,
    Contact,
    SessionClient,
    SessionSlot,
    TrainingSession,
)
from resolvers.confirmation.history import HistoryEntry, history_of
from resolvers.context import Scope

M = TypeVar("M", bound=TenantModel)
K = TypeVar("K")
V = TypeVar("V")

SLOT_ORDER = ("date", "start_time", "position", "id")
CONTACT_ORDER = ("last_name", "first_name", "id")
SESSION_ORDER = ("first_date", "reference", "id")


class ClientRecord(NamedTuple):
    """What nested client fields show (a lighter read than a model instance)."""

    id: int
    name: str
    address: str
    siret: str | None
    version: int
    main_contact_id: int | None


class ContactRecord(NamedTuple):
    id: int
    client_id: int | None
    first_name: str
    last_name: str
    email: str
    phone: str
    job_title: str
    version: int


class SlotRecord(NamedTuple):
    id: int
    session_id: int
    position: int
    date: date
    start_time: time
    end_time: time
    location: str


class SessionClientRecord(NamedTuple):
    id: int
    session_id: int
    client_id: int
    version: int
    confirmation_state: ConfirmationState
    confirmation_sent_at: datetime | None
    confirmation_deadline: date | None
    confirmation_answered_at: datetime | None
    current_proposal_id: int | None
    organization_id: int


R = TypeVar("R", bound=tuple[Any, ...])
Convert = Callable[[Any], Any]


def column_converter(model: type[TenantModel], name: str) -> Convert | None:
    """What makes a column's raw driver value the field's Python value; None when the
    driver already returns it (on PostgreSQL: everything but enums)."""
    meta = model._meta
    if any(field_name == name for _, field_name, _ in meta.db_native_fields):
        return None
    field = meta.fields_map[name]
    # An enum field's field_type is its column's (str, int): the member is what it gives.
    expected = getattr(field, "enum_type", None) or field.field_type
    to_python = field.to_python_value

    def convert(value: Any) -> Any:
        # asyncpg returns dates, times and aware datetimes as they are: no conversion.
        if value is None or type(value) is expected:
            return value
        return to_python(value)

    return convert


def _column(model: type[TenantModel], name: str) -> str:
    field = model._meta.fields_map[name]
    return f'"{field.source_field or name}"'


async def _records_in(
    scope: Scope,
    model: type[TenantModel],
    record: type[R],
    key: str,
    ids: Sequence[int],
    order: Sequence[str] = (),
) -> list[R]:
    """The organisation's rows of ``model`` whose ``key`` is one of ``ids``, in ``order``,
    as records. Written by hand: Tortoise builds a parameter per id (thousands for a
    nested page) and converts every column; here the ids are one bound parameter, and
    only the columns the driver does not return as Python values are converted. The
    identifiers come from the model, the organisation and the ids are bound."""
    db = model._meta.db
    names: tuple[str, ...] = record._fields  # type: ignore[attr-defined]
    columns = ", ".join(_column(model, name) for name in names)
    if db.capabilities.dialect == "postgres":
        where, values = "= ANY($2::bigint[])", [scope.organization_id, list(ids)]
        organization = "$1"
    else:  # SQLite: the ids as one JSON array
        where, values = (
            "IN (SELECT value FROM json_each(?))",
            [scope.organization_id, json.dumps(list(ids))],
        )
        organization = "?"
    table = f'"{model._meta.db_table}"'
    sql = (
        f"SELECT {columns} FROM {table} "
        f"WHERE {scope.sql_condition(table, organization)} AND {_column(model, key)} {where}"
    )
    if order:
        sql += " ORDER BY " + ", ".join(_column(model, name) for name in order)
    _, rows = await db.execute_query(sql, values)
    converters = [(i, c) for i, name in enumerate(names) if (c := column_converter(model, name))]
    make = record._make  # type: ignore[attr-defined]
    if not converters:
        return [make(tuple(row)) for row in rows]
    records = []
    for row in rows:
        row_values = list(row)
        for i, convert in converters:
            row_values[i] = convert(row_values[i])
        records.append(make(row_values))
    return records


def _by_id(scope: Scope, model: type[M], columns: Sequence[str] = ()) -> DataLoader[int, M | None]:
    """``columns``: read only those (the nested fields need them; timestamps cost)."""

    async def load(ids: list[int]) -> list[M | None]:
        query = scope.query(model).filter(id__in=ids)
        found = {row.id: row for row in await (query.only(*columns) if columns else query)}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


def _grouped(
    scope: Scope, model: type[TenantModel], key: str, order: Sequence[str], record: type[R]
) -> DataLoader[int, list[R]]:
    """Records of ``model`` rows whose ``key`` column is each requested id, in ``order``."""

    async def load(ids: list[int]) -> list[list[R]]:
        groups: dict[int, list[R]] = defaultdict(list)
        for row in await _records_in(scope, model, record, key, ids, order):
            groups[getattr(row, key)].append(row)
        return [groups.get(i, []) for i in ids]

    return DataLoader(load_fn=load)


def sessions_by_id(scope: Scope) -> DataLoader[int, TrainingSession | None]:
    return _by_id(scope, TrainingSession)


def clients_by_id(scope: Scope) -> DataLoader[int, ClientRecord | None]:
    async def load(ids: list[int]) -> list[ClientRecord | None]:
        found = {row.id: row for row in await _records_in(scope, Client, ClientRecord, "id", ids)}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


def users_by_id(scope: Scope) -> DataLoader[int, User | None]:
    return _by_id(scope, User)


def leads_by_id(scope: Scope) -> DataLoader[int, Lead | None]:
    return _by_id(scope, Lead)


def slots_by_session(scope: Scope) -> DataLoader[int, list[SlotRecord]]:
    return _grouped(scope, SessionSlot, "session_id", SLOT_ORDER, SlotRecord)


def session_clients_by_session(scope: Scope) -> DataLoader[int, list[SessionClientRecord]]:
    return _grouped(scope, SessionClient, "session_id", ("id",), SessionClientRecord)


def contacts_by_client(scope: Scope) -> DataLoader[int, list[ContactRecord]]:
    return _grouped(scope, Contact, "client_id", CONTACT_ORDER, ContactRecord)


def _many(
    factory: Callable[[Scope], DataLoader[K, V]],
) -> Callable[[Scope], DataLoader[tuple[K, ...], list[V]]]:
    """A loader of whole key lists (a page's prefetch) through ``factory``'s batch
    function: one future per list instead of one per key, still one statement per
    batch of concurrent lists (a page asks for thousands of keys at once)."""

    def make(scope: Scope) -> DataLoader[tuple[K, ...], list[V]]:
        load_keys = factory(scope).load_fn

        async def load(groups: list[tuple[K, ...]]) -> list[list[V]]:
            keys = list(dict.fromkeys(key for group in groups for key in group))
            # This module's batch functions return values, never per-key exceptions.
            values = cast("Sequence[V]", await load_keys(keys)) if keys else []
            found = dict(zip(keys, values, strict=True))
            return [[found[key] for key in group] for group in groups]

        return DataLoader(load_fn=load, cache=False)

    return make


clients_by_ids = _many(clients_by_id)
slots_by_sessions = _many(slots_by_session)
session_clients_by_sessions = _many(session_clients_by_session)
contacts_by_clients = _many(contacts_by_client)


def sessions_by_client(scope: Scope) -> DataLoader[int, list[TrainingSession]]:
    """The sessions each client is enrolled in, ordered by first slot date (two statements)."""

    async def load(client_ids: list[int]) -> list[list[TrainingSession]]:
        pairs = (
            await scope.query(SessionClient)
            .filter(client_id__in=client_ids)
            .values_list("client_id", "session_id")
        )
        sessions = {
            row.id: row
            for row in await scope.query(TrainingSession)
            .filter(id__in={session_id for _, session_id in pairs})
            .order_by(*SESSION_ORDER)
        }
        position = {session_id: i for i, session_id in enumerate(sessions)}
        groups: dict[int, list[TrainingSession]] = defaultdict(list)
        for client_id, session_id in sorted(pairs, key=lambda pair: position[pair[1]]):
            groups[client_id].append(sessions[session_id])
        return [groups.get(i, []) for i in client_ids]

    return DataLoader(load_fn=load)


def organization_time_zone(scope: Scope) -> DataLoader[int, str]:
    async def load(ids: list[int]) -> list[str]:
        zones = dict(await Organization.filter(id__in=ids).values_list("id", "time_zone"))
        return [str(zones.get(i, "Europe/Paris")) for i in ids]

    return DataLoader(load_fn=load)


# ---- Confirmation ---------------------------------------------------------------------


def _rows_grouped(scope: Scope, model: type[M], key: str, order: str) -> DataLoader[int, list[M]]:
    """Like ``_grouped``, as model instances: for rows read whole (JSON columns included)."""

    async def load(ids: list[int]) -> list[list[M]]:
        groups: dict[int, list[M]] = defaultdict(list)
        for row in await scope.query(model).filter(**{f"{key}__in": ids}).order_by(order):
            groups[getattr(row, key)].append(row)
        return [groups.get(i, []) for i in ids]

    return DataLoader(load_fn=load)


def proposals_by_id(scope: Scope) -> DataLoader[int, DateProposal | None]:
    return _by_id(scope, DateProposal)


def proposals_by_session_client(scope: Scope) -> DataLoader[int, list[DateProposal]]:
    """Newest first."""
    return _rows_grouped(scope, DateProposal, "session_client_id", "-id")


def answers_by_proposal(scope: Scope) -> DataLoader[int, list[ProposalAnswer]]:
    return _rows_grouped(scope, ProposalAnswer, "proposal_id", "id")


def emails_by_id(scope: Scope) -> DataLoader[int, OutboundEmail | None]:
    return _by_id(scope, OutboundEmail)


def documents_by_id(scope: Scope) -> DataLoader[int, Document | None]:
    return _by_id(scope, Document)


def history_by_session_client(scope: Scope) -> DataLoader[int, list[HistoryEntry]]:
    async def load(ids: list[int]) -> list[list[HistoryEntry]]:
        found = await history_of(scope, ids)
        return [found.get(i, []) for i in ids]

    return DataLoader(load_fn=load)


def confirmation_summary_by_session(
    scope: Scope,
) -> DataLoader[int, ConfirmationSummary | None]:
    async def load(ids: list[int]) -> list[ConfirmationSummary | None]:
        rows = (
            await scope.query(TrainingSession)
            .filter(id__in=ids)
            .values_list("id", "confirmation_summary")
        )
        found = dict(rows)
        return [ConfirmationSummary(found[i]) if found.get(i) else None for i in ids]

    return DataLoader(load_fn=load)
