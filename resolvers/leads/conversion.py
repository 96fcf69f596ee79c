"""Convert a lead (SPEC §7): a Contact from its fields, a Client on request (or an
existing one), the lead CONVERTED with a link to the contact, its related records
shared with the contact and its client. Converting twice is refused."""

from __future__ import annotations

from dataclasses import dataclass

from models.leads import Lead, LeadStatus
from models.records import RecordLink
from models.sessions import Client, Contact
from resolvers.context import Scope
from resolvers.errors import NotFound, ValidationFailed, WrongState
from resolvers.events import emit_event
from resolvers.leads.records import RECORD_TYPE, get_lead, save_changes
from resolvers.runtime import atomic


@dataclass(frozen=True)
class ConversionInput:
    client_id: int | None = None  # attach the contact to this existing client
    new_client_name: str | None = None  # or create a client ("" → the lead's account name)
    make_main_contact: bool = False


@dataclass(frozen=True)
class Conversion:
    lead: Lead
    contact: Contact
    client: Client | None


async def convert_lead(scope: Scope, lead_id: int, request: ConversionInput) -> Conversion:
    """Lead → Contact (and a Client on request); related records become the contact's
    (and the client's) too."""
    scope.require_write()
    if request.client_id is not None and request.new_client_name is not None:
        raise ValidationFailed(
            "give an existing client or a new client name, not both", field="clientId"
        )
    async with atomic():
        lead = await get_lead(scope, lead_id, for_update=True)
        if lead.converted_contact_id is not None:
            raise WrongState(
                "this lead is already converted", field="id", reason="ALREADY_CONVERTED"
            )
        if lead.deleted_at is not None:
            raise WrongState("a deleted lead cannot be converted", field="id")
        client = await _conversion_client(scope, lead, request)
        contact = await scope.create(
            Contact,
            client_id=client.id if client else None,
            first_name=lead.first_name,
            last_name=lead.last_name or lead.email,
            email=lead.email,
            phone=lead.office_phone or lead.mobile,
            job_title=lead.job_title,
        )
        if client is not None and (request.make_main_contact or client.main_contact_id is None):
            client.main_contact_id = contact.id
            client.version += 1
            await client.save(update_fields=["main_contact_id", "version", "updated_at"])
        await share_links(scope, (RECORD_TYPE, lead.id), ("contact", contact.id))
        if client is not None:
            await share_links(scope, (RECORD_TYPE, lead.id), ("client", client.id))
        await save_changes(
            scope,
            lead,
            {"status": LeadStatus.CONVERTED},
            action="convert",
            reason=f"contact {contact.id}",
        )
        await scope.query(Lead).filter(id=lead.id).update(converted_contact_id=contact.id)
        lead.converted_contact_id = contact.id
        await emit_event(
            scope,
            "lead.converted",
            RECORD_TYPE,
            lead.id,
            {"contactId": contact.id, "clientId": client.id if client else None},
        )
    return Conversion(lead, contact, client)


async def _conversion_client(scope: Scope, lead: Lead, request: ConversionInput) -> Client | None:
    if request.client_id is not None:
        try:
            return await scope.get(Client, request.client_id, for_update=True)
        except NotFound:
            raise NotFound("client not found", field="clientId") from None
    if request.new_client_name is None:
        return None
    name = (request.new_client_name or lead.account_name).strip()
    if not name:
        raise ValidationFailed(
            "the new client needs a name (the lead has no account name)", field="newClientName"
        )
    return await scope.create(Client, name=name, address=lead.primary_address)


async def share_links(scope: Scope, source: tuple[str, int], owner: tuple[str, int]) -> None:
    """Link ``owner`` to every record ``source`` owns (notes, tasks, documents, emails)."""
    owned = await scope.query(RecordLink).filter(owner_type=source[0], owner_id=source[1])
    already = set(
        await scope.query(RecordLink)
        .filter(owner_type=owner[0], owner_id=owner[1])
        .values_list("target_type", "target_id")
    )
    await RecordLink.bulk_create(
        [
            RecordLink(
                organization_id=scope.organization_id,
                owner_type=owner[0],
                owner_id=owner[1],
                target_type=link.target_type,
                target_id=link.target_id,
            )
            for link in owned
            if (link.target_type, link.target_id) not in already
        ]
    )
