"""What the confirmation emails are made of: the response link (a random token, only its
SHA-256 stored), the planning as proposed, and the template variables shared by the
proposal, its reminder and the owner's notification."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import date
from typing import Any

from models.sessions import Contact, SessionSlot, TrainingSession
from resolvers import labels
from resolvers.confirmation.session_client import SessionClientContext
from resolvers.runtime import current

TOKEN_BYTES = 32  # 256 random bits; only the SHA-256 is stored


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def response_url(token: str, answer: str | None = None) -> str:
    url = f"{current().public_base_url}/respond/{token}"
    return f"{url}?answer={answer}" if answer else url


def planning_snapshot(
    session: TrainingSession, slots: Sequence[SessionSlot]
) -> list[dict[str, str]]:
    return [
        {
            "date": slot.date.isoformat(),
            "start": slot.start_time.strftime("%H:%M"),
            "end": slot.end_time.strftime("%H:%M"),
            "location": slot.location or session.location,
        }
        for slot in slots
    ]


def planning_for_display(snapshot: Sequence[dict[str, str]], locale: str) -> list[dict[str, str]]:
    return [
        {**slot, "date": labels.format_date(date.fromisoformat(slot["date"]), locale)}
        for slot in snapshot
    ]


def person(contact: Contact | None, fallback_email: str = "") -> dict[str, str]:
    if contact is None:
        return {"first_name": "", "last_name": "", "full_name": "", "email": fallback_email}
    full_name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "full_name": full_name,
        "email": contact.email,
    }


def base_variables(context: SessionClientContext, recipients: Sequence[str]) -> dict[str, Any]:
    """The organisation, session, client and the contact the first recipient is."""
    first = recipients[0] if recipients else ""
    session = context.session
    return {
        "organization": {"name": context.organization.name},
        "session": {
            "reference": session.reference,
            "title": session.title,
            "location": session.location,
        },
        "client": {"name": context.client.name},
        "contact": person(context.contact_for(first), first),
    }


def proposal_variables(
    context: SessionClientContext,
    snapshot: Sequence[dict[str, str]],
    deadline: date,
    locale: str,
    token: str,
    to: Sequence[str],
) -> dict[str, Any]:
    return {
        **base_variables(context, to),
        "planning": planning_for_display(snapshot, locale),
        "deadline": labels.format_date(deadline, locale),
        "accept_url": response_url(token, "accept"),
        "decline_url": response_url(token, "decline"),
        "response_url": response_url(token),
    }
