"""``trainhub`` command line: run modes and administration."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from app.settings import Settings, get_settings


def _progress(event: str, app_label: str, name: str) -> None:
    if event == "apply_done":
        print(f"  applied {app_label}.{name}", flush=True)


async def _with_db(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    """Run admin work with the database and the resolvers' runtime set up."""
    from app.db import close_db, init_db
    from app.wiring import runtime_for
    from resolvers import runtime

    runtime.configure(runtime_for(settings))
    await init_db(settings)
    try:
        return await work()
    finally:
        await close_db()


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> None:
    from app.db import run_migrations

    print(f"migrating {settings.effective_database_url.split('@')[-1]}", flush=True)
    asyncio.run(run_migrations(settings, progress=_progress))
    print("database is up to date")


async def _organization(slug: str) -> Any:
    from models.core import Organization

    org = await Organization.filter(slug=slug).first()
    if org is None:
        sys.exit(
            f"error: no organisation with slug '{slug}' (create it with 'trainhub create-org')"
        )
    return org


def cmd_create_org(args: argparse.Namespace, settings: Settings) -> None:
    from resolvers.organizations import create_organization

    org = asyncio.run(_with_db(settings, lambda: create_organization(args.name, slug=args.slug)))
    print(f"organisation created: id={org.id} slug={org.slug}")


def cmd_create_user(args: argparse.Namespace, settings: Settings) -> None:
    from models.core import Role
    from resolvers.organizations import create_user

    password = args.password or os.environ.get("TRAINHUB_PASSWORD") or ""

    async def work() -> Any:
        return await create_user(
            await _organization(args.org),
            args.email,
            password,
            role=Role(args.role),
            full_name=args.name,
        )

    user = asyncio.run(_with_db(settings, work))
    print(f"user created: id={user.id} email={user.email} role={user.role}")


def cmd_create_api_key(args: argparse.Namespace, settings: Settings) -> None:
    from models.core import ApiScope
    from resolvers.organizations import create_api_key

    scopes = [ApiScope(s.strip().upper()) for s in args.scopes.split(",") if s.strip()]

    async def work() -> Any:
        return await create_api_key(await _organization(args.org), args.name, scopes)

    api_key, key = asyncio.run(_with_db(settings, work))
    print(f"API key {api_key.id} ({', '.join(api_key.scopes)}). Shown once, store it now:")
    print(key)


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> None:
    from schema import printed_schema

    sys.stdout.write(printed_schema())


def _share_metrics(settings: Settings, workers: int) -> None:
    """Several API processes answer /metrics with the counts of all (prometheus-client's
    multiprocess mode: each writes its own files in one fresh directory)."""
    from app.metrics import MULTIPROCESS_DIR

    if workers > 1 and MULTIPROCESS_DIR not in os.environ:
        directory = (settings.var_dir / "metrics").resolve()
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        os.environ[MULTIPROCESS_DIR] = str(directory)


def served_app() -> Any:
    """``trainhub serve``'s app factory, run in each server process: logging first."""
    from app.asgi import create_app
    from app.logs import configure_logging

    configure_logging(get_settings())
    return create_app()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from app.logs import configure_logging

    _share_metrics(settings, args.workers)
    configure_logging(settings)  # this process's (with --workers, the supervisor's) lines
    uvicorn.run(
        "app.cli:served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        log_level="info",
        # Production: the JSON lines of configure_logging, not uvicorn's own format.
        log_config=None if settings.is_production else uvicorn.config.LOGGING_CONFIG,
    )


def cmd_worker(args: argparse.Namespace, settings: Settings) -> None:
    from app.logs import configure_logging
    from app.worker import run_workers

    configure_logging(settings)
    asyncio.run(run_workers(settings))  # SIGTERM / SIGINT stop it


def cmd_dev(args: argparse.Namespace, settings: Settings) -> None:
    from app.devserver import run_dev
    from app.embedded import require_embedded

    require_embedded(redis=settings.embedded_redis, smtp=settings.embedded_smtp)
    run_dev(settings, host=args.host, port=args.port, demo=args.demo)


def cmd_seed_demo(args: argparse.Namespace, settings: Settings) -> None:
    from app.demo import seed_demo

    asyncio.run(_with_db(settings, lambda: seed_demo(print)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trainhub", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="embedded mode: API + worker + SQLite + Redis + SMTP sink")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument("--demo", action="store_true", help="load demo data first")
    dev.set_defaults(run=cmd_dev)

    serve = sub.add_parser("serve", help="production API server (uvicorn)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=cmd_serve)

    sub.add_parser("worker", help="arq worker: email delivery and periodic jobs").set_defaults(
        run=cmd_worker
    )
    sub.add_parser("migrate", help="apply database migrations").set_defaults(run=cmd_migrate)
    sub.add_parser("export-schema", help="print the GraphQL schema (SDL)").set_defaults(
        run=cmd_export_schema
    )
    sub.add_parser("seed-demo", help="load a realistic demo organisation").set_defaults(
        run=cmd_seed_demo
    )

    org = sub.add_parser("create-org", help="create an organisation (tenant)")
    org.add_argument("name")
    org.add_argument("--slug")
    org.set_defaults(run=cmd_create_org)

    user = sub.add_parser("create-user", help="create a user in an organisation")
    user.add_argument("--org", required=True, help="organisation slug")
    user.add_argument("--email", required=True)
    user.add_argument("--password", help="or TRAINHUB_PASSWORD in the environment")
    user.add_argument("--role", choices=["ADMIN", "STAFF", "VIEWER"], default="STAFF")
    user.add_argument("--name", default="")
    user.set_defaults(run=cmd_create_user)

    key = sub.add_parser("create-api-key", help="create an API key (printed once)")
    key.add_argument("--org", required=True, help="organisation slug")
    key.add_argument("--name", required=True)
    key.add_argument("--scopes", default="READ", help="comma-separated: READ,WRITE,SUBSCRIBE")
    key.set_defaults(run=cmd_create_api_key)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    from app.embedded import EmbeddedMissing
    from resolvers.errors import UserError

    try:
        args.run(args, get_settings())
    except UserError as exc:
        sys.exit(f"error: {exc.message}")
    except EmbeddedMissing as exc:
        sys.exit(f"error: {exc}")
