"""Leads through GraphQL: bulk upsert, list, Previous/Next, record actions, change log,
conversion, tenant isolation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from strawberry import relay

from models.audit import DomainEvent
from models.leads import Lead
from models.records import Note, RecordLink
from models.sessions import Client, Contact
from resolvers import runtime
from resolvers.links import link
from schema import build_schema
from schema.context import Context
from tests.conftest import GraphQLClient, Tenant, error_codes
from tests.leads_support import (
    LEAD,
    LEAD_FIELDS,
    UPSERT,
    create_lead,
    lead_count,
    make_store,
)
from tests.statements import StatementCounter

LIST = """query($f: LeadFilterInput, $o: LeadOrderBy, $first: Int, $after: String) {
  leads(filter: $f, orderBy: $o, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id lastName } } } }"""
NEIGHBORS = """query($id: ID!, $f: LeadFilterInput, $o: LeadOrderBy) {
  lead(id: $id) { neighbors(filter: $f, orderBy: $o) { previous { id } next { id } } } }"""
UPDATE = f"""mutation($id: ID!, $v: Int!, $i: LeadInput!) {{
  updateLead(id: $id, version: $v, input: $i) {{ {LEAD_FIELDS} }} }}"""
UPDATE_FIELD = """mutation($id: ID!, $v: Int!, $f: String!, $x: String) {
  updateLeadField(id: $id, version: $v, field: $f, value: $x) { id version email status { value } } }"""
CHANGE_LOG = """query($id: ID!) { leadChangeLog(id: $id) {
  action field oldValue newValue reason actorKind actorLabel } }"""
CONVERT = """mutation($id: ID!, $i: ConvertLeadInput) { convertLead(id: $id, input: $i) {
  contactId clientId lead { status { value } convertedContactId } } }"""


async def _names(gql: GraphQLClient, tenant: Tenant, **variables: Any) -> list[str]:
    data = await gql.ok(LIST, variables, as_=tenant.staff)
    return [edge["node"]["lastName"] for edge in data["leads"]["edges"]]


async def test_labels_follow_the_caller_locale(gql: GraphQLClient, tenant: Tenant) -> None:
    lead = await create_lead(gql, tenant.staff, lastName="Label", waitlistStatus="PENDING")
    assert (lead["status"]["label"], lead["waitlistStatus"]["label"]) == ("Nouveau", "En attente")
    english = await gql.ok(
        LEAD, {"id": lead["id"]}, as_=tenant.staff, headers={"Accept-Language": "en"}
    )
    assert (english["lead"]["status"]["label"], english["lead"]["waitlistStatus"]["label"]) == (
        "New",
        "Pending",
    )


async def test_upsert_waitlist_entries_per_item_and_idempotent(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    store = await make_store(gql, tenant)
    at = runtime.now().isoformat()
    entries = [
        {
            "type": "JOINED",
            "customerId": "C1",
            "occurredAt": at,
            "lastName": "Un",
            "productCode": "PY",
        },
        {"type": "JOINED", "customerId": "C2", "occurredAt": at, "lastName": "Deux"},  # no product
        {"type": "EMAIL_SENT", "customerId": "C1", "occurredAt": at, "emailsSent": 3},
    ]
    variables = {"s": store.gid, "e": entries, "k": "batch-1"}
    results = (await gql.ok(UPSERT, variables, as_=tenant.staff))["upsertWaitlistEntries"]
    assert [r["result"] for r in results] == ["CREATED", None, "UPDATED"]
    assert (
        results[1]["errorField"] == "productCode" and results[0]["leadId"] == results[2]["leadId"]
    )
    again = (await gql.ok(UPSERT, variables, as_=tenant.staff))["upsertWaitlistEntries"]
    assert again == results and await lead_count() == 1
    assert error_codes(await gql(UPSERT, variables, as_=tenant.viewer)) == ["FORBIDDEN"]


async def test_list_filters_ordering_pages_and_neighbors(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    store = await make_store(gql, tenant)
    at = runtime.now().isoformat()
    await gql.ok(
        UPSERT,
        {
            "s": store.gid,
            "e": [
                {
                    "type": "JOINED",
                    "customerId": "W1",
                    "occurredAt": at,
                    "lastName": "Bravo",
                    "productCode": "PY",
                },
                {
                    "type": "JOINED",
                    "customerId": "W2",
                    "occurredAt": at,
                    "lastName": "Delta",
                    "productCode": "JS",
                },
            ],
        },
        as_=tenant.staff,
    )
    await create_lead(
        gql, tenant.staff, lastName="Alpha", email="alpha@x.test", status="IN_PROCESS"
    )
    await create_lead(gql, tenant.staff, lastName="Charlie", firstName="Émile")
    deleted = await create_lead(gql, tenant.staff, lastName="Echo")
    await gql.ok(
        "mutation($id: ID!) { deleteLead(id: $id) { id } }",
        {"id": deleted["id"]},
        as_=tenant.staff,
    )

    by_name = {"field": "NAME", "descending": False}
    assert await _names(gql, tenant, o=by_name) == ["Alpha", "Bravo", "Charlie", "Delta"]
    assert await _names(gql, tenant, o={"field": "NAME", "descending": True}) == [
        "Delta",
        "Charlie",
        "Bravo",
        "Alpha",
    ]
    assert await _names(gql, tenant, o=by_name, f={"includeDeleted": True}) == [
        "Alpha",
        "Bravo",
        "Charlie",
        "Delta",
        "Echo",
    ]
    assert await _names(gql, tenant, o=by_name, f={"productCode": "PY"}) == ["Bravo"]
    assert await _names(gql, tenant, o=by_name, f={"waitlistStatuses": ["PENDING"]}) == [
        "Bravo",
        "Delta",
    ]
    assert await _names(gql, tenant, o=by_name, f={"statuses": ["IN_PROCESS"]}) == ["Alpha"]
    assert await _names(gql, tenant, o=by_name, f={"search": "emile"}) == ["Charlie"]
    assert await _names(gql, tenant, o=by_name, f={"search": " ALPHA@x"}) == ["Alpha"]
    assert await _names(gql, tenant, o=by_name, f={"sourceSystem": "CM Boutique system"}) == [
        "Bravo",
        "Delta",
    ]
    assert await _names(
        gql, tenant, o=by_name, f={"assignedUserId": str(tenant.staff.user.id)}
    ) == ["Bravo", "Delta"]
    assert await _names(gql, tenant, o=by_name, f={"storeId": store.gid}) == ["Bravo", "Delta"]
    assert await _names(
        gql, tenant, o=by_name, f={"createdFrom": at, "modifiedTo": "2999-01-01T00:00:00Z"}
    ) == ["Alpha", "Bravo", "Charlie", "Delta"]
    assert await _names(gql, tenant, o=by_name, f={"createdTo": at}) == []
    # Nullable column: the waitlist ones first in ascending order (NULLs last), id breaks ties.
    assert await _names(gql, tenant, o={"field": "DATE_ADDED", "descending": False}) == [
        "Bravo",
        "Delta",
        "Alpha",
        "Charlie",
    ]

    first = await gql.ok(LIST, {"o": by_name, "first": 3}, as_=tenant.staff)
    assert first["leads"]["totalCount"] == 4 and first["leads"]["pageInfo"]["hasNextPage"]
    after = first["leads"]["pageInfo"]["endCursor"]
    assert await _names(gql, tenant, o=by_name, first=3, after=after) == ["Delta"]

    for order in (
        by_name,
        {"field": "NAME", "descending": True},
        {"field": "DATE_ADDED", "descending": False},
        {"field": "WAITLIST_STATUS", "descending": True},
    ):
        page = await gql.ok(LIST, {"o": order}, as_=tenant.staff)
        ids = [e["node"]["id"] for e in page["leads"]["edges"]]
        for index, lead_id in enumerate(ids):
            hood = (await gql.ok(NEIGHBORS, {"id": lead_id, "o": order}, as_=tenant.staff))["lead"][
                "neighbors"
            ]
            assert (hood["previous"] or {}).get("id") == (ids[index - 1] if index else None), order
            assert (hood["next"] or {}).get("id") == (
                ids[index + 1] if index + 1 < len(ids) else None
            ), order
    filtered = await gql.ok(
        NEIGHBORS, {"id": ids[0], "o": by_name, "f": {"productCode": "JS"}}, as_=tenant.staff
    )
    assert (
        filtered["lead"]["neighbors"]["next"] is None
        or filtered["lead"]["neighbors"]["next"]["id"] in ids
    )
    assert error_codes(await gql(LIST, {"first": 101}, as_=tenant.staff)) == ["VALIDATION_ERROR"]


async def test_update_stale_version_inline_edit_and_read_only_store_fields(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    store = await make_store(gql, tenant)
    at = runtime.now().isoformat()
    created = await gql.ok(
        UPSERT,
        {
            "s": store.gid,
            "e": [
                {
                    "type": "JOINED",
                    "customerId": "K",
                    "occurredAt": at,
                    "productCode": "PY",
                    "lastName": "Kilo",
                }
            ],
        },
        as_=tenant.staff,
    )
    lead_id = created["upsertWaitlistEntries"][0]["leadId"]
    lead = (await gql.ok(LEAD, {"id": lead_id}, as_=tenant.staff))["lead"]
    updated = (
        await gql.ok(
            UPDATE,
            {"id": lead_id, "v": lead["version"], "i": {"email": "kilo@x.test", "mobile": "06 12"}},
            as_=tenant.staff,
        )
    )["updateLead"]
    assert updated["version"] == lead["version"] + 1
    assert (updated["email"], updated["mobile"], updated["lastName"]) == (
        "kilo@x.test",
        "06 12",
        "Kilo",
    )

    stale = await gql(
        UPDATE,
        {"id": lead_id, "v": lead["version"], "i": {"email": "other@x.test"}},
        as_=tenant.staff,
    )
    assert error_codes(stale) == ["STALE_VERSION"]
    bad_email = await gql(
        UPDATE, {"id": lead_id, "v": updated["version"], "i": {"email": "nope"}}, as_=tenant.staff
    )
    assert error_codes(bad_email) == ["VALIDATION_ERROR"]
    for amount in ("1.505", "-1", "1000000000000"):
        body = await gql(
            UPDATE,
            {"id": lead_id, "v": updated["version"], "i": {"opportunityAmount": amount}},
            as_=tenant.staff,
        )
        assert error_codes(body) == ["VALIDATION_ERROR"], amount
    assert error_codes(
        await gql(
            UPDATE,
            {"id": lead_id, "v": updated["version"], "i": {"storeCustomerId": "Z"}},
            as_=tenant.staff,
        )
    )  # not an input field

    inline = (
        await gql.ok(
            UPDATE_FIELD,
            {"id": lead_id, "v": updated["version"], "f": "status", "x": "IN_PROCESS"},
            as_=tenant.staff,
        )
    )["updateLeadField"]
    assert inline["status"]["value"] == "IN_PROCESS" and inline["version"] == updated["version"] + 1
    for field, value in (
        ("storeCustomerId", "Z"),
        ("sourceSystem", "x"),
        ("status", "BOGUS"),
        ("nope", "1"),
        ("waitlistEmailsSent", "-2"),
    ):
        body = await gql(
            UPDATE_FIELD,
            {"id": lead_id, "v": inline["version"], "f": field, "x": value},
            as_=tenant.staff,
        )
        assert error_codes(body) == ["VALIDATION_ERROR"], (field, body)
    row = await Lead.get(store_customer_id="K")
    assert (row.version, row.store_customer_id, row.email) == (
        inline["version"],
        "K",
        "kilo@x.test",
    )
    assert error_codes(
        await gql(
            UPDATE_FIELD,
            {"id": lead_id, "v": inline["version"], "f": "email", "x": "v@x.test"},
            as_=tenant.viewer,
        )
    ) == ["FORBIDDEN"]


async def test_duplicate_delete_restore_and_change_log(gql: GraphQLClient, tenant: Tenant) -> None:
    store = await make_store(gql, tenant)
    at = runtime.now().isoformat()
    created = await gql.ok(
        UPSERT,
        {
            "s": store.gid,
            "e": [
                {
                    "type": "JOINED",
                    "customerId": "D",
                    "occurredAt": at,
                    "productCode": "PY",
                    "lastName": "Dup",
                    "email": "dup@x.test",
                }
            ],
        },
        as_=tenant.staff,
    )
    lead_id = created["upsertWaitlistEntries"][0]["leadId"]
    copy = (
        await gql.ok(
            f"mutation($id: ID!) {{ duplicateLead(id: $id) {{ {LEAD_FIELDS} }} }}",
            {"id": lead_id},
            as_=tenant.staff,
        )
    )["duplicateLead"]
    assert copy["id"] != lead_id and (copy["lastName"], copy["email"]) == ("Dup", "dup@x.test")
    assert (
        copy["storeCustomerId"],
        copy["storeId"],
        copy["sourceSystem"],
        copy["waitlistStatus"],
        copy["waitlistProductCode"],
    ) == (None, None, "", None, "")
    assert copy["assignedUser"] == {"email": tenant.staff.user.email}

    delete = "mutation($id: ID!) { deleteLead(id: $id) { deletedAt } }"
    restore = "mutation($id: ID!) { restoreLead(id: $id) { deletedAt } }"
    assert (await gql.ok(delete, {"id": copy["id"]}, as_=tenant.staff))["deleteLead"]["deletedAt"]
    assert error_codes(await gql(delete, {"id": copy["id"]}, as_=tenant.staff)) == ["WRONG_STATE"]
    assert await lead_count(deleted_at__isnull=True) == 1
    edit_deleted = await gql(
        UPDATE_FIELD, {"id": copy["id"], "v": 2, "f": "lastName", "x": "Z"}, as_=tenant.staff
    )
    assert error_codes(edit_deleted) == ["WRONG_STATE"]
    assert (await gql.ok(restore, {"id": copy["id"]}, as_=tenant.staff))["restoreLead"][
        "deletedAt"
    ] is None
    assert error_codes(await gql(restore, {"id": copy["id"]}, as_=tenant.staff)) == ["WRONG_STATE"]

    lead = (await gql.ok(LEAD, {"id": lead_id}, as_=tenant.staff))["lead"]
    await gql.ok(
        UPDATE, {"id": lead_id, "v": lead["version"], "i": {"lastName": "Dupré"}}, as_=tenant.staff
    )
    log = (await gql.ok(CHANGE_LOG, {"id": lead_id}, as_=tenant.viewer))["leadChangeLog"]
    assert log[0]["action"] == "ingest" and log[0]["actorKind"] == "USER"
    assert {
        "action": "ingest",
        "field": "waitlistProductCode",
        "oldValue": None,
        "newValue": "PY",
    }.items() <= next(e for e in log if e["field"] == "waitlistProductCode").items()
    assert log[-1] == {
        "action": "update",
        "field": "lastName",
        "oldValue": "Dup",
        "newValue": "Dupré",
        "reason": "",
        "actorKind": "USER",
        "actorLabel": tenant.staff.user.email,
    }
    copy_log = (await gql.ok(CHANGE_LOG, {"id": copy["id"]}, as_=tenant.staff))["leadChangeLog"]
    assert [e["action"] for e in copy_log if e["field"] == ""] == ["create", "delete", "restore"]
    assert "duplicated from lead" in copy_log[0]["reason"]
    types = await DomainEvent.filter(record_type="lead").values_list("type", flat=True)
    assert {"lead.created", "lead.updated", "lead.deleted", "lead.restored"} <= set(types)


async def test_conversion_creates_contact_and_client_and_shares_links(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    lead = await create_lead(
        gql,
        tenant.staff,
        firstName="Zoé",
        lastName="Martin",
        email="zoe@x.test",
        officePhone="01 02",
        jobTitle="DRH",
        accountName="ACME",
    )
    lead_pk = int((await Lead.get(email="zoe@x.test")).id)
    scope = tenant.staff.scope
    note = await Note.create(organization_id=tenant.org.id, subject="call back")
    async with runtime.atomic():
        await link(scope, ("lead", lead_pk), ("note", note.id))
        await link(scope, ("lead", lead_pk), ("email", 424242))
    done = (
        await gql.ok(CONVERT, {"id": lead["id"], "i": {"newClientName": ""}}, as_=tenant.staff)
    )["convertLead"]
    assert (
        done["lead"]["status"]["value"] == "CONVERTED"
        and done["lead"]["convertedContactId"] == done["contactId"]
    )
    contact = await Contact.get(organization_id=tenant.org.id)
    client = await Client.get(organization_id=tenant.org.id)
    assert (
        contact.first_name,
        contact.last_name,
        contact.email,
        contact.phone,
        contact.job_title,
    ) == ("Zoé", "Martin", "zoe@x.test", "01 02", "DRH")
    assert (client.name, contact.client_id, client.main_contact_id) == (
        "ACME",
        client.id,
        contact.id,
    )
    shared = await RecordLink.filter(owner_type="contact", owner_id=contact.id).values_list(
        "target_type", "target_id"
    )
    assert sorted(shared) == sorted([("note", note.id), ("email", 424242)])
    again = await gql(CONVERT, {"id": lead["id"]}, as_=tenant.staff)
    assert (
        error_codes(again) == ["WRONG_STATE"]
        and again["errors"][0]["extensions"]["reason"] == "ALREADY_CONVERTED"
    )
    assert await Contact.all().count() == 1
    assert "lead.converted" in await DomainEvent.all().values_list("type", flat=True)

    other = await create_lead(gql, tenant.staff, lastName="Other", email="o@x.test")
    attach = (
        await gql.ok(
            CONVERT,
            {"id": other["id"], "i": {"clientId": f"{_gid('Client', client.id)}"}},
            as_=tenant.staff,
        )
    )["convertLead"]
    assert attach["clientId"] == _gid("Client", client.id)
    assert await Contact.filter(client_id=client.id).count() == 2
    bad = await gql(
        CONVERT,
        {
            "id": (await create_lead(gql, tenant.staff, lastName="X"))["id"],
            "i": {"clientId": _gid("Client", 999999)},
        },
        as_=tenant.staff,
    )
    assert error_codes(bad) == ["NOT_FOUND"] and await Contact.all().count() == 2


def _gid(type_name: str, pk: int) -> str:
    return str(relay.GlobalID(type_name, str(pk)))


async def test_tenant_isolation_of_every_lead_operation(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await create_lead(gql, tenant.staff, lastName="Mine", email="same@x.test")
    theirs = await create_lead(gql, other_tenant.staff, lastName="Theirs", email="same@x.test")
    their_store = await make_store(gql, other_tenant, "B shop")
    client_b = await Client.create(organization_id=other_tenant.org.id, name="B client")
    me = tenant.staff
    assert await _names(gql, tenant) == ["Mine"]
    foreign_assignee = await gql(
        "mutation($i: StoreInput!) { createStore(input: $i) { secret } }",
        {"i": {"name": "x", "defaultAssigneeId": str(other_tenant.staff.user.id)}},
        as_=tenant.admin,
    )
    assert error_codes(foreign_assignee) == ["NOT_FOUND"]
    foreign_user = await gql(
        UPDATE_FIELD,
        {"id": mine["id"], "v": 1, "f": "assignedUserId", "x": str(other_tenant.staff.user.id)},
        as_=me,
    )
    assert error_codes(foreign_user) == ["NOT_FOUND"]
    groups = await gql.ok("{ duplicateLeadGroups { totalCount } }", as_=me)
    assert groups["duplicateLeadGroups"]["totalCount"] == 0
    dups = await gql.ok(
        "query($id: ID!) { leadDuplicates(id: $id) { lead { id } } }",
        {"id": mine["id"]},
        as_=me,
    )
    assert dups["leadDuplicates"] == []
    assert (await gql.ok("{ stores { id } }", as_=me))["stores"] == []
    tid = theirs["id"]
    operations = [
        (LEAD, {"id": tid}),
        (NEIGHBORS, {"id": tid}),
        (CHANGE_LOG, {"id": tid}),
        ("query($id: ID!) { leadDuplicates(id: $id) { lead { id } } }", {"id": tid}),
        (UPDATE, {"id": tid, "v": 1, "i": {"lastName": "hacked"}}),
        (UPDATE_FIELD, {"id": tid, "v": 1, "f": "lastName", "x": "hacked"}),
        ("mutation($id: ID!) { duplicateLead(id: $id) { id } }", {"id": tid}),
        ("mutation($id: ID!) { deleteLead(id: $id) { id } }", {"id": tid}),
        ("mutation($id: ID!) { restoreLead(id: $id) { id } }", {"id": tid}),
        (CONVERT, {"id": tid}),
        (CONVERT, {"id": mine["id"], "i": {"clientId": _gid("Client", client_b.id)}}),
        (
            "mutation($p: ID!, $d: [ID!]!) { mergeLeads(primaryId: $p, duplicateIds: $d) { id } }",
            {"p": mine["id"], "d": [tid]},
        ),
        (
            "mutation($p: ID!, $d: [ID!]!) { mergeLeads(primaryId: $p, duplicateIds: $d) { id } }",
            {"p": tid, "d": [mine["id"]]},
        ),
        (
            UPSERT,
            {
                "s": their_store.gid,
                "e": [
                    {"type": "REMOVED", "customerId": "Z", "occurredAt": runtime.now().isoformat()}
                ],
            },
        ),
    ]
    for query, variables in operations:
        body = await gql(query, variables, as_=me)
        assert error_codes(body) == ["NOT_FOUND"], (query, body)
    row = await Lead.get(id=int((await Lead.get(last_name="Theirs")).id))
    assert (row.last_name, row.version, row.deleted_at, row.converted_contact_id) == (
        "Theirs",
        1,
        None,
        None,
    )
    assert await Lead.filter(organization_id=other_tenant.org.id).count() == 1
    assert await Contact.all().count() == 0

    merge = await gql.ok(
        "mutation($p: ID!, $d: [ID!]!) { mergeLeads(primaryId: $p, duplicateIds: $d) { id } }",
        {"p": (await create_lead(gql, other_tenant.staff, lastName="T2"))["id"], "d": [tid]},
        as_=other_tenant.staff,
    )
    body = await gql(
        "mutation($m: ID!) { undoMerge(mergeId: $m) { id } }",
        {"m": merge["mergeLeads"]["id"]},
        as_=me,
    )
    assert error_codes(body) == ["NOT_FOUND"]


async def test_list_statement_count_does_not_grow_with_the_page(
    gql: GraphQLClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SPEC §12: a page's SQL statements (as the database client runs them) are constant."""
    query = """{ leads(first: 50) { totalCount edges { node { id lastName status { label }
      assignedUser { email } } } } }"""
    users = [tenant.admin.user.id, tenant.staff.user.id, tenant.viewer.user.id]

    sql = StatementCounter(monkeypatch)

    async def statements_for_page() -> int:
        sql.statements.clear()
        await gql.ok(query, as_=tenant.staff)
        return sql.selects()

    for index in range(2):
        await create_lead(gql, tenant.staff, lastName=f"L{index}", assignedUserId=str(users[index]))
    small = await statements_for_page()
    for index in range(2, 30):
        await create_lead(
            gql, tenant.staff, lastName=f"L{index}", assignedUserId=str(users[index % 3])
        )
    large = await statements_for_page()
    # auth lookups + one page SELECT + one COUNT + one batched user load, whatever the size
    assert 3 <= small == large, (small, large)


async def test_lead_changed_subscription_replays_then_streams_one_lead(
    app: Any, gql: GraphQLClient, tenant: Tenant
) -> None:
    lead = await create_lead(gql, tenant.staff, lastName="Watched")
    other = await create_lead(gql, tenant.staff, lastName="Other")
    subscription = """subscription($id: ID, $after: ID) {
      leadChanged(id: $id, after: $after) { type recordId payload } }"""
    context = Context(scope=tenant.staff.scope, services=app.state.services)
    stream = await build_schema().subscribe(
        subscription, variable_values={"id": lead["id"], "after": "0"}, context_value=context
    )
    try:
        replayed = await asyncio.wait_for(anext(stream), 5)
        assert replayed.data is not None and replayed.data["leadChanged"]["type"] == "lead.created"
        for target in (other, lead):
            await gql.ok(
                UPDATE_FIELD,
                {"id": target["id"], "v": 1, "f": "lastName", "x": "Changed"},
                as_=tenant.staff,
            )
        changed = await asyncio.wait_for(anext(stream), 5)
        assert changed.data is not None
        live = changed.data["leadChanged"]
        assert live["type"] == "lead.updated" and live["payload"]["fields"] == ["last_name"]
        assert live["recordId"] == relay.GlobalID.from_id(lead["id"]).node_id
    finally:
        await stream.aclose()
