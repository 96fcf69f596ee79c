"""The two bulk mutations of sessions over HTTP, on the bulk contract (resolvers/bulk.py):
``createSessions`` and ``addClientsToSession`` under each error policy, idempotent
retries, the item cap, and the per-item CONFLICT of a concurrent duplicate."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from strawberry import relay

from models.audit import ChangeLogEntry, DomainEvent, IdempotencyRecord
from models.sessions import SessionClient, SessionSlot, TrainingSession
from tests.conftest import GraphQLClient, Tenant, error_codes
from tests.test_clients import make_client
from tests.test_sessions import make_session, raw_id

BULK_CREATE = """mutation($inputs: [CreateSessionInput!]!, $policy: ErrorPolicy!, $key: String) {
  createSessions(inputs: $inputs, errorPolicy: $policy, idempotencyKey: $key) {
    count results { index id errors { code field }
      record { id reference owner { email } slots { date startTime } } } } }"""
BULK_CREATE_DEFAULT_POLICY = """mutation($inputs: [CreateSessionInput!]!, $key: String) {
  createSessions(inputs: $inputs, idempotencyKey: $key) {
    count results { index id errors { code field } record { reference } } } }"""
BULK_ADD = """mutation($s: ID!, $cs: [ID!]!, $policy: ErrorPolicy!, $key: String) {
  addClientsToSession(sessionId: $s, clientIds: $cs, errorPolicy: $policy, idempotencyKey: $key) {
    count results { index id errors { code field }
      record { id client { name } session { confirmationSummary { value } } } } } }"""
SESSION_SUMMARY = "query($id: ID!) { session(id: $id) { confirmationSummary { value } } }"

GOOD_SLOT = {"date": "2027-03-01", "startTime": "09:00", "endTime": "12:00"}
BACKWARDS_SLOT = {"date": "2027-03-02", "startTime": "12:00", "endTime": "09:00"}
OVERLAPPING_SLOT = {"date": "2027-03-01", "startTime": "11:00", "endTime": "13:00"}
POLICIES = ("REJECT_EVERYTHING", "REJECT_FAILED_ROWS", "IGNORE_FAILED")


def session_input(reference: str, **extra: Any) -> dict[str, Any]:
    return {"reference": reference, "title": f"Title {reference}", **extra}


# One bad item (a slot ending before it starts) between two good ones.
MIXED = [
    session_input("M-0", slots=[GOOD_SLOT]),
    session_input("M-1", slots=[GOOD_SLOT, BACKWARDS_SLOT]),
    session_input("M-2"),
]


async def stored() -> dict[str, int]:
    """What the bulk mutations may write, counted."""
    return {
        "sessions": await TrainingSession.all().count(),
        "slots": await SessionSlot.all().count(),
        "session_clients": await SessionClient.all().count(),
        "log": await ChangeLogEntry.all().count(),
        "events": await DomainEvent.all().count(),
        "idempotency": await IdempotencyRecord.all().count(),
    }


def errors_of(payload: dict[str, Any]) -> list[list[tuple[str, str | None]]]:
    return [[(e["code"], e["field"]) for e in item["errors"]] for item in payload["results"]]


async def create_sessions(
    gql: GraphQLClient, tenant: Tenant, inputs: list[dict[str, Any]], policy: str, **kw: Any
) -> dict[str, Any]:
    variables = {"inputs": inputs, "policy": policy, **kw}
    return (await gql.ok(BULK_CREATE, variables, as_=tenant.staff))["createSessions"]  # type: ignore[no-any-return]


async def test_create_sessions_reject_everything_writes_nothing(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    before = await stored()
    payload = await create_sessions(gql, tenant, MIXED, "REJECT_EVERYTHING")
    assert payload["count"] == 0
    assert [(r["index"], r["id"], r["record"]) for r in payload["results"]] == [
        (0, None, None),
        (1, None, None),
        (2, None, None),
    ]
    assert errors_of(payload) == [[], [("VALIDATION_ERROR", "inputs.1.slots.1.endTime")], []]
    assert await stored() == before  # no session, slot, change-log row or event

    # Without errorPolicy the default is the same.
    variables = {"inputs": MIXED}
    default = await gql.ok(BULK_CREATE_DEFAULT_POLICY, variables, as_=tenant.staff)
    assert default["createSessions"]["count"] == 0
    assert await stored() == before


async def test_create_sessions_reject_failed_rows_writes_the_good_ones(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    before = await stored()
    payload = await create_sessions(gql, tenant, MIXED, "REJECT_FAILED_ROWS")
    assert payload["count"] == 2
    assert errors_of(payload) == [[], [("VALIDATION_ERROR", "inputs.1.slots.1.endTime")], []]
    good, bad, last = payload["results"]
    assert bad["id"] is None and bad["record"] is None
    assert good["id"] == good["record"]["id"] and last["id"] == last["record"]["id"]
    assert good["record"]["slots"] == [{"date": "2027-03-01", "startTime": "09:00:00"}]
    assert good["record"]["owner"] == {"email": "staff@org-a.test"}
    refs = await TrainingSession.all().order_by("id").values_list("reference", flat=True)
    assert refs == ["M-0", "M-2"]
    after = await stored()
    assert after["sessions"] - before["sessions"] == 2 and after["slots"] - before["slots"] == 1
    assert await ChangeLogEntry.filter(record_type="session", action="create").count() == 2
    assert await DomainEvent.filter(type="session.created").count() == 2


async def test_create_sessions_ignore_failed_leaves_invalid_optional_parts_out(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    await make_session(gql, tenant.staff, "TAKEN")
    inputs = [
        session_input("I-0", slots=[GOOD_SLOT, BACKWARDS_SLOT, OVERLAPPING_SLOT]),
        session_input("I-1", ownerId="999999"),
        session_input("I-2", title="  "),
        session_input("TAKEN"),
        session_input("I-0"),
        session_input("I-5", ownerId=str(tenant.admin.user.id), slots=[GOOD_SLOT]),
    ]
    payload = await create_sessions(gql, tenant, inputs, "IGNORE_FAILED")
    assert payload["count"] == 3
    assert errors_of(payload) == [
        [
            ("VALIDATION_ERROR", "inputs.0.slots.1.endTime"),
            ("VALIDATION_ERROR", "inputs.0.slots.2"),
        ],
        [("NOT_FOUND", "inputs.1.ownerId")],
        [("VALIDATION_ERROR", "inputs.2.title")],  # required: the item fails
        [("CONFLICT", "inputs.3.reference")],  # already used
        [("CONFLICT", "inputs.4.reference")],  # given by an earlier item
        [],
    ]
    records = [r["record"] for r in payload["results"]]
    assert records[0]["slots"] == [{"date": "2027-03-01", "startTime": "09:00:00"}]
    assert records[1]["owner"] == {"email": "staff@org-a.test"}  # unknown owner: the caller
    assert records[2] is records[3] is records[4] is None
    assert records[5]["owner"] == {"email": "admin@org-a.test"}
    session = await TrainingSession.get(reference="I-0")
    assert await SessionSlot.filter(session_id=session.id).count() == 1
    assert (str(session.first_date), str(session.last_date)) == ("2027-03-01", "2027-03-01")
    assert await TrainingSession.filter(reference__startswith="I-").count() == 3


async def test_create_sessions_idempotent_retry_returns_the_first_result(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    first = await create_sessions(gql, tenant, MIXED, "REJECT_FAILED_ROWS", key="import-1")
    written = await stored()
    again = await create_sessions(gql, tenant, MIXED, "REJECT_FAILED_ROWS", key="import-1")
    assert again == first and first["count"] == 2
    assert await stored() == written  # nothing more: no session, log row, event

    # Without the key a retry is a new call: the references are taken now.
    retry = await create_sessions(gql, tenant, MIXED, "REJECT_FAILED_ROWS")
    assert retry["count"] == 0
    assert errors_of(retry)[0] == [("CONFLICT", "inputs.0.reference")]
    assert errors_of(retry)[2] == [("CONFLICT", "inputs.2.reference")]


async def test_create_sessions_caps_the_number_of_items(gql: GraphQLClient, tenant: Tenant) -> None:
    before = await stored()
    too_many = [session_input(f"C-{i}") for i in range(101)]
    body = await gql(BULK_CREATE, {"inputs": too_many, "policy": "IGNORE_FAILED"}, as_=tenant.staff)
    assert error_codes(body) == ["VALIDATION_ERROR"]
    assert body["errors"][0]["extensions"]["field"] == "inputs"
    assert await stored() == before
    empty = await gql(BULK_CREATE, {"inputs": [], "policy": "IGNORE_FAILED"}, as_=tenant.staff)
    assert error_codes(empty) == ["VALIDATION_ERROR"]

    at_most = await create_sessions(gql, tenant, too_many[:100], "REJECT_EVERYTHING")
    assert at_most["count"] == 100


async def _session_and_clients(
    gql: GraphQLClient, tenant: Tenant, *names: str
) -> tuple[dict[str, Any], list[str]]:
    session = await make_session(gql, tenant.staff)
    return session, [(await make_client(gql, tenant.staff, name))["id"] for name in names]


MISSING_CLIENT = relay.to_base64("Client", 999999)


async def add_clients(
    gql: GraphQLClient,
    tenant: Tenant,
    session: dict[str, Any],
    ids: list[str],
    policy: str,
    **kw: Any,
) -> dict[str, Any]:
    variables = {"s": session["id"], "cs": ids, "policy": policy, **kw}
    return (await gql.ok(BULK_ADD, variables, as_=tenant.staff))["addClientsToSession"]  # type: ignore[no-any-return]


async def test_add_clients_reject_everything_writes_nothing(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    session, (a, b) = await _session_and_clients(gql, tenant, "A", "B")
    before = await stored()
    payload = await add_clients(gql, tenant, session, [a, MISSING_CLIENT, b], "REJECT_EVERYTHING")
    assert payload["count"] == 0
    assert [(r["id"], r["record"]) for r in payload["results"]] == [(None, None)] * 3
    assert errors_of(payload) == [[], [("NOT_FOUND", "clientIds.1")], []]
    assert await stored() == before
    summary = await gql.ok(SESSION_SUMMARY, {"id": session["id"]}, as_=tenant.staff)
    assert summary["session"]["confirmationSummary"] is None


@pytest.mark.parametrize("policy", ["REJECT_FAILED_ROWS", "IGNORE_FAILED"])
async def test_add_clients_writes_the_good_ones(
    gql: GraphQLClient, tenant: Tenant, policy: str
) -> None:
    """A client id has no optional part: IGNORE_FAILED answers like REJECT_FAILED_ROWS."""
    session, (a, b) = await _session_and_clients(gql, tenant, "A", "B")
    payload = await add_clients(gql, tenant, session, [a, MISSING_CLIENT, b], policy)
    assert payload["count"] == 2
    assert errors_of(payload) == [[], [("NOT_FOUND", "clientIds.1")], []]
    records = [r["record"] for r in payload["results"]]
    assert [r and r["client"]["name"] for r in records] == ["A", None, "B"]
    assert records[0]["session"]["confirmationSummary"] == {"value": "TO_CONFIRM"}
    assert payload["results"][0]["id"] == records[0]["id"]
    assert await SessionClient.filter(session_id=raw_id(session)).count() == 2
    assert await ChangeLogEntry.filter(action="client_added").count() == 2
    assert await DomainEvent.filter(type="session.client_added").count() == 2
    stored_summary = (await TrainingSession.get(id=raw_id(session))).confirmation_summary
    assert stored_summary == "TO_CONFIRM"


async def test_add_clients_conflicts_and_foreign_clients_are_item_errors(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    session, (a, b) = await _session_and_clients(gql, tenant, "A", "B")
    await add_clients(gql, tenant, session, [a], "REJECT_EVERYTHING")
    foreign = (await make_client(gql, other_tenant.staff, "Theirs"))["id"]
    payload = await add_clients(gql, tenant, session, [a, b, b, foreign], "REJECT_FAILED_ROWS")
    assert payload["count"] == 1
    assert errors_of(payload) == [
        [("CONFLICT", "clientIds.0")],  # already in the session
        [],
        [("CONFLICT", "clientIds.2")],  # given twice
        [("NOT_FOUND", "clientIds.3")],  # another organisation's: like a missing one
    ]
    assert await SessionClient.filter(session_id=raw_id(session)).count() == 2


async def test_add_clients_to_an_unknown_session_refuses_the_whole_call(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    _, (a,) = await _session_and_clients(gql, tenant, "A")
    theirs = await make_session(gql, other_tenant.staff, "THEIRS")
    before = await stored()
    for session_id in (theirs["id"], relay.to_base64("Session", 999999), a):
        variables = {"s": session_id, "cs": [a], "policy": "IGNORE_FAILED"}
        body = await gql(BULK_ADD, variables, as_=tenant.staff)
        assert error_codes(body) == ["NOT_FOUND"], session_id
        assert body["errors"][0]["extensions"]["field"] == "sessionId"
    assert await stored() == before


async def test_add_clients_idempotent_retry_returns_the_first_result(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    session, (a, b) = await _session_and_clients(gql, tenant, "A", "B")
    ids = [a, MISSING_CLIENT, b]
    first = await add_clients(gql, tenant, session, ids, "REJECT_FAILED_ROWS", key="add-1")
    written = await stored()
    again = await add_clients(gql, tenant, session, ids, "REJECT_FAILED_ROWS", key="add-1")
    assert again == first and first["count"] == 2
    assert await stored() == written

    # The key is per session: the same key for another session is another call.
    other = await make_session(gql, tenant.staff, "S-2")
    elsewhere = await add_clients(gql, tenant, other, [a], "REJECT_FAILED_ROWS", key="add-1")
    assert elsewhere["count"] == 1


async def test_add_clients_caps_the_number_of_items(gql: GraphQLClient, tenant: Tenant) -> None:
    session, _ = await _session_and_clients(gql, tenant)
    before = await stored()
    ids = [relay.to_base64("Client", i) for i in range(1, 102)]
    body = await gql(
        BULK_ADD, {"s": session["id"], "cs": ids, "policy": "IGNORE_FAILED"}, as_=tenant.staff
    )
    assert error_codes(body) == ["VALIDATION_ERROR"]
    assert body["errors"][0]["extensions"]["field"] == "clientIds"
    assert await stored() == before


async def _blocked_on_a_lock(conn: asyncpg.Connection, task: asyncio.Task[Any]) -> None:
    """Until the request waits for the row ``conn`` inserted and has not committed."""
    while not task.done():
        if await conn.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted"):
            return
        await asyncio.sleep(0.01)


@pytest.mark.postgres_only
async def test_a_concurrent_duplicate_is_the_same_item_conflict(
    gql: GraphQLClient, tenant: Tenant, database_url: str
) -> None:
    """Another transaction inserts the reference (or the session client) after our check
    and commits while our insert waits for it: the unique index refuses ours
    (IntegrityError), and the item answers the CONFLICT the check would have."""
    session, (a,) = await _session_and_clients(gql, tenant, "A")
    conn = await asyncpg.connect(database_url)
    try:
        for insert, call, field in (
            (
                f'INSERT INTO "{TrainingSession._meta.db_table}" (organization_id, created_at, '
                "updated_at, version, reference, title, product_code, location, status) "
                "VALUES ($1, now(), now(), 1, 'RACE', 'Race', '', '', 'DRAFT')",
                lambda: create_sessions(
                    gql, tenant, [session_input("RACE"), session_input("R-2")], "REJECT_FAILED_ROWS"
                ),
                "inputs.0.reference",
            ),
            (
                f'INSERT INTO "{SessionClient._meta.db_table}" (organization_id, created_at, '
                "updated_at, version, session_id, client_id, confirmation_state) "
                f"VALUES ($1, now(), now(), 1, {raw_id(session)}, "
                f"{relay.GlobalID.from_id(a).node_id}, 'TO_CONFIRM')",
                lambda: add_clients(gql, tenant, session, [a], "REJECT_FAILED_ROWS"),
                "clientIds.0",
            ),
        ):
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute(insert, tenant.org.id)
            task = asyncio.create_task(call())
            await _blocked_on_a_lock(conn, task)
            assert not task.done()  # it waits for our row: the check did not see it
            await transaction.commit()
            payload = await task
            assert errors_of(payload)[0] == [("CONFLICT", field)]
    finally:
        await conn.close()
    assert await TrainingSession.filter(reference="R-2").count() == 1  # the other item stands


async def test_a_value_too_long_for_its_column_fails_its_item_only(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    """No resolver check catches it: the database layer refuses the row, and the bulk
    contract makes that an error of the item (its savepoint rolled back), not of the call."""
    inputs = [session_input("L-0"), session_input("L-1", location="x" * 5000), session_input("L-2")]
    payload = await create_sessions(gql, tenant, inputs, "REJECT_FAILED_ROWS")
    assert payload["count"] == 2
    ((code, field),) = errors_of(payload)[1]
    assert errors_of(payload)[::2] == [[], []]
    assert code == "VALIDATION_ERROR" and field == "inputs.1.location"
    assert sorted(await TrainingSession.all().values_list("reference", flat=True)) == ["L-0", "L-2"]
