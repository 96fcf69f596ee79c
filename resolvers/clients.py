"""Client companies and their contacts (SPEC §4): their lists, validation, change log,
events."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from models.sessions import Client, Contact, SessionClient
from resolvers.audit import record_action, record_changes
from resolvers.context import Scope
from resolvers.dataloaders import CONTACT_ORDER
from resolvers.errors import ValidationFailed, WrongState
from resolvers.outbox import clean_address
from resolvers.runtime import atomic
from resolvers.versioning import lock_at_version, update_versioned

CLIENT = "client"
CONTACT = "contact"
CLIENT_FIELDS = ("name", "address", "siret")
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "job_title")
R = TypeVar("R", Client, Contact)


class ClientOrder(StrEnum):
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"


@dataclass(frozen=True)
class ClientFilter:
    text: str = ""  # in the name or SIRET, case-insensitive


@dataclass(frozen=True)
class ContactFilter:
    client_id: int | None = None
    text: str = ""  # in the names or email, case-insensitive


def clients_query(
    scope: Scope, where: ClientFilter, order: ClientOrder = ClientOrder.NAME_ASC
) -> QuerySet[Client]:
    qs = scope.query(Client)
    if text := where.text.strip():
        qs = qs.filter(Q(name__icontains=text) | Q(siret__icontains=text))
    sign = "-" if order == ClientOrder.NAME_DESC else ""
    return qs.order_by(f"{sign}name", f"{sign}id")


def contacts_query(scope: Scope, where: ContactFilter) -> QuerySet[Contact]:
    """By last then first name."""
    qs = scope.query(Contact)
    if where.client_id is not None:
        qs = qs.filter(client_id=where.client_id)
    if text := where.text.strip():
        qs = qs.filter(
            Q(first_name__icontains=text) | Q(last_name__icontains=text) | Q(email__icontains=text)
        )
    return qs.order_by(*CONTACT_ORDER)


def clean_client(values: Mapping[str, Any]) -> dict[str, Any]:
    """Trimmed, validated client fields (only those given)."""
    cleaned = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    if "name" in cleaned and not cleaned["name"]:
        raise ValidationFailed("name is required", field="name")
    if cleaned.get("siret"):
        siret = re.sub(r"\s", "", cleaned["siret"])
        if not re.fullmatch(r"\d{14}", siret):
            raise ValidationFailed("siret must be 14 digits", field="siret")
        cleaned["siret"] = siret
    elif "siret" in cleaned:
        cleaned["siret"] = None
    return cleaned


def clean_contact(values: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    if "last_name" in cleaned and not cleaned["last_name"]:
        raise ValidationFailed("lastName is required", field="lastName")
    if cleaned.get("email"):
        cleaned["email"] = clean_address(cleaned["email"], "email")
    return cleaned


async def _update_at_version(
    scope: Scope, model: type[R], record_type: str, id: int, version: int, changes: dict[str, Any]
) -> R:
    """A client's or contact's validated ``changes``, refused when ``version`` is stale."""
    async with atomic():
        row = await lock_at_version(scope, model, id, version)
        before = await update_versioned(scope, row, changes)
        await record_changes(
            scope,
            record_type,
            row.id,
            before,
            changes,
            event=f"{record_type}.updated",
            payload={"id": row.id, "fields": sorted(changes)},
        )
    return row


async def create_client(scope: Scope, values: Mapping[str, Any]) -> Client:
    scope.require_write()
    cleaned = clean_client({"address": "", **values})
    if "name" not in cleaned:
        raise ValidationFailed("name is required", field="name")
    async with atomic():
        client = await scope.create(Client, **cleaned)
        await record_action(
            scope,
            CLIENT,
            client.id,
            "create",
            event="client.created",
            payload={"id": client.id, "name": client.name},
            new_value=client.name,
        )
    return client


async def update_client(
    scope: Scope, client_id: int, version: int, values: Mapping[str, Any]
) -> Client:
    scope.require_write()
    changes = clean_client(values)
    return await _update_at_version(scope, Client, CLIENT, client_id, version, changes)


async def delete_client(scope: Scope, client_id: int) -> int:
    """Deletes the client and its contacts; refused while it is enrolled in a session."""
    scope.require_write()
    async with atomic():
        client = await scope.get(Client, client_id, for_update=True)
        in_sessions = await scope.query(SessionClient).filter(client_id=client.id).count()
        if in_sessions:
            raise WrongState(
                f"client {client.name} is in {in_sessions} session(s): remove it first",
                field="id",
            )
        await scope.query(Client).filter(id=client.id).update(main_contact_id=None)
        await scope.query(Contact).filter(client_id=client.id).delete()
        await client.delete()
        await record_action(
            scope, CLIENT, client.id, "delete", event="client.deleted", new_value=client.name
        )
    return client.id


async def _set_main_contact(scope: Scope, client: Client, contact_id: int | None) -> None:
    change = {"main_contact_id": contact_id}
    before = await update_versioned(scope, client, change)
    await record_changes(scope, CLIENT, client.id, before, change, event="client.updated")


async def set_main_contact(scope: Scope, client_id: int, contact_id: int) -> Client:
    scope.require_write()
    async with atomic():
        client = await scope.get(Client, client_id, for_update=True)
        contact = await scope.get(Contact, contact_id)
        if contact.client_id != client.id:
            raise ValidationFailed(
                f"contact {contact.id} does not belong to client {client.id}", field="contactId"
            )
        await _set_main_contact(scope, client, contact.id)
    return client


async def create_contact(
    scope: Scope, client_id: int | None, values: Mapping[str, Any], *, main: bool = False
) -> Contact:
    scope.require_write()
    cleaned = clean_contact(values)
    if "last_name" not in cleaned:
        raise ValidationFailed("lastName is required", field="lastName")
    async with atomic():
        client = await scope.get(Client, client_id, for_update=True) if client_id else None
        contact = await scope.create(Contact, client_id=client.id if client else None, **cleaned)
        await record_action(
            scope,
            CONTACT,
            contact.id,
            "create",
            event="contact.created",
            payload={"id": contact.id, "clientId": contact.client_id},
            new_value=contact.email,
        )
        if client is not None and (main or client.main_contact_id is None):
            await _set_main_contact(scope, client, contact.id)
    return contact


async def update_contact(
    scope: Scope, contact_id: int, version: int, values: Mapping[str, Any]
) -> Contact:
    scope.require_write()
    changes = clean_contact(values)
    return await _update_at_version(scope, Contact, CONTACT, contact_id, version, changes)


async def delete_contact(scope: Scope, contact_id: int) -> int:
    """Deletes a contact; a client it was the main contact of gets none."""
    scope.require_write()
    async with atomic():
        contact = await scope.get(Contact, contact_id, for_update=True)
        owner = await scope.query(Client).filter(main_contact_id=contact.id).first()
        if owner is not None:
            await _set_main_contact(scope, owner, None)
        await contact.delete()
        await record_action(
            scope,
            CONTACT,
            contact.id,
            "delete",
            event="contact.deleted",
            payload={"id": contact.id, "clientId": contact.client_id},
            new_value=contact.email,
        )
    return contact.id
