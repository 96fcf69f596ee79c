"""Lead queries: the list, one lead, its change log and duplicates, duplicate groups,
the stores."""

from __future__ import annotations

from functools import partial

import strawberry
from strawberry import relay

from models.leads import Lead as LeadRow
from models.leads import Store as StoreRow
from resolvers import dataloaders
from resolvers.errors import NotFound
from resolvers.leads import duplicates, listing, records
from schema import json_sql
from schema.audit import ChangeLogEntry
from schema.context import Info
from schema.leads.enums import DuplicateReasonValue
from schema.leads.inputs import LeadFilterInput, LeadOrderBy, lead_filter, lead_order
from schema.leads.types import DuplicateLeadGroup, Lead, LeadDuplicate, Store
from schema.pagination import Connection, build_connection, decode_cursor, page_size, paginate
from schema.prefetch import below, selections_of
from schema.relay import db_id


async def _load_lead(info: Info, lead_id: int) -> Lead:
    """A lead of a page built as JSON, as a node (where the JSON cannot be embedded)."""
    row = await info.context.loader(dataloaders.leads_by_id).load(lead_id)
    if row is None:  # deleted meanwhile
        raise NotFound(f"lead {lead_id} not found", field="id")
    return Lead.from_row(row)


@strawberry.type
class Query:
    @strawberry.field
    async def lead(self, info: Info, id: relay.GlobalID) -> Lead:
        row = await records.get_lead(info.context.require_scope(), db_id(id, LeadRow))
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
        qs = listing.list_leads(scope, lead_filter(filter), lead_order(order_by))
        selections = selections_of(info)
        count_too = below(selections, "totalCount") is not None
        fetch = None
        if info.context.json_fragments:  # the database builds the leads' JSON, if it can
            nodes = below(selections, "edges", "node")
            fetch = json_sql.page_fetch(info.context, "Lead", nodes, partial(_load_lead, info))
        return await paginate(qs, first, after, Lead.from_row, count_too=count_too, fetch=fetch)

    @strawberry.field(description="Who changed what on a lead, oldest first.")
    async def lead_change_log(self, info: Info, id: relay.GlobalID) -> list[ChangeLogEntry]:
        entries = await records.lead_change_log(info.context.require_scope(), db_id(id, LeadRow))
        return [ChangeLogEntry.from_row(e) for e in entries]

    @strawberry.field(description="Live leads that look like this one, with why.")
    async def lead_duplicates(self, info: Info, id: relay.GlobalID) -> list[LeadDuplicate]:
        matches = await duplicates.lead_duplicates(info.context.require_scope(), db_id(id, LeadRow))
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
        wanted, size, offset = lead_filter(filter), page_size(first), decode_cursor(after)
        groups = await duplicates.duplicate_groups(scope, wanted, offset, size + 1)
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
            lambda: duplicates.count_duplicate_groups(scope, wanted),
        )

    @strawberry.field(description="The organisation's stores (their secrets are never shown).")
    async def stores(self, info: Info) -> list[Store]:
        rows = await info.context.require_scope().query(StoreRow).order_by("id")
        return [Store.from_row(row) for row in rows]
