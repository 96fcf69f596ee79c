"""Who may change subpanels, and tenancy: VIEWER users and READ-only keys are refused on
every mutation of related records; a VIEWER may still arrange their own panels (an API
key never has a layout of its own); another organisation's owners and targets answer
like missing ones, so nothing is ever linked across organisations."""

from __future__ import annotations

from typing import Any

import httpx

from models.audit import ChangeLogEntry
from models.core import ApiScope
from models.records import Note, RecordLink, Task
from models.subpanels import SubpanelLayout
from tests.conftest import GraphQLClient, Member, Tenant, error_codes
from tests.subpanels_support import LINK, UNLINK, add_note, create_related, make_records, subpanels
from tests.test_documents import PDF, upload

CREATE = """mutation($o: ID!, $i: RelatedRecordInput!) { createRelated(ownerId: $o, input: $i) {
  subpanel { totalCount } } }"""
UPDATE_NOTE = "mutation($i: UpdateNoteInput!) { updateNote(input: $i) { id } }"
UPDATE_TASK = "mutation($i: UpdateTaskInput!) { updateTask(input: $i) { id } }"
DELETE_NOTE = "mutation($id: ID!) { deleteNote(id: $id) { id } }"
DELETE_TASK = "mutation($id: ID!) { deleteTask(id: $id) { id } }"
COLLAPSE = """mutation { setSubpanelCollapsed(recordType: LEAD, key: "notes", collapsed: true) { stored } }"""
REORDER = """mutation { reorderSubpanels(recordType: LEAD, keys: ["emails"]) { stored } }"""
RESET = "mutation { resetSubpanelLayout(recordType: LEAD) { stored } }"


async def _fixture(gql: GraphQLClient, member: Member) -> dict[str, str]:
    records = await make_records(gql, member)
    records["note"] = await add_note(gql, member, records["Lead"], "Compte rendu")
    task = await create_related(gql, member, records["Lead"], task={"subject": "Rappeler"})
    records["task"] = task["record"]["id"]
    return records


def _mutations(r: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (CREATE, {"o": r["Lead"], "i": {"note": {"subject": "x"}}}),
        (LINK, {"o": r["Client"], "k": "notes", "t": [r["note"]]}),
        (UNLINK, {"o": r["Lead"], "k": "notes", "t": [r["note"]]}),
        (UPDATE_NOTE, {"i": {"id": r["note"], "version": 1, "subject": "y"}}),
        (UPDATE_TASK, {"i": {"id": r["task"], "version": 1, "status": "COMPLETED"}}),
        (DELETE_NOTE, {"id": r["note"]}),
        (DELETE_TASK, {"id": r["task"]}),
        (COLLAPSE, {}),
        (REORDER, {}),
        (RESET, {}),
    ]


async def _written() -> tuple[int, ...]:
    return (
        await Note.all().count(),
        await Task.all().count(),
        await RecordLink.all().count(),
        await ChangeLogEntry.all().count(),
        await SubpanelLayout.all().count(),
        await Note.filter(subject="Compte rendu", version=1).count(),
    )


async def test_viewers_and_read_only_keys_are_refused_every_subpanel_mutation(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    records = await _fixture(gql, tenant.staff)
    before = await _written()
    read_key = await tenant.api_key(ApiScope.READ)
    for caller in (tenant.viewer, read_key):
        for document, variables in _mutations(records)[:7]:
            body = await gql(document, variables, as_=caller)
            assert error_codes(body) == ["FORBIDDEN"], (document, caller)
        # Reading is theirs: the panels and the default layout.
        assert (await subpanels(gql, caller, records["Lead"]))["notes"]["totalCount"] == 1
    for document, _ in _mutations(records)[7:]:
        assert error_codes(await gql(document, as_=read_key)) == ["FORBIDDEN"], document
    assert await _written() == before


async def test_a_viewer_arranges_their_own_panels(gql: GraphQLClient, tenant: Tenant) -> None:
    records = await _fixture(gql, tenant.staff)
    await gql.ok(COLLAPSE, as_=tenant.viewer)
    await gql.ok(REORDER, as_=tenant.viewer)
    viewer_panels = await subpanels(gql, tenant.viewer, records["Lead"])
    assert list(viewer_panels)[0] == "emails" and viewer_panels["notes"]["collapsed"] is True
    staff_panels = await subpanels(gql, tenant.staff, records["Lead"])
    assert list(staff_panels)[0] != "emails" and staff_panels["notes"]["collapsed"] is False


async def test_foreign_owners_and_targets_answer_like_missing_ones(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ours = await _fixture(gql, tenant.staff)
    theirs = await _fixture(gql, other_tenant.staff)
    before = await _written()

    # Their records are not reachable: no node, no panel.
    node = await gql.ok(
        "query($id: ID!) { node(id: $id) { __typename } }", {"id": theirs["Lead"]}, as_=tenant.staff
    )
    assert node["node"] is None
    # Every mutation on their owner or their note/task is NOT_FOUND, as for a missing id.
    for document, variables in _mutations(theirs)[:7]:
        body = await gql(document, variables, as_=tenant.staff)
        assert error_codes(body) == ["NOT_FOUND"], document
    # Our lead, their note: the item is NOT_FOUND, nothing is linked, under any policy.
    for policy in ("REJECT_EVERYTHING", "REJECT_FAILED_ROWS", "IGNORE_FAILED"):
        variables = {"o": ours["Lead"], "k": "notes", "t": [theirs["note"]], "p": policy}
        linked = (await gql.ok(LINK, variables, as_=tenant.staff))["linkRelated"]
        [item] = linked["results"]
        assert linked["count"] == 0 and item["errors"][0]["code"] == "NOT_FOUND", policy
        assert item["errors"][0]["field"] == "targetIds.0"
    assert await _written() == before
    # Their uploaded document cannot be attached to our records either.
    uploaded = await upload(client, other_tenant.staff, "devis.pdf", PDF, "application/pdf")
    their_document = uploaded["data"]["uploadDocument"]["id"]
    before = await _written()
    attach = {"o": ours["Lead"], "i": {"document": {"documentId": their_document}}}
    assert error_codes(await gql(CREATE, attach, as_=tenant.staff)) == ["NOT_FOUND"]
    foreign_user = await gql(
        CREATE,
        {
            "o": ours["Lead"],
            "i": {"task": {"subject": "t", "assigneeId": str(other_tenant.staff.user.id)}},
        },
        as_=tenant.staff,
    )
    assert error_codes(foreign_user) == ["NOT_FOUND"]
    assert await _written() == before
    links = await RecordLink.all().values_list(
        "organization_id", "owner_id", "target_type", "target_id"
    )
    notes = dict(await Note.all().values_list("id", "organization_id"))
    assert all(notes[target] == org for org, _, kind, target in links if kind == "note")
