"""``trainhub dev`` stopped as Docker, systemd, a supervisor or a terminal stop it leaves
no process behind: its embedded redis-server included, even when it is SIGKILLed."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest

from tests.faults_support import command_of, descendants, spawn, wait_gone, wait_until
from tests.smtp import free_port


def dev_env(var_dir: Path) -> dict[str, str]:
    """The environment of a user's ``trainhub dev``: every service embedded."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SMTP_HOST", "ENVIRONMENT", "SECRET_KEY"}
    }
    return {**env, "VAR_DIR": str(var_dir), "SMTP_PORT": str(free_port())}


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http:

        async def ready() -> bool:
            try:
                return (await http.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until(ready, f"{url}/readyz answers")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
async def test_dev_server_stopped_by_a_signal_leaves_no_process_behind(
    tmp_path: Path, signum: signal.Signals
) -> None:
    port = free_port()
    proc = spawn(["dev", "--port", str(port)], dev_env(tmp_path / "var"), quiet=True)
    try:
        await wait_ready(f"http://127.0.0.1:{port}")
        children = descendants(proc.pid)
        assert any("redis-server" in command_of(p) for p in children), children

        proc.send_signal(signum)
        returncode = await asyncio.to_thread(proc.wait, 60)
        if signum != signal.SIGKILL:
            assert returncode == 0  # a clean stop, not a death by the signal
        await wait_gone(children, f"after {signum.name} of trainhub dev")
        assert not (tmp_path / "var" / "redis.sock").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
