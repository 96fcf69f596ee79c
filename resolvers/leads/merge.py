"""Merge duplicate leads into a primary, and undo a merge (SPEC §7).

One transaction with the leads locked in id order (two merges sharing a lead queue up
instead of deadlocking; the second then sees the lead already merged). Every link the
duplicates own or are the target of moves to the primary; a journal keeps the primary's
replaced values, the duplicates' versions and every moved or dropped link, so that
``undo_merge`` puts them back exactly, or refuses when they have changed since.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.leads import Lead, MergeJournal
from models.records import RecordLink
from resolvers.audit import log_changes, record_action
from resolvers.context import Scope
from resolvers.errors import Conflict, NotFound, ValidationFailed, WrongState
from resolvers.leads.fields import EDITABLE_FIELDS, deserialise, serialise
from resolvers.leads.records import RECORD_TYPE, mark_deleted, save_changes
from resolvers.runtime import atomic, now

MAX_DUPLICATES = 20


class AlreadyMerged(Conflict):
    code = "ALREADY_MERGED"


class UndoConflict(Conflict):
    code = "MERGE_UNDO_CONFLICT"


def _is_blank(value: Any) -> bool:
    return value is None or value == ""


def kept_values(
    primary: Lead, duplicates: list[Lead], choices: Mapping[str, int]
) -> tuple[dict[str, Any], dict[str, int]]:
    """Each field's kept value and the id of the lead it comes from: the chosen lead, else
    the primary, else (when the primary's is blank) the first duplicate that has one."""
    by_id = {lead.id: lead for lead in (primary, *duplicates)}
    values: dict[str, Any] = {}
    origins: dict[str, int] = {}
    for field in EDITABLE_FIELDS:
        source = by_id[choices[field]] if field in choices else primary
        if field not in choices and _is_blank(getattr(primary, field)):
            source = next((d for d in duplicates if not _is_blank(getattr(d, field))), primary)
        values[field], origins[field] = getattr(source, field), source.id
    return values, origins


def _check_request(primary_id: int, duplicate_ids: list[int], choices: Mapping[str, int]) -> None:
    if not duplicate_ids:
        raise ValidationFailed("choose at least one duplicate", field="duplicateIds")
    if len(duplicate_ids) > MAX_DUPLICATES:
        raise ValidationFailed(f"at most {MAX_DUPLICATES} duplicates at once", field="duplicateIds")
    if primary_id in duplicate_ids or len(set(duplicate_ids)) != len(duplicate_ids):
        raise ValidationFailed(
            "the primary and the duplicates must all differ", field="duplicateIds"
        )
    for field, source in choices.items():
        if field not in EDITABLE_FIELDS:
            raise ValidationFailed(f"{field} cannot be chosen in a merge", field="fieldChoices")
        if source != primary_id and source not in duplicate_ids:
            raise ValidationFailed(
                f"{field}: choose the primary or one of the duplicates", field="fieldChoices"
            )


async def _locked(scope: Scope, ids: list[int]) -> dict[int, Lead]:
    rows = await scope.query(Lead).filter(id__in=ids).select_for_update().order_by("id")
    found = {row.id: row for row in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"lead {missing[0]} not found", field="duplicateIds")
    return found


async def merge_leads(
    scope: Scope, primary_id: int, duplicate_ids: list[int], choices: Mapping[str, int]
) -> MergeJournal:
    scope.require_write()
    _check_request(primary_id, duplicate_ids, choices)
    async with atomic():
        leads = await _locked(scope, sorted([primary_id, *duplicate_ids]))
        for lead in leads.values():
            if lead.deleted_at is not None:
                raise AlreadyMerged(
                    f"lead {lead.id} is deleted or already merged: reload the list",
                    field="duplicateIds" if lead.id != primary_id else "primaryId",
                    leadId=lead.id,
                )
        primary, duplicates = leads[primary_id], [leads[i] for i in duplicate_ids]
        if any(d.converted_contact_id is not None for d in duplicates):
            raise WrongState("a converted lead can only be the primary", field="duplicateIds")
        journal = await _merge_fields(scope, primary, duplicates, choices)
        moved, dropped = await _move_links(scope, primary.id, duplicate_ids)
        merged_at = now()
        for duplicate in duplicates:
            await mark_deleted(scope, duplicate, merged_at, merged_into=primary.id)
            await record_action(
                scope,
                RECORD_TYPE,
                duplicate.id,
                "merged_into",
                new_value=primary.id,
                event="lead.deleted",
                payload={"mergedInto": primary.id},
            )
        journal.duplicate_versions = {str(d.id): d.version for d in duplicates}
        journal.moved_links, journal.dropped_links = moved, dropped
        await journal.save()
        await record_action(
            scope,
            RECORD_TYPE,
            primary.id,
            "merge",
            reason=f"merged leads {', '.join(map(str, duplicate_ids))} (merge {journal.id})",
            event="lead.merged",
            payload={
                "mergeId": journal.id,
                "duplicateIds": duplicate_ids,
                "movedLinks": len(moved),
            },
        )
    return journal


async def _merge_fields(
    scope: Scope, primary: Lead, duplicates: list[Lead], choices: Mapping[str, int]
) -> MergeJournal:
    """Copy the kept values to the primary, logging each field with the lead it came from."""
    values, origins = kept_values(primary, duplicates, choices)
    before = {f: getattr(primary, f) for f in values if getattr(primary, f) != values[f]}
    diff = await save_changes(scope, primary, values, action="merge", log=False)
    for origin in sorted({origins[f] for f in diff}):
        fields = [f for f in diff if origins[f] == origin]
        await log_changes(
            scope,
            RECORD_TYPE,
            primary.id,
            {f: before[f] for f in fields},
            {f: diff[f] for f in fields},
            action="merge",
            reason=f"from lead {origin}",
        )
    return MergeJournal(
        organization_id=scope.organization_id,
        primary_id=primary.id,
        duplicate_ids=[d.id for d in duplicates],
        field_origins={f: origins[f] for f in diff},
        primary_before=serialise(before),
        primary_after=serialise(diff),
    )


async def _move_links(
    scope: Scope, primary_id: int, duplicate_ids: list[int]
) -> tuple[list[list[Any]], list[list[Any]]]:
    """Re-point every link of the duplicates to the primary; a link the primary already
    has is dropped instead (the journal keeps both kinds)."""
    moved: list[list[Any]] = []
    dropped: list[list[Any]] = []
    for side, other in (("owner", "target"), ("target", "owner")):
        links = (
            await scope.query(RecordLink)
            .filter(**{f"{side}_type": RECORD_TYPE, f"{side}_id__in": [primary_id, *duplicate_ids]})
            .order_by("id")
            .select_for_update()
        )
        held = {
            (getattr(link, f"{other}_type"), getattr(link, f"{other}_id"))
            for link in links
            if getattr(link, f"{side}_id") == primary_id
        }
        to_move: list[int] = []
        for link in links:
            from_id = getattr(link, f"{side}_id")
            if from_id == primary_id:
                continue
            other_end = (getattr(link, f"{other}_type"), getattr(link, f"{other}_id"))
            if other_end in held:
                dropped.append(
                    [link.id, link.owner_type, link.owner_id, link.target_type, link.target_id]
                )
                await link.delete()
                continue
            held.add(other_end)
            to_move.append(link.id)
            moved.append([link.id, side, from_id])
        if to_move:
            await (
                scope.query(RecordLink).filter(id__in=to_move).update(**{f"{side}_id": primary_id})
            )
    return moved, dropped


async def undo_merge(scope: Scope, merge_id: int) -> MergeJournal:
    scope.require_write()
    async with atomic():
        journal = await scope.get(MergeJournal, merge_id, for_update=True)
        if journal.undone_at is not None:
            raise WrongState("this merge was already undone", field="mergeId")
        leads = await _locked(scope, sorted([journal.primary_id, *journal.duplicate_ids]))
        primary = leads[journal.primary_id]
        conflicts = _undo_conflicts(journal, primary, leads)
        links = {
            link.id: link
            for link in await scope.query(RecordLink)
            .filter(id__in=[m[0] for m in journal.moved_links])
            .select_for_update()
        }
        conflicts += [
            f"link {link_id} was removed or moved since the merge"
            for link_id, side, _ in journal.moved_links
            if link_id not in links or getattr(links[link_id], f"{side}_id") != primary.id
        ]
        if conflicts:
            raise UndoConflict(
                "the merged records changed since: " + "; ".join(conflicts),
                field="mergeId",
                conflicts=conflicts,
            )
        await _put_back(scope, journal, primary, leads)
    return journal


def _undo_conflicts(journal: MergeJournal, primary: Lead, leads: Mapping[int, Lead]) -> list[str]:
    conflicts = []
    if primary.deleted_at is not None:
        conflicts.append(f"lead {primary.id} was deleted")
    current = serialise({f: getattr(primary, f) for f in journal.primary_after})
    conflicts += [
        f"lead {primary.id}: {field} was edited"
        for field, value in journal.primary_after.items()
        if current[field] != value
    ]
    for duplicate_id in journal.duplicate_ids:
        duplicate = leads[duplicate_id]
        if (
            duplicate.merged_into_id != primary.id
            or duplicate.version != journal.duplicate_versions[str(duplicate_id)]
        ):
            conflicts.append(f"lead {duplicate_id} changed")
    return conflicts


async def _put_back(
    scope: Scope, journal: MergeJournal, primary: Lead, leads: Mapping[int, Lead]
) -> None:
    before = deserialise(journal.primary_before)
    await save_changes(scope, primary, before, action="undo_merge", reason=f"merge {journal.id}")
    for link_id, side, from_id in journal.moved_links:
        await scope.query(RecordLink).filter(id=link_id).update(**{f"{side}_id": from_id})
    await RecordLink.bulk_create(
        [
            RecordLink(
                id=link_id,  # the same row as before the merge
                organization_id=scope.organization_id,
                owner_type=owner_type,
                owner_id=owner_id,
                target_type=target_type,
                target_id=target_id,
            )
            for link_id, owner_type, owner_id, target_type, target_id in journal.dropped_links
        ]
    )
    for duplicate_id in journal.duplicate_ids:
        await mark_deleted(scope, leads[duplicate_id], None, merged_into=None)
        await record_action(
            scope,
            RECORD_TYPE,
            duplicate_id,
            "restore",
            reason=f"undo merge {journal.id}",
            event="lead.restored",
            payload={"mergeId": journal.id},
        )
    await record_action(
        scope,
        RECORD_TYPE,
        primary.id,
        "undo_merge",
        reason=f"merge {journal.id}",
        event="lead.merge_undone",
        payload={"mergeId": journal.id},
    )
    journal.undone_at = now()
    journal.version += 1
    await journal.save()
