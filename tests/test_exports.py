"""CSV exports over HTTP (``GET /exports/{list}.csv``): each list parsed back with the csv
module equals the GraphQL list for the same filter and order; formula neutralisation and
the Excel variant; Bearer and signed-link access, expiry, tampering, another user; foreign
ids; the organisation's audit log."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from strawberry import relay

from models.audit import ChangeLogEntry
from models.core import ApiScope, Organization, User
from models.leads import Lead
from models.sessions import (
    Client,
    ConfirmationState,
    ConfirmationSummary,
    Contact,
    SessionClient,
    TrainingSession,
)
from resolvers import runtime
from resolvers.exports import csv_export
from resolvers.exports import rows as rows_module
from resolvers.leads.records import create_manual_lead
from tests.bulk_support import gid
from tests.confirmation_support import add_session_client, fr, today
from tests.conftest import GraphQLClient, LiveServer, Member, Tenant

LEADS = """query($filter: LeadFilterInput, $order: LeadOrderBy) {
  leads(filter: $filter, orderBy: $order, first: 100) { edges { node {
    id firstName lastName email status { label } accountName waitlistStatus { label }
    waitlistProductCode waitlistDateAdded waitlistEmailsSent sourceSystem
    assignedUser { fullName email } createdAt updatedAt } } } }"""
SESSIONS = """query($order: SessionOrder!) {
  sessions(orderBy: $order, first: 100) { edges { node {
    id reference title productCode location status { label } firstDate lastDate
    owner { fullName email } confirmationSummary { label }
    clients { edges { node { client { name } confirmation { label } } } } } } } }"""
CLIENTS = """query($order: ClientOrder!) { clients(orderBy: $order, first: 100) {
  edges { node { id name address siret mainContact { firstName lastName } } } } }"""
CONTACTS = """query($filter: ContactFilter) { contacts(filter: $filter, first: 100) {
  edges { node { id lastName firstName email phone jobTitle client { name } } } } }"""
LINK = """mutation($list: ExportList!, $selection: JSON, $order: JSON, $columns: [String!],
  $lang: String! = "fr") {
  createExportLink(list: $list, selection: $selection, orderBy: $order, columns: $columns,
    lang: $lang) { url expiresAt } }"""
AUDIT = """query { auditLog(first: 10) { edges { node {
  action reason newValue actorKind actorLabel } } } }"""


def rows_of(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


async def export(
    client: httpx.AsyncClient, list_name: str, member: Member | None, **parameters: Any
) -> httpx.Response:
    query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in parameters.items()}
    headers = member.headers if member else {}
    return await client.get(f"/exports/{list_name}.csv", params=query, headers=headers)


def db_id(global_id: str) -> str:
    return relay.GlobalID.from_id(global_id).node_id


def nodes(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [edge["node"] for edge in data[name]["edges"]]


def text(value: Any) -> str:
    return "" if value is None else str(value)


async def make_leads(tenant: Tenant) -> None:
    scope = tenant.staff.scope
    await User.filter(id=tenant.staff.user.id).update(full_name="Élodie Staff")
    rows = [
        {"first_name": "Émile", "last_name": "Zola", "status": "NEW", "account_name": "Ça va"},
        {
            "first_name": "Anaïs",
            "last_name": "Béranger",
            "status": "ASSIGNED",
            "assigned_user_id": tenant.staff.user.id,
            "waitlist_product_code": "PY-101",
            "waitlist_status": "PENDING",
            "waitlist_emails_sent": 2,
            "waitlist_date_added": datetime(2026, 11, 3, 9, 30, tzinfo=UTC),
        },
        {"first_name": "Chloé", "last_name": "Martin", "status": "DEAD"},
        {
            "first_name": "Léa",
            "last_name": "Dupont",
            "status": "NEW",
            "opportunity_amount": Decimal("12.50"),
            "source_system": "Boutique",
        },
    ]
    for values in rows:
        source = values.pop("source_system", None)  # set by stores only
        lead = await create_manual_lead(scope, values)
        if source:
            await Lead.filter(id=lead.id).update(source_system=source)


def moment(value: str | None, zone: str) -> str:
    """A datetime of the API as an export writes it: to the second, in the organisation's
    zone, as spreadsheets parse it."""
    if value is None:
        return ""
    return f"{datetime.fromisoformat(value).astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M:%S}"


def lead_cells(node: dict[str, Any], zone: str) -> list[str]:
    user = node["assignedUser"]
    return [
        db_id(node["id"]),
        node["firstName"],
        node["lastName"],
        node["email"],
        node["status"]["label"],
        node["accountName"],
        (node["waitlistStatus"] or {}).get("label", ""),
        node["waitlistProductCode"],
        moment(node["waitlistDateAdded"], zone),
        text(node["waitlistEmailsSent"]),
        node["sourceSystem"],
        (user["fullName"] or user["email"]) if user else "",
        moment(node["createdAt"], zone),
        moment(node["updatedAt"], zone),
    ]


LEAD_HEADER_FR = [
    "ID", "Prénom", "Nom", "E-mail", "Statut", "Nom du compte", "Statut liste d'attente",
    "Code produit", "Date d'ajout", "E-mails envoyés", "Système source", "Assigné à",
    "Date de création", "Date de modification",
]  # fmt: skip
LEAD_HEADER_EN = [
    "ID", "First name", "Last name", "Email", "Status", "Account name", "Waiting list status",
    "Product code", "Date added", "Emails sent", "Source system", "Assigned to",
    "Date created", "Date modified",
]  # fmt: skip


async def test_leads_csv_equals_the_graphql_list_for_the_same_filter_and_order(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: Tenant
) -> None:
    await make_leads(tenant)
    zone = "America/Toronto"  # datetimes are written in the organisation's zone
    await Organization.filter(id=tenant.org.id).update(time_zone=zone)
    wanted = {"statuses": ["NEW", "ASSIGNED"], "createdFrom": "2020-01-01T00:00:00Z"}
    order = {"field": "NAME", "descending": False}
    for lang, header in (("fr", LEAD_HEADER_FR), ("en", LEAD_HEADER_EN)):
        listed = await gql.ok(
            LEADS,
            {"filter": wanted, "order": order},
            as_=tenant.viewer,
            headers={"Accept-Language": lang},
        )
        rows = rows_of(
            await export(client, "leads", tenant.viewer, filter=wanted, order=order, lang=lang)
        )
        assert rows[0] == header
        assert rows[1:] == [lead_cells(node, zone) for node in nodes(listed, "leads")]
        assert [row[2] for row in rows[1:]] == ["Béranger", "Dupont", "Zola"]
    assigned = rows_of(
        await export(client, "leads", tenant.viewer, filter=wanted, order=order, lang="en")
    )
    assert assigned[1][4:12] == [
        "Assigned", "", "Pending", "PY-101", "2026-11-03 04:30:00", "2", "", "Élodie Staff",
    ]  # fmt: skip


async def test_a_subset_of_columns_in_the_order_asked(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await make_leads(tenant)
    rows = rows_of(
        await export(
            client,
            "leads",
            tenant.staff,
            columns="lastName,status",
            order={"field": "NAME", "descending": True},
            lang="en",
        )
    )
    assert rows == [
        ["Last name", "Status"], ["Zola", "New"], ["Martin", "Dead"], ["Dupont", "New"],
        ["Béranger", "Assigned"],
    ]  # fmt: skip
    refused = await export(client, "leads", tenant.staff, columns="lastName,password")
    assert refused.status_code == 400
    assert refused.json()["field"] == "columns" and "password" in refused.json()["error"]


async def test_bad_parameters_are_refused_with_the_parameter_named(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for parameters, field in (
        ({"filter": {"status": ["NOPE"]}}, "filter"),
        ({"filter": {"statuses": ["DRAFT"]}}, "filter"),
        ({"filter": "{not json"}, "filter"),
        ({"order": "TITLE_SIDEWAYS"}, "order"),
        ({"lang": "de"}, "lang"),
        ({"selection": {"ids": "x"}}, "selection.ids"),
    ):
        response = await export(client, "sessions", tenant.staff, **parameters)
        assert response.status_code == 400, parameters
        assert response.json()["field"] == field
    unknown = await export(client, "passwords", tenant.staff)
    assert unknown.status_code == 400 and unknown.json()["field"] == "list"


async def _sessions(tenant: Tenant) -> None:
    accepted = await add_session_client(tenant, reference="S-1", client_name="Acme SA")
    await SessionClient.filter(id=accepted.session_client.id).update(
        confirmation_state=ConfirmationState.ACCEPTED,
        confirmation_answered_at=datetime.now(UTC),
    )
    pending = await add_session_client(tenant, client_name="Béton & Fils", session=accepted.session)
    await SessionClient.filter(id=pending.session_client.id).update(
        confirmation_state=ConfirmationState.PENDING,
        confirmation_sent_at=datetime.now(UTC),
        confirmation_deadline=today() + timedelta(days=5),
    )
    await TrainingSession.filter(id=accepted.session.id).update(
        confirmation_summary=ConfirmationSummary.PENDING,
        first_date=accepted.slots[0].date,
        last_date=accepted.slots[-1].date,
    )
    await TrainingSession.create(
        organization_id=tenant.org.id, reference="S-2", title="Anglais", product_code="EN-1"
    )


def session_cells(node: dict[str, Any]) -> list[str]:
    owner = node["owner"]
    return [
        db_id(node["id"]),
        node["reference"],
        node["title"],
        node["productCode"],
        node["location"],
        node["status"]["label"],
        text(node["firstDate"]),
        text(node["lastDate"]),
        (owner["fullName"] or owner["email"]) if owner else "",
        (node["confirmationSummary"] or {}).get("label", ""),
        "\n".join(
            f"{edge['node']['client']['name']} : {edge['node']['confirmation']['label']}"
            for edge in node["clients"]["edges"]
        ),
    ]


async def test_sessions_csv_has_the_confirmation_summary_and_each_clients_label(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: Tenant
) -> None:
    await _sessions(tenant)
    for lang in ("fr", "en"):
        listed = await gql.ok(
            SESSIONS,
            {"order": "TITLE_DESC"},
            as_=tenant.viewer,
            headers={"Accept-Language": lang},
        )
        rows = rows_of(
            await export(client, "sessions", tenant.viewer, order="TITLE_DESC", lang=lang)
        )
        assert rows[1:] == [session_cells(node) for node in nodes(listed, "sessions")]
    rows = rows_of(await export(client, "sessions", tenant.viewer, order="TITLE_DESC"))
    assert rows[0][9:] == ["confirmation dates Client", "Clients (Etat confirmation)"]
    assert rows[1][9] == "En attente de confirmation"
    assert rows[1][10].splitlines() == [
        f"Acme SA : Date(s) acceptée(s) le {fr(today())}",
        f"Béton & Fils : Date(s) en attente de confirmation - Envoyé le {fr(today())} - "
        f"Échéance {fr(today() + timedelta(days=5))}",
    ]
    assert rows[2][1:3] == ["S-2", "Anglais"] and rows[2][9:] == ["", ""]


async def test_clients_and_contacts_csv_equal_their_graphql_lists(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: Tenant
) -> None:
    await add_session_client(tenant, client_name="Zèbre SARL")
    await add_session_client(tenant, reference="S-2", client_name="Atelier Hélène")
    await Client.create(organization_id=tenant.org.id, name="Mélanie", siret="12345678901234")
    await Contact.create(organization_id=tenant.org.id, last_name="Seul", email="s@x.test")
    listed = await gql.ok(CLIENTS, {"order": "NAME_DESC"}, as_=tenant.viewer)
    rows = rows_of(await export(client, "clients", tenant.viewer, order="NAME_DESC"))
    assert rows[0] == ["ID", "Nom", "Adresse", "SIRET", "Contact principal"]
    assert rows[1:] == [
        [
            db_id(n["id"]), n["name"], n["address"], text(n["siret"]),
            f"{n['mainContact']['firstName']} {n['mainContact']['lastName']}"
            if n["mainContact"] else "",
        ]
        for n in nodes(listed, "clients")
    ]  # fmt: skip
    assert [row[1] for row in rows[1:]] == ["Zèbre SARL", "Mélanie", "Atelier Hélène"]
    listed = await gql.ok(CONTACTS, {"filter": {"text": "u"}}, as_=tenant.viewer)
    rows = rows_of(await export(client, "contacts", tenant.viewer, filter={"text": "u"}, lang="en"))
    assert rows[0] == ["ID", "Last name", "First name", "Email", "Phone", "Job title", "Client"]
    assert rows[1:] == [
        [
            db_id(n["id"]), n["lastName"], n["firstName"], n["email"], n["phone"],
            n["jobTitle"], (n["client"] or {}).get("name", ""),
        ]
        for n in nodes(listed, "contacts")
    ]  # fmt: skip
    assert len(rows) == 4  # Dupont (twice), Seul


async def test_cells_a_spreadsheet_would_run_are_neutralised(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for name in ('=HYPERLINK("http://x")', "+33 1", "-2+3", "@SUM(A1)", "\tTab", "\rCR", "A=B"):
        await create_manual_lead(tenant.staff.scope, {"last_name": name, "account_name": name})
    rows = rows_of(
        await export(
            client,
            "leads",
            tenant.staff,
            columns="lastName,accountName,waitlistEmailsSent",
            order={"field": "CREATED_AT", "descending": False},
        )
    )
    expected = [
        '\'=HYPERLINK("http://x")',
        "'+33 1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tTab",
        "'\rCR",
        "A=B",
    ]
    assert [row[0] for row in rows[1:]] == expected
    assert [row[1] for row in rows[1:]] == expected
    assert [row[2] for row in rows[1:]] == ["0"] * 7


async def test_the_excel_variant_has_a_bom_and_semicolons(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await make_leads(tenant)
    response = await export(
        client, "leads", tenant.staff, excel="1", columns="lastName,accountName",
        order={"field": "NAME", "descending": False},
    )  # fmt: skip
    assert response.content.startswith("\ufeff".encode())
    text_ = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text_), delimiter=";"))
    assert rows[0] == ["Nom", "Nom du compte"]
    assert ["Zola", "Ça va"] in rows


async def test_who_may_export(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await make_leads(tenant)
    assert (await export(client, "leads", None)).status_code == 401
    bad = await client.get("/exports/leads.csv", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert len(rows_of(await export(client, "leads", tenant.viewer))) == 5
    for scopes, status in (((ApiScope.WRITE,), 403), ((ApiScope.READ,), 200)):
        key = await tenant.api_key(*scopes)
        response = await client.get(
            "/exports/leads.csv", headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == status


async def test_a_foreign_id_is_refused_like_a_missing_one(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await create_manual_lead(tenant.staff.scope, {"last_name": "Mine"})
    theirs = await create_manual_lead(other_tenant.staff.scope, {"last_name": "Theirs"})
    ok = rows_of(await export(client, "leads", tenant.staff, selection={"ids": [gid(mine.id)]}))
    assert [row[2] for row in ok[1:]] == ["Mine"]
    foreign = await export(
        client, "leads", tenant.staff, selection={"ids": [gid(mine.id), gid(theirs.id)]}
    )
    missing = await export(
        client, "leads", tenant.staff, selection={"ids": [gid(mine.id), gid(theirs.id + 999)]}
    )
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert "Theirs" not in foreign.text


async def test_a_filter_selection_minus_excluded_ids(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await make_leads(tenant)
    zola = [row for row in rows_of(await export(client, "leads", tenant.staff)) if "Zola" in row]
    rows = rows_of(
        await export(
            client,
            "leads",
            tenant.staff,
            selection={"filter": {"statuses": ["NEW"]}, "excludeIds": [gid(int(zola[0][0]))]},
            columns="lastName",
        )
    )
    assert rows[1:] == [["Dupont"]]


async def test_a_signed_link_for_a_browser_expires_and_is_bound_to_its_user(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await make_leads(tenant)
    selection = {"filter": {"statuses": ["NEW"]}}
    link = (
        await gql.ok(
            LINK,
            {"list": "LEADS", "selection": selection, "columns": ["lastName"], "lang": "en"},
            as_=tenant.viewer,
        )
    )["createExportLink"]
    url = httpx.URL(link["url"])
    assert url.path == "/exports/leads.csv"
    path = url.raw_path.decode()
    rows = rows_of(await client.get(path))  # no Bearer header: the link is the credential
    assert rows[0] == ["Last name"] and sorted(rows[1:]) == [["Dupont"], ["Zola"]]
    # Another user presenting it, or the link altered (another selection, another user).
    assert (await client.get(path, headers=tenant.staff.headers)).status_code == 403
    assert (await client.get(path, headers=other_tenant.admin.headers)).status_code == 403
    params = dict(url.params)
    for changed in (
        {"selection": json.dumps({"filter": {"statuses": ["DEAD"]}})},
        {"user": str(tenant.admin.user.id)},
        {"user": str(other_tenant.viewer.user.id)},
        {"expires": str(int(params["expires"]) + 3600)},
        {"signature": "0" * 64},
    ):
        altered = await client.get("/exports/leads.csv", params={**params, **changed})
        assert altered.status_code == 403, changed
    # Five minutes later it is gone; the clock is the runtime's, so no waiting.
    expires_at = datetime.fromisoformat(link["expiresAt"])
    runtime.current().clock = lambda: expires_at + timedelta(seconds=1)
    expired = await client.get(path)
    assert expired.status_code == 410 and expired.json()["code"] == "LINK_EXPIRED"


async def test_a_link_is_refused_at_once_for_a_bad_selection(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    body = await gql(
        LINK, {"list": "SESSIONS", "selection": {"filter": {"status": ["NOPE"]}}}, as_=tenant.staff
    )
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


async def test_each_export_is_in_the_organisations_audit_log(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await make_leads(tenant)
    rows_of(await export(client, "leads", tenant.viewer, filter={"statuses": ["NEW"]}))
    rows_of(await export(client, "contacts", other_tenant.viewer))
    entries = nodes(await gql.ok(AUDIT, as_=tenant.viewer), "auditLog")
    assert len(entries) == 1
    (entry,) = entries
    assert entry["action"] == "export" and entry["reason"] == "leads"
    assert entry["actorKind"] == "USER" and entry["actorLabel"] == tenant.viewer.user.email
    assert json.loads(entry["newValue"]) == {
        "list": "leads",
        "format": "csv",
        "rows": 2,
        "filter": {"filter": {"statuses": ["NEW"]}},
    }


async def test_rows_across_many_batches_and_exports_at_once(
    client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of 2 rows: the same file as in one batch, each batch's lookups done while
    the cursor is open; more exports at once than the pool has connections all finish
    (the cursor, or the COPY, holds a connection of its own, never one the lookups wait
    for). On PostgreSQL both paths: the server's COPY, then Python's cursor."""
    await make_leads(tenant)
    await _sessions(tenant)
    whole = {
        name: rows_of(await export(client, name, tenant.staff)) for name in ("leads", "sessions")
    }
    monkeypatch.setattr(rows_module, "BATCH_SIZE", 2)
    for path in ("copy", "cursor"):
        if path == "cursor":
            monkeypatch.setattr(csv_export, "copy_statement", lambda *args: None)
        exports = [export(client, name, tenant.staff) for name in ("leads", "sessions") * 6]
        answers = await asyncio.wait_for(asyncio.gather(*exports), timeout=120)
        for name, answer in zip(("leads", "sessions") * 6, answers, strict=True):
            assert rows_of(answer) == whole[name]


async def test_an_export_left_midway_is_recorded_with_the_rows_sent(
    live_server: LiveServer, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    await Lead.bulk_create(
        [Lead(organization_id=tenant.org.id, last_name=f"L{i}") for i in range(3000)]
    )
    monkeypatch.setattr(rows_module, "BATCH_SIZE", 1)  # a chunk per row
    async with (
        httpx.AsyncClient(base_url=live_server.url) as http,
        http.stream("GET", "/exports/leads.csv", headers=tenant.viewer.headers) as response,
    ):
        assert response.status_code == 200
        async for _ in response.aiter_raw():
            break  # the header arrived: the client leaves
    for _ in range(200):  # the server notices the disconnect, then records
        entry = await ChangeLogEntry.filter(organization_id=tenant.org.id).first()
        if entry is not None:
            break
        await asyncio.sleep(0.05)
    assert entry is not None and entry.action == "export"
    assert 0 <= json.loads(entry.new_value or "{}")["rows"] < 3000
