"""Bulk delete and restore (an operation run inside the request), and their revert;
foreign ids are item errors, a VIEWER or READ-only key is refused."""

from __future__ import annotations

from models.audit import ChangeLogEntry, DomainEvent
from models.core import ApiScope
from models.leads import Lead
from models.operations import BulkOperation
from tests.bulk_support import (
    DELETE,
    NODE,
    RESTORE,
    REVERT,
    error_codes,
    gid,
    make_leads,
    outcomes,
)
from tests.conftest import GraphQLClient, Tenant
from tests.conftest import error_codes as call_errors


async def test_delete_by_ids_then_revert_restores_them(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    a, b, c = await make_leads(tenant, 3)
    (foreign,) = await make_leads(other_tenant, 1)
    ids = [gid(a.id), gid(foreign.id), gid(b.id)]
    done = (await gql.ok(DELETE, {"s": {"ids": ids}, "p": "REJECT_FAILED_ROWS"}, as_=tenant.staff))[
        "deleteLeads"
    ]
    assert (done["status"], done["total"], done["succeeded"], done["failed"]) == ("DONE", 3, 2, 1)
    assert outcomes(done) == ["DELETED", None, "DELETED"]
    assert error_codes(done) == [[], ["NOT_FOUND"], []]
    assert done["items"]["edges"][1]["node"]["errors"][0]["field"] == "selection.ids.1"
    assert {lead.id for lead in await Lead.filter(deleted_at__isnull=False)} == {a.id, b.id}
    assert (await Lead.get(id=a.id)).version == a.version + 1
    assert await Lead.filter(id=foreign.id, deleted_at__isnull=True).exists()
    tagged = await ChangeLogEntry.filter(bulk_job_id=str(done["id"] and _pk(done["id"])))
    assert sorted((e.record_id, e.action) for e in tagged if e.record_type == "lead") == sorted(
        [(a.id, "delete"), (b.id, "delete")]
    )
    assert await DomainEvent.filter(type="lead.deleted").count() == 2

    reverted = (await gql.ok(REVERT, {"id": done["id"]}, as_=tenant.staff))["revertBulkOperation"]
    assert (reverted["kind"], reverted["status"], outcomes(reverted)) == (
        "revert",
        "DONE",
        ["REVERTED", "REVERTED"],
    )
    assert not await Lead.filter(deleted_at__isnull=False).exists()
    node = (await gql.ok(NODE, {"id": done["id"]}, as_=tenant.staff))["node"]
    assert node["status"] == "REVERTED" and node["revertedBy"]["id"] == reverted["id"]
    again = await gql(REVERT, {"id": done["id"]}, as_=tenant.staff)
    assert call_errors(again) == ["WRONG_STATE"]
    assert c.id not in {e.record_id for e in await ChangeLogEntry.filter(action="delete")}


def _pk(global_id: str) -> int:
    from strawberry import relay

    return int(relay.GlobalID.from_id(global_id).node_id)


async def test_reject_everything_writes_nothing_when_an_id_is_foreign(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    (a,) = await make_leads(tenant, 1)
    (foreign,) = await make_leads(other_tenant, 1)
    done = (await gql.ok(DELETE, {"s": {"ids": [gid(a.id), gid(foreign.id)]}}, as_=tenant.staff))[
        "deleteLeads"
    ]
    assert (done["status"], done["succeeded"], done["failed"]) == ("FAILED", 0, 1)
    assert outcomes(done) == [None, None] and error_codes(done) == [[], ["NOT_FOUND"]]
    assert not await Lead.filter(deleted_at__isnull=False).exists()


async def test_restore_by_filter_and_its_revert_conflict_then_force(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    a, b = await make_leads(tenant, 2, campaign="winter")
    await gql.ok(DELETE, {"s": {"ids": [gid(a.id), gid(b.id)]}}, as_=tenant.staff)
    restored = (await gql.ok(RESTORE, {"s": {"filter": {"search": "lead"}}}, as_=tenant.staff))[
        "restoreLeads"
    ]
    assert restored["status"] == "DONE" and outcomes(restored) == ["RESTORED", "RESTORED"]
    # Someone deletes b again by hand: the revert keeps it as it is and says so.
    await gql.ok(
        "mutation($id: ID!) { deleteLead(id: $id) { id } }", {"id": gid(b.id)}, as_=tenant.staff
    )
    reverted = (await gql.ok(REVERT, {"id": restored["id"]}, as_=tenant.staff))[
        "revertBulkOperation"
    ]
    assert outcomes(reverted) == ["REVERTED", None]
    assert error_codes(reverted) == [[], ["CONFLICT"]]


async def test_force_overwrites_a_conflict(gql: GraphQLClient, tenant: Tenant) -> None:
    (a,) = await make_leads(tenant, 1)
    done = (await gql.ok(DELETE, {"s": {"ids": [gid(a.id)]}}, as_=tenant.staff))["deleteLeads"]
    await gql.ok(
        "mutation($id: ID!) { restoreLead(id: $id) { id } }", {"id": gid(a.id)}, as_=tenant.staff
    )
    await gql.ok(
        "mutation($id: ID!) { deleteLead(id: $id) { id } }", {"id": gid(a.id)}, as_=tenant.staff
    )
    forced = (await gql.ok(REVERT, {"id": done["id"], "force": True}, as_=tenant.staff))[
        "revertBulkOperation"
    ]
    assert outcomes(forced) == ["REVERTED"]
    assert (await Lead.get(id=a.id)).deleted_at is None


async def test_idempotency_key_answers_the_first_operation(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    (a,) = await make_leads(tenant, 1)
    variables = {"s": {"ids": [gid(a.id)]}, "k": "cleanup-1"}
    first = (await gql.ok(DELETE, variables, as_=tenant.staff))["deleteLeads"]
    second = (await gql.ok(DELETE, variables, as_=tenant.staff))["deleteLeads"]
    assert first["id"] == second["id"] and outcomes(second) == ["DELETED"]
    assert await BulkOperation.all().count() == 1


async def test_viewer_and_read_only_key_are_refused(gql: GraphQLClient, tenant: Tenant) -> None:
    (a,) = await make_leads(tenant, 1)
    key = await tenant.api_key(ApiScope.READ)
    for caller in (tenant.viewer, key):
        body = await gql(DELETE, {"s": {"ids": [gid(a.id)]}}, as_=caller)
        assert call_errors(body) == ["FORBIDDEN"]
    assert not await BulkOperation.exists()
    assert not await Lead.filter(deleted_at__isnull=False).exists()
