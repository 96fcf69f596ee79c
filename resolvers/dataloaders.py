"""Per-request dataloaders for the training domain's nested fields (SPEC §12).

Each factory takes the caller's ``Scope`` (so every batch stays inside the organisation)
and is registered once per request through ``info.context.loader(factory)``: a nested
field costs one statement per level of the query, whatever the page size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader

from models.base import TenantModel
from models.core import Organization, User
from models.sessions import Client, Contact, SessionClient, SessionSlot, TrainingSession
from resolvers.context import Scope

M = TypeVar("M", bound=TenantModel)

SLOT_ORDER = ("date", "start_time", "position", "id")
CONTACT_ORDER = ("last_name", "first_name", "id")
SESSION_ORDER = ("first_date", "reference", "id")
CLIENT_COLUMNS = ("id", "name", "address", "siret", "version", "main_contact_id")
CONTACT_COLUMNS = (
    *("id", "client_id", "first_name", "last_name", "email", "phone", "job_title", "version"),
)
SLOT_COLUMNS = ("id", "session_id", "position", "date", "start_time", "end_time", "location")
ENROLMENT_COLUMNS = (
    *("id", "session_id", "client_id", "version", "confirmation_state"),
    *("confirmation_sent_at", "confirmation_deadline", "confirmation_answered_at"),
)


def _by_id(scope: Scope, model: type[M], columns: Sequence[str] = ()) -> DataLoader[int, M | None]:
    """``columns``: read only those (the nested fields need them; timestamps cost)."""

    async def load(ids: list[int]) -> list[M | None]:
        query = scope.query(model).filter(id__in=ids)
        found = {row.id: row for row in await (query.only(*columns) if columns else query)}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


def _grouped(
    scope: Scope, model: type[M], key: str, order: Sequence[str], columns: Sequence[str]
) -> DataLoader[int, list[M]]:
    """Rows of ``model`` whose ``key`` column is each requested id, in ``order``; only
    ``columns`` are read (partial rows: what the nested fields show, no timestamps)."""

    async def load(ids: list[int]) -> list[list[M]]:
        groups: dict[int, list[M]] = defaultdict(list)
        query = scope.query(model).filter(**{f"{key}__in": ids}).order_by(*order)
        for row in await query.only(*columns):
            groups[getattr(row, key)].append(row)
        return [groups.get(i, []) for i in ids]

    return DataLoader(load_fn=load)


def sessions_by_id(scope: Scope) -> DataLoader[int, TrainingSession | None]:
    return _by_id(scope, TrainingSession)


def clients_by_id(scope: Scope) -> DataLoader[int, Client | None]:
    return _by_id(scope, Client, CLIENT_COLUMNS)


def users_by_id(scope: Scope) -> DataLoader[int, User | None]:
    return _by_id(scope, User)


def slots_by_session(scope: Scope) -> DataLoader[int, list[SessionSlot]]:
    return _grouped(scope, SessionSlot, "session_id", SLOT_ORDER, SLOT_COLUMNS)


def enrolments_by_session(scope: Scope) -> DataLoader[int, list[SessionClient]]:
    return _grouped(scope, SessionClient, "session_id", ("id",), ENROLMENT_COLUMNS)


def contacts_by_client(scope: Scope) -> DataLoader[int, list[Contact]]:
    return _grouped(scope, Contact, "client_id", CONTACT_ORDER, CONTACT_COLUMNS)


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
