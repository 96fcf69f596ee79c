"""The one link mechanism between a record and its related records (notes, emails…)."""

from __future__ import annotations

from typing import cast

from models.records import RecordLink
from resolvers.context import Scope


async def link(scope: Scope, owner: tuple[str, int], target: tuple[str, int]) -> bool:
    """Relate ``owner`` to ``target``; False when they already were."""
    _, created = await RecordLink.get_or_create(
        organization_id=scope.organization_id,
        owner_type=owner[0],
        owner_id=owner[1],
        target_type=target[0],
        target_id=target[1],
    )
    return created


async def unlink(scope: Scope, owner: tuple[str, int], target: tuple[str, int]) -> int:
    return (
        await scope.query(RecordLink)
        .filter(owner_type=owner[0], owner_id=owner[1], target_type=target[0], target_id=target[1])
        .delete()
    )


async def linked_ids(scope: Scope, owner: tuple[str, int], target_type: str) -> list[int]:
    ids = await (
        scope.query(RecordLink)
        .filter(owner_type=owner[0], owner_id=owner[1], target_type=target_type)
        .order_by("id")
        .values_list("target_id", flat=True)
    )
    return cast(list[int], ids)
