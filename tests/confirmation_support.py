"""Shared helpers of the confirmation tests: a client added to a planned session
(made with the ORM, the sessions API being another domain's), GraphQL documents, the
links of received emails, and a real HTTP server for the browser test."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from strawberry import relay

from models.sessions import (
    Client,
    Contact,
    SessionClient,
    SessionSlot,
    SessionStatus,
    TrainingSession,
)
from resolvers import runtime
from tests.conftest import Member, Tenant
from tests.smtp import Received

PARIS = ZoneInfo("Europe/Paris")
LINK = re.compile(r"https?://[^\s\"'<>]+/respond/[A-Za-z0-9_\-]+")

SEND = """
mutation($id: ID!, $input: DateProposalInput!) {
  sendDateProposal(sessionClientId: $id, input: $input) {
    proposal { id deadline to cc subject email { status } }
    confirmation { state label listValue { value label } sessionSummary { value label } }
  }
}"""
PREVIEW = """
mutation($id: ID!, $input: DateProposalInput!) {
  previewDateProposal(sessionClientId: $id, input: $input) {
    to cc bcc subject html text deadline locale attachments { filename }
  }
}"""
CONFIRMATION = """
query($id: ID!, $locale: String) {
  sessionClientConfirmation(sessionClientId: $id, locale: $locale) {
    state label sentAt deadline answeredAt manuallyValidated
    listValue { value label }
    sessionSummary { value label }
    proposal { id deadline answer answers { answer } email { status } }
    history { state previousState action actorKind actor reason }
  }
}"""
PROPOSALS = """
query($id: ID!) {
  sessionClientProposals(sessionClientId: $id) {
    id deadline answer supersededAt reminderSentAt email { status kind } reminderEmail { status }
    planning { date startTime endTime location }
  }
}"""
MANUAL = """
mutation($id: ID!, $on: Boolean!) {
  setManualValidation(sessionClientId: $id, enabled: $on) {
    state label listValue { label } sessionSummary { value label }
  }
}"""


def today() -> date:
    """Today in the test organisations' time zone (Europe/Paris), on the runtime clock."""
    return runtime.now().astimezone(PARIS).date()


def fr(value: date) -> str:
    return value.strftime("%d/%m/%Y")


@dataclass
class SessionClientRows:
    """A session client and the rows it was made of (``add_session_client``)."""

    session: TrainingSession
    client: Client
    contact: Contact
    session_client: SessionClient
    slots: list[SessionSlot]

    @property
    def gid(self) -> str:
        return relay.to_base64("SessionClient", self.session_client.id)

    async def refresh(self) -> SessionClient:
        self.session_client = await SessionClient.get(id=self.session_client.id)
        return self.session_client


async def add_session_client(
    tenant: Tenant,
    *,
    reference: str = "S-001",
    client_name: str = "Acme SA",
    contact_email: str = "claire.dupont@acme.test",
    owner: Member | None = None,
    slot_days: tuple[int, ...] = (10, 11),
    session: TrainingSession | None = None,
) -> SessionClientRows:
    """A client with a main contact, added to a session planned ``slot_days`` from today."""
    org_id = tenant.org.id
    if session is None:
        session = await TrainingSession.create(
            organization_id=org_id,
            reference=reference,
            title="Sécurité incendie",
            location="Lyon",
            status=SessionStatus.PLANNED,
            owner_id=(owner or tenant.staff).user.id,
        )
        for position, days in enumerate(slot_days):
            await SessionSlot.create(
                organization_id=org_id,
                session=session,
                position=position,
                date=today() + timedelta(days=days),
                start_time=time(9, 0),
                end_time=time(17, 30),
                location="Salle 2" if position else "",
            )
    client = await Client.create(organization_id=org_id, name=client_name)
    contact = await Contact.create(
        organization_id=org_id,
        client=client,
        first_name="Claire",
        last_name="Dupont",
        email=contact_email,
    )
    client.main_contact_id = contact.id
    await client.save()
    session_client = await SessionClient.create(
        organization_id=org_id, session=session, client=client
    )
    slots = list(await SessionSlot.filter(session_id=session.id))
    return SessionClientRows(session, client, contact, session_client, slots)


def proposal_input(deadline_days: int = 5, **extra: Any) -> dict[str, Any]:
    return {"deadline": (today() + timedelta(days=deadline_days)).isoformat(), **extra}


def link_of(received: Received) -> str:
    """The response-page link of an email, read from its plain-text part."""
    text = received.body("plain")
    found = LINK.search(text)
    assert found, text
    return found.group(0)


def html_of(received: Received) -> str:
    return received.body("html")


def shown(response: Any) -> str:
    """The text of an HTML page as a reader sees it (entities decoded)."""
    return html.unescape(response.text)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]
