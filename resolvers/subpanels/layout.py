"""Each user's subpanel layout per record type: order and collapse state, kept on the
server (SPEC §8). An API key has no user: it always sees the default layout and cannot
store one. A stored order lists the panels the user placed; panels it does not name (one
added to the product later) follow in their default order, keys no longer in the product
are ignored."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from models.subpanels import SubpanelLayout
from resolvers.audit import record_changes, snapshot
from resolvers.context import Scope
from resolvers.errors import Forbidden, ValidationFailed
from resolvers.runtime import atomic
from resolvers.subpanels.registry import OwnerType, Panel, panel_of, panels_of

RECORD_TYPE = "subpanel_layout"
STORED_FIELDS = ("order", "collapsed")


@dataclass(frozen=True)
class PanelSetting:
    """A panel as one user sees it: in their order, collapsed or not."""

    panel: Panel
    collapsed: bool


@dataclass(frozen=True)
class Layout:
    owner_type: OwnerType
    panels: list[PanelSetting]
    stored: bool  # False: the default layout (nothing chosen by this user for this type)


def arrange(owner_type: OwnerType, stored: SubpanelLayout | None) -> Layout:
    panels = {panel.key: panel for panel in panels_of(owner_type)}
    order = [key for key in (stored.order if stored else []) if key in panels]
    order += [key for key in panels if key not in order]
    collapsed = stored.collapsed if stored else {}
    return Layout(
        owner_type,
        [PanelSetting(panels[k], bool(collapsed.get(k, panels[k].collapsed))) for k in order],
        bool(stored and (stored.order or stored.collapsed)),
    )


def layout_without_query(scope: Scope, owner_type: OwnerType) -> Layout | None:
    """The caller's layout when it needs no query: an API key's (no user: the default)."""
    return arrange(owner_type, None) if scope.actor.user_id is None else None


async def layouts(scope: Scope, owner_types: Sequence[OwnerType]) -> dict[OwnerType, Layout]:
    """The caller's layout of each record type (one query for all of them)."""
    user_id = scope.actor.user_id
    stored: dict[str, SubpanelLayout] = {}
    if user_id is not None:
        rows = scope.query(SubpanelLayout).filter(user_id=user_id, record_type__in=owner_types)
        stored = {row.record_type: row for row in await rows}
    return {t: arrange(t, stored.get(t.value)) for t in owner_types}


async def layout(scope: Scope, owner_type: OwnerType) -> Layout:
    return (await layouts(scope, [owner_type]))[owner_type]


def _user_of(scope: Scope) -> int:
    """The user whose layout changes. Any user may arrange their own panels, a VIEWER too
    (a display preference, not the organisation's data); an API key has no layout."""
    user_id = scope.actor.user_id
    if user_id is None:
        raise Forbidden(
            "subpanel layouts are stored per user: an API key always has the default layout"
        )
    return user_id


async def _change(
    scope: Scope, owner_type: OwnerType, edit: Callable[[SubpanelLayout], None]
) -> Layout:
    """Apply ``edit`` to the caller's stored layout (made on first use), with its change
    log row and event, in one transaction."""
    user_id = _user_of(scope)
    async with atomic():
        row, _ = await SubpanelLayout.get_or_create(
            organization_id=scope.organization_id, user_id=user_id, record_type=owner_type.value
        )
        row = await scope.query(SubpanelLayout).filter(id=row.id).select_for_update().get()
        before = snapshot(row, STORED_FIELDS)
        edit(row)
        await row.save(update_fields=[*STORED_FIELDS, "updated_at"])
        await record_changes(
            scope,
            RECORD_TYPE,
            row.id,
            before,
            snapshot(row, STORED_FIELDS),
            event="subpanel_layout.updated",
            payload={"id": row.id, "recordType": owner_type.value, "userId": user_id},
        )
        return arrange(owner_type, row)


async def set_collapsed(scope: Scope, owner_type: OwnerType, key: str, collapsed: bool) -> Layout:
    panel_of(owner_type, key)

    def edit(row: SubpanelLayout) -> None:
        row.collapsed = {**row.collapsed, key: collapsed}

    return await _change(scope, owner_type, edit)


async def reorder(scope: Scope, owner_type: OwnerType, keys: Sequence[str]) -> Layout:
    """``keys`` first, in that order; the panels not named keep their default order after."""
    if not keys:
        raise ValidationFailed("give the keys of the panels in their new order", field="keys")
    for i, key in enumerate(keys):
        panel_of(owner_type, key, field=f"keys.{i}")
        if key in keys[:i]:
            raise ValidationFailed(f"'{key}' is given twice", field=f"keys.{i}")

    def edit(row: SubpanelLayout) -> None:
        row.order = list(keys)

    return await _change(scope, owner_type, edit)


async def reset(scope: Scope, owner_type: OwnerType) -> Layout:
    """Back to the default order and collapse state."""

    def edit(row: SubpanelLayout) -> None:
        row.order, row.collapsed = [], {}

    return await _change(scope, owner_type, edit)
