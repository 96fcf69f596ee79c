"""Clients and contacts over HTTP: CRUD, main contact, validation, change log, isolation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from models.audit import ChangeLogEntry, DomainEvent
from models.sessions import Client, Contact
from resolvers import runtime
from tests.conftest import GraphQLClient, Member, Tenant, error_codes

CREATE_CLIENT = """mutation($input: CreateClientInput!) {
  createClient(input: $input) { id name address siret version mainContact { id } } }"""
UPDATE_CLIENT = """mutation($input: UpdateClientInput!) {
  updateClient(input: $input) { id name address siret version } }"""
DELETE_CLIENT = "mutation($id: ID!) { deleteClient(id: $id) { id deleted } }"
CREATE_CONTACT = """mutation($input: CreateContactInput!) {
  createContact(input: $input) { id firstName lastName email version client { id name } } }"""
UPDATE_CONTACT = """mutation($input: UpdateContactInput!) {
  updateContact(input: $input) { id firstName lastName email jobTitle version } }"""
DELETE_CONTACT = "mutation($id: ID!) { deleteContact(id: $id) { id deleted } }"
SET_MAIN = """mutation($c: ID!, $k: ID!) {
  setMainContact(clientId: $c, contactId: $k) { id version mainContact { id lastName } } }"""
CLIENT = """query($id: ID!) { client(id: $id) { id name mainContact { lastName }
  contacts { lastName } sessions { reference } } }"""
CLIENTS = """query($text: String, $order: ClientOrder!, $first: Int, $after: String) {
  clients(filter: {text: $text}, orderBy: $order, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } }"""
CONTACTS = """query($client: ID, $text: String) {
  contacts(filter: {clientId: $client, text: $text}) {
    totalCount edges { node { lastName client { name } } } } }"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Client { name } ... on Contact { email } } }"


async def make_client(
    gql: GraphQLClient, member: Member, name: str = "Acme", **extra: Any
) -> dict[str, Any]:
    data = await gql.ok(CREATE_CLIENT, {"input": {"name": name, **extra}}, as_=member)
    return data["createClient"]  # type: ignore[no-any-return]


async def make_contact(
    gql: GraphQLClient, member: Member, client_id: str | None, last_name: str, **extra: Any
) -> dict[str, Any]:
    values = {"clientId": client_id, "lastName": last_name, **extra}
    data = await gql.ok(CREATE_CONTACT, {"input": values}, as_=member)
    return data["createContact"]  # type: ignore[no-any-return]


async def test_create_and_update_client_with_change_log(gql: GraphQLClient, tenant: Tenant) -> None:
    client = await make_client(gql, tenant.staff, "  Acme  ", siret="123 456 789 00012")
    assert client["name"] == "Acme" and client["siret"] == "12345678900012"
    assert client["version"] == 1 and client["mainContact"] is None

    updated = await gql.ok(
        UPDATE_CLIENT,
        {"input": {"id": client["id"], "version": 1, "name": "Acme SA", "address": "1 rue X"}},
        as_=tenant.staff,
    )
    assert updated["updateClient"] == {
        "id": client["id"],
        "name": "Acme SA",
        "address": "1 rue X",
        "siret": "12345678900012",
        "version": 2,
    }
    log = (
        await ChangeLogEntry.filter(record_type="client")
        .order_by("id")
        .values("action", "field", "old_value", "new_value", "actor_label")
    )
    assert log == [
        {
            "action": "create",
            "field": "",
            "old_value": None,
            "new_value": "Acme",
            "actor_label": "staff@org-a.test",
        },
        {
            "action": "update",
            "field": "name",
            "old_value": "Acme",
            "new_value": "Acme SA",
            "actor_label": "staff@org-a.test",
        },
        {
            "action": "update",
            "field": "address",
            "old_value": "",
            "new_value": "1 rue X",
            "actor_label": "staff@org-a.test",
        },
    ]
    assert await DomainEvent.filter(type__startswith="client.").values_list("type", flat=True) == [
        "client.created",
        "client.updated",
    ]


async def test_client_validation_errors_write_nothing(gql: GraphQLClient, tenant: Tenant) -> None:
    for values, field in (({"name": "  "}, "name"), ({"name": "X", "siret": "12"}, "siret")):
        body = await gql(CREATE_CLIENT, {"input": values}, as_=tenant.staff)
        assert error_codes(body) == ["VALIDATION_ERROR"]
        assert body["errors"][0]["extensions"]["field"] == field
    client = await make_client(gql, tenant.staff)
    null_name = await gql(
        UPDATE_CLIENT, {"input": {"id": client["id"], "version": 1, "name": None}}, as_=tenant.staff
    )
    assert error_codes(null_name) == ["VALIDATION_ERROR"]
    assert await Client.all().count() == 1
    assert await ChangeLogEntry.filter(action="update").count() == 0


async def test_stale_version_is_refused(gql: GraphQLClient, tenant: Tenant) -> None:
    client = await make_client(gql, tenant.staff)
    first = {"id": client["id"], "version": 1, "name": "First"}
    await gql.ok(UPDATE_CLIENT, {"input": first}, as_=tenant.staff)
    stale = await gql(UPDATE_CLIENT, {"input": {**first, "name": "Second"}}, as_=tenant.staff)
    assert error_codes(stale) == ["STALE_VERSION"]
    assert stale["errors"][0]["extensions"]["currentVersion"] == 2
    assert (await Client.get()).name == "First"

    contact = await make_contact(gql, tenant.staff, client["id"], "Martin")
    change = {"id": contact["id"], "version": 1, "jobTitle": "DRH"}
    await gql.ok(UPDATE_CONTACT, {"input": change}, as_=tenant.staff)
    stale = await gql(UPDATE_CONTACT, {"input": {**change, "jobTitle": "CEO"}}, as_=tenant.staff)
    assert error_codes(stale) == ["STALE_VERSION"]
    assert (await Contact.get()).job_title == "DRH"
    log = await ChangeLogEntry.filter(record_type="contact", action="update").values_list(
        "field", "old_value", "new_value"
    )
    assert log == [("job_title", "", "DRH")]


async def test_contacts_and_main_contact(gql: GraphQLClient, tenant: Tenant) -> None:
    acme = await make_client(gql, tenant.staff, "Acme")
    other = await make_client(gql, tenant.staff, "Other")
    martin = await make_contact(gql, tenant.staff, acme["id"], "Martin", email=" A@Acme.FR ")
    assert martin["email"] == "A@acme.fr" and martin["client"]["name"] == "Acme"
    durand = await make_contact(gql, tenant.staff, acme["id"], "Durand", firstName="Léa")
    stranger = await make_contact(gql, tenant.staff, other["id"], "Stranger")

    # The first contact of a client becomes its main contact.
    data = await gql.ok(CLIENT, {"id": acme["id"]}, as_=tenant.staff)
    assert data["client"]["mainContact"] == {"lastName": "Martin"}
    assert data["client"]["contacts"] == [{"lastName": "Durand"}, {"lastName": "Martin"}]

    switched = await gql.ok(SET_MAIN, {"c": acme["id"], "k": durand["id"]}, as_=tenant.staff)
    assert switched["setMainContact"]["mainContact"] == {"id": durand["id"], "lastName": "Durand"}
    log = await ChangeLogEntry.filter(record_type="client", field="main_contact_id").values_list(
        "old_value", "new_value"
    )
    martin_id, durand_id = (
        await Contact.filter(last_name__in=["Martin", "Durand"])
        .order_by("id")
        .values_list("id", flat=True)
    )
    assert (str(martin_id), str(durand_id)) in log

    foreign = await gql(SET_MAIN, {"c": acme["id"], "k": stranger["id"]}, as_=tenant.staff)
    assert error_codes(foreign) == ["VALIDATION_ERROR"]

    # Deleting the main contact leaves the client without one.
    await gql.ok(DELETE_CONTACT, {"id": durand["id"]}, as_=tenant.staff)
    data = await gql.ok(CLIENT, {"id": acme["id"]}, as_=tenant.staff)
    assert data["client"]["mainContact"] is None
    assert data["client"]["contacts"] == [{"lastName": "Martin"}]

    made_main = await make_contact(gql, tenant.staff, acme["id"], "Petit", main=True)
    data = await gql.ok(CLIENT, {"id": acme["id"]}, as_=tenant.staff)
    assert data["client"]["mainContact"] == {"lastName": "Petit"} and made_main["id"]


async def test_contact_validation_and_unknown_ids(gql: GraphQLClient, tenant: Tenant) -> None:
    acme = await make_client(gql, tenant.staff)
    bad_email = await gql(
        CREATE_CONTACT,
        {"input": {"clientId": acme["id"], "lastName": "X", "email": "nope"}},
        as_=tenant.staff,
    )
    assert error_codes(bad_email) == ["VALIDATION_ERROR"]
    no_name = await gql(
        CREATE_CONTACT, {"input": {"clientId": acme["id"], "lastName": " "}}, as_=tenant.staff
    )
    assert error_codes(no_name) == ["VALIDATION_ERROR"]
    unknown = await gql(
        CREATE_CONTACT,
        {"input": {"clientId": "Q2xpZW50Ojk5OTk=", "lastName": "X"}},
        as_=tenant.staff,
    )
    assert error_codes(unknown) == ["NOT_FOUND"]
    contact_id = (await make_contact(gql, tenant.staff, acme["id"], "Kept"))["id"]
    wrong_type = await gql(DELETE_CLIENT, {"id": contact_id}, as_=tenant.staff)
    assert error_codes(wrong_type) == ["NOT_FOUND"]
    await gql.ok(DELETE_CONTACT, {"id": contact_id}, as_=tenant.staff)
    assert await Contact.all().count() == 0


async def test_delete_client(gql: GraphQLClient, tenant: Tenant) -> None:
    acme = await make_client(gql, tenant.staff)
    await make_contact(gql, tenant.staff, acme["id"], "Martin")
    deleted = await gql.ok(DELETE_CLIENT, {"id": acme["id"]}, as_=tenant.staff)
    assert deleted["deleteClient"] == {"id": acme["id"], "deleted": True}
    assert await Client.all().count() == 0 and await Contact.all().count() == 0
    assert await ChangeLogEntry.filter(record_type="client", action="delete").count() == 1
    again = await gql(DELETE_CLIENT, {"id": acme["id"]}, as_=tenant.staff)
    assert error_codes(again) == ["NOT_FOUND"]


async def test_lists_filter_sort_and_paginate(gql: GraphQLClient, tenant: Tenant) -> None:
    for name in ("Gamma", "Alpha", "Beta", "Alphabet"):
        client = await make_client(gql, tenant.staff, name)
        await make_contact(gql, tenant.staff, client["id"], f"Boss of {name}")
    page = (await gql.ok(CLIENTS, {"order": "NAME_ASC", "first": 2}, as_=tenant.staff))["clients"]
    assert page["totalCount"] == 4 and page["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["name"] for e in page["edges"]] == ["Alpha", "Alphabet"]
    rest = await gql.ok(
        CLIENTS, {"order": "NAME_ASC", "after": page["pageInfo"]["endCursor"]}, as_=tenant.staff
    )
    assert [e["node"]["name"] for e in rest["clients"]["edges"]] == ["Beta", "Gamma"]
    found = await gql.ok(CLIENTS, {"order": "NAME_DESC", "text": "alph"}, as_=tenant.staff)
    assert [e["node"]["name"] for e in found["clients"]["edges"]] == ["Alphabet", "Alpha"]

    contacts = (await gql.ok(CONTACTS, {"text": "boss of b"}, as_=tenant.staff))["contacts"]
    assert contacts["totalCount"] == 1
    assert contacts["edges"][0]["node"] == {"lastName": "Boss of Beta", "client": {"name": "Beta"}}


async def test_tenant_isolation(gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant) -> None:
    acme = await make_client(gql, tenant.staff)
    contact = await make_contact(gql, tenant.staff, acme["id"], "Martin", email="m@acme.fr")
    intruder = other_tenant.admin
    own = await make_client(gql, intruder, "Mine")

    assert (await gql.ok(NODE, {"id": acme["id"]}, as_=intruder))["node"] is None
    assert (await gql.ok(NODE, {"id": contact["id"]}, as_=intruder))["node"] is None
    assert (await gql.ok(NODE, {"id": contact["id"]}, as_=tenant.staff))["node"] == {
        "id": contact["id"],
        "email": "m@acme.fr",
    }
    listed = await gql.ok(CLIENTS, {"order": "NAME_ASC"}, as_=intruder)
    assert [e["node"]["name"] for e in listed["clients"]["edges"]] == ["Mine"]
    assert (await gql.ok(CONTACTS, {}, as_=intruder))["contacts"]["totalCount"] == 0
    assert (await gql.ok(CONTACTS, {"client": acme["id"]}, as_=intruder))["contacts"]["edges"] == []

    attempts = [
        (CLIENT, {"id": acme["id"]}),
        (UPDATE_CLIENT, {"input": {"id": acme["id"], "version": 1, "name": "Hacked"}}),
        (DELETE_CLIENT, {"id": acme["id"]}),
        (CREATE_CONTACT, {"input": {"clientId": acme["id"], "lastName": "Spy"}}),
        (UPDATE_CONTACT, {"input": {"id": contact["id"], "version": 1, "lastName": "Spy"}}),
        (DELETE_CONTACT, {"id": contact["id"]}),
        (SET_MAIN, {"c": acme["id"], "k": contact["id"]}),
        (SET_MAIN, {"c": own["id"], "k": contact["id"]}),
    ]
    for query, variables in attempts:
        assert error_codes(await gql(query, variables, as_=intruder)) == ["NOT_FOUND"], query
    assert await Client.filter(name="Acme", version=2).count() == 1  # 2: main contact set
    assert await Contact.filter(last_name="Spy").count() == 0


async def test_viewer_cannot_change_clients(gql: GraphQLClient, tenant: Tenant) -> None:
    body = await gql(CREATE_CLIENT, {"input": {"name": "Nope"}}, as_=tenant.viewer)
    assert error_codes(body) == ["FORBIDDEN"]
    assert await Client.all().count() == 0


async def test_change_log_time_follows_the_runtime_clock(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    """The log's time came from the column default (system clock), not resolvers.runtime."""
    later = runtime.now() + timedelta(days=30)
    runtime.current().clock = lambda: later
    client = await make_client(gql, tenant.staff, "Clocked")
    entry = await ChangeLogEntry.get(record_type="client", action="create")
    assert entry.at == later and client["name"] == "Clocked"
