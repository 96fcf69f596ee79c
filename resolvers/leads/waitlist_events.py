"""A store's waiting-list events (SPEC §7 ingestion) as the store sends them (camelCase
fields, the webhook's JSON body), parsed and checked field by field.

``type``, ``customerId`` and ``occurredAt`` are required of every event, and each type
requires the field it is about (``productCode`` to join, ``orderNumber`` and
``purchaseDate`` for a purchase, ``emailsSent`` for an email sent); every other field
is optional. ``check_event`` reports each invalid field, so that a bulk caller may
leave invalid optional ones out; ``prepare_event`` (the webhook) refuses the event on
the first one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from resolvers.errors import ValidationFailed
from resolvers.leads.fields import check_length
from resolvers.outbox import clean_address


class WaitlistEventType(StrEnum):
    JOINED = "waitlist.joined"
    REMOVED = "waitlist.removed"
    PURCHASED = "waitlist.purchased"
    EMAIL_SENT = "waitlist.email_sent"


REQUIRED_OF_EVERY_EVENT = frozenset({"type", "customerId", "occurredAt"})
REQUIRED_BY_TYPE: dict[WaitlistEventType, frozenset[str]] = {
    WaitlistEventType.JOINED: frozenset({"productCode"}),
    WaitlistEventType.REMOVED: frozenset(),
    WaitlistEventType.PURCHASED: frozenset({"orderNumber", "purchaseDate"}),
    WaitlistEventType.EMAIL_SENT: frozenset({"emailsSent"}),
}
# The text fields held in a lead column, whose length they must fit.
TEXT_COLUMNS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "productCode": "waitlist_product_code",
    "orderNumber": "waitlist_order_number",
}


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


@dataclass(frozen=True)
class FieldProblem:
    key: str  # the field as the store names it, e.g. "email"
    error: ValidationFailed
    required: bool  # the event cannot do without it


@dataclass(frozen=True)
class CheckedEvent:
    """An event without its invalid optional fields, and what was wrong."""

    event: WaitlistEvent | None  # None when a required field is invalid
    problems: tuple[FieldProblem, ...]


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


def prepare_event(data: Mapping[str, Any]) -> WaitlistEvent:
    """The event when every field is valid; else the first invalid one's error."""
    checked = check_event(data)
    if checked.problems:
        raise checked.problems[0].error
    assert checked.event is not None
    return checked.event


def check_event(data: Mapping[str, Any]) -> CheckedEvent:
    """Every field parsed, then the values checked (addresses, lengths), so the first
    problem is the same whatever else is wrong; an invalid field's value is left out."""
    problems: list[FieldProblem] = []
    kind, required = None, set(REQUIRED_OF_EVERY_EVENT)
    try:
        kind = _event_type(data)
        required |= REQUIRED_BY_TYPE[kind]
    except ValidationFailed as error:
        problems.append(FieldProblem("type", error, True))
    values: dict[str, Any] = {}
    for key, parse in FIELD_PARSERS.items():
        try:
            values[key] = parse(data, key in required)
        except ValidationFailed as error:
            problems.append(FieldProblem(key, error, key in required))
    for key, clean in VALUE_CLEANERS:
        try:
            if values.get(key):
                values[key] = clean(values[key])
        except ValidationFailed as error:
            problems.append(FieldProblem(key, error, key in required))
            del values[key]
    if kind is None or any(problem.required for problem in problems):
        return CheckedEvent(None, tuple(problems))
    return CheckedEvent(_event(kind, values), tuple(problems))


def _event(kind: WaitlistEventType, values: Mapping[str, Any]) -> WaitlistEvent:
    return WaitlistEvent(
        type=kind,
        customer_id=values["customerId"],
        occurred_at=values["occurredAt"],
        first_name=values.get("firstName"),
        last_name=values.get("lastName"),
        email=values.get("email"),
        product_code=values.get("productCode"),
        purchase_date=values.get("purchaseDate"),
        order_number=values.get("orderNumber"),
        emails_sent=values.get("emailsSent"),
    )


def _event_type(data: Mapping[str, Any]) -> WaitlistEventType:
    try:
        return WaitlistEventType(str(data.get("type")))
    except ValueError:
        allowed = ", ".join(t.value for t in WaitlistEventType)
        raise ValidationFailed(f"type must be one of {allowed}", field="type") from None


def _occurred_at(data: Mapping[str, Any], required: bool) -> datetime:
    occurred = data.get("occurredAt")
    return parse_time(occurred if occurred is not None else data.get("timestamp"), "occurredAt")


def _text(data: Mapping[str, Any], key: str, required: bool) -> str | None:
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


def _text_field(key: str) -> Callable[[Mapping[str, Any], bool], str | None]:
    return lambda data, required: _text(data, key, required)


def _purchase_date(data: Mapping[str, Any], required: bool) -> date | None:
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


def _emails_sent(data: Mapping[str, Any], required: bool) -> int | None:
    raw = data.get("emailsSent")
    if raw is None:
        if required:
            raise ValidationFailed("emailsSent is required", field="emailsSent")
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ValidationFailed("emailsSent must be a whole number ≥ 0", field="emailsSent")
    return raw


def _fitting(column: str) -> Callable[[Any], Any]:
    def fitting(value: Any) -> Any:
        check_length(column, value)
        return value

    return fitting


# Each field's parser, in the order their errors come (customerId is always required).
FIELD_PARSERS: dict[str, Callable[[Mapping[str, Any], bool], Any]] = {
    "customerId": lambda data, required: _text(data, "customerId", True),
    "occurredAt": _occurred_at,
    **{key: _text_field(key) for key in TEXT_COLUMNS},
    "purchaseDate": _purchase_date,
    "emailsSent": _emails_sent,
}
# Then the parsed values, each replaced by its clean form: an address must be one (kept
# normalised as every typed address is), a text must fit its lead column.
VALUE_CLEANERS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("email", lambda value: clean_address(value, "email")),
    ("customerId", _fitting("store_customer_id")),
    *((key, _fitting(column)) for key, column in TEXT_COLUMNS.items()),
)
