"""HTTP load from ``wrk`` (C, event-driven: little CPU taken from the servers on the
same cores) with bench/wrk_post.lua for the POST body and the Authorization header."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).with_name("wrk_post.lua")


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def wrk_version() -> str:
    """Stops the bench with the install command when wrk is missing."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return (out.stdout + out.stderr).split(" [", 1)[0].strip() or "wrk"


def wrk(url: str, body: Path, authorization: str, seconds: float, connections: int) -> Load:
    """``connections`` requests in flight for ``seconds`` on one wrk thread; refuses a
    run with any non-2xx answer or socket error."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "60s"]
    command += ["-s", str(LUA), url]
    env = {**os.environ, "BENCH_BODY_FILE": str(body), "BENCH_AUTHORIZATION": authorization}
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    line = next((x for x in out.splitlines() if x.startswith("BENCH_WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    summary = json.loads(line.removeprefix("BENCH_WRK "))
    if summary["non_2xx"] or summary["socket_errors"]:
        raise RuntimeError(f"{url}: failed requests during the load: {summary}")
    return Load(
        summary["requests"],
        summary["duration_us"] / 1e6,
        summary["p50_us"] / 1000,
        summary["p99_us"] / 1000,
    )
