"""Waiting-list events applied to leads (SPEC §7 ingestion): the core of the store
webhook, and ``upsert_waitlist_entries``, its bulk form for scripts.

Events are keyed by (store, store customer ID). Every event carries absolute values
(a status, a date, a total count), so replaying one changes nothing. ``occurredAt``
orders them: an event older than the newest one applied only fills fields that are
still empty, so it never overwrites newer data yet loses nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from tortoise.exceptions import IntegrityError

from models.leads import Lead, LeadStatus, Store, WaitlistStatus
from resolvers.bulk import (
    BulkCall,
    BulkResult,
    ErrorPolicy,
    ItemError,
    ItemRejected,
    Written,
    run_bulk,
)
from resolvers.context import Scope
from resolvers.leads.records import create_lead, save_changes
from resolvers.leads.stores import get_store
from resolvers.leads.waitlist_events import WaitlistEvent, WaitlistEventType, check_event
from resolvers.runtime import atomic

MAX_MERGE_HOPS = 20
MAX_WAITLIST_ENTRIES = 500


class IngestOutcome(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"  # a replay, or nothing new
    STALE = "STALE"  # older than what the lead already holds: nothing to fill


def event_changes(event: WaitlistEvent) -> dict[str, Any]:
    """The lead fields an event sets (absolute values, so a replay is a no-op)."""
    changes: dict[str, Any] = {"is_waitlist_entry": True}
    for field, value in (
        ("first_name", event.first_name),
        ("last_name", event.last_name),
        ("email", event.email),
        ("waitlist_product_code", event.product_code),
        ("waitlist_purchase_date", event.purchase_date),
        ("waitlist_order_number", event.order_number),
        ("waitlist_emails_sent", event.emails_sent),
    ):
        if value is not None:
            changes[field] = value
    if event.type == WaitlistEventType.JOINED:
        changes.update(
            waitlist_status=WaitlistStatus.PENDING, waitlist_date_added=event.occurred_at
        )
    elif event.type == WaitlistEventType.REMOVED:
        changes["waitlist_status"] = WaitlistStatus.REMOVED
    return changes


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == 0


async def apply_waitlist_event(
    scope: Scope, store: Store, event: WaitlistEvent
) -> tuple[IngestOutcome, int]:
    """Create or update the lead of (store, customer); inside the caller's transaction."""
    keyed = await _keyed_lead(scope, store, event.customer_id)
    if keyed is None:
        try:
            async with atomic():  # a savepoint: a concurrent first event may win the insert
                lead = await create_lead(
                    scope, _new_lead_values(store, event), reason=event.type.value, action="ingest"
                )
            return IngestOutcome.CREATED, lead.id
        except IntegrityError:
            keyed = await _keyed_lead(scope, store, event.customer_id)
            if keyed is None:
                raise
    target = await _live_lead(scope, keyed)
    changes = event_changes(event)
    stale = keyed.store_event_at is not None and event.occurred_at < keyed.store_event_at
    if stale:
        changes = {k: v for k, v in changes.items() if _is_empty(getattr(target, k))}
    else:
        await scope.query(Lead).filter(id=keyed.id).update(store_event_at=event.occurred_at)
    diff = await save_changes(scope, target, changes, action="ingest", reason=event.type.value)
    if diff:
        return IngestOutcome.UPDATED, target.id
    return (IngestOutcome.STALE if stale else IngestOutcome.UNCHANGED), target.id


async def _keyed_lead(scope: Scope, store: Store, customer_id: str) -> Lead | None:
    return (
        await scope.query(Lead)
        .filter(store_id=store.id, store_customer_id=customer_id)
        .select_for_update()
        .first()
    )


async def _live_lead(scope: Scope, lead: Lead) -> Lead:
    """A merged lead's events go to the lead it was merged into."""
    for _ in range(MAX_MERGE_HOPS):
        if lead.merged_into_id is None:
            return lead
        lead = await scope.get(Lead, lead.merged_into_id, for_update=True)
    return lead


def _new_lead_values(store: Store, event: WaitlistEvent) -> dict[str, Any]:
    return event_changes(event) | {
        "store_id": store.id,
        "store_customer_id": event.customer_id,
        "source_system": store.source_system or store.name,
        "store_event_at": event.occurred_at,
        "assigned_user_id": store.default_assignee_id,
        "status": LeadStatus.ASSIGNED if store.default_assignee_id else LeadStatus.NEW,
    }


async def upsert_waitlist_entries(
    scope: Scope,
    store_id: int | None,
    entries: Sequence[Mapping[str, Any]],
    *,
    policy: ErrorPolicy = ErrorPolicy.REJECT_EVERYTHING,
    idempotency_key: str | None = None,
) -> BulkResult:
    """The webhook's events in bulk (fields as in its body), under the bulk contract; an
    item's outcome is an ``IngestOutcome``. Under IGNORE_FAILED an entry's invalid
    optional fields are left out (see resolvers.leads.waitlist_events)."""
    scope.require_write()
    store = await get_store(scope, store_id)

    async def write(data: Mapping[str, Any], lenient: bool) -> Written:
        checked = check_event(data)
        errors = [ItemError(p.error.code, p.error.message, p.key) for p in checked.problems]
        if checked.event is None or (errors and not lenient):
            raise ItemRejected(errors)
        outcome, lead_id = await apply_waitlist_event(scope, store, checked.event)
        return Written(lead_id, left_out=errors, outcome=outcome.value)

    call = BulkCall(
        operation=f"upsertWaitlistEntries:{store.id}",
        items=entries,
        policy=policy,
        idempotency_key=idempotency_key,
        max_items=MAX_WAITLIST_ENTRIES,
        field="entries",
    )
    return await run_bulk(scope, call, write)
