"""The GraphQL endpoint's guards: limits, masking, WebSocket protocol, health checks,
the committed schema, and live events with replay."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from strawberry import relay
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from websockets.typing import Subprotocol

from app.asgi import create_app
from app.settings import Settings
from models.core import ApiScope
from resolvers import runtime
from resolvers.events import emit_event
from schema import printed_schema
from tests.conftest import GraphQLClient, LiveServer, Tenant, error_codes
from tests.faults_support import wait_until

ROOT = Path(__file__).resolve().parent.parent
TRANSPORT_WS = Subprotocol("graphql-transport-ws")


def test_committed_schema_is_current() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == printed_schema(), "run: trainhub export-schema > schema.graphql"


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).text == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"database": True, "redis": True}


async def test_get_never_runs_operations(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(
        "/graphql",
        params={"query": "{ me { canWrite } }"},
        headers={**tenant.staff.headers, "accept": "application/json"},
    )
    assert response.status_code in (400, 405)


async def test_depth_limit(gql: GraphQLClient, tenant: Tenant) -> None:
    ten = "{ sessions { edges { node { clients { edges { node { client { sessions { clients { edges { cursor } } } } } } } } } } }"
    assert not (await gql(ten, as_=tenant.staff)).get("errors")
    eleven = ten.replace("edges { cursor }", "edges { node { id } }")
    body = await gql(eleven, as_=tenant.staff)
    assert body["data"] is None
    assert "exceeds maximum operation depth of 10" in body["errors"][0]["message"]


async def test_alias_limit(gql: GraphQLClient, tenant: Tenant) -> None:
    aliases = " ".join(f"a{i}: me {{ canWrite }}" for i in range(16))
    body = await gql("{ " + aliases + " }", as_=tenant.staff)
    assert body["errors"] and "aliases" in body["errors"][0]["message"]
    ok = " ".join(f"a{i}: me {{ canWrite }}" for i in range(15))
    assert not (await gql("{ " + ok + " }", as_=tenant.staff)).get("errors")


async def test_token_limit(gql: GraphQLClient, tenant: Tenant) -> None:
    body = await gql("{ me { " + "canWrite " * 2100 + "} }", as_=tenant.staff)
    assert body["errors"] and "token" in body["errors"][0]["message"].lower()


@pytest.fixture
async def production_client(settings: Settings) -> Any:
    prod = settings.model_copy(
        update={"environment": "production", "secret_key": "production-secret-0123456789abcdef"}
    )
    application = create_app(prod, manage_db=False)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver"
        ) as http,
    ):
        yield GraphQLClient(http)
    runtime.configure(
        runtime.Runtime(secret_key=settings.secret_key, public_base_url=settings.public_base_url)
    )


async def test_production_masks_unexpected_errors_but_not_user_errors(
    production_client: GraphQLClient, tenant: Tenant
) -> None:
    # User errors stay readable with their code.
    body = await production_client("{ me { canWrite } }")
    assert error_codes(body) == ["UNAUTHENTICATED"]
    # Introspection and field suggestions are off.
    body = await production_client("{ __schema { types { name } } }")
    assert body["errors"] and "introspection" in body["errors"][0]["message"].lower()
    body = await production_client("{ mee { canWrite } }")
    assert "Did you mean" not in body["errors"][0]["message"]
    # GraphiQL is not served.
    response = await production_client.http.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in response.text.lower()


async def test_malformed_global_id_answers_like_a_missing_record(
    gql: GraphQLClient, production_client: GraphQLClient, tenant: Tenant
) -> None:
    for client in (gql, production_client):
        body = await client(
            '{ node(id: "garbage") { id } session(id: "junk") { id } }', as_=tenant.staff
        )
        assert sorted(error_codes(body)) == ["NOT_FOUND", "NOT_FOUND"]
        assert all("Unexpected" not in e["message"] for e in body["errors"])
        # A well-formed id past the id columns' range names no record either.
        huge = relay.to_base64("Session", 10**22)
        body = await client(
            "query($id: ID!) { node(id: $id) { id } }", {"id": huge}, as_=tenant.staff
        )
        assert body == {"data": {"node": None}, "status": 200}


async def test_unexpected_error_is_masked_in_production(
    production_client: GraphQLClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    import schema.auth

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(schema.auth.organizations, "list_api_keys", broken)
    body = await production_client("{ apiKeys { id } }", as_=tenant.admin)
    assert body["errors"][0]["message"] == "Unexpected error."
    assert "hunter2" not in json.dumps(body)


async def test_legacy_graphql_ws_protocol_is_refused(live_server: LiveServer) -> None:
    async with websockets.connect(
        f"{live_server.ws_url}/graphql",
        subprotocols=[Subprotocol("graphql-ws")],
    ) as ws:
        assert ws.subprotocol is None
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4406


async def _subscribe(ws: Any, token: str | None, query: str, variables: dict[str, Any]) -> None:
    await ws.send(
        json.dumps(
            {
                "type": "connection_init",
                "payload": {"Authorization": f"Bearer {token}"} if token else {},
            }
        )
    )
    ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert ack["type"] == "connection_ack"
    await ws.send(
        json.dumps(
            {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
    )


EVENTS = "subscription($after: ID) { events(after: $after) { id type recordId payload } }"


async def _until_subscribed(app: Any, organization_id: int, count: int) -> None:
    """Until ``count`` subscriptions of the organisation listen to this process's event
    feed (a subscription's queue is registered before it replays, so what is published
    from then on reaches it)."""
    queues = app.state.services.feed.queues

    async def registered() -> bool:
        return len(queues.get(organization_id, ())) >= count

    await wait_until(registered, f"{count} subscriptions registered", within=5)


async def _emit(tenant: Tenant, n: int) -> list[int]:
    ids = []
    for i in range(n):
        async with runtime.atomic():
            ids.append(
                (await emit_event(tenant.staff.scope, "test.happened", "session", i, {"n": i})).id
            )
    return ids


async def _next(ws: Any) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert message["type"] == "next", message
    return message["payload"]["data"]["events"]  # type: ignore[no-any-return]


async def test_events_replay_then_live_without_gap_or_duplicate(
    live_server: LiveServer, tenant: Tenant, other_tenant: Tenant
) -> None:
    first = await _emit(tenant, 3)
    await _emit(other_tenant, 2)  # never visible to tenant A
    key = await tenant.api_key(ApiScope.SUBSCRIBE)
    async with websockets.connect(
        f"{live_server.ws_url}/graphql", subprotocols=[TRANSPORT_WS]
    ) as ws:
        await _subscribe(ws, key, EVENTS, {"after": str(first[0])})
        replayed = [await _next(ws) for _ in range(2)]
        assert [int(e["id"]) for e in replayed] == first[1:]
        live = await _emit(tenant, 2)
        await _emit(other_tenant, 1)
        received = [await _next(ws) for _ in range(2)]
        assert [int(e["id"]) for e in received] == live
        assert received[1]["payload"] == {"n": 1}


async def test_subscription_needs_the_subscribe_scope(
    live_server: LiveServer, tenant: Tenant
) -> None:
    key = await tenant.api_key(ApiScope.READ)
    async with websockets.connect(
        f"{live_server.ws_url}/graphql", subprotocols=[TRANSPORT_WS]
    ) as ws:
        await _subscribe(ws, key, EVENTS, {})
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert message["type"] == "error" or message["payload"]["errors"]
        assert "SUBSCRIBE" in json.dumps(message)


async def test_websocket_without_valid_credentials_is_rejected(
    live_server: LiveServer, tenant: Tenant
) -> None:
    async with websockets.connect(
        f"{live_server.ws_url}/graphql", subprotocols=[TRANSPORT_WS]
    ) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}})
        )
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


@pytest.mark.postgres_only
async def test_event_committed_after_a_later_one_is_still_delivered(
    app: Any, live_server: LiveServer, tenant: Tenant
) -> None:
    """Event ids are taken at insert time: a slow transaction can commit its lower id
    after a quick one's higher id. Both reach the subscriber, each once."""
    key = await tenant.api_key(ApiScope.SUBSCRIBE)
    async with websockets.connect(
        f"{live_server.ws_url}/graphql", subprotocols=[TRANSPORT_WS]
    ) as ws:
        await _subscribe(ws, key, EVENTS, {})
        await _until_subscribed(app, tenant.org.id, 1)
        inserted, release = asyncio.Event(), asyncio.Event()

        async def slow_transaction() -> int:
            async with runtime.atomic():
                event = await emit_event(tenant.staff.scope, "test.slow", "session", 1, {})
                inserted.set()
                await release.wait()
            return event.id

        slow = asyncio.create_task(slow_transaction())
        await inserted.wait()
        [quick_id] = await _emit(tenant, 1)
        first = await _next(ws)
        release.set()
        slow_id = await slow
        second = await _next(ws)
        assert slow_id < quick_id
        assert [int(first["id"]), int(second["id"])] == [quick_id, slow_id]


async def test_confirmation_changed_streams_one_sessions_changes(
    app: Any, live_server: LiveServer, gql: GraphQLClient, tenant: Tenant
) -> None:
    from tests.confirmation_support import MANUAL, add_session_client

    watched = await add_session_client(tenant, reference="S-1", client_name="Acme")
    other = await add_session_client(tenant, reference="S-2", client_name="Globex")
    session_gid = relay.to_base64("Session", watched.session.id)
    query = "subscription($s: ID) { confirmationChanged(sessionId: $s) { type recordId payload } }"
    async with websockets.connect(
        f"{live_server.ws_url}/graphql", subprotocols=[TRANSPORT_WS]
    ) as ws:
        await _subscribe(ws, tenant.staff.token, query, {"s": session_gid})
        await _until_subscribed(app, tenant.org.id, 1)
        for sc in (other, watched):
            await gql.ok(MANUAL, {"id": sc.gid, "on": True}, as_=tenant.staff)
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        change = message["payload"]["data"]["confirmationChanged"]
        assert change["recordId"] == str(watched.session_client.id)
        assert change["payload"]["to"] == "MANUALLY_VALIDATED"


async def test_websocket_several_operations_need_an_operation_name(
    live_server: LiveServer, tenant: Tenant
) -> None:
    """The same guard as over HTTP (tests/test_defects, defect 13): without operationName
    a document of several operations runs none of them; with it, the named one runs."""
    document = (
        f"query A {{ me {{ canWrite }} }} {EVENTS.replace('subscription', 'subscription B', 1)}"
    )
    key = await tenant.api_key(ApiScope.SUBSCRIBE)
    before, event_id = await _emit(tenant, 2)
    async with websockets.connect(
        f"{live_server.ws_url}/graphql", subprotocols=[TRANSPORT_WS]
    ) as ws:
        await _subscribe(ws, key, document, {})
        refused = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert refused["type"] == "error" and refused["id"] == "1"
        assert refused["payload"][0]["extensions"] == {
            "code": "VALIDATION_ERROR",
            "field": "operationName",
        }
        await ws.send(
            json.dumps(
                {
                    "id": "2",
                    "type": "subscribe",
                    "payload": {
                        "query": document,
                        "variables": {"after": str(before)},
                        "operationName": "B",
                    },
                }
            )
        )
        assert int((await _next(ws))["id"]) == event_id


TYPED = """subscription { e: events { __typename recordType kind: type ... on Event { id } } }"""


async def test_subscribers_of_one_event_each_get_their_own_selection_executed_once(
    app: Any, live_server: LiveServer, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Subscribers with the same document share one execution of an event (the process
    hands them the same event); another document, or other variables, is executed for
    itself, and each answer is the subscriber's own selection."""
    executions: list[str] = []
    parent = StrawberryGraphQLCoreExecutionContext.execute_operation

    def counted(executor: Any, serially: bool | None = None) -> Any:
        if executor.operation.operation.value == "subscription":
            executions.append(executor.operation.loc.source.body)
        return parent(executor, serially)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_operation", counted)
    key = await tenant.api_key(ApiScope.SUBSCRIBE)
    wanted = [(EVENTS, {}), (EVENTS, {}), (TYPED, {}), (EVENTS, {"after": None})]
    async with contextlib.AsyncExitStack() as stack:
        sockets = []
        for query, variables in wanted:
            ws = await stack.enter_async_context(
                websockets.connect(f"{live_server.ws_url}/graphql", subprotocols=[TRANSPORT_WS])
            )
            await _subscribe(ws, key, query, variables)
            sockets.append(ws)
        await _until_subscribed(app, tenant.org.id, len(wanted))
        [event_id] = await _emit(tenant, 1)
        answers = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for ws in sockets]
    plain = {"id": str(event_id), "type": "test.happened", "recordId": "0", "payload": {"n": 0}}
    assert [a["payload"]["data"] for a in answers] == [
        {"events": plain},
        {"events": plain},
        {"e": {"__typename": "Event", "recordType": "session", "kind": "test.happened",
               "id": str(event_id)}},
        {"events": plain},
    ]  # fmt: skip
    # The same document and variables: one execution; the others: one each.
    assert sorted(executions) == sorted([EVENTS, TYPED, EVENTS])
