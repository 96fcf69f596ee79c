"""Per-request batches for the subpanels of a whole page of records: every panel count
asked in the same tick costs one grouped COUNT per (record type, panel), and the caller's
layouts one query (registered through ``info.context.loader``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from resolvers.context import Scope
from resolvers.subpanels.layout import Layout, layouts
from resolvers.subpanels.registry import OwnerType, panel_of

CountKey = tuple[OwnerType, str, int]  # (owner type, panel key, owner id)


def panel_counts(scope: Scope) -> DataLoader[CountKey, int]:
    async def load(keys: Sequence[CountKey]) -> list[int]:
        owners: dict[tuple[OwnerType, str], set[int]] = defaultdict(set)
        for owner_type, key, owner_id in keys:
            owners[(owner_type, key)].add(owner_id)
        counts: dict[CountKey, int] = {}
        for (owner_type, key), ids in owners.items():
            source = panel_of(owner_type, key).source
            found = await source.counts(scope, owner_type, sorted(ids))
            counts.update({(owner_type, key, i): n for i, n in found.items()})
        return [counts.get(k, 0) for k in keys]

    return DataLoader(load_fn=load)


def panel_layouts(scope: Scope) -> DataLoader[OwnerType, Layout]:
    async def load(owner_types: Sequence[OwnerType]) -> list[Layout]:
        found = await layouts(scope, owner_types)
        return [found[t] for t in owner_types]

    return DataLoader(load_fn=load)
