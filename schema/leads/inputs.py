"""The leads' input types and the decoding of their ids."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry import relay
from strawberry.utils.str_converters import to_camel_case

from models.leads import Lead, Store
from resolvers.context import row_id
from resolvers.errors import NotFound
from resolvers.leads.fields import EDITABLE_FIELDS, FIELD_KINDS
from resolvers.leads.listing import LeadFilter, LeadOrder, LeadSort
from resolvers.selections import Selection
from schema.common import given_fields
from schema.leads.enums import LeadSortField, LeadStatus, WaitlistEventType, WaitlistStatus
from schema.relay import db_id
from schema.selections import selection_of


def int_id(raw: str | None, field: str) -> int | None:
    """A plain ``ID`` argument (a user's) as a row id; one no row can have is NOT_FOUND."""
    if raw is None:
        return None
    pk = row_id(raw)
    if pk is None:
        raise NotFound(f"{field}: {raw} not found", field=field)
    return pk


@strawberry.input(description="List filter; every given criterion must match.")
class LeadFilterInput:
    statuses: list[LeadStatus] | None = None  # type: ignore[valid-type]
    waitlist_statuses: list[WaitlistStatus] | None = None  # type: ignore[valid-type]
    product_code: str | None = None
    source_system: str | None = None
    store_id: relay.GlobalID | None = None
    assigned_user_id: strawberry.ID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    modified_from: datetime | None = None
    modified_to: datetime | None = None
    search: str | None = strawberry.field(default=None, description="Free text on name and email.")
    include_deleted: bool = False

    def to_filter(self) -> LeadFilter:
        return LeadFilter(
            statuses=tuple(self.statuses or ()),
            waitlist_statuses=tuple(self.waitlist_statuses or ()),
            product_code=self.product_code,
            source_system=self.source_system,
            store_id=db_id(self.store_id, Store) if self.store_id else None,
            assigned_user_id=int_id(self.assigned_user_id, "assignedUserId"),
            created_from=self.created_from,
            created_to=self.created_to,
            modified_from=self.modified_from,
            modified_to=self.modified_to,
            search=self.search,
            include_deleted=self.include_deleted,
        )


def lead_filter(value: LeadFilterInput | None) -> LeadFilter:
    return value.to_filter() if value else LeadFilter()


@strawberry.input(
    description="Which leads an action, export or print works on: the ids given, or every "
    "lead the list's filter matches except excludeIds. Give ids or filter."
)
class LeadSelection:
    ids: list[relay.GlobalID] | None = None
    filter: LeadFilterInput | None = None
    exclude_ids: list[relay.GlobalID] | None = None

    def to_selection(self) -> Selection[LeadFilter]:
        wanted = self.filter.to_filter() if self.filter else None
        return selection_of(Lead, self.ids, wanted, self.exclude_ids)


@strawberry.input
class LeadOrderBy:
    field: LeadSortField = LeadSort.CREATED_AT  # type: ignore[valid-type]
    descending: bool = True

    def to_order(self) -> LeadOrder:
        return LeadOrder(self.field, self.descending)


def lead_order(value: LeadOrderBy | None) -> LeadOrder:
    return value.to_order() if value else LeadOrder()


# A null is refused for these kinds (a flag, a count, the status); others may be cleared.
NULLABLE_LEAD_FIELDS = tuple(
    name for name, kind in FIELD_KINDS.items() if kind not in ("bool", "int", "status")
)


@strawberry.input(description="Editable fields; the ones left out keep their values.")
class LeadInput:
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    office_phone: str | None = strawberry.UNSET
    mobile: str | None = strawberry.UNSET
    fax: str | None = strawberry.UNSET
    job_title: str | None = strawberry.UNSET
    department: str | None = strawberry.UNSET
    account_name: str | None = strawberry.UNSET
    website: str | None = strawberry.UNSET
    primary_address: str | None = strawberry.UNSET
    other_address: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    assigned_user_id: strawberry.ID | None = strawberry.UNSET
    referred_by: str | None = strawberry.UNSET
    status: LeadStatus | None = strawberry.UNSET  # type: ignore[valid-type]
    lead_source: str | None = strawberry.UNSET
    status_description: str | None = strawberry.UNSET
    lead_source_description: str | None = strawberry.UNSET
    opportunity_amount: Decimal | None = strawberry.UNSET
    campaign: str | None = strawberry.UNSET
    is_waitlist_entry: bool | None = strawberry.UNSET
    waitlist_product_code: str | None = strawberry.UNSET
    waitlist_date_added: datetime | None = strawberry.UNSET
    waitlist_status: WaitlistStatus | None = strawberry.UNSET  # type: ignore[valid-type]
    waitlist_purchase_date: date | None = strawberry.UNSET
    waitlist_order_number: str | None = strawberry.UNSET
    waitlist_emails_sent: int | None = strawberry.UNSET
    lawful_basis: str | None = strawberry.UNSET
    lawful_basis_source: str | None = strawberry.UNSET
    lawful_basis_review_date: date | None = strawberry.UNSET

    def changes(self) -> dict[str, Any]:
        """The fields sent; a null text field is stored empty."""
        values = given_fields(self, EDITABLE_FIELDS, nullable=NULLABLE_LEAD_FIELDS)
        if "assigned_user_id" in values:
            values["assigned_user_id"] = int_id(values["assigned_user_id"], "assignedUserId")
        return {
            name: "" if value is None and FIELD_KINDS[name] == "text" else value
            for name, value in values.items()
        }


@strawberry.input
class WaitlistEntryInput:
    type: WaitlistEventType  # type: ignore[valid-type]
    customer_id: str
    occurred_at: datetime
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    product_code: str | None = None
    purchase_date: date | None = None
    order_number: str | None = None
    emails_sent: int | None = None

    def as_event_data(self) -> dict[str, Any]:
        """The same fields as the webhook's JSON body (camelCase), for the same parser."""
        return {to_camel_case(f.name): getattr(self, f.name) for f in dataclasses.fields(self)}


@strawberry.input
class StoreInput:
    name: str
    source_system: str = ""
    default_assignee_id: strawberry.ID | None = None
    secret: str | None = strawberry.field(
        default=None, description="The signing secret set in the store; generated when omitted."
    )


@strawberry.input
class FieldChoiceInput:
    field: str = strawberry.field(description="camelCase name of an editable field.")
    lead_id: relay.GlobalID = strawberry.field(description="The lead whose value is kept.")


@strawberry.input
class ConvertLeadInput:
    client_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Attach the new contact to this existing client."
    )
    new_client_name: str | None = strawberry.field(
        default=None, description="Create a client too ('' = the lead's account name)."
    )
    make_main_contact: bool = False
