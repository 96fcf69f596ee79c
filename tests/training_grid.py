"""A regular grid of training data, written with bulk inserts: the statement-count test
and the nested-sessions benchmark need many rows quickly (SPEC §12)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from models.sessions import (
    Client,
    ConfirmationState,
    ConfirmationSummary,
    Contact,
    SessionClient,
    SessionSlot,
    SessionStatus,
    TrainingSession,
)
from resolvers.context import Scope

STATES = (ConfirmationState.TO_CONFIRM, ConfirmationState.ACCEPTED, ConfirmationState.PENDING)


def _confirmation(state: ConfirmationState, start: date) -> dict[str, Any]:
    sent = datetime.combine(start - timedelta(days=20), time(10), tzinfo=UTC)
    fields: dict[str, Any] = {"confirmation_state": state}
    if state in (ConfirmationState.PENDING, ConfirmationState.ACCEPTED):
        fields.update(confirmation_sent_at=sent, confirmation_deadline=start - timedelta(days=2))
    if state == ConfirmationState.ACCEPTED:
        fields["confirmation_answered_at"] = sent + timedelta(days=3)
    return fields


async def seed_grid(
    scope: Scope,
    *,
    sessions: int,
    clients_per_session: int,
    contacts_per_client: int,
    slots_per_session: int,
    start: date,
    prefix: str = "GRID",
) -> None:
    """``sessions`` sessions, each with its own clients (each with contacts, the first one
    main) and a weekly planning of morning slots."""
    org = scope.organization_id
    await TrainingSession.bulk_create(
        [
            TrainingSession(
                organization_id=org,
                reference=f"{prefix}-{s:04d}",
                title=f"Formation {s}",
                product_code=f"PC-{s % 7}",
                location="Paris",
                status=SessionStatus.PLANNED,
                owner_id=scope.actor.user_id,
                first_date=start + timedelta(days=s),
                last_date=start + timedelta(days=s + 7 * (slots_per_session - 1)),
                confirmation_summary=ConfirmationSummary.PENDING,
            )
            for s in range(sessions)
        ]
    )
    session_ids = (
        await scope.query(TrainingSession)
        .filter(reference__startswith=f"{prefix}-")
        .order_by("reference")
        .values_list("id", flat=True)
    )
    await SessionSlot.bulk_create(
        [
            SessionSlot(
                organization_id=org,
                session_id=session_id,
                position=k,
                date=start + timedelta(days=s + 7 * k),
                start_time=time(9, tzinfo=UTC),
                end_time=time(12, 30, tzinfo=UTC),
                location="" if k % 2 else f"Salle {k}",
            )
            for s, session_id in enumerate(session_ids)
            for k in range(slots_per_session)
        ]
    )
    await Client.bulk_create(
        [
            Client(organization_id=org, name=f"{prefix} client {s:04d}-{c}", address="Lyon")
            for s in range(sessions)
            for c in range(clients_per_session)
        ]
    )
    client_ids = (
        await scope.query(Client)
        .filter(name__startswith=f"{prefix} client ")
        .order_by("name")
        .values_list("id", flat=True)
    )
    await Contact.bulk_create(
        [
            Contact(
                organization_id=org,
                client_id=client_id,
                first_name=f"Prénom{k}",
                last_name=f"Nom{n:05d}",
                email=f"contact{n}-{k}@example.test",
            )
            for n, client_id in enumerate(client_ids)
            for k in range(contacts_per_client)
        ]
    )
    # Each client's first contact (lowest id) becomes its main contact.
    main_contacts: dict[int, int] = {}
    for contact_id, client_id in (
        await scope.query(Contact)
        .filter(client_id__in=client_ids)
        .order_by("-id")
        .values_list("id", "client_id")
    ):
        main_contacts[client_id] = contact_id
    for client_id, contact_id in main_contacts.items():
        await scope.query(Client).filter(id=client_id).update(main_contact_id=contact_id)
    await SessionClient.bulk_create(
        [
            SessionClient(
                organization_id=org,
                session_id=session_id,
                client_id=client_ids[s * clients_per_session + c],
                **_confirmation(STATES[c % len(STATES)], start),
            )
            for s, session_id in enumerate(session_ids)
            for c in range(clients_per_session)
        ]
    )
