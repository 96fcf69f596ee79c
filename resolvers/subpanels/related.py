"""Create / Select / unlink on a record's subpanels (SPEC §8), and deleting a note or task.

Every change locks the owner (a merge of the same lead waits, or is waited for), writes
the links, a change-log row on the owner and its event in one transaction. Owners and
targets are read through the caller's scope: a record of another organisation answers
like a missing one, so nothing can ever be linked across organisations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models.records import Document, RecordLink
from resolvers.audit import record_action
from resolvers.bulk import BulkCall, BulkResult, ErrorPolicy, Written, run_bulk
from resolvers.context import Scope
from resolvers.errors import NotFound, ValidationFailed, WrongState
from resolvers.links import link, unlink
from resolvers.runtime import atomic
from resolvers.subpanels.records import RecordKind, create_record
from resolvers.subpanels.registry import (
    OWNER_MODELS,
    OwnerType,
    Panel,
    RelatedKind,
    panel_of,
    panel_of_kind,
)
from resolvers.subpanels.sources import Linked

MAX_TARGETS = 100


@dataclass(frozen=True)
class Owner:
    type: OwnerType
    id: int

    @property
    def link_end(self) -> tuple[str, int]:
        return (self.type.value, self.id)


async def lock_owner(scope: Scope, owner: Owner) -> None:
    """The owner row locked; missing or foreign: NOT_FOUND; a deleted lead: WRONG_STATE."""
    model = OWNER_MODELS[owner.type]
    row = await scope.query(model).filter(id=owner.id).select_for_update().first()
    if row is None:
        raise NotFound(f"{owner.type.value} {owner.id} not found", field="ownerId")
    if getattr(row, "deleted_at", None) is not None:
        raise WrongState("this record is deleted: restore it first", field="ownerId")


def _linked_source(panel: Panel) -> Linked:
    assert isinstance(panel.source, Linked)  # creatable and selectable panels are Linked
    return panel.source


def _title(panel: Panel, row: Any) -> str:
    return str(getattr(row, _linked_source(panel).title[0]))[:200]


async def _log(scope: Scope, owner: Owner, action: str, panel: Panel, target: Any) -> None:
    """The owner's change log says what was attached or detached (``note 12``, its title)."""
    kind = panel.kind.value
    await record_action(
        scope,
        owner.type.value,
        owner.id,
        action,
        new_value=f"{kind} {target.id}",
        reason=_title(panel, target),
        event=f"{owner.type.value}.related_{action}ed",
        payload={"id": owner.id, "targetType": kind, "targetId": target.id},
    )


async def create_related(
    scope: Scope, owner: Owner, kind: RecordKind, values: Mapping[str, Any]
) -> tuple[Panel, Any]:
    """The "Créer" action: a new note or task attached to ``owner``; its panel and it."""
    scope.require_write()
    panel = panel_of_kind(owner.type, kind.kind)
    async with atomic():
        await lock_owner(scope, owner)
        return panel, await _attach(scope, owner, panel, await create_record(scope, kind, values))


async def attach_document(scope: Scope, owner: Owner, document_id: int) -> tuple[Panel, Any]:
    """The "Créer" action for a document: one uploaded beforehand, attached to ``owner``
    (once: attaching it again changes nothing)."""
    scope.require_write()
    panel = panel_of_kind(owner.type, RelatedKind.DOCUMENT)
    async with atomic():
        await lock_owner(scope, owner)
        document = await scope.query(Document).filter(id=document_id).first()
        if document is None:
            raise NotFound(f"document {document_id} not found", field="documentId")
        return panel, await _attach(scope, owner, panel, document)


async def _attach(scope: Scope, owner: Owner, panel: Panel, target: Any) -> Any:
    if await link(scope, owner.link_end, (panel.kind.value, target.id)):
        await _log(scope, owner, "link", panel, target)
    return target


def selectable_panel(owner: Owner, key: str) -> Panel:
    """The panel `key` of the owner, if its records can be attached and detached by hand."""
    panel = panel_of(owner.type, key)
    if not panel.selectable:
        raise ValidationFailed(
            f"the records of the '{key}' subpanel cannot be attached or detached by hand",
            field="key",
        )
    return panel


async def _target(scope: Scope, panel: Panel, target_id: int | None) -> Any:
    """The target as a bulk item, locked (a note being deleted is then gone, not left
    linked); missing, foreign or of another kind: NOT_FOUND."""
    rows = scope.query(_linked_source(panel).model).filter(id=target_id).select_for_update()
    row = await rows.first() if target_id else None
    if row is None:
        kind = panel.kind.value
        raise NotFound(f"{kind} {target_id} not found" if target_id else f"not a {kind} id")
    return row


async def _on_targets(
    scope: Scope,
    owner: Owner,
    key: str,
    target_ids: Sequence[int | None],
    policy: ErrorPolicy,
    idempotency_key: str | None,
    *,
    attach: bool,
) -> BulkResult:
    scope.require_write()
    panel = selectable_panel(owner, key)
    name = "linkRelated" if attach else "unlinkRelated"
    call = BulkCall(
        f"{name}:{owner.type.value}:{owner.id}:{key}",
        target_ids,
        policy,
        idempotency_key,
        MAX_TARGETS,
        field="targetIds",
    )
    async with atomic():
        await lock_owner(scope, owner)

        async def write(target_id: int | None, lenient: bool) -> Written:
            target = await _target(scope, panel, target_id)
            end = (panel.kind.value, target.id)
            changed = (
                await link(scope, owner.link_end, end)
                if attach
                else bool(await unlink(scope, owner.link_end, end))
            )
            if not changed:
                return Written(target.id, outcome="UNCHANGED")
            await _log(scope, owner, "link" if attach else "unlink", panel, target)
            return Written(target.id, outcome="LINKED" if attach else "UNLINKED")

        return await run_bulk(scope, call, write)


async def link_related(
    scope: Scope,
    owner: Owner,
    key: str,
    target_ids: Sequence[int | None],
    policy: ErrorPolicy = ErrorPolicy.REJECT_EVERYTHING,
    idempotency_key: str | None = None,
) -> BulkResult:
    """The "Sélectionner" action: attach existing records to the ``key`` panel of
    ``owner``, one bulk item each (outcome LINKED, or UNCHANGED when already there;
    ``None``: an id that names no record of that kind, NOT_FOUND)."""
    return await _on_targets(scope, owner, key, target_ids, policy, idempotency_key, attach=True)


async def unlink_related(
    scope: Scope,
    owner: Owner,
    key: str,
    target_ids: Sequence[int | None],
    policy: ErrorPolicy = ErrorPolicy.REJECT_EVERYTHING,
    idempotency_key: str | None = None,
) -> BulkResult:
    """Detach records from the panel without deleting them (UNLINKED, or UNCHANGED when
    they were not attached)."""
    return await _on_targets(scope, owner, key, target_ids, policy, idempotency_key, attach=False)


async def delete_record(scope: Scope, record: RecordKind, id: int) -> int:
    """Delete a note or task; each record it was attached to logs the removal."""
    scope.require_write()
    async with atomic():
        row = await scope.get(record.model, id, for_update=True)
        kind = record.kind.value
        links = scope.query(RecordLink).filter(target_type=kind, target_id=row.id)
        owners = await links.order_by("id").values_list("owner_type", "owner_id")
        await links.delete()
        for owner_type, owner_id in owners:
            owner = Owner(OwnerType(owner_type), owner_id)
            await _log(scope, owner, "unlink", panel_of_kind(owner.type, record.kind), row)
        await record_action(scope, kind, row.id, "delete", event=f"{kind}.deleted")
        await row.delete()
    return row.id
