"""Server processes of the benchmarks: Trainhub (``trainhub serve``, ``trainhub worker``),
the hand-written baselines (uvicorn) and PostGraphile (Node), each its own process with
its output in a log file, started, waited for and stopped by the bench."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / "peers"
TRAINHUB = Path(sys.executable).with_name("trainhub")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def product_env(settings: Settings) -> dict[str, str]:
    """Environment of a production Trainhub process on the bench's database and Redis."""
    return {
        "ENVIRONMENT": "production",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_NAMESPACE": settings.redis_namespace,
        "SECRET_KEY": settings.secret_key,
        "SMTP_HOST": settings.smtp_host or "127.0.0.1",
        "SMTP_PORT": str(settings.smtp_port),
        "VAR_DIR": str(settings.var_dir),
        "STORAGE_DIR": str(settings.storage_dir),
    }


class Server:
    """A child process whose stdout/stderr go to ``log``; ``stop`` ends it (and only it)."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self._out = log.open("wb")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=self._out, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_for_port(self, port: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not listen on {port} in {timeout:g} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        self._out.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._out.close()


@contextmanager
def running(*servers: Server) -> Iterator[tuple[Server, ...]]:
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def trainhub_serve(settings: Settings, port: int, log_dir: Path, name: str = "trainhub") -> Server:
    command = [str(TRAINHUB), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return Server(name, command, product_env(settings), log_dir / f"{name}.log")


def trainhub_worker(settings: Settings, log_dir: Path) -> Server:
    return Server(
        "worker", [str(TRAINHUB), "worker"], product_env(settings), log_dir / "worker.log"
    )


def uvicorn_app(app: str, port: int, env: dict[str, str], log_dir: Path, name: str) -> Server:
    command = [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    return Server(name, command, env, log_dir / f"{name}.log")


def node_version() -> str:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is missing: apt-get install nodejs npm")
    return subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()


def install_peers() -> None:
    """``npm ci`` into bench/peers/node_modules (ignored by git) unless the lock file is
    already installed there (npm writes node_modules/.package-lock.json)."""
    installed = PEERS / "node_modules" / ".package-lock.json"
    lock = PEERS / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    if shutil.which("npm") is None:
        raise SystemExit("npm is missing: apt-get install nodejs npm")
    print("installing PostGraphile (npm ci in bench/peers) …", flush=True)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEERS, check=True)


def postgraphile_version() -> str:
    return str(json.loads((PEERS / "package.json").read_text())["dependencies"]["postgraphile"])


def postgraphile(dsn: str, secret_key: str, port: int, log_dir: Path) -> Server:
    """PostGraphile 5 on ``dsn`` (a role with a password, over TCP), one Node process."""
    install_peers()
    env = {
        "DATABASE_URL": dsn,
        "SECRET_KEY": secret_key,  # verifies the same Bearer tokens as Trainhub
        "PORT": str(port),
        "GRAPHILE_ENV": "production",
        "NODE_ENV": "production",
        # Node 20 lacks Promise.withResolvers, which grafast uses.
        "NODE_OPTIONS": f"--require={PEERS / 'with-resolvers.cjs'}",
    }
    command = ["node", str(PEERS / "postgraphile.mjs")]
    return Server("postgraphile", command, env, log_dir / "postgraphile.log")
