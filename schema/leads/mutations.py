"""Lead mutations: record actions, stores and their waiting-list entries, merge and
undo, conversion."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.utils.str_converters import to_camel_case

from models.leads import Lead as LeadRow
from models.leads import MergeJournal
from models.leads import Store as StoreRow
from models.sessions import Client, Contact
from resolvers import bulk
from resolvers.errors import NotFound, ValidationFailed
from resolvers.leads import conversion, ingestion, merge, records, stores
from resolvers.leads.fields import EDITABLE_FIELDS, STORE_FIELDS
from schema.bulk import ErrorPolicy
from schema.context import Info
from schema.leads.inputs import (
    ConvertLeadInput,
    FieldChoiceInput,
    LeadInput,
    StoreInput,
    WaitlistEntryInput,
    int_id,
)
from schema.leads.types import (
    ConvertLeadPayload,
    CreatedStore,
    Lead,
    LeadMerge,
    Store,
    UpsertWaitlistEntriesPayload,
    global_id,
)
from schema.relay import db_id

# camelCase name → model field, for updateLeadField (store fields named so they are refused).
FIELD_NAMES = {to_camel_case(n): n for n in (*EDITABLE_FIELDS, *STORE_FIELDS)} | {
    "storeId": "store_id"
}
UPSERT_WAITLIST_ENTRIES = f"""The store webhook's events, for scripts (at most \
{ingestion.MAX_WAITLIST_ENTRIES}), under `errorPolicy`. Each result's `outcome`: CREATED \
(a new lead), UPDATED (the lead changed), UNCHANGED (a replay, or nothing new), STALE \
(older than what the lead holds: nothing left to fill). Required of every entry: `type`, \
`customerId`, `occurredAt`, and the field its type is about (`productCode` to join, \
`orderNumber` and `purchaseDate` for a purchase, `emailsSent` for an email sent). Any \
other invalid field fails its entry under the REJECT policies; under IGNORE_FAILED it is \
left out and named in the entry's errors (`entries.<index>.<field>`)."""


def _field_name(camel: str) -> str:
    name = FIELD_NAMES.get(camel)
    if name is None:
        raise ValidationFailed(f"unknown field {camel}", field="field")
    return name


def _merge_field(camel: str) -> str:
    name = _field_name(camel)
    if name not in EDITABLE_FIELDS:
        raise ValidationFailed(f"{camel} cannot be chosen in a merge", field="fieldChoices")
    return name


def _store_pk(store_id: relay.GlobalID) -> int | None:
    """None for an id that is no store's: answered as an unknown store."""
    try:
        return db_id(store_id, StoreRow)
    except NotFound:
        return None


async def _merge_node(info: Info, journal: MergeJournal) -> LeadMerge:
    (node,) = await LeadMerge.from_rows(info, [journal])
    assert node is not None
    return node


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Add a store (administrators); its secret is shown once.")
    async def create_store(self, info: Info, input: StoreInput) -> CreatedStore:
        row, secret = await stores.create_store(
            info.context.require_writer(),
            input.name,
            input.source_system,
            int_id(input.default_assignee_id, "defaultAssigneeId"),
            input.secret,
        )
        return CreatedStore(store=Store.from_row(row), secret=secret)

    @strawberry.mutation(description=UPSERT_WAITLIST_ENTRIES)
    async def upsert_waitlist_entries(
        self,
        info: Info,
        store_id: relay.GlobalID,
        entries: list[WaitlistEntryInput],
        error_policy: ErrorPolicy = bulk.ErrorPolicy.REJECT_EVERYTHING,  # type: ignore[valid-type]
        idempotency_key: str | None = None,
    ) -> UpsertWaitlistEntriesPayload:
        scope = info.context.require_writer()
        result = await ingestion.upsert_waitlist_entries(
            scope,
            _store_pk(store_id),
            [entry.as_event_data() for entry in entries],
            policy=error_policy,
            idempotency_key=idempotency_key,
        )
        rows = await scope.get_many(LeadRow, result.written_ids)
        return UpsertWaitlistEntriesPayload.of(result, "Lead", Lead.from_rows(rows))

    @strawberry.mutation
    async def create_lead(self, info: Info, input: LeadInput) -> Lead:
        row = await records.create_manual_lead(info.context.require_writer(), input.changes())
        return Lead.from_row(row)

    @strawberry.mutation(
        description="Partial update; refused when `version` is not the current one."
    )
    async def update_lead(
        self, info: Info, id: relay.GlobalID, version: int, input: LeadInput
    ) -> Lead:
        scope = info.context.require_writer()
        row = await records.update_lead(scope, db_id(id, LeadRow), version, input.changes())
        return Lead.from_row(row)

    @strawberry.mutation(
        description="Inline edit of one field (camelCase name, value as text). A null or"
        " omitted `value` clears the field, as null does in updateLead (refused for a field"
        " that cannot be empty)."
    )
    async def update_lead_field(
        self, info: Info, id: relay.GlobalID, version: int, field: str, value: str | None = None
    ) -> Lead:
        scope = info.context.require_writer()
        row = await records.update_lead_field(
            scope, db_id(id, LeadRow), version, _field_name(field), value
        )
        return Lead.from_row(row)

    @strawberry.mutation(description="A copy without the store identifiers and waiting-list data.")
    async def duplicate_lead(self, info: Info, id: relay.GlobalID) -> Lead:
        row = await records.duplicate_lead(info.context.require_writer(), db_id(id, LeadRow))
        return Lead.from_row(row)

    @strawberry.mutation(description="Soft delete: restoreLead brings it back.")
    async def delete_lead(self, info: Info, id: relay.GlobalID) -> Lead:
        row = await records.delete_lead(info.context.require_writer(), db_id(id, LeadRow))
        return Lead.from_row(row)

    @strawberry.mutation
    async def restore_lead(self, info: Info, id: relay.GlobalID) -> Lead:
        row = await records.restore_lead(info.context.require_writer(), db_id(id, LeadRow))
        return Lead.from_row(row)

    @strawberry.mutation(description="Create a contact (and optionally a client) from the lead.")
    async def convert_lead(
        self, info: Info, id: relay.GlobalID, input: ConvertLeadInput | None = None
    ) -> ConvertLeadPayload:
        scope = info.context.require_writer()
        given = input or ConvertLeadInput()
        request = conversion.ConversionInput(
            client_id=db_id(given.client_id, Client) if given.client_id else None,
            new_client_name=given.new_client_name,
            make_main_contact=given.make_main_contact,
        )
        done = await conversion.convert_lead(scope, db_id(id, LeadRow), request)
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
            _merge_field(choice.field): db_id(choice.lead_id, LeadRow)
            for choice in field_choices or []
        }
        journal = await merge.merge_leads(
            scope, db_id(primary_id, LeadRow), [db_id(d, LeadRow) for d in duplicate_ids], choices
        )
        return await _merge_node(info, journal)

    @strawberry.mutation
    async def undo_merge(self, info: Info, merge_id: relay.GlobalID) -> LeadMerge:
        journal = await merge.undo_merge(info.context.require_writer(), db_id(merge_id, LeadMerge))
        return await _merge_node(info, journal)
