"""Everything that moves related records keeps them, as the panels show: a merge moves
every record of the duplicates to the primary and its undo moves exactly those back; a
conversion shows the lead's records on the contact and its client; the emails sent about
a session client (proposal, reminder, owner notification) are in its Emails panels."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from jobs.confirmation import send_proposal_reminders
from resolvers import runtime
from resolvers.outbox import queue_email
from tests.confirmation_support import SEND, add_session_client, link_of, path_of, proposal_input
from tests.conftest import GraphQLClient, Member, Tenant
from tests.smtp import SmtpServer
from tests.subpanels_support import (
    LINK,
    add_note,
    create_related,
    gid,
    identities,
    pk,
    shown,
    subpanels,
)
from tests.test_documents import PDF, upload

MERGE = """mutation($p: ID!, $d: [ID!]!) { mergeLeads(primaryId: $p, duplicateIds: $d) { id } }"""
UNDO = "mutation($m: ID!) { undoMerge(mergeId: $m) { undoneAt } }"
CONVERT = """mutation($id: ID!, $i: ConvertLeadInput) { convertLead(id: $id, input: $i) {
  contactId clientId } }"""
RELATED_KEYS = ("notes", "tasks", "documents", "emails")
SETTINGS = "mutation { updateConfirmationSettings(reminderDaysBeforeDeadline: 2) { reminderDaysBeforeDeadline } }"


async def _lead(gql: GraphQLClient, member: Member, name: str) -> str:
    data = await gql.ok(
        "mutation($i: LeadInput!) { createLead(input: $i) { id } }",
        {"i": {"firstName": "Jean", "lastName": name, "email": f"{name.lower()}@x.test"}},
        as_=member,
    )
    return data["createLead"]["id"]  # type: ignore[no-any-return]


async def _relate(
    gql: GraphQLClient, client: httpx.AsyncClient, member: Member, lead: str, tag: str
) -> None:
    """A note, a task, a document and an email on the lead, through the API."""
    await add_note(gql, member, lead, f"note {tag}")
    await create_related(gql, member, lead, task={"subject": f"task {tag}"})
    uploaded = await upload(client, member, f"{tag}.pdf", PDF, "application/pdf")
    await create_related(
        gql, member, lead, document={"documentId": uploaded["data"]["uploadDocument"]["id"]}
    )
    # No mutation emails a lead yet (the bulk email action will): the outbox directly.
    async with runtime.atomic():
        await queue_email(
            member.scope,
            to=["j@x.test"],
            subject=f"email {tag}",
            html="<p>x</p>",
            text="x",
            concerns=[("lead", pk(lead))],
        )


async def _related(gql: GraphQLClient, member: Member, owner: str) -> dict[str, Any]:
    """Each related panel of the owner: its count and its records, record by record."""
    panels = await subpanels(gql, member, owner, first=100)
    return {
        key: (panels[key]["totalCount"], identities(panels[key]), shown(panels[key]))
        for key in RELATED_KEYS
    }


async def test_merge_moves_every_panel_record_and_undo_restores_each_panel_exactly(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    member = tenant.staff
    leads = {name: await _lead(gql, member, name) for name in ("Primary", "Second", "Third")}
    for name, lead in leads.items():
        await _relate(gql, client, member, lead, name)
    # A note on the primary that the second lead has too: after the merge, once.
    shared = await add_note(gql, member, leads["Primary"], "shared")
    await gql.ok(LINK, {"o": leads["Second"], "k": "notes", "t": [shared]}, as_=member)
    before = {name: await _related(gql, member, lead) for name, lead in leads.items()}
    assert [before[n]["notes"][0] for n in leads] == [2, 2, 1]

    merge = await gql.ok(
        MERGE, {"p": leads["Primary"], "d": [leads["Second"], leads["Third"]]}, as_=member
    )
    merged = await _related(gql, member, leads["Primary"])
    for key in RELATED_KEYS:
        union = {r for name in leads for r in before[name][key][1]}
        assert set(merged[key][1]) == union and merged[key][0] == len(union), key
    assert merged["notes"][0] == 4 and merged["emails"][0] == 3
    for name in ("Second", "Third"):
        assert all(count == 0 for count, *_ in (await _related(gql, member, leads[name])).values())
    log = shown((await subpanels(gql, member, leads["Primary"], keys=["change_log"]))["change_log"])
    assert log[0]["action"] == "merge"

    await gql.ok(UNDO, {"m": merge["mergeLeads"]["id"]}, as_=member)
    for name, lead in leads.items():
        assert await _related(gql, member, lead) == before[name], name
    log = shown((await subpanels(gql, member, leads["Primary"], keys=["change_log"]))["change_log"])
    assert [e["action"] for e in log[:1]] == ["undo_merge"]


async def test_conversion_shows_the_leads_records_on_the_contact_and_its_client(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    member = tenant.staff
    lead = await _lead(gql, member, "Durand")
    await _relate(gql, client, member, lead, "lead")
    on_lead = await _related(gql, member, lead)

    converted = await gql.ok(
        CONVERT, {"id": lead, "i": {"newClientName": "Durand SARL"}}, as_=member
    )
    contact, new_client = (
        converted["convertLead"]["contactId"],
        converted["convertLead"]["clientId"],
    )
    assert await _related(gql, member, contact) == on_lead
    assert await _related(gql, member, new_client) == on_lead
    assert await _related(gql, member, lead) == on_lead  # still on the lead too
    panels = await subpanels(gql, member, contact)
    assert identities(panels["lead"]) == [("Lead", lead)]
    assert identities((await subpanels(gql, member, new_client))["contacts"]) == [
        ("Contact", contact)
    ]

    # Attached to an existing client: that client sees them too; a note added to the
    # contact later is the contact's only.
    other = await _lead(gql, member, "Petit")
    await add_note(gql, member, other, "avant conversion")
    second = await gql.ok(CONVERT, {"id": other, "i": {"clientId": new_client}}, as_=member)
    notes = (await subpanels(gql, member, new_client))["notes"]
    assert notes["totalCount"] == 2
    await add_note(gql, member, second["convertLead"]["contactId"], "après conversion")
    assert (await subpanels(gql, member, new_client))["notes"]["totalCount"] == 2
    assert (await subpanels(gql, member, other))["notes"]["totalCount"] == 1


async def test_emails_about_a_session_client_are_in_its_emails_panels(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    run_worker: Any,
) -> None:
    sc = await add_session_client(tenant)
    owners = {
        "sessionClient": sc.gid,
        "session": gid("Session", sc.session.id),
        "client": gid("Client", sc.client.id),
        "contact": gid("Contact", sc.contact.id),
    }

    async def emails() -> dict[str, list[str]]:
        found = {}
        for name, owner in owners.items():
            panel = (await subpanels(gql, tenant.staff, owner, keys=["emails"]))["emails"]
            assert panel["totalCount"] == len(panel["records"]["edges"])
            found[name] = [e["kind"] for e in shown(panel)]
        return found

    await gql.ok(SEND, {"id": sc.gid, "input": proposal_input(3)}, as_=tenant.staff)
    assert await emails() == {name: ["DATE_PROPOSAL"] for name in owners}
    proposals = (await subpanels(gql, tenant.staff, sc.gid, keys=["proposals"]))["proposals"]
    session_proposals = (await subpanels(gql, tenant.staff, owners["session"]))["proposals"]
    assert identities(proposals) == identities(session_proposals) and proposals["totalCount"] == 1

    await gql.ok(SETTINGS, as_=tenant.admin)
    tomorrow = runtime.now() + timedelta(days=1)
    runtime.current().clock = lambda: tomorrow
    assert await send_proposal_reminders({}) == 1
    reminder = ["DATE_PROPOSAL_REMINDER", "DATE_PROPOSAL"]  # newest first
    assert await emails() == {name: reminder for name in owners}

    await run_worker()
    answer = path_of(link_of(smtp.received[-1]))
    assert (await client.post(answer, data={"answer": "accept"})).status_code == 200
    # The owner's notification concerns the session client, session and client; it was
    # not sent to the contact, whose panel keeps the two emails addressed to them.
    found = await emails()
    for name in ("sessionClient", "session", "client"):
        assert found[name] == ["RESPONSE_NOTIFICATION", *reminder], name
    assert found["contact"] == reminder
