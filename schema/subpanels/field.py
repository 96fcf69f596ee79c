"""The ``subpanels`` field every record type with subpanels declares in one line:
``subpanels = subpanels_field(OwnerType.LEAD)``. The panel types are imported when the
field runs: they list those record types in their union."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from resolvers.subpanels.registry import OwnerType
from schema.context import Info
from schema.execution import BUILT_IN_SQL

if TYPE_CHECKING:
    from schema.subpanels.types import Subpanel

SubpanelRef = Annotated["Subpanel", strawberry.lazy("schema.subpanels.types")]


def subpanels_field(owner_type: OwnerType) -> Any:
    async def subpanels(
        root: strawberry.Parent[Any],
        info: Info,
        keys: Annotated[
            list[str] | None,
            strawberry.argument(description="Only these panels (still in the caller's order)."),
        ] = None,
    ) -> list[SubpanelRef]:
        from schema.subpanels.types import subpanels_of

        return await subpanels_of(info, owner_type, root.id, keys)

    return strawberry.field(
        resolver=subpanels,
        # Without keys, schema/json_sql.py builds the panels in a page's statement.
        metadata={BUILT_IN_SQL: True},
        description="Related-record subpanels (notes, tasks, documents, emails, change "
        "log…) in the caller's order, with their collapse state.",
    )
