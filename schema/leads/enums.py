"""The leads' enums and their values with a label in the caller's language."""

from __future__ import annotations

import strawberry

from models.leads import LeadStatus as LeadStatusModel
from models.leads import WaitlistStatus as WaitlistStatusModel
from resolvers.leads import duplicates, listing, waitlist_events
from schema.context import Info

LeadStatus = strawberry.enum(LeadStatusModel, name="LeadStatus")
WaitlistStatus = strawberry.enum(WaitlistStatusModel, name="WaitlistStatus")
LeadSortField = strawberry.enum(listing.LeadSort, name="LeadSortField")
DuplicateReason = strawberry.enum(duplicates.DuplicateReason, name="DuplicateReason")
WaitlistEventType = strawberry.enum(waitlist_events.WaitlistEventType, name="WaitlistEventType")

LABELS: dict[str, tuple[str, str]] = {
    "NEW": ("Nouveau", "New"),
    "ASSIGNED": ("Assigné", "Assigned"),
    "IN_PROCESS": ("En cours de traitement", "In process"),
    "CONVERTED": ("Converti", "Converted"),
    "RECYCLED": ("Recyclé", "Recycled"),
    "DEAD": ("Perdu", "Dead"),
    "PENDING": ("En attente", "Pending"),
    "REMOVED": ("Supprimé", "Removed"),
    "SAME_EMAIL": ("Même adresse courriel", "Same email address"),
    "SAME_NAME_AND_PHONE": ("Même nom et même téléphone", "Same name and phone"),
    "SAME_NAME_AND_ACCOUNT": ("Même nom et même compte", "Same name and account"),
}


def label(info: Info, value: str) -> str:
    french, english = LABELS[value]
    return english if info.context.locale == "en" else french


@strawberry.type
class LeadStatusValue:
    value: LeadStatus  # type: ignore[valid-type]

    @strawberry.field
    def label(self, info: Info) -> str:
        return label(info, self.value.value)


@strawberry.type
class WaitlistStatusValue:
    value: WaitlistStatus  # type: ignore[valid-type]

    @strawberry.field
    def label(self, info: Info) -> str:
        return label(info, self.value.value)


@strawberry.type
class DuplicateReasonValue:
    value: DuplicateReason  # type: ignore[valid-type]

    @strawberry.field
    def label(self, info: Info) -> str:
        return label(info, self.value.value)
