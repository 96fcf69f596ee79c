"""Optimistic concurrency for updates: the caller sends the ``version`` it read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from tortoise.expressions import F

from models.base import TenantModel
from resolvers.audit import snapshot
from resolvers.context import Scope
from resolvers.errors import StaleVersion
from resolvers.runtime import now

M = TypeVar("M", bound=TenantModel)


async def lock_at_version(scope: Scope, model: type[M], id: int, version: int | None) -> M:
    """The row, locked for the transaction; a ``version`` other than the stored one is stale."""
    row = await scope.get(model, id, for_update=True)
    if version is not None and row.version != version:
        raise StaleVersion(
            f"{model.__name__} {id} was changed by someone else (version {row.version}, "
            f"yours {version}): reload it",
            field="version",
            currentVersion=row.version,
        )
    return row


async def update_versioned(scope: Scope, row: M, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Write ``changes`` as one conditional UPDATE … WHERE version = the row's version.

    Returns the values before the change (for the change log); updates ``row`` in place.
    """
    before = snapshot(row, changes)
    model = type(row)
    written = await (
        scope.query(model)
        .filter(id=row.id, version=row.version)
        .update(**changes, version=F("version") + 1, updated_at=now())
    )
    if not written:
        raise StaleVersion(
            f"{model.__name__} {row.id} was changed meanwhile: reload it", field="version"
        )
    for name, value in changes.items():
        setattr(row, name, value)
    row.version += 1
    return before
