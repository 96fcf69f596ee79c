"""Demo data for ``trainhub seed-demo`` / ``trainhub dev --demo`` (idempotent)."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from datetime import date, time, timedelta

from app.demo_leads import seed_demo_leads
from app.demo_related import seed_demo_related
from models.core import Organization, Role, User
from models.sessions import Client, SessionStatus, TrainingSession
from resolvers import clients
from resolvers.context import Actor, ActorKind, Scope
from resolvers.organizations import create_organization, create_user
from resolvers.runtime import now
from resolvers.sessions import records, session_clients
from resolvers.sessions.slots import SlotSpec

DEMO_SLUG = "demo"
DEMO_ADMIN = ("admin@demo.trainhub.test", "demo-password")
DEMO_VIEWER = ("viewer@demo.trainhub.test", "demo-password")

CLIENTS = [
    ("Boulangeries Martin", "12 rue du Four, 69002 Lyon", "41234567800011"),
    ("Transports Lefèvre", "8 avenue de la Gare, 33000 Bordeaux", "52345678900022"),
    ("Clinique des Alpes", "3 chemin des Cimes, 38000 Grenoble", None),
    ("Mairie de Saint-Aubin", "Place de la Mairie, 35250 Saint-Aubin", None),
    ("Atelier Dubois Menuiserie", "45 rue des Artisans, 44000 Nantes", "63456789000033"),
    ("Cabinet Roussel Avocats", "20 boulevard Haussmann, 75009 Paris", "74567890100044"),
    ("Hôtel Belle Rive", "1 quai du Lac, 74000 Annecy", None),
    ("Pharmacie Centrale", "5 place Bellecour, 69002 Lyon", "85678901200055"),
    ("Groupe Meunier BTP", "ZI des Landes, 31100 Toulouse", "96789012300066"),
    ("Agence Horizon Voyages", "14 rue de Rivoli, 75004 Paris", None),
    ("Laboratoires Vidal", "77 rue Pasteur, 67000 Strasbourg", "10789012300077"),
    ("Crèche Les Petits Pas", "9 allée des Tilleuls, 13008 Marseille", None),
    ("Garage Moreau", "102 route Nationale, 59000 Lille", "21890123400088"),
    ("Coopérative Agricole du Val", "Lieu-dit Le Moulin, 49000 Angers", None),
    ("Imprimerie Lambert", "6 rue Gutenberg, 21000 Dijon", "32901234500099"),
]
FIRST_NAMES = ["Camille", "Julien", "Sophie", "Nicolas", "Claire", "Thomas", "Léa", "Hugo"]
LAST_NAMES = ["Bernard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Michel"]
JOBS = ["Responsable formation", "DRH", "Gérant(e)", "Assistant(e) RH", "Directeur(rice)"]
COURSES = [
    ("XL-INIT", "Excel — initiation"),
    ("XL-PERF", "Excel — perfectionnement"),
    ("SST", "Sauveteur secouriste du travail"),
    ("MGT-1", "Manager une équipe"),
    ("RGPD", "RGPD : les fondamentaux"),
    ("ANG-B1", "Anglais professionnel B1"),
    ("CACES", "CACES R489 chariots élévateurs"),
]
LOCATIONS = ["Lyon — salle Rhône", "Paris — salle Opéra", "Distanciel (Teams)", "Sur site client"]


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
    admin = await User.get(email=DEMO_ADMIN[0])
    scope = Scope(org.id, Actor(ActorKind.USER, str(admin.id), admin.email, role=admin.role))
    await seed_training(scope, say)
    await seed_demo_leads(org, say)
    await seed_demo_related(scope, say)
    return org


async def seed_training(scope: Scope, say: Callable[[str], object] = print) -> None:
    """~15 clients with contacts and ~20 sessions over the coming months, several of them
    inter-company; skipped when the demo sessions exist."""
    if await scope.query(TrainingSession).filter(reference__startswith="DEMO-").exists():
        return
    rng = random.Random(2026)
    client_ids = [await _demo_client(scope, rng, *values) for values in CLIENTS]
    say(f"created {len(client_ids)} clients with their contacts")
    start = now().date() + timedelta(days=7)
    for i in range(20):
        session = await records.create_session(scope, _demo_session(rng, i, start))
        inter_company = i % 3 != 2
        clients_in = rng.sample(client_ids, rng.randint(2, 4) if inter_company else 1)
        await session_clients.add_clients(scope, session.id, clients_in)
    say("created 20 sessions with their planning and clients")


async def _demo_client(
    scope: Scope, rng: random.Random, name: str, address: str, siret: str | None
) -> int:
    existing = await scope.query(Client).filter(name=name).first()
    if existing is not None:
        return existing.id
    client = await clients.create_client(scope, {"name": name, "address": address, "siret": siret})
    domain = _ascii(name)[:16] + ".example"
    for _ in range(rng.randint(1, 3)):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        values = {
            "first_name": first,
            "last_name": last,
            "email": f"{_ascii(first)}.{_ascii(last)}@{domain}",
            "phone": f"0{rng.randint(1, 5)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
            "job_title": rng.choice(JOBS),
        }
        await clients.create_contact(scope, client.id, values)
    return client.id


def _ascii(text: str) -> str:
    """Lower-case letters and digits of ``text`` without accents (for email addresses)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _demo_session(rng: random.Random, i: int, start: date) -> records.NewSession:
    code, title = COURSES[i % len(COURSES)]
    first_day = start + timedelta(days=i * 6 + rng.randint(0, 3))
    first_day += timedelta(days=(7 - first_day.weekday()) % 7 if first_day.weekday() > 4 else 0)
    days = rng.randint(1, 3)
    slots = [
        SlotSpec(first_day + timedelta(days=d), start_at, end_at)
        for d in range(days)
        for start_at, end_at in ((time(9), time(12, 30)), (time(13, 30), time(17)))
    ]
    return records.NewSession(
        {
            "reference": f"DEMO-{first_day:%y%m}-{i + 1:02d}",
            "title": title,
            "product_code": code,
            "location": rng.choice(LOCATIONS),
            "status": SessionStatus.PLANNED if i < 15 else SessionStatus.DRAFT,
        },
        slots,
    )
