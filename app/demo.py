"""Demo data for ``trainhub seed-demo`` / ``trainhub dev --demo`` (idempotent)."""

from __future__ import annotations

from collections.abc import Callable

from app.demo_leads import seed_demo_leads
from models.core import Organization, Role, User
from resolvers.organizations import create_organization, create_user

DEMO_SLUG = "demo"
DEMO_ADMIN = ("admin@demo.trainhub.test", "demo-password")
DEMO_VIEWER = ("viewer@demo.trainhub.test", "demo-password")


async def seed_demo(say: Callable[[str], object] = print) -> Organization:
    org = await Organization.filter(slug=DEMO_SLUG).first()
    if org is None:
        org = await create_organization("Démo Formation", slug=DEMO_SLUG)
        say(f"created organisation '{org.name}' (slug {org.slug})")
    for (email, password), role in ((DEMO_ADMIN, Role.ADMIN), (DEMO_VIEWER, Role.VIEWER)):
        if not await User.filter(email=email).exists():
            await create_user(
                org, email, password, role=role, full_name=email.split("@")[0].title()
            )
            say(f"created {role.value.lower()} {email} / {password}")
    await seed_demo_leads(org, say)
    return org
