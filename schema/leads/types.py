"""The leads' output types: the Lead, Store and LeadMerge nodes and the payloads."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from strawberry import relay
from strawberry.utils.str_converters import to_camel_case

from models.leads import Lead as LeadRow
from models.leads import MergeJournal
from models.leads import Store as StoreRow
from resolvers import dataloaders
from resolvers.leads.fields import FIELD_KINDS
from resolvers.leads.listing import lead_neighbors
from resolvers.subpanels.registry import OwnerType
from schema.auth import User
from schema.bulk import BulkPayload
from schema.context import Info
from schema.execution import BUILT_IN_SQL
from schema.leads.enums import DuplicateReasonValue, LeadStatusValue, WaitlistStatusValue
from schema.leads.inputs import LeadFilterInput, LeadOrderBy, lead_filter, lead_order
from schema.subpanels.field import subpanels_field


def global_id(type_name: str, pk: int | None) -> relay.GlobalID | None:
    return None if pk is None else relay.GlobalID(type_name, str(pk))


# Fields copied as they are; status, waitlist status and ids have their own resolvers.
PLAIN_FIELDS = (
    *(n for n, kind in FIELD_KINDS.items() if kind not in ("user", "status", "waitlist_status")),
    *("store_customer_id", "source_system", "created_at", "updated_at", "deleted_at", "version"),
)


async def _user(info: Info, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    row = await info.context.loader(dataloaders.users_by_id).load(user_id)
    return User.from_row(row) if row else None


@strawberry.type
class LeadNeighbors:
    previous: Lead | None
    next: Lead | None


@strawberry.type
class Lead(relay.Node):
    id: relay.NodeID[int]
    first_name: str
    last_name: str
    email: str
    office_phone: str
    mobile: str
    fax: str
    job_title: str
    department: str
    account_name: str
    website: str
    primary_address: str
    other_address: str
    description: str
    referred_by: str
    lead_source: str
    status_description: str
    lead_source_description: str
    opportunity_amount: Decimal | None
    campaign: str
    is_waitlist_entry: bool
    waitlist_product_code: str
    waitlist_date_added: datetime | None
    waitlist_purchase_date: date | None
    waitlist_order_number: str
    waitlist_emails_sent: int = strawberry.field(
        description="Emails the store sent about the course."
    )
    store_customer_id: str | None = strawberry.field(
        description="The store's customer ID (read-only)."
    )
    source_system: str
    lawful_basis: str
    lawful_basis_source: str
    lawful_basis_review_date: date | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    version: int
    _row: strawberry.Private[LeadRow]
    subpanels = subpanels_field(OwnerType.LEAD)

    @classmethod
    def from_row(cls, row: LeadRow) -> Lead:
        return cls(id=row.id, _row=row, **{name: getattr(row, name) for name in PLAIN_FIELDS})

    @classmethod
    def from_rows(cls, rows: list[LeadRow | None]) -> list[Lead | None]:
        return [cls.from_row(row) if row else None for row in rows]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list[Lead | None]:
        return cls.from_rows(await info.context.require_scope().get_many(LeadRow, node_ids))

    # Their value objects are built in SQL too (schema/json_sql.py's TABLES["Lead"]).
    @strawberry.field(metadata={BUILT_IN_SQL: True})
    def status(self) -> LeadStatusValue:
        return LeadStatusValue(value=self._row.status)

    @strawberry.field(metadata={BUILT_IN_SQL: True})
    def waitlist_status(self) -> WaitlistStatusValue | None:
        value = self._row.waitlist_status
        return WaitlistStatusValue(value=value) if value else None

    @strawberry.field
    async def assigned_user(self, info: Info) -> User | None:
        return await _user(info, self._row.assigned_user_id)

    @strawberry.field(description="The store this lead comes from (read-only).")
    def store_id(self) -> relay.GlobalID | None:
        return global_id("Store", self._row.store_id)

    @strawberry.field
    def merged_into_id(self) -> relay.GlobalID | None:
        return global_id("Lead", self._row.merged_into_id)

    @strawberry.field
    def converted_contact_id(self) -> relay.GlobalID | None:
        return global_id("Contact", self._row.converted_contact_id)

    @strawberry.field(description="Previous and next record within the list's filter and order.")
    async def neighbors(
        self,
        info: Info,
        filter: LeadFilterInput | None = None,
        order_by: LeadOrderBy | None = None,
    ) -> LeadNeighbors:
        scope = info.context.require_scope()
        before, after = await lead_neighbors(
            scope, self._row, lead_filter(filter), lead_order(order_by)
        )
        wanted = [i for i in (before, after) if i is not None]
        rows = {row.id: row for row in await scope.get_many(LeadRow, wanted) if row}
        return LeadNeighbors(
            previous=Lead.from_row(rows[before]) if before in rows else None,
            next=Lead.from_row(rows[after]) if after in rows else None,
        )


@strawberry.type
class Store(relay.Node):
    id: relay.NodeID[int]
    name: str
    source_system: str
    _default_assignee_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: StoreRow) -> Store:
        return cls(
            id=row.id,
            name=row.name,
            source_system=row.source_system,
            _default_assignee_id=row.default_assignee_id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list[Store | None]:
        rows = await info.context.require_scope().get_many(StoreRow, node_ids)
        return [cls.from_row(row) if row else None for row in rows]

    @strawberry.field(description="Where the store posts its signed waiting-list events.")
    def webhook_path(self) -> str:
        return f"/webhooks/stores/{self.id}"

    @strawberry.field
    async def default_assignee(self, info: Info) -> User | None:
        return await _user(info, self._default_assignee_id)


@strawberry.type
class CreatedStore:
    store: Store
    secret: str = strawberry.field(
        description="The HMAC signing secret. Shown once: it cannot be read again."
    )


@strawberry.type
class LeadDuplicate:
    lead: Lead
    reasons: list[DuplicateReasonValue]


@strawberry.type
class DuplicateLeadGroup:
    reason: DuplicateReasonValue
    key: list[str]
    leads: list[Lead]


@strawberry.type
class MergeFieldOrigin:
    field: str
    lead_id: relay.GlobalID


@strawberry.type
class LeadMerge(relay.Node):
    id: relay.NodeID[int]
    primary: Lead
    duplicate_ids: list[relay.GlobalID]
    field_origins: list[MergeFieldOrigin]
    undone_at: datetime | None

    @classmethod
    def from_row(cls, row: MergeJournal, primary: LeadRow) -> LeadMerge:
        return cls(
            id=row.id,
            primary=Lead.from_row(primary),
            duplicate_ids=[relay.GlobalID("Lead", str(i)) for i in row.duplicate_ids],
            field_origins=[
                MergeFieldOrigin(field=to_camel_case(f), lead_id=relay.GlobalID("Lead", str(i)))
                for f, i in row.field_origins.items()
            ],
            undone_at=row.undone_at,
        )

    @classmethod
    async def from_rows(cls, info: Info, rows: list[MergeJournal | None]) -> list[LeadMerge | None]:
        """With their primaries read in one query (a merged primary is never removed)."""
        scope = info.context.require_scope()
        primaries = await scope.get_many(LeadRow, [row.primary_id for row in rows if row])
        by_id = {lead.id: lead for lead in primaries if lead}
        return [cls.from_row(row, by_id[row.primary_id]) if row else None for row in rows]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list[LeadMerge | None]:
        rows = await info.context.require_scope().get_many(MergeJournal, node_ids)
        return await cls.from_rows(info, rows)


@strawberry.type
class ConvertLeadPayload:
    lead: Lead
    contact_id: relay.GlobalID
    client_id: relay.GlobalID | None


@strawberry.type
class UpsertWaitlistEntriesPayload(BulkPayload[Lead]):
    pass
