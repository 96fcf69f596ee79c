"""The leads' enums and their values with a label in the caller's language."""

from __future__ import annotations

import strawberry

from models.leads import LeadStatus as LeadStatusModel
from models.leads import WaitlistStatus as WaitlistStatusModel
from resolvers import labels
from resolvers.leads import duplicates, listing, waitlist_events
from schema.context import Info
from schema.execution import BUILT_IN_SQL

LeadStatus = strawberry.enum(LeadStatusModel, name="LeadStatus")
WaitlistStatus = strawberry.enum(WaitlistStatusModel, name="WaitlistStatus")
LeadSortField = strawberry.enum(listing.LeadSort, name="LeadSortField")
DuplicateReason = strawberry.enum(duplicates.DuplicateReason, name="DuplicateReason")
WaitlistEventType = strawberry.enum(waitlist_events.WaitlistEventType, name="WaitlistEventType")


def label(info: Info, value: str) -> str:
    return labels.lead_value(value, info.context.locale)


@strawberry.type
class LeadStatusValue:
    value: LeadStatusModel = strawberry.field(graphql_type=LeadStatus)

    @strawberry.field(metadata={BUILT_IN_SQL: True})  # schema/json_sql.py's LABELLED
    def label(self, info: Info) -> str:
        return label(info, self.value.value)


@strawberry.type
class WaitlistStatusValue:
    value: WaitlistStatusModel = strawberry.field(graphql_type=WaitlistStatus)

    @strawberry.field(metadata={BUILT_IN_SQL: True})  # schema/json_sql.py's LABELLED
    def label(self, info: Info) -> str:
        return label(info, self.value.value)


@strawberry.type
class DuplicateReasonValue:
    value: duplicates.DuplicateReason = strawberry.field(graphql_type=DuplicateReason)

    @strawberry.field
    def label(self, info: Info) -> str:
        return label(info, self.value.value)
