"""Process-wide services the business rules need, set once by ``app`` (or a test).

``atomic()`` opens the one transaction a multi-row write runs in and, once it has
committed, hands the emails and events it wrote to the dispatcher (enqueue to arq,
publish on Redis). A rolled-back unit dispatches nothing: the rows are gone too.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from tortoise.transactions import in_transaction

from models.audit import DomainEvent


class Dispatcher(Protocol):
    async def enqueue_emails(self, email_ids: list[int]) -> None: ...

    async def enqueue_operations(self, operation_ids: list[int]) -> None: ...

    async def enqueue_files(self, file_ids: list[int]) -> None: ...

    async def publish_events(self, events: list[DomainEvent]) -> None: ...


class NullDispatcher:
    """Dispatches nothing: the outbox sweep picks queued emails up later."""

    async def enqueue_emails(self, email_ids: list[int]) -> None:
        return None

    async def enqueue_operations(self, operation_ids: list[int]) -> None:
        return None  # the operations' sweep resumes queued operations later

    async def enqueue_files(self, file_ids: list[int]) -> None:
        return None  # the generated files' sweep picks queued files up later

    async def publish_events(self, events: list[DomainEvent]) -> None:
        return None


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    secret_key: str
    public_base_url: str = "http://127.0.0.1:8000"
    smtp_from: str = "Trainhub <no-reply@trainhub.localhost>"
    access_token_minutes: int = 720
    storage_dir: Path = Path("var/storage")  # where documents' files are kept
    dispatcher: Dispatcher = field(default_factory=NullDispatcher)
    clock: Callable[[], datetime] = utc_now


_runtime: Runtime | None = None


def configure(runtime: Runtime) -> None:
    global _runtime
    _runtime = runtime


def current() -> Runtime:
    if _runtime is None:
        raise RuntimeError("resolvers.runtime.configure() was not called")
    return _runtime


def now() -> datetime:
    return current().clock()


@dataclass
class Unit:
    """What a transaction wrote that must be dispatched after it commits."""

    email_ids: list[int] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)
    operation_ids: list[int] = field(default_factory=list)  # bulk operations for the worker
    file_ids: list[int] = field(default_factory=list)  # files the worker generates (prints)

    async def dispatch(self) -> None:
        dispatcher = current().dispatcher
        if self.email_ids:
            await dispatcher.enqueue_emails(self.email_ids)
        if self.operation_ids:
            await dispatcher.enqueue_operations(self.operation_ids)
        if self.file_ids:
            await dispatcher.enqueue_files(self.file_ids)
        if self.events:
            await dispatcher.publish_events(self.events)


_unit: contextvars.ContextVar[Unit | None] = contextvars.ContextVar("unit", default=None)


@asynccontextmanager
async def atomic() -> AsyncIterator[Unit]:
    """One transaction; a nested call is a savepoint of the outer one and joins its dispatch."""
    outer = _unit.get()
    if outer is not None:
        # A savepoint: if it rolls back, so does what it queued for dispatch.
        emails, events = len(outer.email_ids), len(outer.events)
        operations, files = len(outer.operation_ids), len(outer.file_ids)
        try:
            async with in_transaction():
                yield outer
        except BaseException:
            del outer.email_ids[emails:], outer.events[events:]
            del outer.operation_ids[operations:], outer.file_ids[files:]
            raise
        return
    unit = Unit()
    token = _unit.set(unit)
    try:
        async with in_transaction():
            yield unit
    finally:
        _unit.reset(token)
    await unit.dispatch()


def current_unit() -> Unit:
    unit = _unit.get()
    if unit is None:
        raise RuntimeError("emails and events are written inside resolvers.runtime.atomic()")
    return unit
