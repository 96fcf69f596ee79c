"""Each user's subpanel layout, kept on the server: order and collapse state per record
type, two users each seeing their own, API keys on the default layout, unknown keys
refused, and a stored order that survives the product adding a panel."""

from __future__ import annotations

import pytest

from models.audit import ChangeLogEntry, DomainEvent
from models.core import ApiScope
from models.records import Note
from resolvers import labels
from resolvers.subpanels import registry
from resolvers.subpanels.registry import OwnerType, Panel, RelatedKind
from resolvers.subpanels.sources import Linked
from tests.conftest import GraphQLClient, Tenant, error_codes
from tests.subpanels_support import make_records, subpanels

LAYOUT = "query($t: SubpanelRecordType!) { subpanelLayout(recordType: $t) { recordType stored panels { key title collapsed } } }"
COLLAPSE = """mutation($t: SubpanelRecordType!, $k: String!, $c: Boolean!) {
  setSubpanelCollapsed(recordType: $t, key: $k, collapsed: $c) { stored panels { key collapsed } } }"""
REORDER = """mutation($t: SubpanelRecordType!, $k: [String!]!) {
  reorderSubpanels(recordType: $t, keys: $k) { stored panels { key collapsed } } }"""
RESET = "mutation($t: SubpanelRecordType!) { resetSubpanelLayout(recordType: $t) { stored panels { key collapsed } } }"
LEAD_DEFAULT = ["notes", "tasks", "documents", "emails", "change_log"]


def _order(panels: dict) -> list[tuple[str, bool]]:
    return [(key, panel["collapsed"]) for key, panel in panels.items()]


async def test_two_users_each_keep_their_own_order_and_collapse_state(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    lead = (await make_records(gql, tenant.staff))["Lead"]
    await gql.ok(REORDER, {"t": "LEAD", "k": ["emails", "notes"]}, as_=tenant.staff)
    collapsed = await gql.ok(COLLAPSE, {"t": "LEAD", "k": "notes", "c": True}, as_=tenant.staff)
    expected = [
        ("emails", False),
        ("notes", True),
        ("tasks", False),
        ("documents", False),
        ("change_log", True),
    ]
    answer = collapsed["setSubpanelCollapsed"]
    assert answer["stored"] and [(p["key"], p["collapsed"]) for p in answer["panels"]] == expected
    assert _order(await subpanels(gql, tenant.staff, lead)) == expected

    await gql.ok(COLLAPSE, {"t": "LEAD", "k": "change_log", "c": False}, as_=tenant.admin)
    admin = await subpanels(gql, tenant.admin, lead)
    assert list(admin) == LEAD_DEFAULT and not admin["change_log"]["collapsed"]
    assert _order(await subpanels(gql, tenant.staff, lead)) == expected  # unchanged by the admin
    # A layout is per record type: the staff's client panels keep the default.
    client = (await make_records(gql, tenant.staff, "2"))["Client"]
    assert list(await subpanels(gql, tenant.staff, client))[:2] == ["contacts", "sessions"]

    layout = (await gql.ok(LAYOUT, {"t": "LEAD"}, as_=tenant.staff))["subpanelLayout"]
    assert layout["recordType"] == "LEAD" and layout["stored"]
    assert layout["panels"][0] == {"key": "emails", "title": "E-mails", "collapsed": False}

    # Each change is logged and announced, in the same transaction.
    entries = await ChangeLogEntry.filter(record_type="subpanel_layout").order_by("id")
    assert [(e.field, e.actor_id) for e in entries] == [
        ("order", str(tenant.staff.user.id)),
        ("collapsed", str(tenant.staff.user.id)),
        ("collapsed", str(tenant.admin.user.id)),
    ]
    assert await DomainEvent.filter(type="subpanel_layout.updated").count() == 3

    reset = (await gql.ok(RESET, {"t": "LEAD"}, as_=tenant.staff))["resetSubpanelLayout"]
    assert not reset["stored"] and [p["key"] for p in reset["panels"]] == LEAD_DEFAULT
    assert _order(await subpanels(gql, tenant.staff, lead))[1] == ("tasks", False)


async def test_unknown_keys_are_refused_naming_the_key(gql: GraphQLClient, tenant: Tenant) -> None:
    body = await gql(REORDER, {"t": "LEAD", "k": ["notes", "contacts"]}, as_=tenant.staff)
    assert error_codes(body) == ["VALIDATION_ERROR"]
    error = body["errors"][0]
    assert error["extensions"]["field"] == "keys.1" and "'contacts'" in error["message"]
    twice = await gql(REORDER, {"t": "LEAD", "k": ["notes", "notes"]}, as_=tenant.staff)
    assert (
        error_codes(twice) == ["VALIDATION_ERROR"]
        and twice["errors"][0]["extensions"]["field"] == "keys.1"
    )
    assert error_codes(await gql(REORDER, {"t": "LEAD", "k": []}, as_=tenant.staff)) == [
        "VALIDATION_ERROR"
    ]
    unknown = await gql(COLLAPSE, {"t": "CLIENT", "k": "lead", "c": True}, as_=tenant.staff)
    assert (
        error_codes(unknown) == ["VALIDATION_ERROR"] and "'lead'" in unknown["errors"][0]["message"]
    )
    assert unknown["errors"][0]["extensions"]["field"] == "key"
    assert not (await gql.ok(LAYOUT, {"t": "LEAD"}, as_=tenant.staff))["subpanelLayout"]["stored"]


async def test_api_keys_have_the_default_layout_and_cannot_store_one(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    lead = (await make_records(gql, tenant.staff))["Lead"]
    await gql.ok(REORDER, {"t": "LEAD", "k": ["tasks"]}, as_=tenant.staff)
    key = await tenant.api_key(ApiScope.READ, ApiScope.WRITE)
    assert list(await subpanels(gql, key, lead)) == LEAD_DEFAULT
    assert not (await gql.ok(LAYOUT, {"t": "LEAD"}, as_=key))["subpanelLayout"]["stored"]
    for document, variables in (
        (COLLAPSE, {"t": "LEAD", "k": "notes", "c": True}),
        (REORDER, {"t": "LEAD", "k": ["emails"]}),
        (RESET, {"t": "LEAD"}),
    ):
        body = await gql(document, variables, as_=key)
        assert error_codes(body) == ["FORBIDDEN"]
        assert "default layout" in body["errors"][0]["message"]


async def test_a_stored_order_survives_a_new_panel_and_a_removed_one(
    gql: GraphQLClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead = (await make_records(gql, tenant.staff))["Lead"]
    await gql.ok(REORDER, {"t": "LEAD", "k": ["change_log", "emails", "notes"]}, as_=tenant.staff)
    # A later release adds a "calls" panel and drops "documents" from leads.
    calls = Panel("calls", RelatedKind.NOTE, Linked(Note, ("subject",), target_type="call"))
    current = registry.PANELS[OwnerType.LEAD]
    monkeypatch.setitem(
        registry.PANELS,
        OwnerType.LEAD,
        (*(p for p in current if p.key != "documents"), calls),
    )
    monkeypatch.setitem(labels.SUBPANEL_TITLES, "calls", ("Appels", "Calls"))
    panels = await subpanels(gql, tenant.staff, lead)
    assert list(panels) == ["change_log", "emails", "notes", "tasks", "calls"]
    assert panels["calls"]["title"] == "Appels" and panels["calls"]["totalCount"] == 0
