"""Tenant isolation, generated from introspection (SPEC §3): every query, mutation and
subscription argument that takes an ID is tried as another organisation with this one's
real ids and with missing ids — the answers must be the same and this organisation's data
unchanged — and every mutation is refused (FORBIDDEN) to a VIEWER and a READ-only key."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import websockets
from graphql import GraphQLEnumType, GraphQLNamedType, GraphQLSchema, get_named_type
from tortoise import Tortoise, connections
from websockets.typing import Subprotocol

from models.audit import DomainEvent
from models.core import ApiScope, Organization
from models.operations import BulkOperation, BulkOperationItem
from resolvers import runtime
from resolvers.bulk_operations.engine import EVENT as BULK_OPERATION_EVENT
from resolvers.events import emit_event
from tests.conftest import (
    GraphQLClient,
    LiveServer,
    Member,
    Tenant,
    _make_tenant,
    error_codes,
)
from tests.isolation_answers import (
    KINDS,
    KNOWN_DEFECTS,
    OPEN_TO_READERS,
    OPEN_TO_VIEWERS,
    VALUES,
)
from tests.isolation_records import make_tenant_records, missing_id, spellings, upload
from tests.isolation_support import (
    SCALAR_SAMPLES,
    Fill,
    IdSite,
    document,
    id_sites,
    live_schema,
    normalised,
    root_type,
)

Snapshot = dict[str, list[dict[str, Any]]]
TOUCHED = ("last_used_at", "last_login_at")  # written by authenticating, not by the calls


async def snapshot(org_id: int) -> Snapshot:
    """Every row of the organisation, table by table (plain SQL: it runs after every call)."""
    rows: Snapshot = {}
    conn = connections.get("default")
    for model in Tortoise.apps.get_models_iterable():
        table = model._meta.db_table
        if "organization_id" in model._meta.db_fields:
            where = f"organization_id = {org_id:d}"
        elif model is Organization:
            where = f"id = {org_id:d}"
        elif model is BulkOperationItem:
            operations = BulkOperation._meta.db_table
            where = f'operation_id IN (SELECT id FROM "{operations}" WHERE organization_id = {org_id:d})'
        else:
            raise AssertionError(f"{model.__name__}: say here how its rows belong to an org")
        found = await conn.execute_query_dict(f'SELECT * FROM "{table}" WHERE {where} ORDER BY id')
        rows[table] = [{k: v for k, v in row.items() if k not in TOUCHED} for row in found]
    return rows


def filler(field: str, ids: dict[str, str]) -> Fill:
    """Values of a field's required arguments: ``VALUES``, else the organisation's own
    record of the kind ``KINDS`` names, else a sample of the type."""

    def fill(path: tuple[str, ...], type_: GraphQLNamedType) -> Any:
        key = f"{field}({'.'.join(path)})"
        if key in VALUES:
            return VALUES[key]
        if type_.name == "ID":
            return ids[KINDS[key][0]]
        if isinstance(type_, GraphQLEnumType):
            return next(iter(type_.values))
        return SCALAR_SAMPLES[type_.name]

    return fill


def _own_names(tenant: Tenant, ids: dict[str, str]) -> dict[str, str]:
    """The caller's own global ids (a bare row number could be any number of a message)
    and its name in its users' addresses."""
    names = {real: f"<own {kind}>" for kind, real in ids.items() if not real.isdigit()}
    return {**names, tenant.org.slug: "<own org>"}


def _comparable(body: dict[str, Any], target: str, own: dict[str, str]) -> Any:
    """The answer with the tried id, the caller's own ids, and the ids of what the call
    created (they differ between two organisations) named instead of spelled."""
    names = {**own, **dict.fromkeys(spellings(target), "<target>")}
    return _blank_new_ids(normalised(body, names))


def _volatile(key: str, value: Any) -> bool:
    """What differs between two organisations' calls anyway: the ids of new rows, times."""
    if not isinstance(value, str | int) or str(value).startswith("<"):
        return False
    return key == "id" or key.endswith("At")


def _blank_new_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<new>" if _volatile(k, v) else _blank_new_ids(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank_new_ids(v) for v in value]
    return value


class Verdicts:
    """Each case's problem (None: it passed); a known defect's case is expected to fail."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.known_passing: list[str] = []

    def record(self, label: str, problem: str | None) -> None:
        if label in KNOWN_DEFECTS:
            if problem is None:
                self.known_passing.append(label)
        elif problem is not None:
            self.failures.append(f"{label}: {problem}")

    def check(self) -> None:
        assert self.failures == [], "\n".join(self.failures)
        assert self.known_passing == [], "fixed: remove them from KNOWN_DEFECTS"


class Sweep:
    """Organisation A's records, and two organisations B1 and B2 alike in every way: B1
    calls with A's ids, B2 with missing ones, so both see the same history of calls."""

    def __init__(self, gql: GraphQLClient, schema: GraphQLSchema) -> None:
        self.gql, self.schema = gql, schema

    async def setup(self, http: httpx.AsyncClient, tenant: Tenant) -> None:
        self.a, self.b1, self.b2 = (
            tenant,
            await _make_tenant("Org B1"),
            await _make_tenant("Org B2"),
        )
        self.b1_ids = await make_tenant_records(self.gql, http, self.b1, "b")
        self.b2_ids = await make_tenant_records(self.gql, http, self.b2, "b")
        self.a_ids = await make_tenant_records(self.gql, http, tenant, "a")
        self.a_rows = await snapshot(tenant.org.id)

    def call(self, site: IdSite, ids: dict[str, str], value: str) -> tuple[str, dict[str, Any]]:
        return document(
            self.schema, site.operation, site.field, filler(site.field, ids), site.path, value
        )

    def callers(
        self, kind: str, missing: str | None = None
    ) -> list[tuple[Tenant, dict[str, str], str]]:
        """B1 with A's record of this kind, B2 with a missing one (``missing``, else one
        past every row): each with its own ids."""
        real = self.a_ids[kind]
        return [(self.b1, self.b1_ids, real), (self.b2, self.b2_ids, missing or missing_id(real))]

    async def try_site(self, site: IdSite, kind: str) -> str | None:
        """What differs between a foreign and a missing id at this site, or None."""
        answers = []
        for member, ids, value in self.callers(kind):
            query, variables = self.call(site, ids, value)
            body = await self.gql(query, variables, as_=member.admin)
            answers.append(_comparable(body, value, _own_names(member, ids)))
        if answers[0] != answers[1]:
            return f"foreign id answers {answers[0]}, missing id {answers[1]}"
        untyped = [
            e for e in answers[0]["errors"] or () if not (e.get("extensions") or {}).get("code")
        ]
        if untyped:
            return f"untyped errors {untyped}"
        if await snapshot(self.a.org.id) != self.a_rows:
            return "organisation A's data changed"
        return None


async def test_every_id_argument_has_a_sample(gql: GraphQLClient, tenant: Tenant) -> None:
    """A new ID argument is swept once its kind of record is named in KINDS."""
    keys = {site.key for site in id_sites(await live_schema(gql, tenant.staff))}
    assert sorted(keys - KINDS.keys()) == [], "add them to tests/isolation_answers.KINDS"
    assert sorted(KINDS.keys() - keys) == [], "gone from the schema: remove them from KINDS"


async def test_foreign_ids_answer_like_missing_ones_and_change_nothing(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    schema = await live_schema(gql, tenant.staff)
    sweep = Sweep(gql, schema)
    await sweep.setup(client, tenant)
    verdicts, tried = Verdicts(), 0
    for site in id_sites(schema):
        if site.operation == "subscription":
            continue  # over a WebSocket, below
        for kind in KINDS.get(site.key, ()):
            tried += 1
            label = f"{site.key} with a {kind}"
            verdicts.record(label, await sweep.try_site(site, kind))
    assert tried > 80
    verdicts.check()


async def test_every_mutation_is_forbidden_to_readers(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """As a VIEWER and with a READ-only key, on the organisation's own records."""
    schema = await live_schema(gql, tenant.staff)
    ids = await make_tenant_records(gql, client, tenant, "a")
    readers = {"VIEWER": tenant.viewer.token, "READ key": await tenant.api_key(ApiScope.READ)}
    verdicts = Verdicts()
    for name, field in root_type(schema, "mutation").fields.items():
        if name in OPEN_TO_READERS:
            continue
        for reader, token in readers.items():
            if reader == "VIEWER" and name in OPEN_TO_VIEWERS:
                continue
            before = await snapshot(tenant.org.id)
            headers = {"Authorization": f"Bearer {token}"}
            if any(get_named_type(a.type).name == "Upload" for a in field.args.values()):
                body = await upload(client, headers)
            else:
                query, variables = document(schema, "mutation", name, filler(name, ids))
                body = await gql(query, variables, headers=headers)
            label = f"{name} as {reader}"
            if error_codes(body) != ["FORBIDDEN"]:
                problem = f"{body.get('errors') or body['data']}"
            elif await snapshot(tenant.org.id) != before:
                problem = "refused, yet the data changed"
            else:
                problem = None
            verdicts.record(label, problem)
    verdicts.check()


TRANSPORT_WS = Subprotocol("graphql-transport-ws")
LEAD_VERSION = "query($id: ID!) { lead(id: $id) { version } }"
POKE_LEAD = """mutation($id: ID!, $v: Int!, $x: String) {
  updateLeadField(id: $id, version: $v, field: "lastName", value: $x) { version } }"""
POKE_CONFIRMATION = """mutation($id: ID!, $on: Boolean!) {
  setManualValidation(sessionClientId: $id, enabled: $on) { state } }"""
# The type of event each subscription streams: its sentinels are of that type.
SENTINEL_TYPES = {
    "events": "lead.updated",
    "leadChanged": "lead.updated",
    "confirmationChanged": "confirmation.changed",
    "emailStatusChanged": "email.status_changed",
    "bulkOperationChanged": BULK_OPERATION_EVENT,
}
LIVE_TRIES, LIVE_WAIT_SECONDS = 25, 0.2  # a sentinel is sent again until one arrives
CLOSING_WAIT_SECONDS = 10.0  # a bound for a hung server, not a timing assumption


class Sentinels:
    """Events of the subscriber's own organisation, each marked with this connection's
    ``mark`` and a number, that pass the subscription's filter (its type, and the id it
    was given as record and session): what it must stream."""

    def __init__(self, member: Member, field: str, target: str) -> None:
        self.scope, self.type = member.scope, SENTINEL_TYPES[field]
        self.pk = int(spellings(target)[-1])  # the row number the subscription filters on
        self.mark, self.sent = uuid.uuid4().hex, 0

    async def send(self) -> int:
        self.sent += 1
        async with runtime.atomic():
            payload = {"sessionId": self.pk, "sentinel": self.mark, "number": self.sent}
            await emit_event(self.scope, self.type, "Sentinel", self.pk, payload)
        return self.sent

    def number(self, answer: dict[str, Any]) -> int | None:
        """The number of this connection's sentinel ``answer`` streams; 0 for another
        connection's (``after`` replays the subscriber's own events); None for no sentinel."""
        event = next(iter((answer.get("data") or {}).values()), None)
        payload = event.get("payload") if isinstance(event, dict) else None
        if answer.get("errors") or not isinstance(payload, dict) or "sentinel" not in payload:
            return None
        return int(payload["number"]) if payload["sentinel"] == self.mark else 0


async def _until_sentinel(
    ws: Any, sentinels: Sentinels, number: int, seconds: float
) -> dict[str, Any] | None:
    """The first answer (data and errors) the subscription gets that is no sentinel, or
    None once this connection's sentinel ``number`` arrived; TimeoutError after
    ``seconds`` without either."""
    async with asyncio.timeout(seconds):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "error":  # refused before it started: a list of errors
                return {"data": None, "errors": message["payload"]}
            assert message["type"] == "next", message
            got = sentinels.number(message["payload"])
            if got is None:
                return message["payload"]  # type: ignore[no-any-return]
            if got == number:
                return None


async def _answer_to_change(
    live_server: LiveServer,
    sentinels: Sentinels,
    token: str,
    query: str,
    variables: dict[str, Any],
    poke: Any,
) -> dict[str, Any] | None:
    """The first answer other than the subscriber's own sentinels a subscription gets,
    from when it starts to the arrival of the sentinel sent after ``poke()`` (a change to
    A's records); None when there is none.

    Silence means something: the subscription is live (an earlier sentinel reached it),
    and every event is published on one Redis channel in commit order and fanned out by
    one listener, so an event of A's that reached B would arrive before the sentinel."""
    async with websockets.connect(
        f"{live_server.ws_url}/graphql", subprotocols=[TRANSPORT_WS]
    ) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        payload = {"query": query, "variables": variables}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        # A sentinel committed before the subscription opened its feed is neither replayed
        # nor fed to it: one is sent again until one arrives.
        for _ in range(LIVE_TRIES):
            try:
                first = await _until_sentinel(
                    ws, sentinels, await sentinels.send(), LIVE_WAIT_SECONDS
                )
                break
            except TimeoutError:
                continue
        else:
            raise AssertionError(f"no sentinel reached {query} {variables}: never live")
        if first is not None:
            return first  # refused, or streamed before A changed
        await poke()
        try:
            return await _until_sentinel(
                ws, sentinels, await sentinels.send(), CLOSING_WAIT_SECONDS
            )
        except TimeoutError:
            raise AssertionError(f"the closing sentinel never reached {query}") from None


async def test_subscriptions_with_foreign_ids_answer_like_missing_ones(
    gql: GraphQLClient, client: httpx.AsyncClient, tenant: Tenant, live_server: LiveServer
) -> None:
    """Over a real WebSocket: nothing of A's is streamed to B, and B cannot tell A's ids
    from missing ones. B's records are made first: A's event ids are past B's own."""
    schema = await live_schema(gql, tenant.staff)
    sweep = Sweep(gql, schema)
    await sweep.setup(client, tenant)

    pokes = iter(range(1000))

    async def change_a() -> None:
        """A's lead and A's session client's confirmation change: events B must not get."""
        poke, lead = next(pokes), sweep.a_ids["Lead"]
        version = (await gql.ok(LEAD_VERSION, {"id": lead}, as_=tenant.admin))["lead"]["version"]
        await gql.ok(POKE_LEAD, {"id": lead, "v": version, "x": f"Poke {poke}"}, as_=tenant.admin)
        await gql.ok(
            POKE_CONFIRMATION,
            {"id": sweep.a_ids["SessionClient"], "on": poke % 2 == 0},
            as_=tenant.admin,
        )

    # ``after`` skips the live events up to the id given: one past every event would keep
    # the sentinels from B2 too. Its missing event id is a deleted one, past A's.
    gap = await DomainEvent.create(
        organization_id=tenant.org.id,
        type="sweep.gap",
        record_type="Sentinel",
        record_id=0,
        actor_kind="USER",
    )
    await gap.delete()
    failures = []
    for site in id_sites(schema):
        if site.operation != "subscription":
            continue
        kind, answers = KINDS[site.key][0], []
        for member, ids, value in sweep.callers(kind, str(gap.id) if kind == "Event" else None):
            query, variables = sweep.call(site, ids, value)
            sentinels = Sentinels(member.admin, site.field, value)
            answer = await _answer_to_change(
                live_server, sentinels, member.admin.token, query, variables, change_a
            )
            answers.append(
                None if answer is None else _comparable(answer, value, _own_names(member, ids))
            )
        if answers[0] != answers[1]:
            failures.append(f"{site.key}: foreign id {answers[0]}, missing id {answers[1]}")
        elif answers[0] is not None and answers[0]["data"] is not None:
            # B's own records did not change since its last event: this is A's.
            failures.append(f"{site.key}: streamed {answers[0]['data']}")
    assert failures == [], "\n".join(failures)
