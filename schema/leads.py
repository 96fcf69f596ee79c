"""Leads (SPEC §7): the list, the record view and its actions, stores and their waiting
list, duplicates, merge and undo, conversion. Thin: the rules live in resolvers.lead*."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry import relay
from strawberry.utils.str_converters import to_camel_case

from models.leads import Lead as LeadRow
from models.leads import LeadStatus as LeadStatusModel
from models.leads import MergeJournal
from models.leads import Store as StoreRow
from models.leads import WaitlistStatus as WaitlistStatusModel
from models.sessions import Client, Contact
from resolvers import lead_duplicates, lead_ingestion, lead_merge, leads
from resolvers.context import row_id
from resolvers.errors import NotFound, ValidationFailed
from resolvers.idempotency import run_once
from schema.auth import User
from schema.common import given_fields
from schema.context import Info
from schema.pagination import Connection, build_connection, decode_cursor, page_size, paginate
from schema.relay import db_id

LeadStatus = strawberry.enum(LeadStatusModel, name="LeadStatus")
WaitlistStatus = strawberry.enum(WaitlistStatusModel, name="WaitlistStatus")
LeadSortField = strawberry.enum(leads.LeadSort, name="LeadSortField")
DuplicateReason = strawberry.enum(lead_duplicates.DuplicateReason, name="DuplicateReason")
WaitlistResult = strawberry.enum(lead_ingestion.IngestResult, name="WaitlistEntryResultCode")
WaitlistEventType = strawberry.enum(lead_ingestion.WaitlistEventType, name="WaitlistEventType")

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


def global_id(type_name: str, pk: int | None) -> relay.GlobalID | None:
    return None if pk is None else relay.GlobalID(type_name, str(pk))


# --- inputs -----------------------------------------------------------------------------------


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

    def to_filter(self) -> leads.LeadFilter:
        return leads.LeadFilter(
            statuses=tuple(self.statuses or ()),
            waitlist_statuses=tuple(self.waitlist_statuses or ()),
            product_code=self.product_code,
            source_system=self.source_system,
            store_id=db_id(self.store_id, Store) if self.store_id else None,
            assigned_user_id=_int_id(self.assigned_user_id, "assignedUserId"),
            created_from=self.created_from,
            created_to=self.created_to,
            modified_from=self.modified_from,
            modified_to=self.modified_to,
            search=self.search,
            include_deleted=self.include_deleted,
        )


def _int_id(raw: str | None, field: str) -> int | None:
    if raw is None:
        return None
    pk = row_id(raw)
    if pk is None:
        raise NotFound(f"{field}: {raw} not found", field=field)
    return pk


def _filter(value: LeadFilterInput | None) -> leads.LeadFilter:
    return value.to_filter() if value else leads.LeadFilter()


@strawberry.input
class LeadOrderBy:
    field: LeadSortField = leads.LeadSort.CREATED_AT  # type: ignore[valid-type]
    descending: bool = True

    def to_order(self) -> leads.LeadOrder:
        return leads.LeadOrder(self.field, self.descending)


def _order(value: LeadOrderBy | None) -> leads.LeadOrder:
    return value.to_order() if value else leads.LeadOrder()


# A null is refused for these kinds (a flag, a count, the status); others may be cleared.
NULLABLE_LEAD_FIELDS = tuple(
    name for name, kind in leads.FIELD_KINDS.items() if kind not in ("bool", "int", "status")
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
        values = given_fields(self, leads.EDITABLE_FIELDS, nullable=NULLABLE_LEAD_FIELDS)
        if "assigned_user_id" in values:
            values["assigned_user_id"] = _int_id(values["assigned_user_id"], "assignedUserId")
        return {
            name: "" if value is None and leads.FIELD_KINDS[name] == "text" else value
            for name, value in values.items()
        }


# camelCase name → model field, for updateLeadField (store fields named so they are refused).
FIELD_NAMES = {to_camel_case(n): n for n in (*leads.EDITABLE_FIELDS, *leads.STORE_FIELDS)} | {
    "storeId": "store_id"
}


# --- node types ------------------------------------------------------------------------------

# Fields copied as they are; status, waitlist status and ids have their own resolvers.
PLAIN_FIELDS = (
    *(
        n
        for n, kind in leads.FIELD_KINDS.items()
        if kind not in ("user", "status", "waitlist_status")
    ),
    *("store_customer_id", "source_system", "created_at", "updated_at", "deleted_at", "version"),
)


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

    @classmethod
    def from_row(cls, row: LeadRow) -> Lead:
        return cls(id=row.id, _row=row, **{name: getattr(row, name) for name in PLAIN_FIELDS})

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list[Lead | None]:
        scope = info.context.require_scope()
        wanted = [int(i) for i in node_ids if str(i).isdigit()]
        rows = {row.id: row for row in await scope.query(LeadRow).filter(id__in=wanted)}
        found = [rows.get(int(i)) if str(i).isdigit() else None for i in node_ids]
        return [cls.from_row(row) if row else None for row in found]

    @strawberry.field
    def status(self) -> LeadStatusValue:
        return LeadStatusValue(value=self._row.status)

    @strawberry.field
    def waitlist_status(self) -> WaitlistStatusValue | None:
        value = self._row.waitlist_status
        return WaitlistStatusValue(value=value) if value else None

    @strawberry.field
    async def assigned_user(self, info: Info) -> User | None:
        if self._row.assigned_user_id is None:
            return None
        row = await info.context.loader(leads.users_loader).load(self._row.assigned_user_id)
        return User.from_row(row) if row else None

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
        before, after = await leads.lead_neighbors(
            scope, self._row, _filter(filter), _order(order_by)
        )
        rows = {
            r.id: r
            for r in await scope.query(LeadRow).filter(id__in=[i for i in (before, after) if i])
        }
        return LeadNeighbors(
            previous=Lead.from_row(rows[before]) if before else None,
            next=Lead.from_row(rows[after]) if after else None,
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
        scope = info.context.require_scope()
        wanted = [int(i) for i in node_ids if str(i).isdigit()]
        rows = {row.id: row for row in await scope.query(StoreRow).filter(id__in=wanted)}
        return [
            cls.from_row(rows[int(i)]) if str(i).isdigit() and int(i) in rows else None
            for i in node_ids
        ]

    @strawberry.field(description="Where the store posts its signed waiting-list events.")
    def webhook_path(self) -> str:
        return f"/webhooks/stores/{self.id}"

    @strawberry.field
    async def default_assignee(self, info: Info) -> User | None:
        if self._default_assignee_id is None:
            return None
        row = await info.context.loader(leads.users_loader).load(self._default_assignee_id)
        return User.from_row(row) if row else None


@strawberry.type
class CreatedStore:
    store: Store
    secret: str = strawberry.field(
        description="The HMAC signing secret. Shown once: it cannot be read again."
    )


@strawberry.type
class LeadChangeLogEntry:
    at: datetime
    action: str
    field: str = strawberry.field(
        description="camelCase field name; empty for a whole-record action."
    )
    old_value: str | None
    new_value: str | None
    reason: str
    actor_kind: str
    actor_label: str


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
    async def from_row(cls, row: MergeJournal, info: Info) -> LeadMerge:
        primary = await info.context.require_scope().get(LeadRow, row.primary_id)
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
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: list[str], required: bool = False
    ) -> list[LeadMerge | None]:
        scope = info.context.require_scope()
        wanted = [int(i) for i in node_ids if str(i).isdigit()]
        rows = {row.id: row for row in await scope.query(MergeJournal).filter(id__in=wanted)}
        return [
            await cls.from_row(rows[int(i)], info) if str(i).isdigit() and int(i) in rows else None
            for i in node_ids
        ]


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


@strawberry.type
class WaitlistEntryResult:
    customer_id: str
    result: WaitlistResult | None  # type: ignore[valid-type]
    lead_id: relay.GlobalID | None
    error: str | None
    error_field: str | None


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


@strawberry.type
class ConvertLeadPayload:
    lead: Lead
    contact_id: relay.GlobalID
    client_id: relay.GlobalID | None


MAX_WAITLIST_ENTRIES = 500


def _field_name(camel: str) -> str:
    name = FIELD_NAMES.get(camel)
    if name is None:
        raise ValidationFailed(f"unknown field {camel}", field="field")
    return name


def _entry_result(item: dict[str, Any]) -> WaitlistEntryResult:
    return WaitlistEntryResult(
        customer_id=item["customer_id"],
        result=lead_ingestion.IngestResult(item["result"]) if item["result"] else None,
        lead_id=global_id("Lead", item["lead_id"]),
        error=item["error"],
        error_field=item["error_field"],
    )


# --- operations ---------------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field
    async def lead(self, info: Info, id: relay.GlobalID) -> Lead:
        row = await leads.get_lead(info.context.require_scope(), db_id(id, Lead))
        return Lead.from_row(row)

    @strawberry.field(description="Leads, filtered and sorted; deleted ones only on request.")
    async def leads(
        self,
        info: Info,
        filter: LeadFilterInput | None = None,
        order_by: LeadOrderBy | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Lead]:
        scope = info.context.require_scope()
        qs = leads.list_leads(scope, _filter(filter), _order(order_by))
        return await paginate(qs, first, after, Lead.from_row)

    @strawberry.field(description="Who changed what on a lead, oldest first.")
    async def lead_change_log(self, info: Info, id: relay.GlobalID) -> list[LeadChangeLogEntry]:
        entries = await leads.lead_change_log(info.context.require_scope(), db_id(id, Lead))
        return [
            LeadChangeLogEntry(
                at=e.at,
                action=e.action,
                field=to_camel_case(e.field),
                old_value=e.old_value,
                new_value=e.new_value,
                reason=e.reason,
                actor_kind=e.actor_kind,
                actor_label=e.actor_label,
            )
            for e in entries
        ]

    @strawberry.field(description="Live leads that look like this one, with why.")
    async def lead_duplicates(self, info: Info, id: relay.GlobalID) -> list[LeadDuplicate]:
        matches = await lead_duplicates.lead_duplicates(
            info.context.require_scope(), db_id(id, Lead)
        )
        return [
            LeadDuplicate(
                lead=Lead.from_row(m.lead),
                reasons=[DuplicateReasonValue(value=r) for r in m.reasons],
            )
            for m in matches
        ]

    @strawberry.field(description="Groups of likely duplicates across the organisation.")
    async def duplicate_lead_groups(
        self,
        info: Info,
        filter: LeadFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[DuplicateLeadGroup]:
        scope = info.context.require_scope()
        wanted, size, offset = _filter(filter), page_size(first), decode_cursor(after)
        groups = await lead_duplicates.duplicate_groups(scope, wanted, offset, size + 1)
        return build_connection(
            [
                DuplicateLeadGroup(
                    reason=DuplicateReasonValue(value=g.reason),
                    key=list(g.key),
                    leads=[Lead.from_row(row) for row in g.leads],
                )
                for g in groups[:size]
            ],
            offset,
            size,
            len(groups) > size,
            lambda: lead_duplicates.count_duplicate_groups(scope, wanted),
        )

    @strawberry.field(description="The organisation's stores (their secrets are never shown).")
    async def stores(self, info: Info) -> list[Store]:
        rows = await info.context.require_scope().query(StoreRow).order_by("id")
        return [Store.from_row(row) for row in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Add a store (administrators); its secret is shown once.")
    async def create_store(self, info: Info, input: StoreInput) -> CreatedStore:
        row, secret = await lead_ingestion.create_store(
            info.context.require_writer(),
            input.name,
            input.source_system,
            _int_id(input.default_assignee_id, "defaultAssigneeId"),
            input.secret,
        )
        return CreatedStore(store=Store.from_row(row), secret=secret)

    @strawberry.mutation(
        description="The store webhook's events, for scripts: one result per entry."
    )
    async def upsert_waitlist_entries(
        self,
        info: Info,
        store_id: relay.GlobalID,
        entries: list[WaitlistEntryInput],
        idempotency_key: str | None = None,
    ) -> list[WaitlistEntryResult]:
        scope = info.context.require_writer()
        if len(entries) > MAX_WAITLIST_ENTRIES:
            raise ValidationFailed(
                f"at most {MAX_WAITLIST_ENTRIES} entries at once", field="entries"
            )
        try:
            store = await scope.get(StoreRow, db_id(store_id, Store))
        except NotFound:
            raise NotFound("store not found", field="storeId") from None

        async def produce() -> dict[str, Any]:
            items = await lead_ingestion.upsert_waitlist_entries(
                scope, store, [entry.as_event_data() for entry in entries]
            )
            return {"items": [asdict(item) for item in items]}

        result = await run_once(
            scope, f"upsertWaitlistEntries:{store.id}", idempotency_key, produce
        )
        return [_entry_result(item) for item in result["items"]]

    @strawberry.mutation
    async def create_lead(self, info: Info, input: LeadInput) -> Lead:
        row = await leads.create_manual_lead(info.context.require_writer(), input.changes())
        return Lead.from_row(row)

    @strawberry.mutation(
        description="Partial update; refused when `version` is not the current one."
    )
    async def update_lead(
        self, info: Info, id: relay.GlobalID, version: int, input: LeadInput
    ) -> Lead:
        scope = info.context.require_writer()
        row = await leads.update_lead(scope, db_id(id, Lead), version, input.changes())
        return Lead.from_row(row)

    @strawberry.mutation(description="Inline edit of one field (camelCase name, value as text).")
    async def update_lead_field(
        self, info: Info, id: relay.GlobalID, version: int, field: str, value: str | None
    ) -> Lead:
        scope = info.context.require_writer()
        row = await leads.update_lead_field(
            scope, db_id(id, Lead), version, _field_name(field), value
        )
        return Lead.from_row(row)

    @strawberry.mutation(description="A copy without the store identifiers and waiting-list data.")
    async def duplicate_lead(self, info: Info, id: relay.GlobalID) -> Lead:
        row = await leads.duplicate_lead(info.context.require_writer(), db_id(id, Lead))
        return Lead.from_row(row)

    @strawberry.mutation(description="Soft delete: restoreLead brings it back.")
    async def delete_lead(self, info: Info, id: relay.GlobalID) -> Lead:
        row = await leads.delete_lead(info.context.require_writer(), db_id(id, Lead))
        return Lead.from_row(row)

    @strawberry.mutation
    async def restore_lead(self, info: Info, id: relay.GlobalID) -> Lead:
        row = await leads.restore_lead(info.context.require_writer(), db_id(id, Lead))
        return Lead.from_row(row)

    @strawberry.mutation(description="Create a contact (and optionally a client) from the lead.")
    async def convert_lead(
        self, info: Info, id: relay.GlobalID, input: ConvertLeadInput | None = None
    ) -> ConvertLeadPayload:
        scope = info.context.require_writer()
        given = input or ConvertLeadInput()
        request = leads.ConversionInput(
            client_id=db_id(given.client_id, Client) if given.client_id else None,
            new_client_name=given.new_client_name,
            make_main_contact=given.make_main_contact,
        )
        done = await leads.convert_lead(scope, db_id(id, Lead), request)
        return ConvertLeadPayload(
            lead=Lead.from_row(done.lead),
            contact_id=relay.GlobalID(Contact.__name__, str(done.contact.id)),
            client_id=global_id(Client.__name__, done.client.id if done.client else None),
        )

    @strawberry.mutation(description="Merge duplicates into the primary; undoMerge reverts it.")
    async def merge_leads(
        self,
        info: Info,
        primary_id: relay.GlobalID,
        duplicate_ids: list[relay.GlobalID],
        field_choices: list[FieldChoiceInput] | None = None,
    ) -> LeadMerge:
        scope = info.context.require_writer()
        choices = {
            leads_field(choice.field): db_id(choice.lead_id, Lead) for choice in field_choices or []
        }
        journal = await lead_merge.merge_leads(
            scope, db_id(primary_id, Lead), [db_id(d, Lead) for d in duplicate_ids], choices
        )
        return await LeadMerge.from_row(journal, info)

    @strawberry.mutation
    async def undo_merge(self, info: Info, merge_id: relay.GlobalID) -> LeadMerge:
        journal = await lead_merge.undo_merge(
            info.context.require_writer(), db_id(merge_id, LeadMerge)
        )
        return await LeadMerge.from_row(journal, info)


def leads_field(camel: str) -> str:
    name = _field_name(camel)
    if name not in leads.EDITABLE_FIELDS:
        raise ValidationFailed(f"{camel} cannot be chosen in a merge", field="fieldChoices")
    return name
