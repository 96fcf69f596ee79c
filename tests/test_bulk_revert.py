"""Revert of a mass update (PostgreSQL: one statement per batch; SQLite: the Python path,
the same answers): a conflict for each column type a mass update sets, force, a lead
deleted since, the revert's own change log, events and items, and a statement count
that does not grow with the batch."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from strawberry import relay
from strawberry.utils.str_converters import to_camel_case

from models.audit import ChangeLogEntry, DomainEvent
from models.leads import Lead, LeadStatus
from resolvers.runtime import now
from tests.bulk_support import REVERT, error_codes, gid, make_leads, outcomes
from tests.conftest import BACKEND, GraphQLClient, Tenant
from tests.statements import StatementCounter
from tests.test_bulk_update import MASS_UPDATE


async def _mass_update(gql: GraphQLClient, tenant: Tenant, leads: list[Lead], **set_: Any) -> str:
    variables = {"s": {"ids": [gid(x.id) for x in leads]}, "set": set_}
    data = await gql.ok(MASS_UPDATE, variables, as_=tenant.staff)
    operation = data["massUpdateLeads"]["operation"]
    assert operation["status"] == "DONE", operation
    return operation["id"]  # type: ignore[no-any-return]


async def _revert(gql: GraphQLClient, tenant: Tenant, op: str, force: bool = False) -> Any:
    data = await gql.ok(REVERT, {"id": op, "force": force}, as_=tenant.staff)
    return data["revertBulkOperation"]


def _value(tenant: Tenant, name: str) -> Any:
    """(before, what the mass update sets as GraphQL input, someone's later edit)."""
    return {
        "campaign": ("old", "new", "mine"),
        "status": (LeadStatus.NEW, "IN_PROCESS", LeadStatus.DEAD),
        "description": ("long\ntext", "other text", "edited"),
        "opportunity_amount": (Decimal("10.50"), "1200.5", Decimal("99.00")),
        "lawful_basis_review_date": (date(2026, 1, 31), "2027-02-01", date(2028, 3, 1)),
        "assigned_user_id": (None, str(tenant.admin.user.id), tenant.staff.user.id),
    }[name]


@pytest.mark.parametrize(
    "name",
    [
        "campaign",  # varchar
        "status",  # an enum's varchar
        "description",  # text
        "opportunity_amount",  # numeric
        "lawful_basis_review_date",  # date
        "assigned_user_id",  # bigint
    ],
)
async def test_a_lead_changed_since_is_a_conflict_and_kept(
    gql: GraphQLClient, tenant: Tenant, name: str
) -> None:
    before, wanted, edited = _value(tenant, name)
    a, b = await make_leads(tenant, 2, **{name: before})
    op = await _mass_update(gql, tenant, [a, b], **{to_camel_case(name): wanted})
    await Lead.filter(id=b.id).update(**{name: edited})
    reverted = await _revert(gql, tenant, op)
    assert outcomes(reverted) == ["REVERTED", None]
    assert error_codes(reverted) == [[], ["CONFLICT"]]
    message = reverted["items"]["edges"][1]["node"]["errors"][0]["message"]
    assert message == f"changed since the operation: {name}"
    row_a, row_b = await Lead.get(id=a.id), await Lead.get(id=b.id)
    assert getattr(row_a, name) == before and row_a.version == a.version + 2
    assert getattr(row_b, name) == edited and row_b.version == b.version + 1


async def test_force_overwrites_only_what_differs_and_logs_the_revert(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    a, b, c = await make_leads(tenant, 3, campaign="old", lead_source="fair")
    op = await _mass_update(gql, tenant, [a, b, c], campaign="new", leadSource="web")
    await Lead.filter(id=b.id).update(campaign="mine")
    await Lead.filter(id=c.id).update(campaign="old", lead_source="fair")  # put back by hand
    reverted = await _revert(gql, tenant, op, force=True)
    assert outcomes(reverted) == ["REVERTED", "REVERTED", "UNCHANGED"]
    items = [edge["node"] for edge in reverted["items"]["edges"]]
    assert (items[1]["oldValues"], items[1]["newValues"]) == (
        {"campaign": "mine", "leadSource": "web"},
        {"campaign": "old", "leadSource": "fair"},
    )
    for lead in (a, b, c):
        row = await Lead.get(id=lead.id)
        assert (row.campaign, row.lead_source) == ("old", "fair")
    assert (await Lead.get(id=c.id)).version == c.version + 1  # the update only
    revert_pk = _pk(reverted["id"])
    logged = await ChangeLogEntry.filter(bulk_job_id=str(revert_pk), record_type="lead").order_by(
        "id"
    )
    assert [(e.record_id, e.action, e.field, e.old_value, e.new_value) for e in logged] == [
        (a.id, "revert", "campaign", "new", "old"),
        (a.id, "revert", "lead_source", "web", "fair"),
        (b.id, "revert", "campaign", "mine", "old"),
        (b.id, "revert", "lead_source", "web", "fair"),
    ]
    events = await DomainEvent.filter(type="lead.updated").order_by("id")
    mine = [e for e in events if e.payload["operationId"] == revert_pk]
    assert [(e.record_id, e.payload["fields"]) for e in mine] == [
        (a.id, ["campaign", "lead_source"]),
        (b.id, ["campaign", "lead_source"]),
    ]


async def test_a_lead_deleted_since_gets_its_values_back_and_stays_deleted(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    # The revert runs once: restoring the lead later shows it as before the update.
    a, b = await make_leads(tenant, 2, campaign="old")
    op = await _mass_update(gql, tenant, [a, b], campaign="new")
    deleted_at = now()
    await Lead.filter(id=b.id).update(deleted_at=deleted_at)
    reverted = await _revert(gql, tenant, op)
    assert outcomes(reverted) == ["REVERTED", "REVERTED"]
    row_b = await Lead.get(id=b.id)
    assert (row_b.campaign, row_b.deleted_at) == ("old", deleted_at)


async def test_one_statement_per_batch_whatever_its_size(
    gql: GraphQLClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = []
    for size in (3, 30):
        leads = await make_leads(tenant, size, campaign="old")
        op = await _mass_update(gql, tenant, leads, campaign="new", department="RH")
        await Lead.filter(id=leads[0].id).update(campaign="mine")  # a conflict
        counter = StatementCounter(monkeypatch)
        reverted = await _revert(gql, tenant, op)
        counts.append(len(counter.statements))
        assert outcomes(reverted) == [None] + ["REVERTED"] * (size - 1)
        updates = [s for s in counter.statements if 'UPDATE "LEAD"' in s.upper()]
        assert len(updates) == 1
        if BACKEND == "postgres":
            # The same statement writes the change log, the events and the items.
            for table in ("CHANGELOGENTRY", "DOMAINEVENT", "BULKOPERATIONITEM"):
                assert f'INSERT INTO "{table}"' in updates[0].upper()
        monkeypatch.undo()
    assert counts[0] == counts[1]


def _pk(global_id: str) -> int:
    return int(relay.GlobalID.from_id(global_id).node_id)
