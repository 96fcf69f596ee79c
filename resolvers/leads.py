"""Leads (SPEC §7): the list and its Previous/Next, record actions, conversion, and the
rules every write shares (validation, normalised duplicate keys, change log, events)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from strawberry.dataloader import DataLoader
from tortoise.expressions import F, Q, RawSQL
from tortoise.queryset import QuerySet

from models.core import User
from models.leads import Lead, LeadStatus, WaitlistStatus
from models.records import RecordLink
from models.sessions import Client, Contact
from resolvers.audit import as_text, change_log, log_action, log_changes, snapshot
from resolvers.context import Scope
from resolvers.errors import NotFound, StaleVersion, ValidationFailed, WrongState
from resolvers.events import emit_event
from resolvers.outbox import clean_addresses
from resolvers.runtime import atomic, now

RECORD_TYPE = "lead"
EVENT_TYPES = (
    "lead.created",
    "lead.updated",
    "lead.waitlist_status_changed",
    "lead.merged",
    "lead.merge_undone",
    "lead.converted",
    "lead.deleted",
    "lead.restored",
)

TEXT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "office_phone",
    "mobile",
    "fax",
    "job_title",
    "department",
    "account_name",
    "website",
    "primary_address",
    "other_address",
    "description",
    "referred_by",
    "lead_source",
    "status_description",
    "lead_source_description",
    "campaign",
    "waitlist_product_code",
    "waitlist_order_number",
    "lawful_basis",
    "lawful_basis_source",
)
# How a field's value is parsed from text (inline edit, merge journal); editable fields only.
FIELD_KINDS: dict[str, str] = {name: "text" for name in TEXT_FIELDS} | {
    "assigned_user_id": "user",
    "status": "status",
    "opportunity_amount": "decimal",
    "is_waitlist_entry": "bool",
    "waitlist_date_added": "datetime",
    "waitlist_status": "waitlist_status",
    "waitlist_purchase_date": "date",
    "waitlist_emails_sent": "int",
    "lawful_basis_review_date": "date",
}
EDITABLE_FIELDS = tuple(FIELD_KINDS)
MAX_AMOUNT = Decimal(10**12)  # the column holds 14 digits, 2 after the point
# Set by the store only: a user can never change which store customer a lead stands for.
STORE_FIELDS = ("store_id", "store_customer_id", "source_system")
WAITLIST_FIELDS = (
    "is_waitlist_entry",
    "waitlist_product_code",
    "waitlist_date_added",
    "waitlist_status",
    "waitlist_purchase_date",
    "waitlist_order_number",
    "waitlist_emails_sent",
)


# --- normalised duplicate keys -------------------------------------------------------


def fold(text: str) -> str:
    """Accent- and case-insensitive form with single spaces ("  Hélène DUPONT" → "helene dupont")."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def normalise_email(email: str) -> str:
    return "".join(email.split()).lower()


def normalise_phone(phone: str) -> str:
    """Digits only, French international prefixes folded to the national form."""
    digits = "".join(c for c in phone if c.isdigit())
    if digits.startswith("0033"):
        digits = "0" + digits[4:]
    elif digits.startswith("33") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits


def duplicate_keys(lead: Lead) -> dict[str, str]:
    """The indexed columns duplicate detection compares, from the lead's current values."""
    has_name = bool(lead.first_name.strip() or lead.last_name.strip())
    return {
        "email_norm": normalise_email(lead.email),
        "name_norm": fold(f"{lead.first_name} {lead.last_name}") if has_name else "",
        "phone_norm": normalise_phone(lead.office_phone or lead.mobile),
        "account_norm": fold(lead.account_name),
    }


# --- values: parsing and validation ----------------------------------------------------


def parse_value(field: str, raw: str | None) -> Any:
    """A field's value from its text form (inline edit, journal); a bad one is a typed error."""
    kind = FIELD_KINDS.get(field)
    if kind is None:
        raise ValidationFailed(f"{field} cannot be edited", field=field)
    if kind == "text":
        return raw or ""
    if raw is None or raw == "":
        if kind in ("bool", "int", "status"):
            raise ValidationFailed(f"{field} needs a value", field=field)
        return None
    try:
        return _parse_typed(kind, raw.strip())
    except (ValueError, InvalidOperation):
        raise ValidationFailed(f"{field}: '{raw}' is not a valid {kind}", field=field) from None


def _parse_typed(kind: str, raw: str) -> Any:
    if kind == "bool":
        if raw.lower() not in ("true", "false"):
            raise ValueError(raw)
        return raw.lower() == "true"
    parsers: dict[str, Any] = {
        "user": int,
        "int": int,
        "decimal": Decimal,
        "date": date.fromisoformat,
        "datetime": datetime.fromisoformat,
        "status": LeadStatus,
        "waitlist_status": WaitlistStatus,
    }
    return parsers[kind](raw)


async def validate_changes(scope: Scope, changes: Mapping[str, Any]) -> None:
    for name, value in changes.items():
        if name not in FIELD_KINDS:
            raise ValidationFailed(f"{name} cannot be edited", field=name)
        max_length = getattr(Lead._meta.fields_map[name], "max_length", None)
        if isinstance(value, str) and max_length and len(value) > max_length:
            raise ValidationFailed(f"{name} is longer than {max_length} characters", field=name)
    if changes.get("email"):
        clean_addresses([changes["email"]], "email")
    amount = changes.get("opportunity_amount")
    if amount is not None and not (
        amount.is_finite() and 0 <= amount < MAX_AMOUNT and amount == round(amount, 2)
    ):
        raise ValidationFailed(
            "opportunity amount must be between 0 and 999,999,999,999.99 with at most 2 decimals",
            field="opportunity_amount",
        )
    if changes.get("waitlist_emails_sent", 0) < 0:
        raise ValidationFailed("emails sent cannot be negative", field="waitlist_emails_sent")
    if changes.get("assigned_user_id") is not None:
        try:
            await scope.get(User, changes["assigned_user_id"])
        except NotFound:
            raise NotFound("assigned user not found", field="assigned_user_id") from None


def serialise(values: Mapping[str, Any]) -> dict[str, str | None]:
    return {name: as_text(value) for name, value in values.items()}


def deserialise(values: Mapping[str, str | None]) -> dict[str, Any]:
    return {name: parse_value(name, raw) for name, raw in values.items()}


# --- writing one lead ----------------------------------------------------------------------


async def save_changes(
    scope: Scope,
    lead: Lead,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
    action: str = "update",
    reason: str = "",
    log: bool = True,
) -> dict[str, Any]:
    """Apply ``changes`` with a conditional UPDATE on the version; log and emit; the diff."""
    version = lead.version if expected_version is None else expected_version
    if lead.version != version:
        raise StaleVersion("this lead was changed by someone else: reload it", field="version")
    diff = {name: value for name, value in changes.items() if getattr(lead, name) != value}
    if not diff:
        return {}
    before = snapshot(lead, diff)
    for name, value in diff.items():
        setattr(lead, name, value)
    keys = duplicate_keys(lead)
    at = now()
    updated = (
        await scope.query(Lead)
        .filter(id=lead.id, version=version)
        .update(**diff, **keys, version=F("version") + 1, updated_at=at)
    )
    if not updated:
        raise StaleVersion("this lead was changed by someone else: reload it", field="version")
    lead.version, lead.updated_at = version + 1, at
    for name, value in keys.items():
        setattr(lead, name, value)
    if log:
        await log_changes(scope, RECORD_TYPE, lead.id, before, diff, action=action, reason=reason)
    await emit_changed(scope, lead, before, diff)
    return diff


async def emit_changed(
    scope: Scope, lead: Lead, before: Mapping[str, Any], diff: Mapping[str, Any]
) -> None:
    await emit_event(
        scope,
        "lead.updated",
        RECORD_TYPE,
        lead.id,
        {"fields": sorted(diff), "version": lead.version},
    )
    if "waitlist_status" in diff:
        await emit_waitlist_status(scope, lead, before.get("waitlist_status"))


async def emit_waitlist_status(scope: Scope, lead: Lead, previous: WaitlistStatus | None) -> None:
    await emit_event(
        scope,
        "lead.waitlist_status_changed",
        RECORD_TYPE,
        lead.id,
        {"from": as_text(previous), "to": as_text(lead.waitlist_status)},
    )


async def create_lead(
    scope: Scope, values: Mapping[str, Any], *, reason: str = "", action: str = "create"
) -> Lead:
    """A new lead (inside the caller's transaction), its creation logged field by field."""
    lead = Lead(organization_id=scope.organization_id, **values)
    for name, value in duplicate_keys(lead).items():
        setattr(lead, name, value)
    await lead.save()
    await log_action(scope, RECORD_TYPE, lead.id, action, reason=reason)
    initial = {name: getattr(lead, name) for name in (*EDITABLE_FIELDS, *STORE_FIELDS)}
    await log_changes(scope, RECORD_TYPE, lead.id, {}, initial, action=action, reason=reason)
    await emit_event(scope, "lead.created", RECORD_TYPE, lead.id, {"reason": reason})
    if lead.waitlist_status is not None:
        await emit_waitlist_status(scope, lead, None)
    return lead


# --- record actions --------------------------------------------------------------------------


async def get_lead(scope: Scope, lead_id: int, *, for_update: bool = False) -> Lead:
    return await scope.get(Lead, lead_id, for_update=for_update)


async def create_manual_lead(scope: Scope, values: Mapping[str, Any]) -> Lead:
    scope.require_write()
    await validate_changes(scope, values)
    async with atomic():
        return await create_lead(scope, values)


async def update_lead(scope: Scope, lead_id: int, version: int, changes: Mapping[str, Any]) -> Lead:
    """Partial update; the fields absent from ``changes`` keep their values."""
    scope.require_write()
    for name in changes:
        if name in STORE_FIELDS:
            raise ValidationFailed(f"{name} is set by the store and cannot be edited", field=name)
    await validate_changes(scope, changes)
    async with atomic():
        lead = await get_lead(scope, lead_id, for_update=True)
        if lead.deleted_at is not None:
            raise WrongState("this lead is deleted: restore it first", field="id")
        await save_changes(scope, lead, changes, expected_version=version)
    return lead


async def update_lead_field(
    scope: Scope, lead_id: int, version: int, field: str, raw: str | None
) -> Lead:
    """Inline edit of one field given as text (the record view's pencil)."""
    if field in STORE_FIELDS:
        raise ValidationFailed(f"{field} is set by the store and cannot be edited", field=field)
    return await update_lead(scope, lead_id, version, {field: parse_value(field, raw)})


async def duplicate_lead(scope: Scope, lead_id: int) -> Lead:
    """A copy of the editable fields, without the store identifiers and waitlist link."""
    scope.require_write()
    async with atomic():
        source = await get_lead(scope, lead_id)
        values = snapshot(source, EDITABLE_FIELDS)
        values.update(
            {name: Lead._meta.fields_map[name].default for name in WAITLIST_FIELDS},
            status=LeadStatus.NEW,
        )
        return await create_lead(scope, values, reason=f"duplicated from lead {source.id}")


async def delete_lead(scope: Scope, lead_id: int) -> Lead:
    scope.require_write()
    async with atomic():
        lead = await get_lead(scope, lead_id, for_update=True)
        if lead.deleted_at is not None:
            raise WrongState("this lead is already deleted", field="id")
        await mark_deleted(scope, lead, now(), merged_into=None)
        await log_action(scope, RECORD_TYPE, lead.id, "delete")
        await emit_event(scope, "lead.deleted", RECORD_TYPE, lead.id, {})
    return lead


async def restore_lead(scope: Scope, lead_id: int) -> Lead:
    scope.require_write()
    async with atomic():
        lead = await get_lead(scope, lead_id, for_update=True)
        if lead.deleted_at is None:
            raise WrongState("this lead is not deleted", field="id")
        if lead.merged_into_id is not None:
            raise WrongState("this lead was merged: undo the merge to restore it", field="id")
        await mark_deleted(scope, lead, None, merged_into=None)
        await log_action(scope, RECORD_TYPE, lead.id, "restore")
        await emit_event(scope, "lead.restored", RECORD_TYPE, lead.id, {})
    return lead


async def mark_deleted(
    scope: Scope, lead: Lead, deleted_at: datetime | None, *, merged_into: int | None
) -> None:
    """Soft delete (a time) or restore (None); the row is locked by the caller."""
    lead.deleted_at, lead.merged_into_id = deleted_at, merged_into
    lead.version += 1
    lead.updated_at = now()
    await (
        scope.query(Lead)
        .filter(id=lead.id)
        .update(
            deleted_at=deleted_at,
            merged_into_id=merged_into,
            version=lead.version,
            updated_at=lead.updated_at,
        )
    )


async def lead_change_log(scope: Scope, lead_id: int) -> list[Any]:
    lead = await get_lead(scope, lead_id)
    return await change_log(scope, RECORD_TYPE, lead.id)


# --- conversion ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversionInput:
    client_id: int | None = None  # attach the contact to this existing client
    new_client_name: str | None = None  # or create a client ("" → the lead's account name)
    make_main_contact: bool = False


@dataclass(frozen=True)
class Conversion:
    lead: Lead
    contact: Contact
    client: Client | None


async def convert_lead(scope: Scope, lead_id: int, request: ConversionInput) -> Conversion:
    """Lead → Contact (and a Client on request); related records become the contact's too."""
    scope.require_write()
    if request.client_id is not None and request.new_client_name is not None:
        raise ValidationFailed(
            "give an existing client or a new client name, not both", field="clientId"
        )
    async with atomic():
        lead = await get_lead(scope, lead_id, for_update=True)
        if lead.converted_contact_id is not None:
            raise WrongState(
                "this lead is already converted", field="id", reason="ALREADY_CONVERTED"
            )
        if lead.deleted_at is not None:
            raise WrongState("a deleted lead cannot be converted", field="id")
        client = await _conversion_client(scope, lead, request)
        contact = await scope.create(
            Contact,
            client_id=client.id if client else None,
            first_name=lead.first_name,
            last_name=lead.last_name or lead.email,
            email=lead.email,
            phone=lead.office_phone or lead.mobile,
            job_title=lead.job_title,
        )
        if client is not None and (request.make_main_contact or client.main_contact_id is None):
            client.main_contact_id = contact.id
            client.version += 1
            await client.save(update_fields=["main_contact_id", "version", "updated_at"])
        await share_links(scope, (RECORD_TYPE, lead.id), ("contact", contact.id))
        await save_changes(
            scope,
            lead,
            {"status": LeadStatus.CONVERTED},
            action="convert",
            reason=f"contact {contact.id}",
        )
        await scope.query(Lead).filter(id=lead.id).update(converted_contact_id=contact.id)
        lead.converted_contact_id = contact.id
        await emit_event(
            scope,
            "lead.converted",
            RECORD_TYPE,
            lead.id,
            {"contactId": contact.id, "clientId": client.id if client else None},
        )
    return Conversion(lead, contact, client)


async def _conversion_client(scope: Scope, lead: Lead, request: ConversionInput) -> Client | None:
    if request.client_id is not None:
        try:
            return await scope.get(Client, request.client_id, for_update=True)
        except NotFound:
            raise NotFound("client not found", field="clientId") from None
    if request.new_client_name is None:
        return None
    name = (request.new_client_name or lead.account_name).strip()
    if not name:
        raise ValidationFailed(
            "the new client needs a name (the lead has no account name)", field="newClientName"
        )
    return await scope.create(Client, name=name, address=lead.primary_address)


async def share_links(scope: Scope, source: tuple[str, int], owner: tuple[str, int]) -> None:
    """Link ``owner`` to every record ``source`` owns (notes, tasks, documents, emails)."""
    owned = await scope.query(RecordLink).filter(owner_type=source[0], owner_id=source[1])
    already = set(
        await scope.query(RecordLink)
        .filter(owner_type=owner[0], owner_id=owner[1])
        .values_list("target_type", "target_id")
    )
    await RecordLink.bulk_create(
        [
            RecordLink(
                organization_id=scope.organization_id,
                owner_type=owner[0],
                owner_id=owner[1],
                target_type=link.target_type,
                target_id=link.target_id,
            )
            for link in owned
            if (link.target_type, link.target_id) not in already
        ]
    )


# --- the list --------------------------------------------------------------------------------


class LeadSort(StrEnum):
    NAME = "NAME"
    EMAIL = "EMAIL"
    STATUS = "STATUS"
    ACCOUNT_NAME = "ACCOUNT_NAME"
    WAITLIST_STATUS = "WAITLIST_STATUS"
    PRODUCT_CODE = "PRODUCT_CODE"
    DATE_ADDED = "DATE_ADDED"
    EMAILS_SENT = "EMAILS_SENT"
    SOURCE_SYSTEM = "SOURCE_SYSTEM"
    ASSIGNED_USER = "ASSIGNED_USER"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"


SORT_COLUMNS: dict[LeadSort, tuple[str, ...]] = {
    LeadSort.NAME: ("last_name", "first_name"),
    LeadSort.EMAIL: ("email",),
    LeadSort.STATUS: ("status",),
    LeadSort.ACCOUNT_NAME: ("account_name",),
    LeadSort.WAITLIST_STATUS: ("waitlist_status",),
    LeadSort.PRODUCT_CODE: ("waitlist_product_code",),
    LeadSort.DATE_ADDED: ("waitlist_date_added",),
    LeadSort.EMAILS_SENT: ("waitlist_emails_sent",),
    LeadSort.SOURCE_SYSTEM: ("source_system",),
    LeadSort.ASSIGNED_USER: ("assigned_user_id",),
    LeadSort.CREATED_AT: ("created_at",),
    LeadSort.UPDATED_AT: ("updated_at",),
}
NULLABLE_COLUMNS = frozenset({"waitlist_status", "waitlist_date_added", "assigned_user_id"})


@dataclass(frozen=True)
class LeadOrder:
    sort: LeadSort = LeadSort.CREATED_AT
    descending: bool = True

    @property
    def columns(self) -> tuple[str, ...]:
        """The sort columns then ``id``: a total order, so pages and neighbours are stable."""
        return (*SORT_COLUMNS[self.sort], "id")


@dataclass(frozen=True)
class LeadFilter:
    statuses: tuple[LeadStatus, ...] = ()
    waitlist_statuses: tuple[WaitlistStatus, ...] = ()
    product_code: str | None = None
    source_system: str | None = None
    store_id: int | None = None
    assigned_user_id: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    modified_from: datetime | None = None
    modified_to: datetime | None = None
    search: str | None = None
    include_deleted: bool = False


def filtered_leads(scope: Scope, wanted: LeadFilter) -> QuerySet[Lead]:
    qs = scope.query(Lead)
    if not wanted.include_deleted:
        qs = qs.filter(deleted_at__isnull=True)
    conditions: dict[str, Any] = {
        "status__in": list(wanted.statuses) or None,
        "waitlist_status__in": list(wanted.waitlist_statuses) or None,
        "waitlist_product_code": wanted.product_code,
        "source_system": wanted.source_system,
        "store_id": wanted.store_id,
        "assigned_user_id": wanted.assigned_user_id,
        "created_at__gte": wanted.created_from,
        "created_at__lt": wanted.created_to,
        "updated_at__gte": wanted.modified_from,
        "updated_at__lt": wanted.modified_to,
    }
    qs = qs.filter(**{key: value for key, value in conditions.items() if value is not None})
    if wanted.search and wanted.search.strip():
        qs = qs.filter(
            Q(name_norm__contains=fold(wanted.search))
            | Q(email_norm__contains=normalise_email(wanted.search))
        )
    return qs


def ordered(qs: QuerySet[Lead], order: LeadOrder, *, reverse: bool = False) -> QuerySet[Lead]:
    """Ascending is (value, id) with NULLs last on every backend; descending is its mirror."""
    keys: list[str] = []
    for column in order.columns:
        if column in NULLABLE_COLUMNS:
            flag = f"{column}_is_null"
            qs = qs.annotate(**{flag: RawSQL(f'CASE WHEN "{column}" IS NULL THEN 1 ELSE 0 END')})
            keys.append(flag)
        keys.append(column)
    descending = order.descending != reverse
    return qs.order_by(*(f"-{key}" if descending else key for key in keys))


def _strictly_after(columns: Iterable[str], lead: Lead) -> Q:
    """Rows after ``lead`` in the ascending order of ``ordered`` (NULLs last)."""
    clauses: list[Q] = []
    equal: list[Q] = []
    for column in columns:
        value = getattr(lead, column)
        if value is not None:
            greater = Q(**{f"{column}__gt": value})
            if column in NULLABLE_COLUMNS:
                greater |= Q(**{f"{column}__isnull": True})
            clauses.append(Q(*equal, greater))
        equal.append(Q(**{f"{column}__isnull": True} if value is None else {column: value}))
    return Q(*clauses, join_type=Q.OR)


def _strictly_before(columns: Iterable[str], lead: Lead) -> Q:
    clauses: list[Q] = []
    equal: list[Q] = []
    for column in columns:
        value = getattr(lead, column)
        less = Q(**{f"{column}__isnull": False}) if value is None else Q(**{f"{column}__lt": value})
        clauses.append(Q(*equal, less))
        equal.append(Q(**{f"{column}__isnull": True} if value is None else {column: value}))
    return Q(*clauses, join_type=Q.OR)


def list_leads(scope: Scope, wanted: LeadFilter, order: LeadOrder) -> QuerySet[Lead]:
    return ordered(filtered_leads(scope, wanted), order)


async def lead_neighbors(
    scope: Scope, lead: Lead, wanted: LeadFilter, order: LeadOrder
) -> tuple[int | None, int | None]:
    """Ids of the records just before and after ``lead`` in the list's filter and order."""
    base = filtered_leads(scope, wanted)
    after, before = _strictly_after(order.columns, lead), _strictly_before(order.columns, lead)
    if order.descending:
        after, before = before, after
    previous = (
        await ordered(base.filter(before), order, reverse=True).first().values_list("id", flat=True)
    )
    following = await ordered(base.filter(after), order).first().values_list("id", flat=True)
    return previous, following  # type: ignore[return-value]


# --- dataloaders ------------------------------------------------------------------------------


def users_loader(scope: Scope) -> DataLoader[int, User | None]:
    async def load(ids: list[int]) -> list[User | None]:
        rows = {row.id: row for row in await scope.query(User).filter(id__in=ids)}
        return [rows.get(i) for i in ids]

    return DataLoader(load_fn=load)
