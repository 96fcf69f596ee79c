"""Sessions over HTTP: creation with a planning, updates, planning changes, the clients
of a session, typed errors and tenant isolation (the list: test_sessions_list.py; the
bulk mutations: test_sessions_bulk.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from models.audit import ChangeLogEntry, DomainEvent
from models.sessions import (
    ConfirmationState,
    ConfirmationSummary,
    SessionClient,
    SessionSlot,
    TrainingSession,
)
from tests.conftest import GraphQLClient, Member, Tenant, error_codes
from tests.test_clients import DELETE_CLIENT, make_client

FIELDS = """id reference title productCode location version firstDate lastDate
  status { value label } confirmationSummary { value label } owner { email }
  slots { id date startTime endTime location }"""
CREATE = f"mutation($input: CreateSessionInput!) {{ createSession(input: $input) {{ {FIELDS} }} }}"
UPDATE = f"mutation($input: UpdateSessionInput!) {{ updateSession(input: $input) {{ {FIELDS} }} }}"
DELETE = "mutation($id: ID!) { deleteSession(id: $id) { id deleted } }"
SESSION = f"query($id: ID!) {{ session(id: $id) {{ {FIELDS} }} }}"
SET_PLANNING = f"""mutation($id: ID!, $slots: [SlotInput!]!, $version: Int) {{
  setSessionPlanning(sessionId: $id, slots: $slots, version: $version) {{ {FIELDS} }} }}"""
ADD_SLOT = f"""mutation($id: ID!, $slot: SlotInput!) {{
  addSessionSlot(sessionId: $id, slot: $slot) {{ {FIELDS} }} }}"""
UPDATE_SLOT = f"""mutation($id: ID!, $slot: SlotPatch!) {{
  updateSessionSlot(id: $id, slot: $slot) {{ {FIELDS} }} }}"""
REMOVE_SLOT = f"mutation($id: ID!) {{ removeSessionSlot(id: $id) {{ {FIELDS} }} }}"
ADD_CLIENT = """mutation($s: ID!, $c: ID!) { addClientToSession(sessionId: $s, clientId: $c) {
  id confirmation { state label listValue { label } } client { name } session { reference
  confirmationSummary { value } } } }"""
REMOVE_CLIENT = """mutation($s: ID!, $c: ID!) { removeClientFromSession(sessionId: $s, clientId: $c) {
  id confirmationSummary { value } clients { totalCount } } }"""
BULK_CREATE = """mutation($inputs: [CreateSessionInput!]!, $key: String) {
  createSessions(inputs: $inputs, idempotencyKey: $key) {
    count results { errors { code field } } } }"""
BULK_ADD = """mutation($s: ID!, $cs: [ID!]!, $key: String) {
  addClientsToSession(sessionId: $s, clientIds: $cs, idempotencyKey: $key) {
    count results { errors { code field } } } }"""
LIST = """query($filter: SessionFilter, $order: SessionOrder!, $first: Int, $after: String) {
  sessions(filter: $filter, orderBy: $order, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { reference } } } }"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Session { reference } } }"
CLIENT_SESSIONS = "query($id: ID!) { client(id: $id) { sessions { reference } } }"

SLOTS = [
    {"date": "2027-03-02", "startTime": "14:00", "endTime": "17:30"},
    {"date": "2027-03-01", "startTime": "09:00", "endTime": "12:30", "location": "Salle B"},
]


async def make_session(
    gql: GraphQLClient, member: Member, reference: str = "S-1", **extra: Any
) -> dict[str, Any]:
    values = {"reference": reference, "title": f"Excel {reference}", "location": "Paris", **extra}
    return (await gql.ok(CREATE, {"input": values}, as_=member))["createSession"]  # type: ignore[no-any-return]


async def set_state(
    session_client_id: str | int, state: ConfirmationState, session_id: int
) -> None:
    """Stands in for the confirmation domain (next issue), which owns these transitions."""
    await SessionClient.filter(session_id=session_id).update(confirmation_state=state)


def raw_id(node: dict[str, Any]) -> int:
    from strawberry import relay

    return int(relay.GlobalID.from_id(node["id"]).node_id)


async def test_create_session_with_planning(gql: GraphQLClient, tenant: Tenant) -> None:
    session = await make_session(gql, tenant.staff, productCode="XL-1", slots=SLOTS)
    assert session["status"] == {"value": "DRAFT", "label": "Brouillon"}
    assert session["owner"] == {"email": "staff@org-a.test"}
    assert (session["firstDate"], session["lastDate"]) == ("2027-03-01", "2027-03-02")
    assert [(s["date"], s["startTime"], s["endTime"], s["location"]) for s in session["slots"]] == [
        ("2027-03-01", "09:00:00", "12:30:00", "Salle B"),
        ("2027-03-02", "14:00:00", "17:30:00", "Paris"),  # defaults to the session's location
    ]
    assert session["confirmationSummary"] is None
    assert await ChangeLogEntry.filter(record_type="session", action="create").count() == 1
    assert await DomainEvent.filter(type="session.created").count() == 1
    fetched = await gql.ok(SESSION, {"id": session["id"]}, as_=tenant.viewer)
    assert fetched["session"] == session
    assert (await gql.ok(NODE, {"id": session["id"]}, as_=tenant.viewer))["node"] == {
        "id": session["id"],
        "reference": "S-1",
    }


async def test_session_validation_errors_write_nothing(gql: GraphQLClient, tenant: Tenant) -> None:
    await make_session(gql, tenant.staff, "S-1")
    backwards = [{"date": "2027-03-01", "startTime": "12:00", "endTime": "09:00"}]
    overlapping = [
        {"date": "2027-03-01", "startTime": "09:00", "endTime": "12:00"},
        {"date": "2027-03-01", "startTime": "11:30", "endTime": "13:00"},
    ]
    cases = [
        (
            {"reference": "S-2", "title": "T", "slots": backwards},
            "VALIDATION_ERROR",
            "slots.0.endTime",
        ),
        ({"reference": "S-2", "title": "T", "slots": overlapping}, "VALIDATION_ERROR", "slots"),
        ({"reference": "S-1", "title": "Duplicate"}, "CONFLICT", "reference"),
        ({"reference": "S-2", "title": " "}, "VALIDATION_ERROR", "title"),
        ({"reference": "S-2", "title": "T", "ownerId": "999999"}, "NOT_FOUND", "ownerId"),
    ]
    for values, code, field in cases:
        body = await gql(CREATE, {"input": values}, as_=tenant.staff)
        assert error_codes(body) == [code], values
        assert body["errors"][0]["extensions"]["field"] == field
    assert await TrainingSession.all().count() == 1
    assert await SessionSlot.all().count() == 0


async def test_update_session_logs_each_change(gql: GraphQLClient, tenant: Tenant) -> None:
    session = await make_session(gql, tenant.staff)
    owner = str(tenant.admin.user.id)
    changes = {"title": "Excel avancé", "status": "PLANNED", "ownerId": owner}
    data = await gql.ok(
        UPDATE, {"input": {"id": session["id"], "version": 1, **changes}}, as_=tenant.staff
    )
    updated = data["updateSession"]
    assert updated["version"] == 2 and updated["title"] == "Excel avancé"
    assert updated["status"] == {"value": "PLANNED", "label": "Planifiée"}
    assert updated["owner"] == {"email": "admin@org-a.test"}
    log = (
        await ChangeLogEntry.filter(record_type="session", action="update")
        .order_by("id")
        .values_list("field", "old_value", "new_value")
    )
    assert log == [
        ("title", "Excel S-1", "Excel avancé"),
        ("status", "DRAFT", "PLANNED"),
        ("owner_id", str(tenant.staff.user.id), owner),
    ]
    assert await DomainEvent.filter(type="session.updated").count() == 1

    stale = await gql(
        UPDATE, {"input": {"id": session["id"], "version": 1, "title": "Old"}}, as_=tenant.staff
    )
    assert error_codes(stale) == ["STALE_VERSION"]
    await make_session(gql, tenant.staff, "S-2")
    taken = await gql(
        UPDATE, {"input": {"id": session["id"], "version": 2, "reference": "S-2"}}, as_=tenant.staff
    )
    assert error_codes(taken) == ["CONFLICT"]
    assert (await TrainingSession.get(reference="S-1")).title == "Excel avancé"


async def test_set_planning_resets_confirmations(gql: GraphQLClient, tenant: Tenant) -> None:
    session = await make_session(gql, tenant.staff, slots=SLOTS)
    client = await make_client(gql, tenant.staff, "Acme")
    await gql.ok(ADD_CLIENT, {"s": session["id"], "c": client["id"]}, as_=tenant.staff)
    await set_state(0, ConfirmationState.ACCEPTED, raw_id(session))
    await TrainingSession.filter(id=raw_id(session)).update(
        confirmation_summary=ConfirmationSummary.CONFIRMED
    )

    new_slots = [{"date": "2027-04-05", "startTime": "09:00", "endTime": "17:00"}]
    data = await gql.ok(
        SET_PLANNING, {"id": session["id"], "slots": new_slots, "version": 1}, as_=tenant.staff
    )
    planned = data["setSessionPlanning"]
    assert (planned["firstDate"], planned["lastDate"]) == ("2027-04-05", "2027-04-05")
    assert [s["date"] for s in planned["slots"]] == ["2027-04-05"]
    assert planned["version"] == 2
    assert planned["confirmationSummary"] == {"value": "TO_CONFIRM", "label": "À confirmer"}
    session_client = await SessionClient.get()
    assert session_client.confirmation_state == ConfirmationState.TO_CONFIRM
    reset = await ChangeLogEntry.get(record_type="session_client")
    assert reset.reason == "planning changed"
    planning_log = await ChangeLogEntry.get(record_type="session", field="planning")
    assert "2027-04-05 09:00-17:00" in (planning_log.new_value or "")
    assert await DomainEvent.filter(type="session.planning_changed").count() == 1
    assert await DomainEvent.filter(type="confirmation.changed").count() == 1

    stale = await gql(
        SET_PLANNING, {"id": session["id"], "slots": [], "version": 1}, as_=tenant.staff
    )
    assert error_codes(stale) == ["STALE_VERSION"]
    overlapping = [new_slots[0], {"date": "2027-04-05", "startTime": "16:00", "endTime": "18:00"}]
    bad = await gql(SET_PLANNING, {"id": session["id"], "slots": overlapping}, as_=tenant.staff)
    assert error_codes(bad) == ["VALIDATION_ERROR"]
    assert await SessionSlot.all().count() == 1

    # The same planning again is no change: nothing logged, no reset.
    await gql.ok(SET_PLANNING, {"id": session["id"], "slots": new_slots}, as_=tenant.staff)
    assert await ChangeLogEntry.filter(field="planning").count() == 1

    cleared = await gql.ok(SET_PLANNING, {"id": session["id"], "slots": []}, as_=tenant.staff)
    assert cleared["setSessionPlanning"]["firstDate"] is None


async def test_slot_mutations(gql: GraphQLClient, tenant: Tenant) -> None:
    session = await make_session(gql, tenant.staff, slots=SLOTS[:1])
    added = await gql.ok(
        ADD_SLOT,
        {
            "id": session["id"],
            "slot": {"date": "2027-02-20", "startTime": "09:00", "endTime": "10:00"},
        },
        as_=tenant.staff,
    )
    slots = added["addSessionSlot"]["slots"]
    assert [s["date"] for s in slots] == ["2027-02-20", "2027-03-02"]
    assert added["addSessionSlot"]["firstDate"] == "2027-02-20"

    clash = {"date": "2027-03-02", "startTime": "17:00", "endTime": "18:00"}
    body = await gql(ADD_SLOT, {"id": session["id"], "slot": clash}, as_=tenant.staff)
    assert error_codes(body) == ["VALIDATION_ERROR"]

    moved = await gql.ok(
        UPDATE_SLOT,
        {"id": slots[0]["id"], "slot": {"date": "2027-03-10", "location": "Lyon"}},
        as_=tenant.staff,
    )
    result = moved["updateSessionSlot"]
    assert [(s["date"], s["location"]) for s in result["slots"]] == [
        ("2027-03-02", "Paris"),
        ("2027-03-10", "Lyon"),
    ]
    assert (result["firstDate"], result["lastDate"]) == ("2027-03-02", "2027-03-10")
    backwards = await gql(
        UPDATE_SLOT, {"id": slots[0]["id"], "slot": {"endTime": "08:00"}}, as_=tenant.staff
    )
    assert error_codes(backwards) == ["VALIDATION_ERROR"]

    removed = await gql.ok(REMOVE_SLOT, {"id": slots[0]["id"]}, as_=tenant.staff)
    assert [s["date"] for s in removed["removeSessionSlot"]["slots"]] == ["2027-03-02"]
    assert await ChangeLogEntry.filter(field="planning").count() == 3
    assert await DomainEvent.filter(type="session.planning_changed").count() == 3
    gone = await gql(REMOVE_SLOT, {"id": slots[0]["id"]}, as_=tenant.staff)
    assert error_codes(gone) == ["NOT_FOUND"]


async def test_clients_of_a_session(gql: GraphQLClient, tenant: Tenant) -> None:
    session = await make_session(gql, tenant.staff)
    acme = await make_client(gql, tenant.staff, "Acme")
    added = (await gql.ok(ADD_CLIENT, {"s": session["id"], "c": acme["id"]}, as_=tenant.staff))[
        "addClientToSession"
    ]
    assert added["confirmation"] == {
        "state": "TO_CONFIRM",
        "label": "Date(s) à confirmer",
        "listValue": {"label": "À confirmer"},
    }
    assert added["session"]["confirmationSummary"] == {"value": "TO_CONFIRM"}
    assert (await gql.ok(CLIENT_SESSIONS, {"id": acme["id"]}, as_=tenant.staff))["client"] == {
        "sessions": [{"reference": "S-1"}]
    }
    twice = await gql(ADD_CLIENT, {"s": session["id"], "c": acme["id"]}, as_=tenant.staff)
    assert error_codes(twice) == ["CONFLICT"]
    unknown = await gql(ADD_CLIENT, {"s": session["id"], "c": "Q2xpZW50Ojk5OTk5"}, as_=tenant.staff)
    assert error_codes(unknown) == ["NOT_FOUND"]
    in_session = await gql(DELETE_CLIENT, {"id": acme["id"]}, as_=tenant.staff)
    assert error_codes(in_session) == ["WRONG_STATE"]

    await set_state(added["id"], ConfirmationState.PENDING, raw_id(session))
    pending = await gql(REMOVE_CLIENT, {"s": session["id"], "c": acme["id"]}, as_=tenant.staff)
    assert error_codes(pending) == ["WRONG_STATE"]
    refused_delete = await gql(DELETE, {"id": session["id"]}, as_=tenant.staff)
    assert error_codes(refused_delete) == ["WRONG_STATE"]
    assert await SessionClient.all().count() == 1

    await set_state(added["id"], ConfirmationState.DECLINED, raw_id(session))
    removed = await gql.ok(REMOVE_CLIENT, {"s": session["id"], "c": acme["id"]}, as_=tenant.staff)
    assert removed["removeClientFromSession"]["confirmationSummary"] is None
    assert removed["removeClientFromSession"]["clients"] == {"totalCount": 0}
    actions = (
        await ChangeLogEntry.filter(record_type="session")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "client_added", "client_removed"]
    not_there = await gql(REMOVE_CLIENT, {"s": session["id"], "c": acme["id"]}, as_=tenant.staff)
    assert error_codes(not_there) == ["NOT_FOUND"]

    deleted = await gql.ok(DELETE, {"id": session["id"]}, as_=tenant.staff)
    assert deleted["deleteSession"] == {"id": session["id"], "deleted": True}
    assert await TrainingSession.all().count() == 0


async def test_tenant_isolation(gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant) -> None:
    session = await make_session(gql, tenant.staff, slots=SLOTS)
    acme = await make_client(gql, tenant.staff, "Acme")
    await gql.ok(ADD_CLIENT, {"s": session["id"], "c": acme["id"]}, as_=tenant.staff)
    slot_id = session["slots"][0]["id"]
    intruder = other_tenant.admin
    own_session = await make_session(gql, intruder, "S-1")  # same reference: per organisation
    own_client = await make_client(gql, intruder, "Mine")

    listed = await gql.ok(LIST, {"order": "FIRST_DATE_ASC"}, as_=intruder)
    assert [e["node"]["reference"] for e in listed["sessions"]["edges"]] == ["S-1"]
    assert listed["sessions"]["totalCount"] == 1
    assert (await gql.ok(NODE, {"id": session["id"]}, as_=intruder))["node"] is None
    assert (await gql.ok(NODE, {"id": slot_id}, as_=intruder))["node"] is None
    new_slot = {"date": "2027-05-01", "startTime": "09:00", "endTime": "10:00"}
    attempts = [
        (SESSION, {"id": session["id"]}),
        (UPDATE, {"input": {"id": session["id"], "version": 1, "title": "Hacked"}}),
        (DELETE, {"id": session["id"]}),
        (SET_PLANNING, {"id": session["id"], "slots": []}),
        (ADD_SLOT, {"id": session["id"], "slot": new_slot}),
        (UPDATE_SLOT, {"id": slot_id, "slot": {"location": "Hacked"}}),
        (REMOVE_SLOT, {"id": slot_id}),
        (ADD_CLIENT, {"s": session["id"], "c": own_client["id"]}),
        (ADD_CLIENT, {"s": own_session["id"], "c": acme["id"]}),
        (REMOVE_CLIENT, {"s": session["id"], "c": acme["id"]}),
        (BULK_ADD, {"s": session["id"], "cs": [own_client["id"]], "key": "k2"}),
        (CLIENT_SESSIONS, {"id": acme["id"]}),
        (
            CREATE,
            {"input": {"reference": "S-9", "title": "T", "ownerId": str(tenant.staff.user.id)}},
        ),
        (
            UPDATE,
            {
                "input": {
                    "id": own_session["id"],
                    "version": 1,
                    "ownerId": str(tenant.staff.user.id),
                }
            },
        ),
    ]
    for query, variables in attempts:
        assert error_codes(await gql(query, variables, as_=intruder)) == ["NOT_FOUND"], query
    # In a bulk mutation another organisation's client or user fails its item.
    foreign_client = {"s": own_session["id"], "cs": [acme["id"]], "key": "k"}
    added = (await gql.ok(BULK_ADD, foreign_client, as_=intruder))["addClientsToSession"]
    assert added == {
        "count": 0,
        "results": [{"errors": [{"code": "NOT_FOUND", "field": "clientIds.0"}]}],
    }
    foreign_owner = {
        "inputs": [{"reference": "S-9", "title": "T", "ownerId": str(tenant.staff.user.id)}]
    }
    created = (await gql.ok(BULK_CREATE, foreign_owner, as_=intruder))["createSessions"]
    assert created == {
        "count": 0,
        "results": [{"errors": [{"code": "NOT_FOUND", "field": "inputs.0.ownerId"}]}],
    }
    mine = await TrainingSession.get(id=raw_id(session))
    assert (mine.title, mine.version) == ("Excel S-1", 1)
    assert await SessionSlot.filter(session_id=mine.id).count() == 2
    assert await SessionClient.all().count() == 1


async def test_viewer_cannot_change_sessions(gql: GraphQLClient, tenant: Tenant) -> None:
    session = await make_session(gql, tenant.staff)
    for query, variables in (
        (CREATE, {"input": {"reference": "V", "title": "V"}}),
        (DELETE, {"id": session["id"]}),
        (BULK_CREATE, {"inputs": [{"reference": "V", "title": "V"}], "key": "v"}),
    ):
        assert error_codes(await gql(query, variables, as_=tenant.viewer)) == ["FORBIDDEN"]
    assert await TrainingSession.all().count() == 1


@pytest.mark.postgres_only
async def test_concurrent_duplicates_get_a_typed_conflict(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    values = {"input": {"reference": "RACE", "title": "Race"}}
    bodies = await asyncio.gather(*(gql(CREATE, values, as_=tenant.staff) for _ in range(4)))
    assert sorted(error_codes(b)[0] if b.get("errors") else "OK" for b in bodies) == [
        "CONFLICT",
        "CONFLICT",
        "CONFLICT",
        "OK",
    ]
    session = next(b for b in bodies if not b.get("errors"))["data"]["createSession"]
    acme = await make_client(gql, tenant.staff)
    variables = {"s": session["id"], "c": acme["id"]}
    bodies = await asyncio.gather(*(gql(ADD_CLIENT, variables, as_=tenant.staff) for _ in range(4)))
    assert sum(1 for b in bodies if not b.get("errors")) == 1
    assert {c for b in bodies for c in error_codes(b)} == {"CONFLICT"}
    assert await TrainingSession.all().count() == 1 and await SessionClient.all().count() == 1
