"""The lead list (SPEC §7): filter, sort on any listed column, and the record view's
Previous/Next within the same filter and sort."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q, RawSQL
from tortoise.queryset import QuerySet

from models.leads import Lead, LeadStatus, WaitlistStatus
from resolvers.context import Scope
from resolvers.leads.fields import fold, normalise_email
from resolvers.selections import check_filter_values


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

    def __post_init__(self) -> None:
        check_filter_values(statuses=self.statuses, waitlistStatuses=self.waitlist_statuses)


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
            greater = _where({f"{column}__gt": value})
            if column in NULLABLE_COLUMNS:
                greater |= _where({f"{column}__isnull": True})
            clauses.append(Q(*equal, greater))
        equal.append(_where({f"{column}__isnull": True} if value is None else {column: value}))
    return Q(*clauses, join_type=Q.OR)


def _where(lookup: dict[str, Any]) -> Q:
    """A Q of one computed lookup (typed: ``Q(**{...})`` would also match ``join_type``)."""
    return Q(**lookup)


def _strictly_before(columns: Iterable[str], lead: Lead) -> Q:
    clauses: list[Q] = []
    equal: list[Q] = []
    for column in columns:
        value = getattr(lead, column)
        less = _where({f"{column}__isnull": False} if value is None else {f"{column}__lt": value})
        clauses.append(Q(*equal, less))
        equal.append(_where({f"{column}__isnull": True} if value is None else {column: value}))
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
