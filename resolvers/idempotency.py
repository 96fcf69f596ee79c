"""Scripted bulk mutations with an ``idempotencyKey``: a retry returns the first result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tortoise.exceptions import IntegrityError

from models.audit import IdempotencyRecord
from resolvers.context import Scope
from resolvers.runtime import atomic


async def run_once(
    scope: Scope,
    operation: str,
    key: str | None,
    produce: Callable[[], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """Run ``produce`` (one transaction) unless ``key`` was already used for ``operation``."""
    if not key:
        async with atomic():
            return await produce()
    previous = await scope.query(IdempotencyRecord).filter(operation=operation, key=key).first()
    if previous is not None:
        return previous.result
    try:
        async with atomic():
            result = await produce()
            await scope.create(IdempotencyRecord, operation=operation, key=key, result=result)
            return result
    except IntegrityError:
        # A concurrent retry with the same key committed first: its writes stand, ours rolled back.
        winner = await scope.query(IdempotencyRecord).filter(operation=operation, key=key).first()
        if winner is None:
            raise
        return winner.result
