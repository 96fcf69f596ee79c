"""Selections (resolvers/selections.py): what a bulk action, export or print works on,
frozen to items when it starts; foreign, missing, malformed and repeated ids stay items
with their error, never dropped. Through the GraphQL input type, as the mutations use it."""

from __future__ import annotations

import pytest
from strawberry import relay

from models.leads import Lead
from resolvers.errors import ValidationFailed
from resolvers.leads.listing import LeadFilter, filtered_leads
from resolvers.leads.records import create_manual_lead
from resolvers.selections import MAX_SELECTED, Selection, select
from schema.leads.inputs import LeadFilterInput, LeadSelection
from tests.conftest import Tenant


def gid(pk: int, type_name: str = "Lead") -> relay.GlobalID:
    return relay.GlobalID(type_name, str(pk))


async def leads(tenant: Tenant, *names: str) -> list[Lead]:
    return [await create_manual_lead(tenant.staff.scope, {"last_name": name}) for name in names]


async def test_ids_keep_their_positions_and_unknown_ones_are_errors(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    a, b = await leads(tenant, "Martin", "Durand")
    (foreign,) = await leads(other_tenant, "Petit")
    given = [gid(b.id), gid(foreign.id), gid(a.id), gid(10**12), gid(a.id), gid(b.id, "Client")]
    selected = await select(
        tenant.staff.scope,
        Lead,
        LeadSelection(ids=given).to_selection(),
        lambda wanted: filtered_leads(tenant.staff.scope, wanted),
    )
    assert [(i.index, i.record_id) for i in selected.items] == [
        (0, b.id),
        (1, None),
        (2, a.id),
        (3, None),
        (4, None),
        (5, None),
    ]
    codes = [i.error.code if i.error else None for i in selected.items]
    assert codes == [None, "NOT_FOUND", None, "NOT_FOUND", "CONFLICT", "NOT_FOUND"]
    assert selected.record_ids == [b.id, a.id]


async def test_a_filter_is_frozen_to_its_matches_minus_the_excluded_ids(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    a, b, c = await leads(tenant, "Martin", "Martinez", "Durand")
    await leads(other_tenant, "Martin")
    deleted = (await leads(tenant, "Martineau"))[0]
    await Lead.filter(id=deleted.id).update(deleted_at=deleted.created_at)
    selection = LeadSelection(
        filter=LeadFilterInput(search="martin"), exclude_ids=[gid(b.id)]
    ).to_selection()
    selected = await select(
        tenant.staff.scope, Lead, selection, lambda w: filtered_leads(tenant.staff.scope, w)
    )
    assert selected.record_ids == [a.id]  # not b (excluded), c (no match), the deleted one
    assert all(item.error is None for item in selected.items)


@pytest.mark.parametrize("kwargs", [{}, {"ids": [1], "filter": LeadFilter()}])
def test_a_selection_needs_ids_or_a_filter_but_not_both(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationFailed) as refused:
        Selection(**kwargs)  # type: ignore[arg-type]
    assert refused.value.field == "selection"


def test_too_many_ids_are_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        Selection(ids=list(range(1, MAX_SELECTED + 2)))
    assert refused.value.field == "selection.ids"
