"""Notes and tasks: versioned edits, deletion (every record they were attached to logs
it), and bad inputs of the subpanel mutations answered with typed errors, nothing written."""

from __future__ import annotations

from models.audit import ChangeLogEntry, DomainEvent
from models.records import Note, RecordLink
from tests.conftest import GraphQLClient, Tenant, error_codes
from tests.subpanels_support import (
    LINK,
    add_note,
    create_related,
    gid,
    make_records,
    pk,
    shown,
    subpanels,
)

UPDATE_NOTE = (
    """mutation($i: UpdateNoteInput!) { updateNote(input: $i) { id subject body version } }"""
)
UPDATE_TASK = """mutation($i: UpdateTaskInput!) { updateTask(input: $i) {
  id subject status { value label } dueDate assignee { email } version } }"""


async def test_update_and_delete_notes_and_tasks(gql: GraphQLClient, tenant: Tenant) -> None:
    records = await make_records(gql, tenant.staff)
    note_id = await add_note(gql, tenant.staff, records["Lead"], "Premier contact")
    await gql.ok(LINK, {"o": records["Client"], "k": "notes", "t": [note_id]}, as_=tenant.staff)

    updated = (
        await gql.ok(
            UPDATE_NOTE, {"i": {"id": note_id, "version": 1, "body": "Intéressé"}}, as_=tenant.staff
        )
    )["updateNote"]
    assert updated == {
        "id": note_id,
        "subject": "Premier contact",
        "body": "Intéressé",
        "version": 2,
    }
    node = await gql.ok(
        "query($id: ID!) { node(id: $id) { ... on Note { subject body } } }",
        {"id": note_id},
        as_=tenant.staff,
    )
    assert node["node"] == {"subject": "Premier contact", "body": "Intéressé"}
    stale = await gql(
        UPDATE_NOTE, {"i": {"id": note_id, "version": 1, "subject": "x"}}, as_=tenant.staff
    )
    assert error_codes(stale) == ["STALE_VERSION"]
    empty = await gql(
        UPDATE_NOTE, {"i": {"id": note_id, "version": 2, "subject": "  "}}, as_=tenant.staff
    )
    assert error_codes(empty) == ["VALIDATION_ERROR"]
    log = await ChangeLogEntry.filter(record_type="note", record_id=pk(note_id), action="update")
    assert [(e.field, e.old_value, e.new_value) for e in log] == [("body", "", "Intéressé")]

    task = await create_related(
        gql, tenant.staff, records["Session"], task={"subject": "Réserver la salle"}
    )
    task_id = task["record"]["id"]
    done = await gql.ok(
        UPDATE_TASK,
        {
            "i": {
                "id": task_id,
                "version": 1,
                "status": "COMPLETED",
                "assigneeId": str(tenant.staff.user.id),
            }
        },
        as_=tenant.staff,
        headers={"Accept-Language": "en"},
    )
    assert done["updateTask"]["status"] == {"value": "COMPLETED", "label": "Completed"}
    assert done["updateTask"]["assignee"] == {"email": tenant.staff.user.email}
    unassigned = await gql.ok(
        UPDATE_TASK,
        {"i": {"id": task_id, "version": 2, "assigneeId": None, "dueDate": "2027-01-15"}},
        as_=tenant.staff,
    )
    assert (
        unassigned["updateTask"]["assignee"] is None
        and unassigned["updateTask"]["dueDate"] == "2027-01-15"
    )
    nobody = await gql(
        UPDATE_TASK, {"i": {"id": task_id, "version": 3, "assigneeId": "999999"}}, as_=tenant.staff
    )
    assert (
        error_codes(nobody) == ["NOT_FOUND"]
        and nobody["errors"][0]["extensions"]["field"] == "assigneeId"
    )

    deleted = await gql.ok(
        "mutation($id: ID!) { deleteNote(id: $id) { id deleted } }",
        {"id": note_id},
        as_=tenant.staff,
    )
    assert deleted["deleteNote"] == {"id": note_id, "deleted": True}
    for owner in (records["Lead"], records["Client"]):
        panels = await subpanels(gql, tenant.staff, owner)
        assert panels["notes"]["totalCount"] == 0
        [entry] = [e for e in shown(panels["change_log"]) if e["action"] == "unlink"]
        assert entry["newValue"] == f"note {pk(note_id)}"
    assert await RecordLink.filter(target_type="note").count() == 0
    await gql.ok(
        "mutation($id: ID!) { deleteTask(id: $id) { id } }", {"id": task_id}, as_=tenant.staff
    )
    assert (await subpanels(gql, tenant.staff, records["Session"]))["tasks"]["totalCount"] == 0
    gone = await gql(
        "mutation($id: ID!) { deleteTask(id: $id) { id } }", {"id": task_id}, as_=tenant.staff
    )
    assert error_codes(gone) == ["NOT_FOUND"]
    assert await DomainEvent.filter(type__in=["note.deleted", "task.deleted"]).count() == 2


async def test_bad_inputs_are_typed_errors_and_write_nothing(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    records = await make_records(gql, tenant.staff)
    lead = records["Lead"]
    create = "mutation($o: ID!, $i: RelatedRecordInput!) { createRelated(ownerId: $o, input: $i) { record { __typename } } }"
    cases = [
        ({"o": lead, "i": {"note": {"subject": ""}}}, "VALIDATION_ERROR"),
        ({"o": lead, "i": {"note": {"subject": "x" * 256}}}, "VALIDATION_ERROR"),
        ({"o": lead, "i": {"task": {"subject": "t", "assigneeId": "abc"}}}, "NOT_FOUND"),
        ({"o": lead, "i": {"document": {"documentId": gid("Document", 9999)}}}, "NOT_FOUND"),
        ({"o": gid("Store", 1), "i": {"note": {"subject": "x"}}}, "NOT_FOUND"),
        ({"o": "bm9wZQ==", "i": {"note": {"subject": "x"}}}, "NOT_FOUND"),
    ]
    for variables, code in cases:
        assert error_codes(await gql(create, variables, as_=tenant.staff)) == [code], variables
    both = await gql(
        create,
        {"o": lead, "i": {"note": {"subject": "a"}, "task": {"subject": "b"}}},
        as_=tenant.staff,
    )
    assert both.get("errors") and not both.get("data")
    assert (
        await Note.all().count() == 0 and await RecordLink.filter(target_type="note").count() == 0
    )

    # A deleted lead takes nothing new.
    await gql.ok(
        "mutation($id: ID!) { deleteLead(id: $id) { id } }", {"id": lead}, as_=tenant.staff
    )
    body = await gql(create, {"o": lead, "i": {"note": {"subject": "x"}}}, as_=tenant.staff)
    assert error_codes(body) == ["WRONG_STATE"]


async def test_two_creations_in_one_request_each_answer_their_count(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    lead = (await make_records(gql, tenant.staff))["Lead"]
    data = await gql.ok(
        """mutation($o: ID!) {
          a: createRelated(ownerId: $o, input: {note: {subject: "a"}}) { subpanel { totalCount } }
          b: createRelated(ownerId: $o, input: {note: {subject: "b"}}) { subpanel { totalCount } }
        }""",
        {"o": lead},
        as_=tenant.staff,
    )
    assert [data[k]["subpanel"]["totalCount"] for k in ("a", "b")] == [1, 2]
