"""Test harness: a fresh database per run (PostgreSQL by default, SQLite with
TRAINHUB_TEST_DB=sqlite), real Redis (the local server, or the embedded one on the
SQLite run), the ASGI app over HTTP/WebSocket, an arq worker, and aiosmtpd servers.

Every test starts from empty tables and has a Redis namespace of its own (arq queues,
job ids, event channel, rate keys), removed after it: no test runs, counts or receives
what another left queued or published. Each run uses its own database, so parallel runs
never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from tortoise import Tortoise, connections

from app import wiring
from app.asgi import create_app
from app.db import config_for, run_migrations
from app.embedded import EmbeddedRedis
from app.settings import Settings
from app.worker import build_workers
from models.core import ApiScope, Organization, Role, User
from resolvers import runtime
from resolvers.auth import issue_access_token
from resolvers.context import Actor, ActorKind, Scope
from resolvers.organizations import create_api_key, create_organization, create_user
from tests.smtp import SmtpServer

BACKEND = os.environ.get("TRAINHUB_TEST_DB", "postgres")
PG_ADMIN_DSN = os.environ.get("TRAINHUB_TEST_PG", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TRAINHUB_TEST_REDIS", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse battery"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the SQLite run, PostgreSQL-only tests (row locks, real concurrency) are
    deselected: they run, and count, on the PostgreSQL run only."""
    if BACKEND != "sqlite":
        return
    deselected = [item for item in items if "postgres_only" in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if "postgres_only" not in item.keywords]


@pytest.fixture(scope="session")
def tmp_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="session")
def redis_url(tmp_var: Path) -> Iterator[str]:
    if BACKEND == "sqlite":
        embedded = EmbeddedRedis(tmp_var / "redis.sock")
        embedded.start()
        yield embedded.url
        embedded.stop()
    else:
        yield REDIS_URL


@asynccontextmanager
async def fresh_database_url(tmp: Path, prefix: str) -> AsyncIterator[str]:
    """The URL of a new, empty database of the run's backend, dropped afterwards."""
    if BACKEND == "sqlite":
        yield f"sqlite://{tmp / f'{prefix}.sqlite3'}"
        return
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
async def database_url(tmp_var: Path) -> AsyncIterator[str]:
    async with fresh_database_url(tmp_var, "trainhub_test") as url:
        yield url


@pytest.fixture(scope="session")
def run_settings(tmp_var: Path, database_url: str, redis_url: str) -> Settings:
    """The run's database and Redis; ``settings`` gives each test its own namespace."""
    return Settings(
        environment="development",
        var_dir=tmp_var,
        database_url=database_url,
        redis_url=redis_url,
        redis_namespace="trainhub-test",
        smtp_host="127.0.0.1",
        smtp_port=1,  # each test that sends starts its own SMTP server (fixture smtp)
        secret_key="test-secret-key-0123456789abcdef",
        public_base_url="http://testserver",
        storage_dir=tmp_var / "storage",
        email_retry_base_seconds=0.05,
        email_max_attempts=4,
        login_rate_per_minute=1000,
        public_rate_per_minute=1000,
    )


@pytest.fixture
async def settings(run_settings: Settings) -> AsyncIterator[Settings]:
    """The run's settings with a Redis namespace of this test's own, whose keys (queued
    jobs, results, locks) are deleted after it. A copy: what a test sets (``smtp``'s
    port) stays its own too."""
    namespace = f"{run_settings.redis_namespace}-{uuid.uuid4().hex[:12]}"
    yield run_settings.model_copy(update={"redis_namespace": namespace})
    redis = Redis.from_url(wiring.redis_url(run_settings))
    try:
        # Every arq key of the namespace holds it: its queues, and job ids made from it.
        keys = [key async for key in redis.scan_iter(match=f"*{namespace}*", count=1000)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a ``trainhub`` process a test starts (a worker to kill, a
    server), on this test's database, Redis namespace and directories."""
    return {
        **os.environ,
        "ENVIRONMENT": "production",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_NAMESPACE": settings.redis_namespace,
        "SMTP_HOST": "127.0.0.1",
        "SECRET_KEY": settings.secret_key,
        "VAR_DIR": str(settings.var_dir),
        "STORAGE_DIR": str(settings.storage_dir),
        **extra,
    }


@pytest.fixture(scope="session")
async def migrated(run_settings: Settings) -> AsyncIterator[None]:
    """Migrations applied to the empty database: the same ones production runs."""
    await run_migrations(run_settings)
    await Tortoise.init(config=config_for(run_settings), _enable_global_fallback=True)
    yield
    await Tortoise.close_connections()


def _table_names() -> list[str]:
    return [model._meta.db_table for model in Tortoise.apps.get_models_iterable()]


@pytest.fixture(autouse=True)
async def clean_tables(migrated: None) -> AsyncIterator[None]:
    yield
    conn = connections.get("default")
    tables = _table_names()
    if BACKEND == "sqlite":
        for table in tables:
            await conn.execute_script(f'DELETE FROM "{table}"')
    else:
        quoted = ", ".join(f'"{t}"' for t in tables)
        await conn.execute_script(f"TRUNCATE {quoted} CASCADE")


@pytest.fixture
async def app(settings: Settings, migrated: None) -> AsyncIterator[Any]:
    application = create_app(settings, manage_db=False)
    async with application.router.lifespan_context(application):
        yield application
    runtime.current().clock = runtime.utc_now


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield http


@dataclass
class Member:
    """A user of a test organisation, with a ready access token."""

    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def scope(self) -> Scope:
        return Scope(
            self.user.organization_id,
            Actor(ActorKind.USER, str(self.user.id), self.user.email, role=self.user.role),
        )


@dataclass
class Tenant:
    org: Organization
    admin: Member
    staff: Member
    viewer: Member

    async def api_key(self, *scopes: ApiScope) -> str:
        _, key = await create_api_key(self.org, "test key", scopes)
        return key


async def _make_tenant(name: str) -> Tenant:
    org = await create_organization(name)
    members = []
    for role in (Role.ADMIN, Role.STAFF, Role.VIEWER):
        email = f"{role.value.lower()}@{org.slug}.test"
        user = await create_user(org, email, PASSWORD, role=role)
        members.append(Member(user, issue_access_token(user).token))
    return Tenant(org, *members)


@pytest.fixture
async def tenant(app: Any) -> Tenant:
    return await _make_tenant("Org A")


@pytest.fixture
async def other_tenant(app: Any) -> Tenant:
    return await _make_tenant("Org B")


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        as_: Member | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """POST a GraphQL document; returns the decoded JSON body (data and errors)."""
        all_headers = dict(headers or {})
        if isinstance(as_, Member):
            all_headers.update(as_.headers)
        elif isinstance(as_, str):
            all_headers["Authorization"] = f"Bearer {as_}"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )
        body: dict[str, Any] = response.json()
        body["status"] = response.status_code
        return body

    async def ok(
        self, query: str, variables: dict[str, Any] | None = None, **kw: Any
    ) -> dict[str, Any]:
        body = await self(query, variables, **kw)
        assert not body.get("errors"), body["errors"]
        return body["data"]  # type: ignore[no-any-return]


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code", "") for e in body.get("errors") or []]


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)


@pytest.fixture
async def smtp(settings: Settings) -> AsyncIterator[SmtpServer]:
    """A real aiosmtpd server on loopback; the worker's SMTP settings point at it."""
    server = SmtpServer()
    server.start()
    settings.smtp_port = server.port
    yield server
    server.stop()


@pytest.fixture
def run_worker(settings: Settings, app: Any) -> Any:
    """Run the arq workers (burst mode, this event loop) until their queues are drained:
    the main queue first, as its jobs may queue emails."""

    async def drain() -> None:
        for worker in build_workers(
            settings, burst=True, poll_delay=0.02, handle_signals=False, cron_jobs=[]
        ):
            try:
                await worker.main()
            finally:
                await worker.close()

    return drain


@dataclass
class LiveServer:
    url: str
    ws_url: str


@pytest.fixture
async def live_server(app: Any, settings: Settings) -> AsyncIterator[LiveServer]:
    """The same ASGI app behind a real uvicorn server on a loopback port (browser, WS)."""
    import asyncio

    import uvicorn

    from tests.smtp import free_port

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    base_url = runtime.current().public_base_url
    runtime.current().public_base_url = f"http://127.0.0.1:{port}"
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}")
    finally:
        runtime.current().public_base_url = base_url
        server.should_exit = True
        await task
