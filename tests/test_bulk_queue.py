"""Operations above 500 items go to the worker: followed over the subscription (a real
WebSocket through the app, a real arq worker on real Redis) to DONE; and a worker
process killed (SIGKILL) mid-operation, then restarted, does every item exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from typing import Any

import pytest
import websockets
from strawberry import relay
from websockets.typing import Subprotocol

from app.settings import Settings
from models.audit import ChangeLogEntry
from models.leads import Lead
from models.operations import BulkOperation, BulkOperationItem, OperationStatus
from tests.conftest import GraphQLClient, LiveServer, Tenant

TRANSPORT_WS = Subprotocol("graphql-transport-ws")
START = """mutation($f: LeadFilterInput!) {
  massUpdateLeads(selection: { filter: $f }, set: { campaign: "autumn" }) {
    operation { id status total processed } } }"""
FOLLOW = """subscription($id: ID!) { bulkOperationChanged(id: $id) {
  status total processed succeeded failed } }"""


async def _leads(tenant: Tenant, count: int) -> None:
    await Lead.bulk_create(
        [
            Lead(
                organization_id=tenant.org.id,
                last_name=f"Queued {i}",
                name_norm=f"queued {i}",
                email=f"q{i}@x.test",
                email_norm=f"q{i}@x.test",
            )
            for i in range(count)
        ],
        batch_size=1000,
    )


async def _start(gql: GraphQLClient, tenant: Tenant) -> dict[str, Any]:
    data = await gql.ok(START, {"f": {"search": "queued"}}, as_=tenant.staff)
    return data["massUpdateLeads"]["operation"]  # type: ignore[no-any-return]


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A ``trainhub worker`` process (started from sync code: it is not awaited)."""
    return subprocess.Popen([sys.executable, "-m", "app", "worker"], env=env)


def _pk(global_id: str) -> int:
    return int(relay.GlobalID.from_id(global_id).node_id)


async def _exactly_once(operation_id: int, total: int) -> None:
    operation = await BulkOperation.get(id=operation_id)
    assert (operation.status, operation.processed, operation.succeeded) == (
        OperationStatus.DONE,
        total,
        total,
    )
    positions = await BulkOperationItem.filter(operation_id=operation_id).values_list(
        "position", flat=True
    )
    assert sorted(positions) == list(range(total))
    assert set(await Lead.all().values_list("version", flat=True)) == {2}  # bumped once each
    assert await ChangeLogEntry.filter(bulk_job_id=str(operation_id)).count() == total + 1


async def test_a_queued_operation_followed_over_the_subscription_to_done(
    live_server: LiveServer, gql: GraphQLClient, tenant: Tenant, run_worker: Any
) -> None:
    await _leads(tenant, 2000)
    started = await _start(gql, tenant)
    assert (started["status"], started["total"], started["processed"]) == ("QUEUED", 2000, 0)
    seen: list[dict[str, Any]] = []
    async with websockets.connect(
        f"{live_server.ws_url}/graphql", subprotocols=[TRANSPORT_WS]
    ) as ws:
        await ws.send(
            json.dumps(
                {
                    "type": "connection_init",
                    "payload": {"Authorization": f"Bearer {tenant.staff.token}"},
                }
            )
        )
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": FOLLOW, "variables": {"id": started["id"]}},
                }
            )
        )
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        seen.append(first["payload"]["data"]["bulkOperationChanged"])
        worker = asyncio.create_task(run_worker())
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if message["type"] == "complete":
                break
            seen.append(message["payload"]["data"]["bulkOperationChanged"])
        await worker
    assert seen[0]["status"] == "QUEUED"
    assert seen[-1] == {
        "status": "DONE",
        "total": 2000,
        "processed": 2000,
        "succeeded": 2000,
        "failed": 0,
    }
    progress = [state["processed"] for state in seen]
    assert progress == sorted(progress) and len(seen) >= 3  # batches of 500 seen on the way
    await _exactly_once(_pk(started["id"]), 2000)


@pytest.mark.postgres_only
async def test_a_worker_killed_mid_operation_resumes_without_doing_an_item_twice(
    gql: GraphQLClient, tenant: Tenant, settings: Settings
) -> None:
    total = 8000
    await _leads(tenant, total)
    started = await _start(gql, tenant)
    pk = _pk(started["id"])
    env = {
        **os.environ,
        "ENVIRONMENT": "production",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_NAMESPACE": settings.redis_namespace,
        "SMTP_HOST": "127.0.0.1",
        "SECRET_KEY": settings.secret_key,
        "VAR_DIR": str(settings.var_dir),
        "BULK_STALE_SECONDS": "1",
    }
    worker = _worker(env)
    try:
        for _ in range(3000):
            processed = (await BulkOperation.get(id=pk)).processed
            if processed > 0:
                break
            await asyncio.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        stopped = await BulkOperation.get(id=pk)
        assert stopped.status == OperationStatus.RUNNING and 0 < stopped.processed < total
        await asyncio.sleep(1.5)  # its heartbeat goes stale
        worker = _worker(env)
        for _ in range(600):
            if (await BulkOperation.get(id=pk)).status == OperationStatus.DONE:
                break
            await asyncio.sleep(0.1)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    await _exactly_once(pk, total)
