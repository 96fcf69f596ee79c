"""Which subpanels each record type has, in their default order: the one table (SPEC §8).

A panel names its records' kind, where they come from (``sources``), whether "Créer"
(createRelated) and "Sélectionner" / unlink (linkRelated, unlinkRelated) apply to it,
whether it starts collapsed, and its default sort. Adding a panel here adds it to the
API, the counts and every user's layout (at the end of a stored order).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models.base import TenantModel
from models.confirmation import DateProposal
from models.leads import Lead
from models.outbox import OutboundEmail
from models.records import Document, Note, Task
from models.sessions import Client, Contact, SessionClient, TrainingSession
from resolvers.errors import ValidationFailed
from resolvers.subpanels.sources import ChangeLog, Linked, Order, Related, Source


class OwnerType(StrEnum):
    """The record types that have subpanels (their record type in links and the log)."""

    LEAD = "lead"
    CLIENT = "client"
    CONTACT = "contact"
    SESSION = "session"
    SESSION_CLIENT = "session_client"


OWNER_MODELS: dict[OwnerType, type[TenantModel]] = {
    OwnerType.LEAD: Lead,
    OwnerType.CLIENT: Client,
    OwnerType.CONTACT: Contact,
    OwnerType.SESSION: TrainingSession,
    OwnerType.SESSION_CLIENT: SessionClient,
}


class RelatedKind(StrEnum):
    """What a panel lists; for linked records, also their ``RecordLink.target_type``."""

    NOTE = "note"
    TASK = "task"
    DOCUMENT = "document"
    EMAIL = "email"
    DATE_PROPOSAL = "date_proposal"
    CONTACT = "contact"
    SESSION_CLIENT = "session_client"
    LEAD = "lead"
    CHANGE_LOG = "change_log"


@dataclass(frozen=True)
class Panel:
    key: str
    kind: RelatedKind
    source: Source
    creatable: bool = False  # createRelated makes one here
    selectable: bool = False  # linkRelated / unlinkRelated attach and detach existing ones
    collapsed: bool = False  # until the user opens it
    order: Order = Order.NEWEST_FIRST


def _linked(key: str, kind: RelatedKind, source: Source, *, editable: bool) -> Panel:
    return Panel(key, kind, source, creatable=editable, selectable=editable)


NOTES = _linked(
    "notes", RelatedKind.NOTE, Linked(Note, ("subject",), target_type="note"), editable=True
)
TASKS = _linked(
    "tasks", RelatedKind.TASK, Linked(Task, ("subject",), target_type="task"), editable=True
)
DOCUMENTS = _linked(
    "documents",
    RelatedKind.DOCUMENT,
    Linked(Document, ("filename",), target_type="document"),
    editable=True,
)
# Linked by the outbox when an email is sent about the record: a fact, not editable.
EMAILS = _linked(
    "emails",
    RelatedKind.EMAIL,
    Linked(OutboundEmail, ("subject",), target_type="email"),
    editable=False,
)
CHANGE_LOG = Panel("change_log", RelatedKind.CHANGE_LOG, ChangeLog(), collapsed=True)

PANELS: dict[OwnerType, tuple[Panel, ...]] = {
    OwnerType.LEAD: (NOTES, TASKS, DOCUMENTS, EMAILS, CHANGE_LOG),
    OwnerType.CLIENT: (
        Panel(
            "contacts",
            RelatedKind.CONTACT,
            Related(Contact, ("last_name", "first_name"), key="client_id"),
            order=Order.TITLE_ASC,
        ),
        Panel(
            "sessions",
            RelatedKind.SESSION_CLIENT,
            Related(SessionClient, ("session__title",), key="client_id"),
        ),
        NOTES,
        TASKS,
        DOCUMENTS,
        EMAILS,
        CHANGE_LOG,
    ),
    OwnerType.SESSION: (
        Panel(
            "clients",
            RelatedKind.SESSION_CLIENT,
            Related(SessionClient, ("client__name",), key="session_id"),
            order=Order.OLDEST_FIRST,  # the order they were added, as the session's tab
        ),
        Panel(
            "proposals",
            RelatedKind.DATE_PROPOSAL,
            Related(DateProposal, ("subject",), key="session_id"),
        ),
        NOTES,
        TASKS,
        DOCUMENTS,
        EMAILS,
        CHANGE_LOG,
    ),
    OwnerType.SESSION_CLIENT: (
        Panel(
            "proposals",
            RelatedKind.DATE_PROPOSAL,
            Related(DateProposal, ("subject",), key="session_client_id"),
        ),
        EMAILS,
        DOCUMENTS,
        NOTES,
        TASKS,
        CHANGE_LOG,
    ),
    OwnerType.CONTACT: (
        Panel(
            "sessions",
            RelatedKind.SESSION_CLIENT,
            Related(
                SessionClient, ("session__title",), key="client_id", via=(Contact, "client_id")
            ),
        ),
        EMAILS,
        NOTES,
        TASKS,
        DOCUMENTS,
        Panel(
            "lead",
            RelatedKind.LEAD,
            Related(
                Lead,
                ("last_name", "first_name"),
                key="converted_contact_id",
                where=(("deleted_at__isnull", True),),
            ),
        ),
        CHANGE_LOG,
    ),
}


def panels_of(owner_type: OwnerType) -> tuple[Panel, ...]:
    return PANELS[owner_type]


def panel_of(owner_type: OwnerType, key: str, *, field: str = "key") -> Panel:
    """The panel ``key`` of ``owner_type``; an unknown key is a VALIDATION_ERROR naming it."""
    for panel in PANELS[owner_type]:
        if panel.key == key:
            return panel
    known = ", ".join(p.key for p in PANELS[owner_type])
    raise ValidationFailed(
        f"'{key}' is not a subpanel of {owner_type.value} records (they have: {known})",
        field=field,
    )


def panel_of_kind(owner_type: OwnerType, kind: RelatedKind) -> Panel:
    """Where a record of ``kind`` created on an owner of ``owner_type`` shows."""
    panel = next((p for p in PANELS[owner_type] if p.kind == kind and p.creatable), None)
    if panel is None:
        raise ValidationFailed(
            f"{kind.value} records cannot be created on {owner_type.value} records", field="input"
        )
    return panel
