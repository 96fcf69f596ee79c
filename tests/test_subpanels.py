"""Related-record subpanels over HTTP: each record type's panels, counts, pagination and
order; create / select / unlink of notes, tasks and documents; note and task edits."""

from __future__ import annotations

import httpx

from models.audit import ChangeLogEntry, DomainEvent
from models.records import Note
from resolvers import labels
from resolvers.subpanels.registry import PANELS
from tests.conftest import GraphQLClient, Tenant, error_codes
from tests.subpanels_support import (
    LINK,
    UNLINK,
    add_note,
    create_related,
    gid,
    identities,
    make_records,
    pk,
    shown,
    subpanels,
)
from tests.test_documents import PDF, upload

DEFAULT_KEYS = {
    "Lead": ["notes", "tasks", "documents", "emails", "change_log"],
    "Client": ["contacts", "sessions", "notes", "tasks", "documents", "emails", "change_log"],
    "Contact": ["sessions", "emails", "notes", "tasks", "documents", "lead", "change_log"],
    "Session": ["clients", "proposals", "notes", "tasks", "documents", "emails", "change_log"],
    "SessionClient": ["proposals", "emails", "documents", "notes", "tasks", "change_log"],
}
RECORD_TYPES = {
    "Lead": "lead",
    "Client": "client",
    "Contact": "contact",
    "Session": "session",
    "SessionClient": "session_client",
}


def test_every_panel_has_a_french_and_an_english_title() -> None:
    for panels in PANELS.values():
        for panel in panels:
            french, english = labels.SUBPANEL_TITLES[panel.key]
            assert french and english, panel.key


async def test_each_record_type_has_its_panels_in_the_default_order(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    records = await make_records(gql, tenant.staff)
    for type_name, owner in records.items():
        panels = await subpanels(gql, tenant.staff, owner)
        assert list(panels) == DEFAULT_KEYS[type_name], type_name
        assert panels["notes"]["title"] == "Notes" and panels["tasks"]["title"] == "Tâches"
        assert panels["change_log"]["collapsed"] and not panels["notes"]["collapsed"]
        assert panels["notes"]["canCreate"] and panels["notes"]["canSelect"]
        assert not panels["change_log"]["canCreate"] and not panels["change_log"]["canSelect"]
    english = await gql.ok(
        "query($id: ID!) { node(id: $id) { ... on Session { subpanels { key title } } } }",
        {"id": records["Session"]},
        as_=tenant.staff,
        headers={"Accept-Language": "en"},
    )
    titles = {p["key"]: p["title"] for p in english["node"]["subpanels"]}
    assert titles["proposals"] == "Date proposals" and titles["change_log"] == "Change log"

    # The relations: the client's contact and enrolment, the session's client.
    client = await subpanels(gql, tenant.staff, records["Client"])
    assert identities(client["contacts"]) == [("Contact", records["Contact"])]
    assert identities(client["sessions"]) == [("SessionClient", records["SessionClient"])]
    session = await subpanels(gql, tenant.staff, records["Session"])
    [enrolled] = shown(session["clients"])
    assert enrolled["client"]["name"] == "Acme SA" and enrolled["session"]["reference"] == "S-1"
    contact = await subpanels(gql, tenant.staff, records["Contact"])
    assert identities(contact["sessions"]) == [("SessionClient", records["SessionClient"])]
    # The session's change log has its creation and the client added, newest first.
    actions = [e["action"] for e in shown(session["change_log"])]
    assert actions[0] == "client_added" and "create" in actions

    only = await subpanels(gql, tenant.staff, records["Lead"], keys=["emails", "notes"])
    assert list(only) == ["notes", "emails"]  # the caller's order, not the one asked
    body = await gql(
        'query($id: ID!) { node(id: $id) { ... on Lead { subpanels(keys: ["nope"]) { key } } } }',
        {"id": records["Lead"]},
        as_=tenant.staff,
    )
    assert error_codes(body) == ["VALIDATION_ERROR"] and "nope" in body["errors"][0]["message"]


async def test_create_on_every_record_type_and_each_kind(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    records = await make_records(gql, tenant.staff)
    uploaded = await upload(client, tenant.staff, "programme.pdf", PDF, "application/pdf")
    document = uploaded["data"]["uploadDocument"]["id"]
    for type_name, owner in records.items():
        note = await create_related(
            gql, tenant.staff, owner, note={"subject": f"Appel {type_name}", "body": "Rappeler"}
        )
        assert note["subpanel"] == {"key": "notes", "totalCount": 1}
        assert note["record"]["author"] == {"email": tenant.staff.user.email}
        task = await create_related(
            gql,
            tenant.staff,
            owner,
            task={
                "subject": "Envoyer le devis",
                "dueDate": "2027-02-01",
                "status": "IN_PROGRESS",
                "assigneeId": str(tenant.admin.user.id),
            },
        )
        assert task["record"]["status"] == {"value": "IN_PROGRESS", "label": "En cours"}
        assert task["record"]["assignee"] == {"email": tenant.admin.user.email}
        attached = await create_related(gql, tenant.staff, owner, document={"documentId": document})
        assert attached["record"] == {
            "__typename": "Document",
            "id": document,
            "filename": "programme.pdf",
            "uploadedBy": {"email": tenant.staff.user.email},
        }
        panels = await subpanels(gql, tenant.staff, owner)
        assert identities(panels["notes"]) == [("Note", note["record"]["id"])]
        assert identities(panels["tasks"]) == [("Task", task["record"]["id"])]
        assert identities(panels["documents"]) == [("Document", document)]
        assert [
            p["totalCount"] for p in (panels["notes"], panels["tasks"], panels["documents"])
        ] == [1, 1, 1]
        # The owner's change log says what was attached, and an event was written for each.
        links = await ChangeLogEntry.filter(
            record_type=RECORD_TYPES[type_name], record_id=pk(owner), action="link"
        ).order_by("id")
        assert [(e.new_value, e.reason) for e in links] == [
            (f"note {pk(note['record']['id'])}", f"Appel {type_name}"),
            (f"task {pk(task['record']['id'])}", "Envoyer le devis"),
            (f"document {pk(document)}", "programme.pdf"),
        ]
    events = await DomainEvent.filter(type__endswith=".related_linked").values_list(
        "type", flat=True
    )
    assert sorted(set(events)) == [
        "client.related_linked",
        "contact.related_linked",
        "lead.related_linked",
        "session.related_linked",
        "session_client.related_linked",
    ]
    assert len(events) == 15
    assert await DomainEvent.filter(type="note.created").count() == 5

    # One document, attached five times: still one document.
    assert (await gql.ok("{ documents { totalCount } }", as_=tenant.staff))["documents"][
        "totalCount"
    ] == 1


async def test_select_and_unlink_existing_records(gql: GraphQLClient, tenant: Tenant) -> None:
    first = await make_records(gql, tenant.staff, "1")
    second = await make_records(gql, tenant.staff, "2")
    lead, other = first["Lead"], second["Lead"]
    notes = [await add_note(gql, tenant.staff, other, f"note {i}") for i in range(3)]

    linked = (await gql.ok(LINK, {"o": lead, "k": "notes", "t": notes[:2]}, as_=tenant.staff))[
        "linkRelated"
    ]
    assert linked["count"] == 2
    assert [(r["outcome"], r["record"]["id"]) for r in linked["results"]] == [
        ("LINKED", notes[0]),
        ("LINKED", notes[1]),
    ]
    again = (
        await gql.ok(LINK, {"o": lead, "k": "notes", "t": [notes[1], notes[2]]}, as_=tenant.staff)
    )["linkRelated"]
    assert [r["outcome"] for r in again["results"]] == ["UNCHANGED", "LINKED"]
    panels = await subpanels(gql, tenant.staff, lead)
    assert panels["notes"]["totalCount"] == 3
    # The same notes stay on the other lead: a note can relate to several records.
    assert (await subpanels(gql, tenant.staff, other))["notes"]["totalCount"] == 3

    # A task on a client, selected into a session's tasks panel.
    task = await create_related(gql, tenant.staff, first["Client"], task={"subject": "Relancer"})
    task_id = task["record"]["id"]
    await gql.ok(LINK, {"o": first["Session"], "k": "tasks", "t": [task_id]}, as_=tenant.staff)
    assert identities((await subpanels(gql, tenant.staff, first["Session"]))["tasks"]) == [
        ("Task", task_id)
    ]

    unlinked = (
        await gql.ok(UNLINK, {"o": lead, "k": "notes", "t": [notes[0], notes[0]]}, as_=tenant.staff)
    )["unlinkRelated"]
    assert [r["outcome"] for r in unlinked["results"]] == ["UNLINKED", "UNCHANGED"]
    panels = await subpanels(gql, tenant.staff, lead)
    assert {r["id"] for r in shown(panels["notes"])} == {notes[1], notes[2]}
    assert await Note.filter(id=pk(notes[0])).exists()  # detached, not deleted
    log = [(e["action"], e["newValue"]) for e in shown(panels["change_log"])][:4]
    assert log[0] == ("unlink", f"note {pk(notes[0])}")
    assert await DomainEvent.filter(type="lead.related_unlinked").count() == 1

    # Records of other kinds, or not selectable panels, are refused.
    wrong_kind = (await gql.ok(LINK, {"o": lead, "k": "notes", "t": [task_id]}, as_=tenant.staff))[
        "linkRelated"
    ]
    assert wrong_kind["count"] == 0 and wrong_kind["results"][0]["errors"][0]["code"] == "NOT_FOUND"
    assert wrong_kind["results"][0]["errors"][0]["field"] == "targetIds.0"
    for key in ("emails", "change_log"):
        body = await gql(LINK, {"o": lead, "k": key, "t": [notes[0]]}, as_=tenant.staff)
        assert (
            error_codes(body) == ["VALIDATION_ERROR"]
            and body["errors"][0]["extensions"]["field"] == "key"
        )
    body = await gql(LINK, {"o": lead, "k": "memos", "t": [notes[0]]}, as_=tenant.staff)
    assert error_codes(body) == ["VALIDATION_ERROR"] and "'memos'" in body["errors"][0]["message"]


async def test_bulk_policies_and_idempotency_of_select(gql: GraphQLClient, tenant: Tenant) -> None:
    records = await make_records(gql, tenant.staff)
    lead = records["Lead"]
    note = await add_note(gql, tenant.staff, records["Client"], "Compte rendu")
    missing = gid("Note", 999999)
    strict = (
        await gql.ok(LINK, {"o": lead, "k": "notes", "t": [note, missing]}, as_=tenant.staff)
    )["linkRelated"]
    assert strict["count"] == 0 and strict["results"][0]["errors"] == []
    assert strict["results"][1]["errors"][0]["code"] == "NOT_FOUND"
    assert (await subpanels(gql, tenant.staff, lead))["notes"]["totalCount"] == 0  # nothing written

    variables = {
        "o": lead,
        "k": "notes",
        "t": [note, missing],
        "p": "REJECT_FAILED_ROWS",
        "ik": "sel-1",
    }
    lenient = (await gql.ok(LINK, variables, as_=tenant.staff))["linkRelated"]
    assert lenient["count"] == 1 and lenient["results"][0]["outcome"] == "LINKED"
    retry = (await gql.ok(LINK, variables, as_=tenant.staff))["linkRelated"]
    assert retry["count"] == 1 and retry["results"][0]["outcome"] == "LINKED"  # the first answer
    assert await ChangeLogEntry.filter(record_type="lead", action="link").count() == 1


async def test_pages_and_orders(gql: GraphQLClient, tenant: Tenant) -> None:
    lead = (await make_records(gql, tenant.staff))["Lead"]
    subjects = ["Bravo", "Delta", "Alpha", "Echo", "Charlie"]
    ids = [await add_note(gql, tenant.staff, lead, s) for s in subjects]

    seen: list[str] = []
    after = None
    while True:
        page = (await subpanels(gql, tenant.staff, lead, keys=["notes"], first=2, after=after))[
            "notes"
        ]
        assert page["totalCount"] == 5 and page["records"]["totalCount"] == 5
        seen += [r["id"] for r in shown(page)]
        if not page["records"]["pageInfo"]["hasNextPage"]:
            break
        after = page["records"]["pageInfo"]["endCursor"]
    assert seen == ids[::-1]  # newest first by default

    def subjects_of(panel: dict) -> list[str]:
        return [r["subject"] for r in shown(panel)]

    oldest = await subpanels(gql, tenant.staff, lead, keys=["notes"], order="OLDEST_FIRST")
    assert subjects_of(oldest["notes"]) == subjects
    by_title = await subpanels(gql, tenant.staff, lead, keys=["notes"], order="TITLE_ASC", first=3)
    assert subjects_of(by_title["notes"]) == ["Alpha", "Bravo", "Charlie"]
    assert by_title["notes"]["records"]["pageInfo"]["hasNextPage"]
    desc = await subpanels(gql, tenant.staff, lead, keys=["notes"], order="TITLE_DESC")
    assert subjects_of(desc["notes"]) == sorted(subjects, reverse=True)

    for variables in (
        {"order": "TITLE_ASC", "keys": ["change_log"]},
        {"after": "bm9wZQ=="},
        {"first": 101},
    ):
        body = await gql(
            """query($id: ID!, $keys: [String!], $first: Int, $after: String, $order: RelatedOrder) {
              node(id: $id) { ... on Lead { subpanels(keys: $keys) {
                records(first: $first, after: $after, orderBy: $order) { totalCount } } } } }""",
            {"id": lead, **variables},
            as_=tenant.staff,
        )
        assert error_codes(body) == ["VALIDATION_ERROR"], variables


async def test_relation_panels_sort_on_the_related_records_columns(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    records = await make_records(gql, tenant.staff, "C")  # client "AcmeC SA" in "S-C"
    session = records["Session"]
    for tag in ("A", "B"):
        other = await make_records(gql, tenant.staff, tag)
        await gql.ok(
            "mutation($s: ID!, $c: ID!) { addClientToSession(sessionId: $s, clientId: $c) { id } }",
            {"s": session, "c": other["Client"]},
            as_=tenant.staff,
        )
        await gql.ok(
            "mutation($s: ID!, $c: ID!) { addClientToSession(sessionId: $s, clientId: $c) { id } }",
            {"s": other["Session"], "c": records["Client"]},
            as_=tenant.staff,
        )

    def clients(panel: dict) -> list[str]:
        return [r["client"]["name"] for r in shown(panel)]

    def sessions(panel: dict) -> list[str]:
        return [r["session"]["reference"] for r in shown(panel)]

    added = (await subpanels(gql, tenant.staff, session, keys=["clients"]))["clients"]
    assert clients(added) == ["AcmeC SA", "AcmeA SA", "AcmeB SA"]  # as added (its default)
    by_name = await subpanels(gql, tenant.staff, session, keys=["clients"], order="TITLE_ASC")
    assert clients(by_name["clients"]) == ["AcmeA SA", "AcmeB SA", "AcmeC SA"]
    for owner in (records["Client"], records["Contact"]):  # the contact: its client's
        titled = await subpanels(gql, tenant.staff, owner, keys=["sessions"], order="TITLE_DESC")
        assert sessions(titled["sessions"]) == ["S-C", "S-B", "S-A"]
        assert titled["sessions"]["totalCount"] == 3
        newest = await subpanels(gql, tenant.staff, owner, keys=["sessions"])
        assert sessions(newest["sessions"]) == ["S-B", "S-A", "S-C"]
