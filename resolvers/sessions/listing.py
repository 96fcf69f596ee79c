"""The session list: its filter and its sort orders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from tortoise.expressions import Q, RawSQL, Subquery
from tortoise.queryset import QuerySet

from models.sessions import ConfirmationSummary, SessionSlot, SessionStatus, TrainingSession
from resolvers.context import Scope
from resolvers.selections import check_filter_values


class SessionOrder(StrEnum):
    FIRST_DATE_ASC = "FIRST_DATE_ASC"
    FIRST_DATE_DESC = "FIRST_DATE_DESC"
    TITLE_ASC = "TITLE_ASC"
    TITLE_DESC = "TITLE_DESC"
    REFERENCE_ASC = "REFERENCE_ASC"
    REFERENCE_DESC = "REFERENCE_DESC"
    SUMMARY_ASC = "SUMMARY_ASC"
    SUMMARY_DESC = "SUMMARY_DESC"


# The summary sorts from "needs attention" to "done", not alphabetically; no clients last.
SUMMARY_RANK = RawSQL(
    "CASE confirmation_summary "
    + " ".join(
        f"WHEN '{summary.value}' THEN {rank}"
        for rank, summary in enumerate(
            (
                ConfirmationSummary.DECLINED,
                ConfirmationSummary.PENDING,
                ConfirmationSummary.TO_CONFIRM,
                ConfirmationSummary.CONFIRMED,
            )
        )
    )
    + " ELSE 4 END"
)
# Sessions without a slot (no first date) sort after planned ones on every backend.
UNPLANNED_LAST = RawSQL("CASE WHEN first_date IS NULL THEN 1 ELSE 0 END")


@dataclass(frozen=True)
class SessionFilter:
    statuses: Sequence[SessionStatus] = ()
    product_codes: Sequence[str] = ()
    slot_from: date | None = None  # sessions with a slot on or after this date…
    slot_to: date | None = None  # …and on or before this one
    owner_ids: Sequence[int] = ()
    summaries: Sequence[ConfirmationSummary] = ()
    text: str = ""  # in title or reference, case-insensitive

    def __post_init__(self) -> None:
        check_filter_values(
            status=self.statuses,
            productCode=self.product_codes,
            ownerId=self.owner_ids,
            confirmationSummary=self.summaries,
        )


def sessions_query(
    scope: Scope, where: SessionFilter, order: SessionOrder = SessionOrder.FIRST_DATE_ASC
) -> QuerySet[TrainingSession]:
    qs = scope.query(TrainingSession)
    if where.statuses:
        qs = qs.filter(status__in=list(where.statuses))
    if where.product_codes:
        qs = qs.filter(product_code__in=list(where.product_codes))
    if where.owner_ids:
        qs = qs.filter(owner_id__in=list(where.owner_ids))
    if where.summaries:
        qs = qs.filter(confirmation_summary__in=list(where.summaries))
    if where.text.strip():
        text = where.text.strip()
        qs = qs.filter(Q(title__icontains=text) | Q(reference__icontains=text))
    if where.slot_from or where.slot_to:
        slots = scope.query(SessionSlot)
        if where.slot_from:
            slots = slots.filter(date__gte=where.slot_from)
        if where.slot_to:
            slots = slots.filter(date__lte=where.slot_to)
        qs = qs.filter(id__in=Subquery(slots.values("session_id")))
    return _ordered(qs, order)


def _ordered(qs: QuerySet[TrainingSession], order: SessionOrder) -> QuerySet[TrainingSession]:
    column, _, direction = order.value.rpartition("_")
    sign = "-" if direction == "DESC" else ""
    if column == "FIRST_DATE":
        return qs.annotate(unplanned=UNPLANNED_LAST).order_by(
            "unplanned", f"{sign}first_date", f"{sign}id"
        )
    if column == "SUMMARY":
        return qs.annotate(summary_rank=SUMMARY_RANK).order_by(
            f"{sign}summary_rank", "first_date", "id"
        )
    return qs.order_by(f"{sign}{column.lower()}", f"{sign}id")
