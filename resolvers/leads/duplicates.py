"""Find duplicate leads (SPEC §7): same normalised email, or same accent- and
case-folded full name with the same phone or account name. Every lookup is SQL on the
indexed normalised columns kept current by resolvers.leads.records, never a Python scan."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from models.leads import Lead
from resolvers.context import Scope
from resolvers.leads.listing import LeadFilter, filtered_leads
from resolvers.leads.records import get_lead

MAX_MATCHES = 100


class DuplicateReason(StrEnum):
    SAME_EMAIL = "SAME_EMAIL"
    SAME_NAME_AND_PHONE = "SAME_NAME_AND_PHONE"
    SAME_NAME_AND_ACCOUNT = "SAME_NAME_AND_ACCOUNT"


# The columns equal within a group of each reason (none of them may be empty).
REASON_COLUMNS: dict[DuplicateReason, tuple[str, ...]] = {
    DuplicateReason.SAME_EMAIL: ("email_norm",),
    DuplicateReason.SAME_NAME_AND_PHONE: ("name_norm", "phone_norm"),
    DuplicateReason.SAME_NAME_AND_ACCOUNT: ("name_norm", "account_norm"),
}


def key_of(lead: Lead, reason: DuplicateReason) -> tuple[str, ...]:
    return tuple(getattr(lead, column) for column in REASON_COLUMNS[reason])


def match_reasons(lead: Lead, other: Lead) -> list[DuplicateReason]:
    return [
        reason
        for reason in DuplicateReason
        if all(key_of(lead, reason)) and key_of(lead, reason) == key_of(other, reason)
    ]


@dataclass(frozen=True)
class DuplicateMatch:
    lead: Lead
    reasons: list[DuplicateReason]


async def lead_duplicates(scope: Scope, lead_id: int) -> list[DuplicateMatch]:
    """The live leads that look like this one, each with why."""
    lead = await get_lead(scope, lead_id)
    conditions = [
        Q(**dict(zip(REASON_COLUMNS[reason], key_of(lead, reason), strict=True)))
        for reason in DuplicateReason
        if all(key_of(lead, reason))
    ]
    if not conditions:
        return []
    rows = (
        await scope.query(Lead)
        .filter(Q(*conditions, join_type=Q.OR), deleted_at__isnull=True)
        .exclude(id=lead.id)
        .order_by("id")
        .limit(MAX_MATCHES)
    )
    return [DuplicateMatch(row, match_reasons(lead, row)) for row in rows]


@dataclass(frozen=True)
class DuplicateGroup:
    reason: DuplicateReason
    key: tuple[str, ...]
    leads: list[Lead]


def _grouped(base: QuerySet[Lead], reason: DuplicateReason) -> QuerySet[Lead]:
    columns = REASON_COLUMNS[reason]
    return (
        base.exclude(Q(*(Q(**{column: ""}) for column in columns), join_type=Q.OR))
        .annotate(members=Count("id"))
        .group_by(*columns)
        .filter(members__gt=1)
        .order_by(*columns)
    )


async def count_duplicate_groups(scope: Scope, wanted: LeadFilter) -> int:
    base = filtered_leads(scope, wanted)
    total = 0
    for reason, columns in REASON_COLUMNS.items():
        total += len(await _grouped(base, reason).values_list(*columns))
    return total


async def duplicate_groups(
    scope: Scope, wanted: LeadFilter, offset: int, limit: int
) -> list[DuplicateGroup]:
    """Groups ordered by reason then key: ``limit`` of them from ``offset``."""
    base = filtered_leads(scope, wanted)
    keyed: list[tuple[DuplicateReason, tuple[str, ...]]] = []
    for reason, columns in REASON_COLUMNS.items():
        if len(keyed) >= offset + limit:
            break
        keys = await _grouped(base, reason).limit(offset + limit - len(keyed)).values_list(*columns)
        keyed.extend((reason, tuple(key)) for key in keys)
    page = keyed[offset : offset + limit]
    members: dict[tuple[DuplicateReason, tuple[str, ...]], list[Lead]] = {k: [] for k in page}
    for reason, columns in REASON_COLUMNS.items():
        wanted_keys = [key for r, key in page if r == reason]
        if not wanted_keys:
            continue
        in_filters = {
            f"{column}__in": sorted({key[i] for key in wanted_keys})
            for i, column in enumerate(columns)
        }
        for lead in await base.filter(**in_filters).order_by("id"):
            group = members.get((reason, key_of(lead, reason)))
            if group is not None:
                group.append(lead)
    return [DuplicateGroup(reason, key, members[(reason, key)]) for reason, key in page]
