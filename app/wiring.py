"""Process services shared by the API and the worker: Redis, the arq pool, the event
bus, rate limits, and the resolvers' runtime (the after-commit dispatcher)."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from redis.asyncio import Redis

from app.logs import request_id
from app.metrics import ACTIVE_SUBSCRIPTIONS
from app.settings import Settings
from jobs.bulk_operations import enqueue_operations
from jobs.outbox_delivery import enqueue_deliveries
from jobs.prints import enqueue_files
from models.audit import DomainEvent
from resolvers import runtime
from resolvers.errors import RateLimited

log = logging.getLogger(__name__)


def collect_garbage_less_often() -> None:
    """For the API and the worker once started. A nested answer allocates some 100k
    short-lived objects (nodes, dicts, strings), a batch of a bulk operation some 10k per
    2,000 leads (outcomes, events, rows): at CPython's default gen-0 threshold (700) that
    is a collection every few hundred, and every older-generation pass walks the whole
    long-lived heap (schema, ORM metadata) — a quarter of a big query's CPU time, and up
    to 0.25 s of a 10,000-lead mass update. Freezing what startup built takes it out of
    the collector's sight; a higher threshold collects the cycles in fewer passes."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)


def redis_url(settings: Settings) -> str:
    return settings.redis_url or f"unix://{settings.redis_socket.resolve()}"


def arq_settings(settings: Settings) -> RedisSettings:
    return RedisSettings.from_dsn(redis_url(settings))


def event_to_json(event: DomainEvent) -> str:
    return json.dumps(
        {
            "id": event.id,
            "organization_id": event.organization_id,
            "type": event.type,
            "record_type": event.record_type,
            "record_id": event.record_id,
            "payload": event.payload,
            "actor_kind": event.actor_kind,
            "actor_id": event.actor_id,
            "at": event.at.isoformat(),
        },
        default=str,
    )


def event_from_json(raw: str | bytes) -> DomainEvent:
    data = json.loads(raw)
    data["at"] = datetime.fromisoformat(data["at"])
    return DomainEvent(**data)


def runtime_for(
    settings: Settings, dispatcher: runtime.Dispatcher | None = None
) -> runtime.Runtime:
    """The resolvers' runtime, built from settings here only (secret, links, storage dir)."""
    return runtime.Runtime(
        secret_key=settings.effective_secret_key(),
        public_base_url=settings.public_base_url.rstrip("/"),
        smtp_from=settings.smtp_from,
        access_token_minutes=settings.access_token_minutes,
        storage_dir=settings.storage_dir,
        dispatcher=dispatcher or runtime.NullDispatcher(),
    )


def queue_name(settings: Settings) -> str:
    return f"{settings.redis_namespace}:queue"


def events_channel(namespace: str) -> str:
    return f"{namespace}:events"


class RedisDispatcher:
    """After commit: enqueue emails to arq (tagged with the request's id) and publish events."""

    def __init__(self, pool: ArqRedis, namespace: str) -> None:
        self.pool = pool
        self.namespace = namespace
        self.channel = events_channel(namespace)

    async def enqueue_emails(self, email_ids: list[int]) -> None:
        await enqueue_deliveries(self.pool, self.namespace, email_ids, request_id.get())

    async def enqueue_operations(self, operation_ids: list[int]) -> None:
        await enqueue_operations(
            self.pool, self.namespace, operation_ids, request_id=request_id.get()
        )

    async def enqueue_files(self, file_ids: list[int]) -> None:
        await enqueue_files(self.pool, self.namespace, file_ids)

    async def publish_events(self, events: list[DomainEvent]) -> None:
        try:
            async with self.pool.pipeline(transaction=False) as pipe:
                for event in events:
                    pipe.publish(self.channel, event_to_json(event))
                await pipe.execute()
        except Exception:  # noqa: BLE001 - subscribers replay from the table by id
            log.exception("publishing %d events failed", len(events))


class EventFeed:
    """One Redis subscription per process, fanned out to in-process subscriber queues."""

    def __init__(self, redis: Redis, channel: str) -> None:
        self.redis = redis
        self.channel = channel
        self.queues: dict[int, set[asyncio.Queue[DomainEvent]]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def _listen(self) -> None:
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self._ready.set()
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._fan_out(event_from_json(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - reconnect; subscribers fill gaps from the table
                log.exception("event feed lost its Redis subscription; reconnecting")
                await asyncio.sleep(1)

    def _fan_out(self, event: DomainEvent) -> None:
        for queue in self.queues.get(event.organization_id, ()):
            queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self, organization_id: int) -> AsyncIterator[asyncio.Queue[DomainEvent]]:
        if self._task is None:
            self._task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), timeout=10)
        queue: asyncio.Queue[DomainEvent] = asyncio.Queue()
        self.queues[organization_id].add(queue)
        ACTIVE_SUBSCRIPTIONS.inc()
        try:
            yield queue
        finally:
            ACTIVE_SUBSCRIPTIONS.dec()
            self.queues[organization_id].discard(queue)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task


class Services:
    """Everything a request needs beyond the database, built once per process."""

    def __init__(self, settings: Settings, pool: ArqRedis) -> None:
        self.settings = settings
        self.pool = pool
        self.feed = EventFeed(pool, events_channel(settings.redis_namespace))

    @classmethod
    async def start(cls, settings: Settings) -> Services:
        pool = await create_pool(arq_settings(settings), default_queue_name=queue_name(settings))
        services = cls(settings, pool)
        runtime.configure(runtime_for(settings, RedisDispatcher(pool, settings.redis_namespace)))
        return services

    async def close(self) -> None:
        await self.feed.close()
        await self.pool.aclose()

    def event_feed(self, organization_id: int):  # noqa: ANN201 - async context manager
        return self.feed.subscribe(organization_id)

    async def rate_limit(self, bucket: str, key: str, per_minute: int | None = None) -> None:
        """Fixed one-minute window per (bucket, key), shared by every process via Redis."""
        limit = per_minute or (
            self.settings.login_rate_per_minute
            if bucket == "login"
            else self.settings.public_rate_per_minute
        )
        window = int(runtime.now().timestamp() // 60)
        redis_key = f"{self.settings.redis_namespace}:rate:{bucket}:{key}:{window}"
        count = await self.pool.incr(redis_key)
        if count == 1:
            await self.pool.expire(redis_key, 120)
        if count > limit:
            raise RateLimited("too many attempts; try again in a minute")
