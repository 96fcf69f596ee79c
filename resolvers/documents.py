"""Documents (attachments): uploaded through GraphQL multipart, size- and type-limited,
stored under generated names, with their SHA-256 (SPEC §10)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path, PurePath

from models.records import Document
from resolvers.audit import log_action
from resolvers.context import Scope
from resolvers.errors import ValidationFailed
from resolvers.runtime import atomic, current

RECORD_TYPE = "document"
CHUNK_BYTES = 64 * 1024
ALLOWED_TYPES: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/gif": (".gif",),
    "text/plain": (".txt",),
    "text/csv": (".csv",),
    "application/msword": (".doc",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.ms-excel": (".xls",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/vnd.oasis.opendocument.text": (".odt",),
    "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
}
# Magic numbers of the binary types whose content must match the declared type.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}

ReadChunk = Callable[[int], Awaitable[bytes]]


def clean_filename(filename: str | None) -> str:
    """The user's file name, for display only (never a path on disk)."""
    name = PurePath((filename or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '\r\n"')[:255].strip()
    if not name:
        raise ValidationFailed("the file needs a name", field="file")
    return name


def check_type(filename: str, content_type: str | None) -> str:
    content_type = (content_type or "").split(";")[0].strip().lower()
    extensions = ALLOWED_TYPES.get(content_type)
    if extensions is None or not filename.lower().endswith(extensions):
        allowed = ", ".join(sorted({e for exts in ALLOWED_TYPES.values() for e in exts}))
        raise ValidationFailed(
            f"file type not allowed ({content_type or 'unknown'}); allowed: {allowed}",
            field="file",
        )
    return content_type


async def _store(read: ReadChunk, target: Path, max_bytes: int) -> tuple[int, str, bytes]:
    """Stream to ``target``; returns size, SHA-256 and the first bytes. Over the limit: removed."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with target.open("xb") as out:
            while chunk := await read(CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    raise ValidationFailed(
                        f"the file exceeds the {max_bytes} bytes limit", field="file"
                    )
                if len(head) < 16:
                    head += chunk[: 16 - len(head)]
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        await asyncio.to_thread(target.unlink, missing_ok=True)
        raise
    return size, digest.hexdigest(), head


async def upload_document(
    scope: Scope,
    *,
    filename: str | None,
    content_type: str | None,
    read: ReadChunk,
    max_bytes: int,
) -> Document:
    scope.require_write()
    storage_dir = current().storage_dir
    name = clean_filename(filename)
    kind = check_type(name, content_type)
    await asyncio.to_thread(storage_dir.mkdir, parents=True, exist_ok=True)
    storage_name = f"{secrets.token_hex(20)}{PurePath(name).suffix.lower()}"
    target = storage_dir / storage_name
    size, sha256, head = await _store(read, target, max_bytes)
    try:
        if size == 0:
            raise ValidationFailed("the file is empty", field="file")
        signatures = SIGNATURES.get(kind)
        if signatures and not head.startswith(signatures):
            raise ValidationFailed(f"the content is not {kind}", field="file")
        async with atomic():
            document = await scope.create(
                Document,
                filename=name,
                content_type=kind,
                size=size,
                sha256=sha256,
                storage_name=storage_name,
                uploaded_by_id=scope.actor.user_id,
            )
            await log_action(scope, RECORD_TYPE, document.id, "create", new_value=name)
    except BaseException:
        await asyncio.to_thread(target.unlink, missing_ok=True)
        raise
    return document


async def with_contents(scope: Scope, ids: Sequence[int]) -> list[tuple[Document, bytes]]:
    """This organisation's documents among ``ids`` (by id; others skipped) with their
    stored bytes, read off the event loop."""
    storage_dir = current().storage_dir
    found = await scope.query(Document).filter(id__in=list(ids)).order_by("id")
    contents = [
        await asyncio.to_thread((storage_dir / doc.storage_name).read_bytes) for doc in found
    ]
    return list(zip(found, contents, strict=True))
