"""A session client with what its confirmation is made of (session, planning, client,
contacts, organisation), and the organisation's calendar day it is answered against."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from models.core import Organization
from models.sessions import Client, Contact, SessionClient, SessionSlot, TrainingSession
from resolvers.confirmation.state import RECORD_TYPE
from resolvers.context import Scope
from resolvers.runtime import now


@dataclass
class SessionClientContext:
    """A session client with what a proposal is made of."""

    organization: Organization
    session_client: SessionClient
    session: TrainingSession
    slots: list[SessionSlot]
    client: Client
    contacts: list[Contact]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.organization.time_zone)

    @property
    def main_contact(self) -> Contact | None:
        return next((c for c in self.contacts if c.id == self.client.main_contact_id), None)

    def contact_for(self, address: str) -> Contact | None:
        lowered = address.lower()
        found = next((c for c in self.contacts if c.email.lower() == lowered), None)
        return found or self.main_contact

    def email_owners(self, recipients: Sequence[str] = ()) -> list[tuple[str, int]]:
        """The records a confirmation email is linked to, so that it shows in their Emails
        subpanel: its session client, session and client, and the client's contacts it is
        addressed to."""
        addressed = {address.lower() for address in recipients}
        return [
            (RECORD_TYPE, self.session_client.id),
            ("session", self.session.id),
            ("client", self.client.id),
            *(("contact", c.id) for c in self.contacts if c.email and c.email.lower() in addressed),
        ]


async def load_session_client_context(
    scope: Scope, session_client_id: int, *, for_update: bool = False
) -> SessionClientContext:
    session_client = await scope.get(SessionClient, session_client_id, for_update=for_update)
    session = await scope.get(TrainingSession, session_client.session_id)
    client = await scope.get(Client, session_client.client_id)
    return SessionClientContext(
        organization=await Organization.get(id=scope.organization_id),
        session_client=session_client,
        session=session,
        slots=list(await scope.query(SessionSlot).filter(session_id=session.id)),
        client=client,
        contacts=list(await scope.query(Contact).filter(client_id=client.id).order_by("id")),
    )


def local_today(tz: ZoneInfo) -> date:
    return now().astimezone(tz).date()


def local_date(value: datetime | None, tz: ZoneInfo) -> date | None:
    return value.astimezone(tz).date() if value else None
