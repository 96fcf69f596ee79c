"""Lists printed in the background: a ``GeneratedFile`` row queued with the frozen
selection, rendered by the worker into the storage directory, downloaded by whoever asked
for it until it expires.

The request that asks returns at once with the file's id (no request holds a worker
for minutes); the worker claims the row QUEUED → RUNNING in one statement, so a file
enqueued twice (the sweep, a retry) is rendered once. While it renders, the worker beats
the row's heartbeat; a worker killed mid-render stops beating, and the sweep puts the
file back in the queue (``MAX_ATTEMPTS`` renders in all), then marks it FAILED for the
user to see. Only the run that holds the latest claim may finish the file.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import timedelta
from pathlib import Path
from typing import cast

from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet

from models.exports import FileStatus, GeneratedFile
from resolvers.context import Scope, acting_scope
from resolvers.errors import NotFound
from resolvers.exports.lists import list_definition
from resolvers.prints.lists import ListPrint, render_list
from resolvers.runtime import atomic, current, now

log = logging.getLogger(__name__)

KIND = "list_pdf"
KEEP_FOR = timedelta(days=1)  # a generated file can be downloaded for this long
STALE_AFTER = timedelta(seconds=30)  # a QUEUED file no worker took by then is enqueued again
MAX_ATTEMPTS = 2  # renders of one file: a second worker lost with it fails it
LOST_WORKER = "the worker rendering this file stopped; ask for the print again"
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
            },
            actor_kind=actor.kind.value,
            actor_id=actor.id,
            actor_label=actor.label,
            actor_role=actor.role.value if actor.role else None,
            actor_scopes=sorted(s.value for s in actor.scopes),
            filename=f"{job.definition.name}.pdf",
            row_count=len(job.ids),
            expires_at=now() + KEEP_FOR,
        )
        unit.file_ids.append(file.id)
    return file


def stored_path(file: GeneratedFile) -> Path:
    return current().storage_dir / file.path


async def generate_file(file_id: int, heartbeat: timedelta) -> FileStatus | None:
    """Render a queued file (the worker's task), beating its heartbeat every
    ``heartbeat``: DONE, or FAILED with the reason kept for the user; None when it was
    not QUEUED (done, or taken by another run) or another run took it over meanwhile."""
    at = now()
    claimed = await GeneratedFile.filter(id=file_id, status=FileStatus.QUEUED).update(
        status=FileStatus.RUNNING, started_at=at, heartbeat_at=at, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    file = await GeneratedFile.get(id=file_id)
    beating = asyncio.create_task(_beat(file, heartbeat))
    try:
        content = await _render(file)
    except Exception as error:  # noqa: BLE001 - the user sees that it failed, the log why
        log.exception("generating file %s failed", file_id)
        failed = await _finish(file, FileStatus.FAILED, error=str(getattr(error, "message", "")))
        return FileStatus.FAILED if failed else None
    finally:
        beating.cancel()
    relative = Path(SUBDIR) / f"{secrets.token_hex(16)}.pdf"
    await asyncio.to_thread(_write, current().storage_dir / relative, content)
    if not await _finish(file, FileStatus.DONE, path=str(relative), size=len(content)):
        await asyncio.to_thread((current().storage_dir / relative).unlink, missing_ok=True)
        return None
    return FileStatus.DONE


async def _render(file: GeneratedFile) -> bytes:
    parameters = file.parameters
    definition = list_definition(file.list_type)
    job = ListPrint(
        definition,
        parameters["ids"],
        definition.chosen(parameters["columns"]),
        parameters["locale"],
        parameters["described"],
    )
    return await render_list(acting_scope(file), job)


def _this_run(file: GeneratedFile) -> QuerySet[GeneratedFile]:
    """``file`` while this run's claim holds (RUNNING, not claimed again since)."""
    return GeneratedFile.filter(id=file.id, status=FileStatus.RUNNING, attempts=file.attempts)


async def _beat(file: GeneratedFile, every: timedelta) -> None:
    # The layout runs in a thread: the event loop, and so the heartbeat, goes on.
    while True:
        await asyncio.sleep(every.total_seconds())
        await _this_run(file).update(heartbeat_at=now())


def _write(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)


async def _finish(file: GeneratedFile, status: FileStatus, **values: object) -> bool:
    """Whether this run still held the file (else the sweep gave it to another run)."""
    return bool(await _this_run(file).update(status=status, finished_at=now(), **values))


async def stale_files(stale_after: timedelta) -> list[int]:
    """The files to enqueue again (the sweep): queued ones no worker took (a lost
    enqueue), and running ones whose heartbeat stopped for ``stale_after`` (their worker
    died), put back in the queue; those already rendered ``MAX_ATTEMPTS`` times are
    FAILED instead, with the reason for the user."""
    before = now() - stale_after
    lost = GeneratedFile.filter(status=FileStatus.RUNNING, heartbeat_at__lt=before)
    async with atomic():
        await lost.filter(attempts__gte=MAX_ATTEMPTS).update(
            status=FileStatus.FAILED, finished_at=now(), error=LOST_WORKER
        )
        await lost.update(status=FileStatus.QUEUED)
    ids = await GeneratedFile.filter(
        Q(created_at__lt=now() - STALE_AFTER) | Q(heartbeat_at__lt=before),
        status=FileStatus.QUEUED,
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
