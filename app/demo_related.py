"""Demo notes, tasks and documents on a few leads, clients, contacts and sessions, so that
their subpanels are not empty in ``make dev DEMO=1``. Written through the subpanel rules
(change log and events included); skipped once the demo organisation has notes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from models.leads import Lead
from models.records import Document, Note, TaskStatus
from models.sessions import Client, Contact, TrainingSession
from resolvers.context import Scope
from resolvers.documents import upload_document
from resolvers.runtime import now
from resolvers.subpanels.records import NOTE, TASK
from resolvers.subpanels.registry import OwnerType
from resolvers.subpanels.related import Owner, attach_document, create_related

NOTES = [
    ("Appel de découverte", "Besoin de former 4 personnes avant l'été ; budget validé par la DRH."),
    (
        "Relance après salon",
        "Intéressé par une session intra-entreprise, à recontacter en janvier.",
    ),
    ("Compte rendu de réunion", "Programme validé, salle réservée, convocations à envoyer."),
    ("Retour du client", "Très satisfait de la dernière session ; demande un devis pour la suite."),
]
TASKS = [
    ("Envoyer le devis", 3, TaskStatus.NOT_STARTED),
    ("Confirmer la salle", 7, TaskStatus.IN_PROGRESS),
    ("Préparer les supports", 10, TaskStatus.NOT_STARTED),
    ("Envoyer les attestations", -2, TaskStatus.COMPLETED),
]
DOCUMENTS = [
    ("programme.txt", "text/plain", "Programme de formation\nJour 1 : bases\nJour 2 : pratique\n"),
    ("participants.csv", "text/csv", "nom;prénom;email\nMartin;Camille;camille@example.test\n"),
]
PER_TYPE = 4  # records of each type given related records


async def seed_demo_related(scope: Scope, say: Callable[[str], object] = print) -> None:
    if await scope.query(Note).exists():
        return
    documents = [await _document(scope, *values) for values in DOCUMENTS]
    owners = await _owners(scope)
    for i, owner in enumerate(owners):
        subject, body = NOTES[i % len(NOTES)]
        await create_related(scope, owner, NOTE, {"subject": subject, "body": body})
        title, days, status = TASKS[i % len(TASKS)]
        task = {
            "subject": title,
            "due_date": now().date() + timedelta(days=days),
            "status": status,
            "assignee_id": scope.actor.user_id,
        }
        await create_related(scope, owner, TASK, task)
        await attach_document(scope, owner, documents[i % len(documents)].id)
    say(f"related records: a note, a task and a document on each of {len(owners)} records")


async def _owners(scope: Scope) -> list[Owner]:
    live_leads = scope.query(Lead).filter(deleted_at__isnull=True)
    queries: list[tuple[OwnerType, Any]] = [
        (OwnerType.LEAD, live_leads),
        (OwnerType.CLIENT, scope.query(Client)),
        (OwnerType.CONTACT, scope.query(Contact)),
        (OwnerType.SESSION, scope.query(TrainingSession)),
    ]
    owners = []
    for owner_type, rows in queries:
        ids = await rows.order_by("id").limit(PER_TYPE).values_list("id", flat=True)
        owners += [Owner(owner_type, pk) for pk in ids]
    return owners


async def _document(scope: Scope, filename: str, content_type: str, text: str) -> Document:
    content = [text.encode()]

    async def read(size: int) -> bytes:
        return content.pop() if content else b""

    return await upload_document(
        scope, filename=filename, content_type=content_type, read=read, max_bytes=1 << 20
    )
