"""``trainhub dev``: API, arq worker, SQLite, embedded Redis and SMTP sink in one process.

The worker runs in the API's event loop: SQLite allows one writer and Tortoise's SQLite
backend serialises on one connection, so nothing fights over the file.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from contextlib import suppress

import uvicorn

from app.asgi import create_app
from app.db import close_db, init_db, run_migrations
from app.embedded import EmbeddedRedis, port_is_free
from app.mailbox import start_sink
from app.settings import Settings
from app.wiring import runtime_for
from app.worker import run_workers


def run_dev(settings: Settings, *, host: str, port: int, demo: bool) -> None:
    if not port_is_free(host, port):
        sys.exit(
            f"error: port {port} on {host} is already in use (another 'trainhub dev'?).\n"
            f"Stop it, or pick another port: trainhub dev --port {port + 1}"
        )
    if "public_base_url" not in settings.model_fields_set:
        # Links in emails must reach this server, whatever port it was given.
        settings.public_base_url = f"http://{host}:{port}"
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    redis = EmbeddedRedis(settings.redis_socket) if settings.embedded_redis else None
    sink = None
    if redis:
        redis.start()
        print(f"embedded redis on {redis.socket_path}")
    if settings.embedded_smtp:
        if not port_is_free("127.0.0.1", settings.smtp_port):
            sys.exit(f"error: SMTP sink port {settings.smtp_port} is in use; set SMTP_PORT")
        sink = start_sink(settings.mailbox_dir, port=settings.smtp_port)
        print(
            f"SMTP sink on 127.0.0.1:{settings.smtp_port}, mail at http://{host}:{port}/dev/mailbox/"
        )
    # SIGTERM (Docker, systemd, supervisors) ends like Ctrl-C, through the cleanup below.
    # uvicorn restores this handler after its graceful shutdown and raises the signal again.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        asyncio.run(_serve(settings, host, port, demo))
    except KeyboardInterrupt:
        pass
    finally:
        if sink:
            sink.stop()
        if redis:
            redis.stop()


async def _serve(settings: Settings, host: str, port: int, demo: bool) -> None:
    await run_migrations(settings)
    await init_db(settings)
    try:
        app = create_app(settings, manage_db=False)
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info"))
        if demo:
            from app.demo import seed_demo
            from resolvers import runtime

            runtime.configure(runtime_for(settings))
            await seed_demo(print)
        print(f"GraphiQL at http://{host}:{port}/graphql")
        # uvicorn handles the signals; the workers stop when it does.
        workers = asyncio.create_task(run_workers(settings, manage_db=False, handle_signals=False))
        try:
            await server.serve()
        finally:
            workers.cancel()
            with suppress(asyncio.CancelledError):
                await workers
    finally:
        await close_db()
