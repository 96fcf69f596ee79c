"""Subpanel mutations: "Créer" (createRelated), "Sélectionner" and unlink (on the bulk
contract, one item per target), note and task edits and deletion, and the caller's layout."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from strawberry import relay

from resolvers import bulk
from resolvers.bulk import BulkResult
from resolvers.subpanels import layout, related
from resolvers.subpanels.loaders import panel_counts
from resolvers.subpanels.records import NOTE, TASK, update_record
from resolvers.subpanels.registry import Panel, RelatedKind
from resolvers.subpanels.related import MAX_TARGETS, Owner
from schema.bulk import BulkPayload, ErrorPolicy
from schema.common import DeleteResult, deleted
from schema.context import Info
from schema.documents import Document
from schema.relay import db_id
from schema.subpanels.inputs import (
    RelatedRecordInput,
    UpdateNoteInput,
    UpdateTaskInput,
    owner_of,
    target_ids,
)
from schema.subpanels.records import Note, Task
from schema.subpanels.types import (
    NODES,
    RelatedRecord,
    Subpanel,
    SubpanelLayout,
    SubpanelRecordType,
)

# The GraphQL type of the records of each kind of panel whose records can be selected.
TARGET_TYPES: dict[RelatedKind, type] = {
    RelatedKind.NOTE: Note,
    RelatedKind.TASK: Task,
    RelatedKind.DOCUMENT: Document,
}
TargetsWrite = Callable[..., Awaitable[BulkResult]]


@strawberry.type
class CreateRelatedPayload:
    record: RelatedRecord
    subpanel: Subpanel = strawberry.field(description="The owner's panel the record shows in.")


@strawberry.type
class RelatedTargetsPayload(BulkPayload[RelatedRecord]):
    pass


async def _subpanel(info: Info, owner: Owner, panel: Panel) -> Subpanel:
    scope = info.context.require_scope()
    # Counted now: an earlier mutation of the same request may have cached an older count.
    counts = await panel.source.counts(scope, owner.type, [owner.id])
    count = counts.get(owner.id, 0)
    info.context.loader(panel_counts).prime((owner.type, panel.key, owner.id), count, force=True)
    found = await layout.layout(scope, owner.type)
    setting = next(s for s in found.panels if s.panel is panel)
    return Subpanel.of(setting, owner.type, owner.id, info.context.locale, count)


async def _on_targets(
    info: Info,
    owner_id: relay.GlobalID,
    key: str,
    ids: list[relay.GlobalID],
    policy: bulk.ErrorPolicy,
    idempotency_key: str | None,
    write: TargetsWrite,
) -> RelatedTargetsPayload:
    scope = info.context.require_writer()
    owner = owner_of(owner_id)
    panel = related.selectable_panel(owner, key)
    node_type = TARGET_TYPES[panel.kind]
    targets = target_ids(ids, node_type.__name__)
    result = await write(scope, owner, key, targets, policy, idempotency_key)
    rows = await scope.get_many(panel.source.model, result.written_ids)
    nodes = await NODES[panel.kind](info, [row for row in rows if row is not None])
    by_id = {node.id: node for node in nodes}
    records = [by_id.get(i) for i in result.written_ids]
    return RelatedTargetsPayload.of(result, node_type.__name__, records)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description='"Créer": a new note or task attached to the record, or a document '
        "uploaded beforehand (uploadDocument) attached to it."
    )
    async def create_related(
        self, info: Info, owner_id: relay.GlobalID, input: RelatedRecordInput
    ) -> CreateRelatedPayload:
        scope = info.context.require_writer()
        owner = owner_of(owner_id)
        if input.note:
            panel, row = await related.create_related(scope, owner, NOTE, input.note.values())
        elif input.task:
            panel, row = await related.create_related(scope, owner, TASK, input.task.values())
        else:
            assert input.document  # the input is @oneOf: exactly one is given
            document_id = db_id(input.document.document_id, Document, field="documentId")
            panel, row = await related.attach_document(scope, owner, document_id)
        (record,) = await NODES[panel.kind](info, [row])
        return CreateRelatedPayload(record=record, subpanel=await _subpanel(info, owner, panel))

    @strawberry.mutation(
        description='"Sélectionner": attach existing records to the record\'s panel `key` '
        f"(at most {MAX_TARGETS}). One item per target: LINKED, or UNCHANGED when already "
        "attached; a missing or foreign target, or one of another kind, is NOT_FOUND."
    )
    async def link_related(
        self,
        info: Info,
        owner_id: relay.GlobalID,
        key: str,
        target_ids: list[relay.GlobalID],
        error_policy: ErrorPolicy = bulk.ErrorPolicy.REJECT_EVERYTHING,  # type: ignore[valid-type]
        idempotency_key: str | None = None,
    ) -> RelatedTargetsPayload:
        return await _on_targets(
            info, owner_id, key, target_ids, error_policy, idempotency_key, related.link_related
        )

    @strawberry.mutation(
        description="Detach records from the record's panel `key` without deleting them "
        f"(at most {MAX_TARGETS}): UNLINKED, or UNCHANGED when they were not attached."
    )
    async def unlink_related(
        self,
        info: Info,
        owner_id: relay.GlobalID,
        key: str,
        target_ids: list[relay.GlobalID],
        error_policy: ErrorPolicy = bulk.ErrorPolicy.REJECT_EVERYTHING,  # type: ignore[valid-type]
        idempotency_key: str | None = None,
    ) -> RelatedTargetsPayload:
        return await _on_targets(
            info, owner_id, key, target_ids, error_policy, idempotency_key, related.unlink_related
        )

    @strawberry.mutation(description="Partial update; a stale version is refused.")
    async def update_note(self, info: Info, input: UpdateNoteInput) -> Note:
        scope = info.context.require_writer()
        row = await update_record(
            scope, NOTE, db_id(input.id, Note), input.version, input.changes()
        )
        return Note.from_row(row)

    @strawberry.mutation(description="Partial update; a stale version is refused.")
    async def update_task(self, info: Info, input: UpdateTaskInput) -> Task:
        scope = info.context.require_writer()
        row = await update_record(
            scope, TASK, db_id(input.id, Task), input.version, input.changes()
        )
        return Task.from_row(row)

    @strawberry.mutation(description="Delete a note; every record it was attached to logs it.")
    async def delete_note(self, info: Info, id: relay.GlobalID) -> DeleteResult:
        scope = info.context.require_writer()
        return deleted(Note, await related.delete_record(scope, NOTE, db_id(id, Note)))

    @strawberry.mutation(description="Delete a task; every record it was attached to logs it.")
    async def delete_task(self, info: Info, id: relay.GlobalID) -> DeleteResult:
        scope = info.context.require_writer()
        return deleted(Task, await related.delete_record(scope, TASK, db_id(id, Task)))

    @strawberry.mutation(
        description="Collapse or expand a subpanel of a record type, for the caller only. "
        "Layouts are stored per user: an API key always has the default one (FORBIDDEN)."
    )
    async def set_subpanel_collapsed(
        self,
        info: Info,
        record_type: SubpanelRecordType,  # type: ignore[valid-type]
        key: str,
        collapsed: bool,
    ) -> SubpanelLayout:
        found = await layout.set_collapsed(
            info.context.require_scope(), record_type, key, collapsed
        )
        return SubpanelLayout.of(found, info.context.locale)

    @strawberry.mutation(
        description="The caller's order of a record type's subpanels: `keys` first, the "
        "panels not named after them in their default order (FORBIDDEN for an API key)."
    )
    async def reorder_subpanels(
        self,
        info: Info,
        record_type: SubpanelRecordType,  # type: ignore[valid-type]
        keys: list[str],
    ) -> SubpanelLayout:
        found = await layout.reorder(info.context.require_scope(), record_type, keys)
        return SubpanelLayout.of(found, info.context.locale)

    @strawberry.mutation(description="The caller's layout of a record type back to the default.")
    async def reset_subpanel_layout(
        self,
        info: Info,
        record_type: SubpanelRecordType,  # type: ignore[valid-type]
    ) -> SubpanelLayout:
        found = await layout.reset(info.context.require_scope(), record_type)
        return SubpanelLayout.of(found, info.context.locale)
