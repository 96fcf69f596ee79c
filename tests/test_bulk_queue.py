"""Operations above 500 items go to the worker: followed over the subscription (a real
WebSocket through the app, a real arq worker on real Redis) to DONE; a worker process
killed (SIGKILL) mid-operation, then restarted, does every item exactly once (batch by
batch, or all or nothing); all or nothing with an item failing in a late batch writes
nothing and shows the item's error."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
import websockets
from strawberry import relay
from websockets.typing import Subprotocol

from app.settings import Settings
from models.audit import ChangeLogEntry, DomainEvent
from models.leads import Lead
from models.operations import BulkOperation, BulkOperationItem, OperationStatus
from resolvers.bulk_operations import engine
from tests.conftest import BACKEND, GraphQLClient, LiveServer, Tenant, process_env

TRANSPORT_WS = Subprotocol("graphql-transport-ws")
START = """mutation($f: LeadFilterInput!, $p: ErrorPolicy!) {
  massUpdateLeads(selection: { filter: $f }, set: { campaign: "autumn" }, errorPolicy: $p) {
    operation { id status total processed } } }"""
ERRORS = """query($id: ID!) { node(id: $id) { ... on BulkOperation {
  status total processed succeeded failed error
  items(first: 10, onlyErrors: true) { totalCount edges { node { index outcome
    errors { code } } } } } } }"""
# Batch by batch (each batch commits) and all or nothing (one transaction).
POLICIES = ["REJECT_FAILED_ROWS", "REJECT_EVERYTHING"]
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


async def _start(gql: GraphQLClient, tenant: Tenant, policy: str) -> dict[str, Any]:
    data = await gql.ok(START, {"f": {"search": "queued"}, "p": policy}, as_=tenant.staff)
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


@pytest.mark.parametrize("policy", POLICIES)
async def test_a_queued_operation_followed_over_the_subscription_to_done(
    live_server: LiveServer, gql: GraphQLClient, tenant: Tenant, run_worker: Any, policy: str
) -> None:
    await _leads(tenant, 2000)
    started = await _start(gql, tenant, policy)
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
    # Batches of 500 seen on the way; all or nothing on SQLite (one connection, held by
    # the operation's transaction) publishes only the end.
    on_the_way = not (policy == "REJECT_EVERYTHING" and BACKEND == "sqlite")
    assert progress == sorted(progress) and len(seen) >= (3 if on_the_way else 2)
    await _exactly_once(_pk(started["id"]), 2000)


@pytest.mark.postgres_only
@pytest.mark.parametrize("policy", POLICIES)
async def test_a_worker_killed_mid_operation_resumes_without_doing_an_item_twice(
    gql: GraphQLClient, tenant: Tenant, settings: Settings, policy: str
) -> None:
    total = 8000
    await _leads(tenant, total)
    started = await _start(gql, tenant, policy)
    pk = _pk(started["id"])
    env = process_env(settings, BULK_STALE_SECONDS="1")
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


async def test_all_or_nothing_with_an_item_failing_in_a_late_batch_writes_nothing(
    gql: GraphQLClient, tenant: Tenant, run_worker: Any
) -> None:
    await _leads(tenant, 1200)
    started = await _start(gql, tenant, "REJECT_EVERYTHING")
    assert (started["status"], started["total"]) == ("QUEUED", 1200)
    pk = _pk(started["id"])
    # Deleted after the selection was frozen: its item fails in the third batch, after
    # two batches were written in the same transaction.
    late = (await BulkOperation.get(id=pk)).target_ids[1100]
    await Lead.filter(id=late).update(deleted_at=datetime.now(UTC))
    await run_worker()
    node = (await gql.ok(ERRORS, {"id": started["id"]}, as_=tenant.staff))["node"]
    assert (node["status"], node["processed"], node["succeeded"], node["failed"]) == (
        "FAILED",
        1200,
        0,
        1,
    )
    assert "nothing was written" in node["error"]
    assert node["items"]["totalCount"] == 1
    assert node["items"]["edges"][0]["node"] == {
        "index": 1100,
        "outcome": None,
        "errors": [{"code": "WRONG_STATE"}],
    }
    assert set(await Lead.all().values_list("campaign", flat=True)) == {""}
    assert set(await Lead.all().values_list("version", flat=True)) == {1}
    # Only the operation's own start is in the change log; no lead event was kept.
    assert await ChangeLogEntry.filter(bulk_job_id=str(pk)).count() == 1
    assert not await DomainEvent.filter(type="lead.updated").exists()
    assert await BulkOperationItem.filter(operation_id=pk).count() == 1200
    assert not await BulkOperationItem.filter(operation_id=pk, outcome__isnull=False).exists()


@pytest.mark.parametrize(
    ("kind", "total", "size"),
    [
        ("mass_update_leads", 2_000, 500),  # progress still moves a few times
        ("mass_update_leads", 10_000, 2_000),
        ("mass_update_leads", 100_000, 2_000),
        ("revert", 10_000, 2_000),
        ("send_lead_emails", 10_000, 500),  # renders each email: batches stay short
    ],
)
async def test_large_set_based_operations_take_larger_batches(
    tenant: Tenant, kind: str, total: int, size: int
) -> None:
    assert engine.batch_size(BulkOperation(kind=kind, total=total)) == size
