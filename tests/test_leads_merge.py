"""Duplicate detection, merge with every related record moved, undo, and concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from strawberry import relay

from app.settings import Settings
from models.audit import ChangeLogEntry
from models.leads import Lead, MergeJournal
from models.records import Document, Note, RecordLink, Task
from resolvers import runtime
from resolvers.errors import UserError
from resolvers.leads.fields import EDITABLE_FIELDS
from resolvers.leads.merge import AlreadyMerged, merge_leads
from resolvers.links import link
from resolvers.outbox import queue_email
from tests.conftest import GraphQLClient, Member, Tenant, error_codes
from tests.leads_support import create_lead

DUPLICATES = """query($id: ID!) { leadDuplicates(id: $id) {
  lead { id } reasons { value label } } }"""
GROUPS = """query($f: LeadFilterInput, $first: Int, $after: String) {
  duplicateLeadGroups(filter: $f, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { reason { value } key leads { id } } } } }"""
MERGE = """mutation($p: ID!, $d: [ID!]!, $c: [FieldChoiceInput!]) {
  mergeLeads(primaryId: $p, duplicateIds: $d, fieldChoices: $c) {
    id duplicateIds fieldOrigins { field leadId } primary { id email mobile version } } }"""
UNDO = "mutation($m: ID!) { undoMerge(mergeId: $m) { id undoneAt primary { id } } }"

DUPLICATE_KEY_COLUMNS = ("email_norm", "name_norm", "phone_norm", "account_norm")
# Everything undo must put back (the version moves on: it only ever grows).
LEAD_STATE_FIELDS = (*EDITABLE_FIELDS, "deleted_at", "merged_into_id", *DUPLICATE_KEY_COLUMNS)


def pk(gid: str) -> int:
    return int(relay.GlobalID.from_id(gid).node_id)


async def _family(gql: GraphQLClient, member: Member) -> dict[str, dict[str, Any]]:
    """A primary and three look-alikes, each for one rule, and a stranger."""
    make = {
        "primary": dict(
            firstName="Jean",
            lastName="Dupont",
            email="jean@x.test",
            officePhone="01 23 45 67 89",
            accountName="Acme",
        ),
        "same_email": dict(
            firstName="J.", lastName="D.", email=" JEAN@X.test", mobile="06 00 00 00 01"
        ),
        "same_phone": dict(firstName="JEAN", lastName="DUPONT", mobile="+33 1 23 45 67 89"),
        "same_account": dict(firstName="Jéan", lastName="Dupont", accountName="ACME "),
        "stranger": dict(
            firstName="Jean", lastName="Martin", email="martin@x.test", accountName="Acme"
        ),
    }
    return {name: await create_lead(gql, member, **fields) for name, fields in make.items()}


async def test_duplicates_with_reasons_and_groups(gql: GraphQLClient, tenant: Tenant) -> None:
    leads = await _family(gql, tenant.staff)
    found = (await gql.ok(DUPLICATES, {"id": leads["primary"]["id"]}, as_=tenant.staff))[
        "leadDuplicates"
    ]
    reasons = {d["lead"]["id"]: [r["value"] for r in d["reasons"]] for d in found}
    assert reasons == {
        leads["same_email"]["id"]: ["SAME_EMAIL"],
        leads["same_phone"]["id"]: ["SAME_NAME_AND_PHONE"],
        leads["same_account"]["id"]: ["SAME_NAME_AND_ACCOUNT"],
    }
    assert found[0]["reasons"][0]["label"] == "Même adresse courriel"

    groups = (await gql.ok(GROUPS, {}, as_=tenant.staff))["duplicateLeadGroups"]
    assert groups["totalCount"] == 3
    summary = [
        (
            e["node"]["reason"]["value"],
            e["node"]["key"],
            sorted(pk(x["id"]) for x in e["node"]["leads"]),
        )
        for e in groups["edges"]
    ]
    ids = {name: pk(lead["id"]) for name, lead in leads.items()}
    assert summary == [
        ("SAME_EMAIL", ["jean@x.test"], sorted([ids["primary"], ids["same_email"]])),
        (
            "SAME_NAME_AND_PHONE",
            ["jean dupont", "0123456789"],
            sorted([ids["primary"], ids["same_phone"]]),
        ),
        (
            "SAME_NAME_AND_ACCOUNT",
            ["jean dupont", "acme"],
            sorted([ids["primary"], ids["same_account"]]),
        ),
    ]
    page = (await gql.ok(GROUPS, {"first": 2}, as_=tenant.staff))["duplicateLeadGroups"]
    assert page["pageInfo"]["hasNextPage"] and len(page["edges"]) == 2
    rest = (
        await gql.ok(GROUPS, {"first": 2, "after": page["pageInfo"]["endCursor"]}, as_=tenant.staff)
    )["duplicateLeadGroups"]
    assert [e["node"]["reason"]["value"] for e in rest["edges"]] == ["SAME_NAME_AND_ACCOUNT"]
    filtered = (await gql.ok(GROUPS, {"f": {"search": "jean@"}}, as_=tenant.staff))[
        "duplicateLeadGroups"
    ]
    assert filtered["totalCount"] == 1
    # A deleted look-alike is no longer a duplicate.
    await gql.ok(
        "mutation($id: ID!) { deleteLead(id: $id) { id } }",
        {"id": leads["same_email"]["id"]},
        as_=tenant.staff,
    )
    assert (await gql.ok(GROUPS, {}, as_=tenant.staff))["duplicateLeadGroups"]["totalCount"] == 2


async def _relate(scope: Any, org_id: int, lead_id: int, tag: str) -> list[tuple[str, int]]:
    """A note, a task, a document and an email related to the lead; their (type, id)."""
    note = await Note.create(organization_id=org_id, subject=f"note {tag}")
    task = await Task.create(organization_id=org_id, subject=f"task {tag}")
    document = await Document.create(
        organization_id=org_id,
        filename=f"{tag}.pdf",
        content_type="application/pdf",
        size=1,
        sha256="0" * 64,
        storage_name=f"doc-{tag}-{lead_id}",
    )
    async with runtime.atomic():
        for target in (("note", note.id), ("task", task.id), ("document", document.id)):
            await link(scope, ("lead", lead_id), target)
        email = await queue_email(
            scope,
            to=["c@x.test"],
            subject=tag,
            html="<p>x</p>",
            text="x",
            concerns=[("lead", lead_id)],
        )
    return [("note", note.id), ("task", task.id), ("document", document.id), ("email", email.id)]


async def _state(ids: list[int]) -> tuple[dict[int, dict[str, Any]], list[tuple[Any, ...]]]:
    leads = {
        row.id: {f: getattr(row, f) for f in LEAD_STATE_FIELDS}
        for row in await Lead.filter(id__in=ids)
    }
    links = sorted(
        await RecordLink.all().values_list(
            "id", "owner_type", "owner_id", "target_type", "target_id"
        )
    )
    return leads, links


async def _targets(lead_id: int) -> set[tuple[str, int]]:
    return set(
        await RecordLink.filter(owner_type="lead", owner_id=lead_id).values_list(
            "target_type", "target_id"
        )
    )


async def test_merge_moves_every_related_record_and_undo_restores_exactly(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    leads = await _family(gql, tenant.staff)
    ids = {name: pk(lead["id"]) for name, lead in leads.items()}
    scope = tenant.staff.scope
    related = {
        name: await _relate(scope, tenant.org.id, ids[name], name)
        for name in ("primary", "same_email", "same_phone")
    }
    shared_note = related["primary"][0]
    async with runtime.atomic():
        await link(scope, ("lead", ids["same_email"]), shared_note)  # already on the primary too
        await link(scope, ("contact", 77), ("lead", ids["same_phone"]))  # the duplicate as a target
    everything: set[tuple[str, int]] = set()
    for name in ("primary", "same_email", "same_phone"):
        everything |= await _targets(ids[name])
    involved = [ids["primary"], ids["same_email"], ids["same_phone"]]
    before = await _state(involved)

    merged = (
        await gql.ok(
            MERGE,
            {
                "p": leads["primary"]["id"],
                "d": [leads["same_email"]["id"], leads["same_phone"]["id"]],
                "c": [{"field": "mobile", "leadId": leads["same_phone"]["id"]}],
            },
            as_=tenant.staff,
        )
    )["mergeLeads"]
    # email kept from the primary; mobile chosen from same_phone (the primary had none anyway)
    assert (
        merged["primary"]["email"] == "jean@x.test"
        and merged["primary"]["mobile"] == "+33 1 23 45 67 89"
    )
    assert {o["field"]: pk(o["leadId"]) for o in merged["fieldOrigins"]} == {
        "mobile": ids["same_phone"]
    }
    assert await _targets(ids["primary"]) == everything  # nothing lost, nothing doubled
    assert len(await RecordLink.filter(owner_type="lead", owner_id=ids["primary"])) == len(
        everything
    )
    assert await RecordLink.filter(owner_type="lead", owner_id__in=involved[1:]).count() == 0
    assert await RecordLink.filter(owner_type="contact", owner_id=77).values_list(
        "target_id", flat=True
    ) == [ids["primary"]]
    for name in ("same_email", "same_phone"):
        row = await Lead.get(id=ids[name])
        assert row.deleted_at is not None and row.merged_into_id == ids["primary"]
    log = await ChangeLogEntry.filter(record_id=ids["primary"], action="merge")
    assert any(
        e.field == "mobile"
        and e.reason == f"from lead {ids['same_phone']}"
        and e.new_value == "+33 1 23 45 67 89"
        for e in log
    )
    assert any(e.field == "" and str(ids["same_email"]) in e.reason for e in log)
    listed = await gql.ok("{ leads { totalCount } }", as_=tenant.staff)
    assert listed["leads"]["totalCount"] == 3

    again = await gql(
        MERGE, {"p": leads["stranger"]["id"], "d": [leads["same_email"]["id"]]}, as_=tenant.staff
    )
    assert error_codes(again) == ["ALREADY_MERGED"]
    restore = await gql(
        "mutation($id: ID!) { restoreLead(id: $id) { id } }",
        {"id": leads["same_email"]["id"]},
        as_=tenant.staff,
    )
    assert error_codes(restore) == ["WRONG_STATE"]

    undone = (await gql.ok(UNDO, {"m": merged["id"]}, as_=tenant.staff))["undoMerge"]
    assert undone["undoneAt"] is not None
    assert await _state(involved) == before  # fields, deletion, links (same ids) all back
    assert error_codes(await gql(UNDO, {"m": merged["id"]}, as_=tenant.staff)) == ["WRONG_STATE"]


async def test_undo_refused_when_a_merged_field_changed_since(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    leads = await _family(gql, tenant.staff)
    merged = (
        await gql.ok(
            MERGE,
            {
                "p": leads["same_phone"]["id"],
                "d": [leads["primary"]["id"]],
                "c": [{"field": "email", "leadId": leads["primary"]["id"]}],
            },
            as_=tenant.staff,
        )
    )["mergeLeads"]
    primary = merged["primary"]
    # Edit a field the merge did not touch: undo still allowed later; edit one it did: refused.
    await gql.ok(
        'mutation($id: ID!, $v: Int!) { updateLeadField(id: $id, version: $v, field: "email", value: "new@x.test") { id } }',
        {"id": primary["id"], "v": primary["version"]},
        as_=tenant.staff,
    )
    body = await gql(UNDO, {"m": merged["id"]}, as_=tenant.staff)
    assert error_codes(body) == ["MERGE_UNDO_CONFLICT"] and "email" in body["errors"][0]["message"]
    row = await Lead.get(id=pk(leads["primary"]["id"]))
    assert row.merged_into_id == pk(primary["id"])  # nothing was put back
    assert (await MergeJournal.get(id=pk(merged["id"]))).undone_at is None


async def test_merge_input_is_validated(gql: GraphQLClient, tenant: Tenant) -> None:
    leads = await _family(gql, tenant.staff)
    p, d = leads["primary"]["id"], leads["same_email"]["id"]
    cases = [
        {"p": p, "d": []},
        {"p": p, "d": [p]},
        {"p": p, "d": [d], "c": [{"field": "storeCustomerId", "leadId": d}]},
        {"p": p, "d": [d], "c": [{"field": "email", "leadId": leads["stranger"]["id"]}]},
    ]
    for variables in cases:
        assert error_codes(await gql(MERGE, variables, as_=tenant.staff)) == ["VALIDATION_ERROR"], (
            variables
        )
    assert error_codes(await gql(MERGE, {"p": p, "d": [d]}, as_=tenant.viewer)) == ["FORBIDDEN"]
    assert (
        await MergeJournal.all().count() == 0
        and await Lead.filter(deleted_at__isnull=False).count() == 0
    )


@pytest.mark.postgres_only
async def test_two_merges_sharing_a_duplicate_one_wins(
    gql: GraphQLClient, tenant: Tenant, settings: Settings
) -> None:
    leads = await _family(gql, tenant.staff)
    ids = {name: pk(lead["id"]) for name, lead in leads.items()}
    scope = tenant.staff.scope
    shared = ids["same_phone"]
    await _relate(scope, tenant.org.id, shared, "shared")
    await _relate(scope, tenant.org.id, ids["primary"], "p")
    links_before = sorted(await RecordLink.all().values_list("target_type", "target_id"))

    # Hold the shared duplicate's row lock on another connection so both merges queue on it.
    blocker = await asyncpg.connect(settings.database_url)
    try:
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("SELECT id FROM lead WHERE id = $1 FOR UPDATE", shared)
        first = asyncio.create_task(merge_leads(scope, ids["primary"], [shared], {}))
        second = asyncio.create_task(merge_leads(scope, ids["stranger"], [shared], {}))
        await asyncio.sleep(0.3)
        assert not first.done() and not second.done()  # both wait on the lock
        await transaction.rollback()
        outcomes = await asyncio.gather(first, second, return_exceptions=True)
    finally:
        await blocker.close()

    winners = [o for o in outcomes if isinstance(o, MergeJournal)]
    losers = [o for o in outcomes if isinstance(o, UserError)]
    assert len(winners) == 1 and len(losers) == 1 and isinstance(losers[0], AlreadyMerged)
    assert losers[0].extensions["code"] == "ALREADY_MERGED"
    winner_primary = winners[0].primary_id
    assert (await Lead.get(id=shared)).merged_into_id == winner_primary
    assert sorted(await RecordLink.all().values_list("target_type", "target_id")) == links_before
    assert await RecordLink.filter(owner_type="lead", owner_id=shared).count() == 0
    loser_primary = ({ids["primary"], ids["stranger"]} - {winner_primary}).pop()
    assert await MergeJournal.all().count() == 1
    assert await ChangeLogEntry.filter(record_id=loser_primary, action="merge").count() == 0


async def test_demo_seed_is_idempotent_and_has_duplicates_to_find(
    gql: GraphQLClient, app: Any
) -> None:
    from app.demo import seed_demo
    from models.core import Role, User
    from resolvers.auth import issue_access_token

    org = await seed_demo(lambda _: None)
    count = await Lead.filter(organization_id=org.id).count()
    await seed_demo(lambda _: None)
    assert await Lead.filter(organization_id=org.id).count() == count >= 200
    admin = await User.get(organization_id=org.id, role=Role.ADMIN)
    token = issue_access_token(admin).token
    groups = (await gql.ok("{ duplicateLeadGroups { totalCount } }", as_=token))[
        "duplicateLeadGroups"
    ]
    assert groups["totalCount"] >= 9
    waitlist = await gql.ok(
        "{ leads(filter: {waitlistStatuses: [REMOVED]}) { totalCount } }", as_=token
    )
    assert waitlist["leads"]["totalCount"] > 0
