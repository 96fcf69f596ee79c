"""Migrations, the CLI, and the production topology: several ``trainhub serve`` workers
and a ``trainhub worker`` process sharing one database and one Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise import Tortoise, connections
from tortoise.migrations.autodetector import MigrationAutodetector

from app.db import config_for
from app.settings import Settings
from models.outbox import EmailStatus, OutboundEmail
from resolvers import runtime
from resolvers.outbox import queue_email
from tests.conftest import BACKEND, fresh_database_url, process_env
from tests.smtp import SmtpServer, free_port

TRAINHUB = [sys.executable, "-m", "app"]


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TRAINHUB, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


async def test_models_have_no_unmigrated_changes(migrated: None, settings: Settings) -> None:
    writers = await MigrationAutodetector(Tortoise.apps, config_for(settings)["apps"]).changes()
    assert [w.app_label for w in writers] == [], "run: make migrations"


async def test_migrated_database_has_every_model_column(migrated: None) -> None:
    """Migrations really create what the models declare (cyclic foreign keys once left
    columns out while the migration state looked complete)."""
    conn = connections.get("default")
    missing = []
    for model in Tortoise.apps.get_models_iterable():
        table = model._meta.db_table
        if BACKEND == "sqlite":
            rows = await conn.execute_query_dict(f'PRAGMA table_info("{table}")')
            present = {r["name"] for r in rows}
        else:
            rows = await conn.execute_query_dict(
                "SELECT column_name FROM information_schema.columns WHERE table_name = $1", [table]
            )
            present = {r["column_name"] for r in rows}
        missing += [
            f"{table}.{c}" for c in model._meta.fields_db_projection.values() if c not in present
        ]
    assert missing == []


@pytest.fixture
async def empty_database_url(tmp_path: Path) -> Any:
    async with fresh_database_url(tmp_path, "trainhub_fresh") as url:
        yield url


async def test_migrate_applies_cleanly_to_an_empty_database_and_then_is_a_no_op(
    empty_database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": empty_database_url, "VAR_DIR": str(tmp_path)}
    first = await asyncio.to_thread(run_cli, ["migrate"], env)
    assert first.returncode == 0, first.stderr
    assert "applied core.0001_initial" in first.stdout
    second = await asyncio.to_thread(run_cli, ["migrate"], env)
    assert second.returncode == 0 and "applied" not in second.stdout
    assert "database is up to date" in second.stdout


@pytest.fixture(name="process_env")
def product_env(settings: Settings, smtp: SmtpServer) -> dict[str, str]:
    return process_env(settings, SMTP_PORT=str(smtp.port), PUBLIC_BASE_URL=settings.public_base_url)


@pytest.fixture
def processes(process_env: dict[str, str]) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    port = free_port()
    env = {**os.environ, **process_env}
    procs = [
        subprocess.Popen(
            [*TRAINHUB, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            env=env,
        ),
        subprocess.Popen([*TRAINHUB, "worker"], env=env),
    ]
    yield f"http://127.0.0.1:{port}", procs
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=20)


async def _wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            try:
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("trainhub serve did not become ready")


@pytest.mark.postgres_only
async def test_cli_users_log_in_over_http_and_worker_process_delivers(
    app: Any, processes: tuple[str, list[Any]], process_env: dict[str, str], smtp: SmtpServer
) -> None:
    url, _ = processes
    org = await asyncio.to_thread(
        run_cli, ["create-org", "Acme Formation", "--slug", "acme"], process_env
    )
    assert org.returncode == 0, org.stderr
    user = await asyncio.to_thread(
        run_cli,
        ["create-user", "--org", "acme", "--email", "Boss@Acme.test", "--role", "ADMIN"],
        {**process_env, "TRAINHUB_PASSWORD": "a long enough password"},
    )
    assert user.returncode == 0, user.stderr
    key = await asyncio.to_thread(
        run_cli,
        ["create-api-key", "--org", "acme", "--name", "ci", "--scopes", "read,write"],
        process_env,
    )
    assert key.returncode == 0, key.stderr
    api_key = key.stdout.strip().splitlines()[-1]
    bad = await asyncio.to_thread(
        run_cli, ["create-user", "--org", "nope", "--email", "x@y.test"], process_env
    )
    assert bad.returncode != 0 and "no organisation with slug 'nope'" in bad.stderr

    await _wait_ready(url)
    async with httpx.AsyncClient(base_url=url) as http:
        login = await http.post(
            "/graphql",
            json={
                "query": 'mutation { login(email: "boss@acme.test", password: "a long enough password") { accessToken } }'
            },
        )
        token = login.json()["data"]["login"]["accessToken"]
        # Several requests, so both uvicorn worker processes are likely to serve some.
        for credential in [token] * 4 + [api_key] * 2:
            me = await http.post(
                "/graphql",
                json={"query": "{ me { organization { slug } canWrite } }"},
                headers={"Authorization": f"Bearer {credential}"},
            )
            assert me.json()["data"]["me"] == {"organization": {"slug": "acme"}, "canWrite": True}

    # An email written through the outbox here is delivered by the separate worker process.
    from models.core import User

    boss = await User.get(email="boss@acme.test")
    from resolvers.context import Actor, ActorKind, Scope

    scope = Scope(
        boss.organization_id, Actor(ActorKind.USER, str(boss.id), boss.email, role=boss.role)
    )
    async with runtime.atomic():
        email = await queue_email(
            scope, to=["client@acme.test"], subject="Hello", html="<p>Hi</p>", text="Hi"
        )
    for _ in range(300):
        if (await OutboundEmail.get(id=email.id)).status == EmailStatus.SENT:
            break
        await asyncio.sleep(0.1)
    assert (await OutboundEmail.get(id=email.id)).status == EmailStatus.SENT
    assert [r.message["Subject"] for r in smtp.received] == ["Hello"]
