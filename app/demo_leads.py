"""Demo leads for ``trainhub seed-demo``: a Course Merchant store, ~200 waiting-list
leads fed through the same ingestion rules as the webhook, and look-alikes to merge.
Idempotent: replaying store events changes nothing, look-alikes are added once."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from datetime import timedelta

from models.core import Organization, User
from models.leads import Lead, Store
from resolvers.context import Scope, system_scope
from resolvers.leads.fields import fold
from resolvers.leads.ingestion import apply_waitlist_event
from resolvers.leads.records import create_lead
from resolvers.leads.stores import new_store_secret
from resolvers.leads.waitlist_events import WaitlistEvent, WaitlistEventType
from resolvers.organizations import create_user
from resolvers.runtime import atomic, now

DEMO_STORE = "Boutique Course Merchant"
DEMO_INTEGRATION_USER = "integration@demo.trainhub.test"
DEMO_LEAD_COUNT = 200
FIRST_NAMES = [
    "Léa",
    "Hugo",
    "Chloé",
    "Louis",
    "Inès",
    "Jules",
    "Manon",
    "Gabriel",
    "Zoé",
    "Arthur",
    "Camille",
    "Noé",
    "Élodie",
    "Raphaël",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Lefèvre",
    "Girard",
]
PRODUCTS = ("PY-101", "JS-200", "SQL-110", "DATA-300", "MGT-050")


async def _demo_store(org: Organization) -> Store:
    store = await Store.filter(organization_id=org.id, name=DEMO_STORE).first()
    if store is not None:
        return store
    integration = await User.filter(email=DEMO_INTEGRATION_USER).first() or await create_user(
        org,
        DEMO_INTEGRATION_USER,
        secrets.token_urlsafe(24),  # never logs in: it only owns the store's leads
        full_name="Intégration Course Merchant",
    )
    return await Store.create(
        organization_id=org.id,
        name=DEMO_STORE,
        secret=new_store_secret(),
        source_system="CM Boutique Formation",
        default_assignee_id=integration.id,
    )


def _demo_events(index: int, rng: random.Random) -> list[WaitlistEvent]:
    """A customer's waiting-list history: joined, then maybe emails, removal, purchase."""
    customer, first, last = f"CM-{1000 + index}", rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    joined_at = now().replace(microsecond=0) - timedelta(days=rng.randint(5, 120))
    events = [
        WaitlistEvent(
            WaitlistEventType.JOINED,
            customer,
            joined_at,
            first_name=first,
            last_name=last,
            email=f"{fold(first)}.{fold(last)}.{index}@exemple.fr",
            product_code=rng.choice(PRODUCTS),
        )
    ]
    if rng.random() < 0.5:
        events.append(
            WaitlistEvent(
                WaitlistEventType.EMAIL_SENT,
                customer,
                joined_at + timedelta(days=2),
                emails_sent=rng.randint(1, 3),
            )
        )
    if rng.random() < 0.35:
        events.append(
            WaitlistEvent(WaitlistEventType.REMOVED, customer, joined_at + timedelta(days=3))
        )
        if rng.random() < 0.5:
            events.append(
                WaitlistEvent(
                    WaitlistEventType.PURCHASED,
                    customer,
                    joined_at + timedelta(days=4),
                    purchase_date=(joined_at + timedelta(days=4)).date(),
                    order_number=f"CMD-{50000 + index}",
                )
            )
    return events


async def seed_demo_leads(org: Organization, say: Callable[[str], object] = print) -> None:
    """~200 waiting-list leads from the demo store plus a few look-alikes to merge.
    Replaying store events is idempotent, so a second run adds nothing."""
    store = await _demo_store(org)
    scope = system_scope(org.id)
    rng = random.Random(20261123)
    async with atomic():
        for index in range(DEMO_LEAD_COUNT):
            for event in _demo_events(index, rng):
                await apply_waitlist_event(scope, store, event)
            if index % 50 == 49:
                say(f"leads: {index + 1}/{DEMO_LEAD_COUNT} store customers")
        await _demo_lookalikes(org, scope)
        say(f"leads: {await Lead.filter(organization_id=org.id).count()} in the demo organisation")


async def _demo_lookalikes(org: Organization, scope: Scope) -> None:
    """Leads typed in again by staff: a store customer's email in other case, and pairs
    with the same name (other accents and case) and the same phone, for "find duplicates"."""
    if await Lead.filter(organization_id=org.id, lead_source="Salon").exists():
        return
    originals = (
        await Lead.filter(organization_id=org.id, store_id__isnull=False).order_by("id").limit(6)
    )
    for original in originals:
        values = {"first_name": original.first_name, "last_name": original.last_name.upper()}
        await create_lead(scope, values | {"email": original.email.upper(), "lead_source": "Salon"})
    for position, (first, last) in enumerate(
        (("Hélène", "Gaumont"), ("Jérôme", "Lévêque"), ("Amélie", "Côté"))
    ):
        phone = f"01 45 67 89 {position:02d}"
        await create_lead(
            scope,
            {"first_name": first, "last_name": last, "office_phone": phone, "lead_source": "Salon"},
        )
        await create_lead(
            scope,
            {
                "first_name": fold(first).upper(),
                "last_name": fold(last),
                "mobile": "+33 " + phone[1:],
                "lead_source": "Salon",
            },
        )
