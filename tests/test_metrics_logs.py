"""Operations: /metrics scraped over HTTP from a live server after real requests, a
delivery and a subscription; its access rules; the production JSON log lines carrying a
request's id, and the same id on the job that request enqueued."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families
from websockets.typing import Subprotocol

from app.asgi import create_app
from app.logs import configure_logging
from app.settings import Settings
from jobs.outbox_delivery import delivery_job_id
from models.core import ApiScope
from models.outbox import EmailStatus, OutboundEmail
from resolvers import runtime
from resolvers.outbox import queue_email
from tests.conftest import LiveServer, Tenant
from tests.smtp import SmtpServer

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


async def queue_one(tenant: Tenant, status: EmailStatus = EmailStatus.QUEUED) -> OutboundEmail:
    async with runtime.atomic():
        email = await queue_email(
            tenant.staff.scope,
            to=["alice@client.test"],
            subject="Vos dates",
            html="<p>Bonjour</p>",
            text="Bonjour",
            concerns=[("session", 1)],
        )
    if status != EmailStatus.QUEUED:
        await OutboundEmail.filter(id=email.id).update(status=status)
    return email


async def test_metrics_count_operations_errors_outbox_deliveries_and_subscriptions(
    live_server: LiveServer, tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, headers=tenant.staff.headers) as http:
        before = await scrape(http)
        for _ in range(3):
            me = await http.post("/graphql", json={"query": "query ProbeMe { me { canWrite } }"})
            assert me.json()["data"]["me"]["canWrite"] is True
        missing = await http.post(
            "/graphql", json={"query": 'query ProbeMissing { node(id: "nope") { id } }'}
        )
        assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        await queue_one(tenant)
        await queue_one(tenant, EmailStatus.FAILED)
        await queue_one(tenant, EmailStatus.FAILED)

        after = await scrape(http)
        ops = "trainhub_graphql_operation_seconds_count"
        # Counters are per process: other tests of this run (the differential test replays
        # these documents) may have counted before; what counts is what these requests added.
        errors = "trainhub_graphql_errors_total"
        for name, labels, more in [
            (ops, {"operation": "ProbeMe", "type": "query"}, 3),
            (ops, {"operation": "ProbeMissing", "type": "query"}, 1),
            (errors, {"operation": "ProbeMissing", "code": "NOT_FOUND"}, 1),
            (errors, {"operation": "ProbeMe", "code": "NOT_FOUND"}, 0),
        ]:
            assert value(after, name, **labels) - value(before, name, **labels) == more, name
        # The outbox gauge is read from the tables, which every test starts empty.
        outbox = {s: value(after, "trainhub_outbox_emails", status=s) for s in EmailStatus}
        assert outbox == {"QUEUED": 1, "SENDING": 0, "SENT": 0, "FAILED": 2}

        await run_worker()  # delivers the queued one to the real SMTP server
        assert len(smtp.received) == 1
        delivered = await scrape(http)
        # Three jobs ran (one per queued row; the test's namespace holds no other job);
        # two found their row FAILED: no attempt.
        for name, labels, more in [
            ("trainhub_email_delivery_attempts_total", {"outcome": "sent"}, 1),
            ("trainhub_email_delivery_seconds_count", {"outcome": "sent"}, 1),
            ("trainhub_job_seconds_count", {"job": "deliver_emails", "outcome": "ok"}, 3),
        ]:
            assert value(delivered, name, **labels) - value(before, name, **labels) == more, name
        assert value(delivered, "trainhub_outbox_emails", status="SENT") == 1

        live = "trainhub_active_subscriptions"
        key = await tenant.api_key(ApiScope.SUBSCRIBE)
        async with websockets.connect(
            f"{live_server.ws_url}/graphql", subprotocols=[Subprotocol("graphql-transport-ws")]
        ) as ws:
            await ws.send(
                json.dumps({"type": "connection_init", "payload": {"Authorization": key}})
            )
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            subscribe = {"query": "subscription { events { id } }"}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
            assert await _until(http, live, 1) == 1
        assert await _until(http, live, 0) == 0


async def _until(http: httpx.AsyncClient, name: str, expected: float) -> float:
    """The gauge once it shows ``expected`` (the server applies a WebSocket's messages
    asynchronously), or its last value after a bounded number of scrapes."""
    for _ in range(200):
        current = value(await scrape(http), name)
        if current == expected:
            break
        await asyncio.sleep(0.02)
    return current


async def test_metrics_access(settings: Settings, migrated: None) -> None:
    async def status(app_settings: Settings, client: str, headers: dict[str, str]) -> int:
        app = create_app(app_settings, manage_db=False)
        transport = httpx.ASGITransport(app=app, client=(client, 40000))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
        ):
            return (await http.get("/metrics", headers=headers)).status_code

    # Development without a token: loopback clients only.
    assert await status(settings, "127.0.0.1", {}) == 200
    assert await status(settings, "::1", {}) == 200
    assert await status(settings, "192.0.2.7", {}) == 403
    # A token: Bearer, from anywhere.
    with_token = settings.model_copy(update={"metrics_token": "m" * 40})
    assert await status(with_token, "127.0.0.1", {}) == 401
    assert await status(with_token, "192.0.2.7", {"Authorization": "Bearer wrong"}) == 401
    assert await status(with_token, "192.0.2.7", {"Authorization": f"Bearer {'m' * 40}"}) == 200
    # Production: no token, no /metrics.
    production = settings.model_copy(update={"environment": "production"})
    assert await status(production, "127.0.0.1", {}) == 404
    production_with_token = production.model_copy(update={"metrics_token": "m" * 40})
    assert (
        await status(production_with_token, "192.0.2.7", {"Authorization": f"Bearer {'m' * 40}"})
        == 200
    )


@pytest.fixture
def json_log(settings: Settings) -> Iterator[io.StringIO]:
    """The production logging set-up, writing to a buffer; the test's logging restored."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging(settings.model_copy(update={"environment": "production"}), stream)
    try:
        yield stream
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


async def test_json_logs_carry_the_request_id_into_the_job_it_enqueued(
    client: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    run_worker: Any,
    json_log: io.StringIO,
    settings: Settings,
) -> None:
    failed = await queue_one(tenant, EmailStatus.FAILED)
    await run_worker()  # its first job finds it FAILED and ends: no job of it is pending
    json_log.seek(0)
    json_log.truncate()
    response = await client.post(
        "/graphql",
        json={
            "query": "mutation RetryIt($id: ID!) { retryEmail(id: $id) { status } }",
            "variables": {"id": str(failed.id)},
        },
        headers={**tenant.staff.headers, "X-Request-ID": "req-7f3a"},
    )
    assert response.json()["data"]["retryEmail"]["status"] == "QUEUED"
    assert response.headers["X-Request-ID"] == "req-7f3a"
    await run_worker()
    assert len(smtp.received) == 1

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    tagged = [line for line in lines if line.get("request_id") == "req-7f3a"]
    assert {"time", "level", "logger", "message"} <= set(tagged[0])
    assert [(line["logger"], line["message"]) for line in tagged] == [
        ("schema.metrics", tagged[0]["message"]),
        (
            "app.worker",
            f"job deliver_emails ({delivery_job_id(settings.redis_namespace, [failed.id])}) "
            "enqueued by request req-7f3a",
        ),
    ]
    assert re.fullmatch(r"graphql mutation RetryIt in [\d.]+ ms", tagged[0]["message"])

    # No id given (or one that is not a short printable token): one is made and echoed.
    for headers in ({}, {"X-Request-ID": "bad id\twith spaces"}):
        made = await client.post(
            "/graphql",
            json={"query": "{ me { canWrite } }"},
            headers={**tenant.staff.headers, **headers},
        )
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])


async def test_the_worker_serves_its_own_metrics(settings: Settings, migrated: None) -> None:
    """``WORKER_METRICS_PORT``: the worker's deliveries and jobs, over HTTP."""
    from app.worker import serve_metrics
    from tests.smtp import free_port

    port = free_port()
    server, task = await serve_metrics(settings.model_copy(update={"worker_metrics_port": port}))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(200):
                with contextlib.suppress(httpx.ConnectError):
                    response = await http.get("/metrics")
                    break
                await asyncio.sleep(0.02)
        assert response.status_code == 200
        for family in ("trainhub_email_delivery_attempts", "trainhub_job_seconds"):
            assert f"# TYPE {family}" in response.text
        assert value(parse(response.text), "trainhub_outbox_emails", status="QUEUED") == 0
    finally:
        server.should_exit = True
        await task
