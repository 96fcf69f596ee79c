"""Per-request batches for the subpanels of a whole page of records: every panel count
asked in the same tick is counted in one statement (a grouped COUNT per (record type,
panel), UNION ALL), and the caller's layouts in one query (registered through
``info.context.loader``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from resolvers.context import Scope
from resolvers.subpanels.layout import Layout, layouts
from resolvers.subpanels.registry import OwnerType, panel_of
from resolvers.subpanels.sources import Part, count_together

CountKey = tuple[OwnerType, str, int]  # (owner type, panel key, owner id)


def panel_counts(scope: Scope) -> DataLoader[CountKey, int]:
    async def load(keys: Sequence[CountKey]) -> list[int]:
        owners: dict[tuple[OwnerType, str], set[int]] = defaultdict(set)
        for owner_type, key, owner_id in keys:
            owners[(owner_type, key)].add(owner_id)
        counts: dict[tuple[OwnerType, str], dict[int, int]] = {}
        together: dict[tuple[OwnerType, str], Part] = {}
        for (owner_type, key), ids in owners.items():
            source = panel_of(owner_type, key).source
            if source.counted_at_once:
                together[(owner_type, key)] = (source, owner_type, sorted(ids))
            else:
                counts[(owner_type, key)] = await source.counts(scope, owner_type, sorted(ids))
        if together:
            found = await count_together(scope, list(together.values()))
            counts.update(zip(together, found, strict=True))
        return [counts[(owner_type, key)].get(owner_id, 0) for owner_type, key, owner_id in keys]

    return DataLoader(load_fn=load)


def panel_layouts(scope: Scope) -> DataLoader[OwnerType, Layout]:
    async def load(owner_types: Sequence[OwnerType]) -> list[Layout]:
        found = await layouts(scope, owner_types)
        return [found[t] for t in owner_types]

    return DataLoader(load_fn=load)
