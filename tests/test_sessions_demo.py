"""``trainhub seed-demo`` builds a realistic training organisation, once."""

from __future__ import annotations

from typing import Any

from app.demo import seed_demo
from models.sessions import Client, Contact, SessionClient, SessionSlot, TrainingSession


async def test_seed_demo_is_realistic_and_idempotent(app: Any) -> None:
    messages: list[str] = []
    await seed_demo(messages.append)
    await seed_demo(messages.append)
    assert await TrainingSession.all().count() == 20
    assert await Client.all().count() == 15
    assert await Client.filter(main_contact_id__isnull=True).count() == 0
    assert await Contact.all().count() >= 15
    assert await SessionSlot.filter(session__first_date__isnull=True).count() == 0
    per_session = [
        await SessionClient.filter(session_id=s.id).count() for s in await TrainingSession.all()
    ]
    assert sum(1 for n in per_session if n >= 2) >= 10  # inter-company sessions
    assert len([m for m in messages if "sessions" in m]) == 1
