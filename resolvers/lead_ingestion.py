"""Stores and their waiting-list events (SPEC §7 ingestion), shared by the webhook and
the ``upsertWaitlistEntries`` mutation.

Events are keyed by (store, store customer ID). Every event carries absolute values
(a status, a date, a total count), so replaying one changes nothing. ``occurredAt``
orders them: an event older than the newest one applied only fills fields that are
still empty, so it never overwrites newer data yet loses nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from tortoise.exceptions import IntegrityError

from models.core import Role, User
from models.leads import Lead, LeadStatus, Store, WaitlistStatus
from resolvers.context import Actor, ActorKind, Scope
from resolvers.errors import Forbidden, NotFound, ValidationFailed
from resolvers.leads import create_lead, save_changes, validate_changes
from resolvers.outbox import clean_addresses
from resolvers.runtime import atomic

MAX_MERGE_HOPS = 20


class WaitlistEventType(StrEnum):
    JOINED = "waitlist.joined"
    REMOVED = "waitlist.removed"
    PURCHASED = "waitlist.purchased"
    EMAIL_SENT = "waitlist.email_sent"


class IngestResult(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"  # a replay, or nothing new
    STALE = "STALE"  # older than what the lead already holds: nothing to fill


@dataclass(frozen=True)
class WaitlistEvent:
    type: WaitlistEventType
    customer_id: str
    occurred_at: datetime
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    product_code: str | None = None
    purchase_date: date | None = None
    order_number: str | None = None
    emails_sent: int | None = None


# --- stores ------------------------------------------------------------------------------


def new_store_secret() -> str:
    return secrets.token_urlsafe(32)


MIN_SECRET_LENGTH = 16


async def create_store(
    scope: Scope,
    name: str,
    source_system: str,
    default_assignee_id: int | None,
    secret: str | None = None,
) -> tuple[Store, str]:
    """A store and its signing secret (the one its platform gave, or a new one), returned
    this once (administrators only)."""
    if scope.actor.role != Role.ADMIN:
        raise Forbidden("only administrators may add a store")
    if not name.strip():
        raise ValidationFailed("a store needs a name", field="name")
    if default_assignee_id is not None:
        try:
            await scope.get(User, default_assignee_id)
        except NotFound:
            raise NotFound("default assignee not found", field="defaultAssigneeId") from None
    if secret is not None and not MIN_SECRET_LENGTH <= len(secret.strip()) <= 128:
        raise ValidationFailed(
            f"a store secret needs {MIN_SECRET_LENGTH} to 128 characters", field="secret"
        )
    secret = secret.strip() if secret else new_store_secret()
    store = await scope.create(
        Store,
        name=name.strip(),
        secret=secret,
        source_system=source_system.strip() or name.strip(),
        default_assignee_id=default_assignee_id,
    )
    return store, secret


def store_scope(store: Store) -> Scope:
    """The webhook acts as the store, inside the store's organisation only."""
    return Scope(store.organization_id, Actor(ActorKind.STORE, str(store.id), store.name))


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """``X-Signature: sha256=<hex>`` of the raw body, compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), (header or "").strip().encode())


# --- parsing --------------------------------------------------------------------------------


def parse_time(raw: Any, field: str) -> datetime:
    """ISO 8601 with a zone, or Unix seconds."""
    try:
        if isinstance(raw, datetime):
            value = raw
        elif isinstance(raw, int | float) and not isinstance(raw, bool):
            value = datetime.fromtimestamp(raw, UTC)
        elif isinstance(raw, str):
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        else:
            raise ValueError(raw)
    except (ValueError, OverflowError, OSError):
        raise ValidationFailed(
            f"{field} must be an ISO 8601 time or Unix seconds", field=field
        ) from None
    if value.tzinfo is None:
        raise ValidationFailed(f"{field} must include a time zone", field=field)
    return value


def _text(data: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ValidationFailed(f"{key} is required", field=key)
        return None
    if not isinstance(value, str):
        raise ValidationFailed(f"{key} must be a string", field=key)
    if "\x00" in value:  # PostgreSQL text cannot hold it
        raise ValidationFailed(f"{key} must not contain NUL characters", field=key)
    if required and not value.strip():
        raise ValidationFailed(f"{key} is required", field=key)
    return value.strip()


def parse_waitlist_event(data: Mapping[str, Any]) -> WaitlistEvent:
    """A validated event from the store's fields (camelCase); the reason when it is not."""
    try:
        kind = WaitlistEventType(data.get("type"))
    except ValueError:
        allowed = ", ".join(t.value for t in WaitlistEventType)
        raise ValidationFailed(f"type must be one of {allowed}", field="type") from None
    occurred = data.get("occurredAt")
    event = WaitlistEvent(
        type=kind,
        customer_id=_text(data, "customerId", required=True) or "",
        occurred_at=parse_time(
            occurred if occurred is not None else data.get("timestamp"), "occurredAt"
        ),
        first_name=_text(data, "firstName"),
        last_name=_text(data, "lastName"),
        email=_text(data, "email"),
        product_code=_text(data, "productCode", required=kind == WaitlistEventType.JOINED),
        order_number=_text(data, "orderNumber", required=kind == WaitlistEventType.PURCHASED),
        purchase_date=_purchase_date(data, required=kind == WaitlistEventType.PURCHASED),
        emails_sent=_emails_sent(data, required=kind == WaitlistEventType.EMAIL_SENT),
    )
    if event.email:
        clean_addresses([event.email], "email")
    return event


async def prepare_event(scope: Scope, data: Mapping[str, Any]) -> WaitlistEvent:
    """Parse and validate before anything is written (a bad item stores nothing)."""
    event = parse_waitlist_event(data)
    await validate_changes(scope, event_changes(event))
    return event


def _purchase_date(data: Mapping[str, Any], *, required: bool) -> date | None:
    raw = data.get("purchaseDate")
    if raw is None:
        if required:
            raise ValidationFailed("purchaseDate is required", field="purchaseDate")
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw)[:10])
    except ValueError:
        raise ValidationFailed(
            "purchaseDate must be a date (YYYY-MM-DD)", field="purchaseDate"
        ) from None


def _emails_sent(data: Mapping[str, Any], *, required: bool) -> int | None:
    raw = data.get("emailsSent")
    if raw is None:
        if required:
            raise ValidationFailed("emailsSent is required", field="emailsSent")
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ValidationFailed("emailsSent must be a whole number ≥ 0", field="emailsSent")
    return raw


# --- applying ---------------------------------------------------------------------------------


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
) -> tuple[IngestResult, int]:
    """Create or update the lead of (store, customer); inside the caller's transaction."""
    keyed = await _keyed_lead(scope, store, event.customer_id)
    if keyed is None:
        try:
            async with atomic():  # a savepoint: a concurrent first event may win the insert
                lead = await create_lead(
                    scope, _new_lead_values(store, event), reason=event.type.value, action="ingest"
                )
            return IngestResult.CREATED, lead.id
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
        return IngestResult.UPDATED, target.id
    return (IngestResult.STALE if stale else IngestResult.UNCHANGED), target.id


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


@dataclass(frozen=True)
class ItemResult:
    customer_id: str
    result: IngestResult | None
    lead_id: int | None
    error: str | None = None
    error_field: str | None = None


async def upsert_waitlist_entries(
    scope: Scope, store: Store, entries: list[Mapping[str, Any]]
) -> list[ItemResult]:
    """Scripts' bulk form of the webhook: one transaction, one result per entry."""
    scope.require_write()
    results: list[ItemResult] = []
    async with atomic():
        for entry in entries:
            try:
                event = await prepare_event(scope, entry)
            except ValidationFailed as invalid:
                customer_id = str(entry.get("customerId") or "")
                results.append(ItemResult(customer_id, None, None, invalid.message, invalid.field))
                continue
            result, lead_id = await apply_waitlist_event(scope, store, event)
            results.append(ItemResult(event.customer_id, result, lead_id))
    return results
