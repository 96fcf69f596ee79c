"""Lists printed in the background: a ``GeneratedFile`` row queued with the frozen
selection, rendered by the worker into the storage directory, downloaded by whoever asked
for it until it expires.

The request that asks returns at once with the file's id (no request holds a worker
for minutes); the worker claims the row QUEUED → RUNNING in one statement, so a file
enqueued twice (the sweep, a retry) is rendered once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import timedelta
from pathlib import Path
from typing import cast

from models.exports import FileStatus, GeneratedFile
from resolvers.context import Actor, Scope
from resolvers.errors import NotFound
from resolvers.exports.lists import list_definition
from resolvers.prints.lists import ListPrint, render_list
from resolvers.runtime import atomic, current, now

log = logging.getLogger(__name__)

KIND = "list_pdf"
KEEP_FOR = timedelta(days=1)  # a generated file can be downloaded for this long
STALE_AFTER = timedelta(seconds=30)  # a QUEUED file no worker took by then is enqueued again
SUBDIR = "generated"


async def queue_list_print(scope: Scope, job: ListPrint) -> GeneratedFile:
    """The file that will hold ``job``, enqueued for the worker once committed."""
    actor = scope.actor
    async with atomic() as unit:
        file = await scope.create(
            GeneratedFile,
            kind=KIND,
            list_type=job.definition.name,
            parameters={
                "ids": list(job.ids),
                "columns": [column.key for column in job.columns],
                "locale": job.locale,
                "described": dict(job.described or {}),
                "role": actor.role.value if actor.role else None,
                "scopes": sorted(s.value for s in actor.scopes),
            },
            actor_kind=actor.kind.value,
            actor_id=actor.id,
            actor_label=actor.label,
            filename=f"{job.definition.name}.pdf",
            row_count=len(job.ids),
            expires_at=now() + KEEP_FOR,
        )
        unit.file_ids.append(file.id)
    return file


def _scope_of(file: GeneratedFile) -> Scope:
    """Whoever asked for ``file``: the worker prints as them (access, change log)."""
    actor = Actor.restored(
        file.actor_kind,
        file.actor_id,
        file.actor_label,
        file.parameters.get("role"),
        file.parameters.get("scopes", []),
    )
    return Scope(file.organization_id, actor)


def stored_path(file: GeneratedFile) -> Path:
    return current().storage_dir / file.path


async def generate_file(file_id: int) -> FileStatus | None:
    """Render a queued file (the worker's task): DONE, or FAILED with the reason kept
    for the user; None when it was not QUEUED (done, or taken by another run)."""
    claimed = await GeneratedFile.filter(id=file_id, status=FileStatus.QUEUED).update(
        status=FileStatus.RUNNING
    )
    if not claimed:
        return None
    file = await GeneratedFile.get(id=file_id)
    scope = _scope_of(file)
    parameters = file.parameters
    try:
        definition = list_definition(file.list_type)
        job = ListPrint(
            definition,
            parameters["ids"],
            definition.chosen(parameters["columns"]),
            parameters["locale"],
            parameters["described"],
        )
        content = await render_list(scope, job)
        relative = Path(SUBDIR) / f"{secrets.token_hex(16)}.pdf"
        target = current().storage_dir / relative
        await asyncio.to_thread(_write, target, content)
    except Exception as error:  # noqa: BLE001 - the user sees that it failed, the log why
        log.exception("generating file %s failed", file_id)
        await _finish(file, FileStatus.FAILED, error=str(getattr(error, "message", "")) or "")
        return FileStatus.FAILED
    await _finish(file, FileStatus.DONE, path=str(relative), size=len(content))
    return FileStatus.DONE


def _write(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)


async def _finish(file: GeneratedFile, status: FileStatus, **values: object) -> None:
    await GeneratedFile.filter(id=file.id).update(status=status, finished_at=now(), **values)


async def stale_files() -> list[int]:
    """Queued files no worker took (a lost enqueue): the sweep enqueues them again."""
    ids = await GeneratedFile.filter(
        status=FileStatus.QUEUED, created_at__lt=now() - STALE_AFTER
    ).values_list("id", flat=True)
    return cast(list[int], ids)


async def remove_expired_files() -> int:
    """Files past their expiry (the sweep): the file on disk, then its row."""
    expired = await GeneratedFile.filter(expires_at__lte=now()).only("id", "path")
    for file in expired:
        if file.path:
            await asyncio.to_thread(stored_path(file).unlink, missing_ok=True)
    await GeneratedFile.filter(id__in=[file.id for file in expired]).delete()
    return len(expired)


async def generated_file(scope: Scope, file_id: object) -> GeneratedFile:
    """A file of the caller's: another user's, another organisation's or an expired one
    answers NOT_FOUND, like a missing one."""
    file = await scope.get(GeneratedFile, str(file_id))
    actor = scope.actor
    if (file.actor_kind, file.actor_id) != (actor.kind.value, actor.id) or file.expires_at <= now():
        raise NotFound(f"GeneratedFile {file_id} not found", field="id")
    return file
