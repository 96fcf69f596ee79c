"""A lead's fields (SPEC §7): the groups they fall in, their values parsed from text and
validated, and the normalised keys duplicate detection compares."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from models.core import User
from models.leads import Lead, LeadStatus, WaitlistStatus
from resolvers.audit import as_text
from resolvers.context import Scope
from resolvers.errors import NotFound, ValidationFailed
from resolvers.outbox import clean_address

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


def check_length(name: str, value: Any) -> None:
    """A text value must fit its column."""
    max_length = getattr(Lead._meta.fields_map[name], "max_length", None)
    if isinstance(value, str) and max_length and len(value) > max_length:
        raise ValidationFailed(f"{name} is longer than {max_length} characters", field=name)


async def clean_changes(scope: Scope, changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` validated, the email address normalised as every user-typed one is."""
    cleaned = dict(changes)
    for name, value in changes.items():
        if name not in FIELD_KINDS:
            raise ValidationFailed(f"{name} cannot be edited", field=name)
        check_length(name, value)
    if changes.get("email"):
        cleaned["email"] = clean_address(changes["email"], "email")
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
    return cleaned


def serialise(values: Mapping[str, Any]) -> dict[str, str | None]:
    return {name: as_text(value) for name, value in values.items()}


def deserialise(values: Mapping[str, str | None]) -> dict[str, Any]:
    return {name: parse_value(name, raw) for name, raw in values.items()}
