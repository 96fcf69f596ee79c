"""The caller's subpanel layout of a record type (the panels themselves are fields of
each record: ``subpanels``)."""

from __future__ import annotations

import strawberry

from schema.context import Info
from schema.subpanels.types import SubpanelLayout, SubpanelRecordType, layout_of


@strawberry.type
class Query:
    @strawberry.field(
        description="The caller's order and collapse state of a record type's subpanels."
    )
    async def subpanel_layout(
        self,
        info: Info,
        record_type: SubpanelRecordType,  # type: ignore[valid-type]
    ) -> SubpanelLayout:
        return await layout_of(info, record_type)
