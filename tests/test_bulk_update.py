"""Mass update of leads run inside the request (PostgreSQL and SQLite): by ids and by
filter, dry run, refused fields, versions, tagged change log, events, revert with a
conflict kept or forced, and a statement count that does not grow with the batch."""

from __future__ import annotations

from typing import Any

import pytest

from models.audit import ChangeLogEntry, DomainEvent
from models.leads import Lead, LeadStatus
from models.operations import BulkOperation
from tests.bulk_support import NODE, OPERATION, REVERT, error_codes, gid, make_leads, outcomes
from tests.conftest import BACKEND, GraphQLClient, Tenant
from tests.conftest import error_codes as call_errors
from tests.statements import StatementCounter

MASS_UPDATE = f"""mutation($s: LeadSelection!, $set: LeadInput!, $dry: Boolean! = false,
    $p: ErrorPolicy! = REJECT_EVERYTHING, $k: String) {{
  massUpdateLeads(selection: $s, set: $set, dryRun: $dry, errorPolicy: $p, idempotencyKey: $k) {{
    operation {{ {OPERATION} }}
    dryRun {{ total wouldChange unchanged failed errors {{ index code }}
      fields {{ field wouldChange samples {{ id before after }} }} }} }} }}"""


async def _update(gql: GraphQLClient, tenant: Tenant, **variables: Any) -> dict[str, Any]:
    data = await gql.ok(MASS_UPDATE, variables, as_=tenant.staff)
    return data["massUpdateLeads"]  # type: ignore[no-any-return]


async def test_by_ids_updates_bumps_versions_and_tags_the_change_log(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    a, b = await make_leads(tenant, 2)
    (same,) = await make_leads(tenant, 1, campaign="spring", lead_source="web")
    (foreign,) = await make_leads(other_tenant, 1)
    ids = [gid(a.id), gid(foreign.id), gid(b.id), gid(same.id)]
    payload = await _update(
        gql,
        tenant,
        s={"ids": ids},
        set={"campaign": "spring", "leadSource": "web"},
        p="REJECT_FAILED_ROWS",
    )
    op = payload["operation"]
    assert payload["dryRun"] is None
    assert (op["status"], op["total"], op["succeeded"], op["failed"]) == ("DONE", 4, 3, 1)
    assert outcomes(op) == ["UPDATED", None, "UPDATED", "UNCHANGED"]
    assert error_codes(op) == [[], ["NOT_FOUND"], [], []]
    assert op["items"]["edges"][0]["node"]["oldValues"] == {"campaign": "", "leadSource": ""}
    for lead in (a, b):
        row = await Lead.get(id=lead.id)
        assert (row.campaign, row.lead_source, row.version) == ("spring", "web", lead.version + 1)
    assert (await Lead.get(id=same.id)).version == same.version
    assert (await Lead.get(id=foreign.id)).campaign == ""
    pk = int(op["id"] and (await BulkOperation.first()).id)  # type: ignore[union-attr]
    tagged = await ChangeLogEntry.filter(bulk_job_id=str(pk), record_type="lead")
    assert sorted((e.record_id, e.field, e.old_value, e.new_value) for e in tagged) == sorted(
        [
            (lead.id, f, "", v)
            for lead in (a, b)
            for f, v in (("campaign", "spring"), ("lead_source", "web"))
        ]
    )
    events = await DomainEvent.filter(type="lead.updated").order_by("id")
    assert sorted(e.record_id for e in events) == sorted([a.id, b.id])
    assert events[0].payload["operationId"] == pk
    assert await DomainEvent.filter(type="bulk_operation.changed").count() == 2  # start, batch


async def test_by_filter_and_exclusions(gql: GraphQLClient, tenant: Tenant) -> None:
    a, b, c = await make_leads(tenant, 3, campaign="old")
    await make_leads(tenant, 1, campaign="other")
    payload = await _update(
        gql,
        tenant,
        s={"filter": {"search": "lead"}, "excludeIds": [gid(b.id)]},
        set={"status": "IN_PROCESS", "assignedUserId": str(tenant.admin.user.id)},
    )
    assert payload["operation"]["total"] == 3  # a, c and the "other" one; b excluded
    rows = {row.id: row for row in await Lead.all()}
    assert rows[a.id].status == rows[c.id].status == LeadStatus.IN_PROCESS
    assert rows[a.id].assigned_user_id == tenant.admin.user.id
    assert rows[b.id].status == LeadStatus.NEW


async def test_dry_run_counts_and_samples_and_writes_nothing(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    a, b = await make_leads(tenant, 2)
    (done,) = await make_leads(tenant, 1, campaign="spring")
    before_events = await DomainEvent.all().count()
    payload = await _update(
        gql,
        tenant,
        s={"ids": [gid(a.id), gid(b.id), gid(done.id), gid(10**9)]},
        set={"campaign": "spring", "department": "RH"},
        dry=True,
    )
    assert payload["operation"] is None
    preview = payload["dryRun"]
    assert (preview["total"], preview["wouldChange"], preview["unchanged"], preview["failed"]) == (
        4,
        3,
        0,
        1,
    )
    assert preview["errors"] == [{"index": 3, "code": "NOT_FOUND"}]
    fields = {f["field"]: f for f in preview["fields"]}
    assert fields["campaign"]["wouldChange"] == 2 and fields["department"]["wouldChange"] == 3
    assert fields["campaign"]["samples"][0] == {"id": gid(a.id), "before": "", "after": "spring"}
    assert not await BulkOperation.exists()
    assert await DomainEvent.all().count() == before_events
    assert [row.version for row in await Lead.all().order_by("id")] == [1, 1, 1]


@pytest.mark.parametrize(
    ("field", "value"),
    [("waitlistStatus", "REMOVED"), ("waitlistProductCode", "X"), ("email", "a@b.test")],
)
async def test_store_waitlist_and_personal_fields_are_refused(
    gql: GraphQLClient, tenant: Tenant, field: str, value: str
) -> None:
    (a,) = await make_leads(tenant, 1)
    body = await gql(
        MASS_UPDATE, {"s": {"ids": [gid(a.id)]}, "set": {field: value}}, as_=tenant.staff
    )
    assert call_errors(body) == ["VALIDATION_ERROR"]
    assert body["errors"][0]["extensions"]["field"] == f"set.{field}"
    assert not await BulkOperation.exists()


async def test_revert_restores_exactly_keeps_a_conflict_and_force_overwrites(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    a, b = await make_leads(tenant, 2, campaign="old", lead_source="fair")
    op = (
        await _update(
            gql,
            tenant,
            s={"ids": [gid(a.id), gid(b.id)]},
            set={"campaign": "new", "leadSource": "web"},
        )
    )["operation"]
    # Someone edits b's campaign in between.
    edited = await gql.ok(
        'mutation($id: ID!, $v: Int!) { updateLead(id: $id, version: $v, input: { campaign: "mine" }) { version } }',
        {"id": gid(b.id), "v": b.version + 1},
        as_=tenant.staff,
    )
    assert edited["updateLead"]["version"] == b.version + 2
    reverted = (await gql.ok(REVERT, {"id": op["id"]}, as_=tenant.staff))["revertBulkOperation"]
    assert outcomes(reverted) == ["REVERTED", None] and error_codes(reverted) == [[], ["CONFLICT"]]
    row_a, row_b = await Lead.get(id=a.id), await Lead.get(id=b.id)
    assert (row_a.campaign, row_a.lead_source, row_a.version) == ("old", "fair", a.version + 2)
    assert (row_b.campaign, row_b.lead_source) == ("mine", "web")
    node = (await gql.ok(NODE, {"id": op["id"]}, as_=tenant.staff))["node"]
    assert node["status"] == "REVERTED"
    assert call_errors(await gql(REVERT, {"id": op["id"], "force": True}, as_=tenant.staff)) == [
        "WRONG_STATE"
    ]

    # Force: a fresh update, an edit in between, the revert overwrites it.
    op2 = (await _update(gql, tenant, s={"ids": [gid(a.id)]}, set={"campaign": "x"}))["operation"]
    await Lead.filter(id=a.id).update(campaign="edited")
    forced = (await gql.ok(REVERT, {"id": op2["id"], "force": True}, as_=tenant.staff))[
        "revertBulkOperation"
    ]
    assert outcomes(forced) == ["REVERTED"]
    assert (await Lead.get(id=a.id)).campaign == "old"


async def test_one_set_based_update_per_batch_whatever_its_size(
    gql: GraphQLClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = await make_leads(tenant, 3)
    large = await make_leads(tenant, 30)
    counts = []
    for leads in (small, large):
        counter = StatementCounter(monkeypatch)
        await _update(gql, tenant, s={"ids": [gid(x.id) for x in leads]}, set={"campaign": "c"})
        counts.append(len(counter.statements))
        updates = [s for s in counter.statements if 'UPDATE "LEAD"' in s.upper()]
        assert len(updates) == 1
        if BACKEND == "postgres":
            # The same statement writes the change log and the events.
            assert 'INSERT INTO "CHANGELOGENTRY"' in updates[0].upper()
            assert 'INSERT INTO "DOMAINEVENT"' in updates[0].upper()
        monkeypatch.undo()
    assert counts[0] == counts[1]
