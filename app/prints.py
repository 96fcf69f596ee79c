"""PDF prints over HTTP (issue 11, SPEC §7 "Imprimer en format PDF").

- ``GET /print/{type}/{id}.pdf``: one record (``lead``, ``session``, ``client``); the id is
  the record's GraphQL global ID or its number. The locale is ``?lang=fr|en``, else the
  ``Accept-Language`` header (French by default).
- ``GET /print/{list}.pdf``: a list (``leads``, ``sessions``, ``clients``, ``contacts``)
  with the parameters of ``/exports/{list}.csv`` (``filter`` or ``selection``, ``order``,
  ``columns``, ``lang``; see ``schema/exports.py``), or the signed URL of
  ``createExportLink(format: PDF)``. Up to 500 records: 200 with the PDF. More (at most
  10,000): 202 at once with the file the worker renders, ``{"id", "status", "statusUrl",
  "downloadUrl"}`` and, for a user, the same two as signed links valid 5 minutes
  (``signedStatusUrl``, ``signedDownloadUrl``, ``signedUrlsExpireAt``): a browser polls
  the signed status, whose every answer renews both, then opens the signed download.
- ``GET /print/files/{id}``: that file's status (QUEUED, RUNNING, DONE, FAILED);
  ``GET /print/files/{id}.pdf``: the file once DONE (409 before). A file is its
  requester's only, for a day: another user's link or Bearer answers 404.

Authenticated like exports: ``Authorization: Bearer <access token, or API key with
READ>``. Errors as exports answer them (``app.exports.refused``): 400 for a bad parameter,
401 without a credential, 403 for a key without READ or a bad link, 404 for an unknown or
foreign record, list or file (the same answer), 410 for an expired link.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from app.exports import caller, refused
from models.exports import FileStatus, GeneratedFile
from resolvers.auth import authenticate, bearer_from_header
from resolvers.context import Scope, row_id
from resolvers.errors import Conflict, NotFound, Unauthenticated, UserError
from resolvers.exports import links
from resolvers.exports.csv_export import selected_query
from resolvers.prints import files, records
from resolvers.prints.lists import MAX_PRINTED, ListPrint, render_list
from schema.clients import Client
from schema.exports import export_request
from schema.leads.types import Lead
from schema.relay import db_id
from schema.sessions.types import Session

Locale = Callable[[str | None], str]
RecordPrint = Callable[[Scope, int, str], Awaitable[bytes]]

# record type in the URL -> (its print, its GraphQL type: the URL takes its global ID too)
RECORD_PRINTS: dict[str, tuple[RecordPrint, type]] = {
    "lead": (records.print_lead, Lead),
    "session": (records.print_session, Session),
    "client": (records.print_client, Client),
}


def pdf_response(content: bytes, filename: str) -> Response:
    return Response(content, media_type="application/pdf", headers=_download_headers(filename))


def _download_headers(filename: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'inline; filename="{filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


async def bearer_scope(request: Request) -> Scope:
    """The caller of a Bearer header (a record print has no link)."""
    scope = await authenticate(bearer_from_header(request.headers.get("authorization")))
    if scope is None:
        raise Unauthenticated("authentication required: send 'Authorization: Bearer <token>'")
    return scope


def file_status(scope: Scope, file: GeneratedFile) -> dict[str, Any]:
    """The file's state, its Bearer paths and, for a user, the same as signed links that
    a browser opens (made afresh by each answer: a poll of the status renews them)."""
    path = f"/print/files/{file.id}"
    signed: dict[str, Any] = {}
    if scope.actor.user_id is not None:
        status_link, expires_at = links.signed_link(scope, path)
        signed = {
            "signedStatusUrl": status_link,
            "signedDownloadUrl": links.signed_link(scope, f"{path}.pdf")[0],
            "signedUrlsExpireAt": expires_at.isoformat(),
        }
    return {
        "id": str(file.id),
        "list": file.list_type,
        "status": file.status.value,
        "rows": file.row_count,
        "size": file.size,
        "error": file.error or None,
        "createdAt": file.created_at.isoformat(),
        "finishedAt": file.finished_at.isoformat() if file.finished_at else None,
        "expiresAt": file.expires_at.isoformat(),
        "statusUrl": path,
        "downloadUrl": f"{path}.pdf",
        **signed,
    }


async def list_print(request: Request, list_name: str) -> tuple[Scope, ListPrint]:
    """Who asks, and the print they ask for with its selection frozen to ids in the
    list's order."""
    scope = await caller(request)
    export = export_request(request.app.state.schema, list_name, request.query_params)
    qs = await selected_query(scope, export)
    ids = cast(list[int], await qs.limit(MAX_PRINTED + 1).values_list("id", flat=True))
    return scope, ListPrint(export.definition, ids, export.columns, export.locale, export.described)


def routes(preferred_locale: Locale) -> list[Route]:
    async def record_pdf(request: Request) -> Response:
        record_type, record_id = request.path_params["type"], request.path_params["id"]
        try:
            scope = await bearer_scope(request)
            if record_type not in RECORD_PRINTS:
                raise NotFound(f"no print for '{record_type}' records")
            render, node_type = RECORD_PRINTS[record_type]
            pk = row_id(record_id) or db_id(record_id, node_type)
            locale = request.query_params.get("lang") or preferred_locale(
                request.headers.get("accept-language")
            )
            content = await render(scope, pk, locale)
        except UserError as error:
            return refused(error)
        return pdf_response(content, f"{record_type}-{record_id}.pdf")

    async def list_pdf(request: Request) -> Response:
        list_name = request.path_params["list"]
        try:
            scope, job = await list_print(request, list_name)
            if not job.in_request:
                file = await files.queue_list_print(scope, job)
                return JSONResponse(file_status(scope, file), status_code=202)
            content = await render_list(scope, job)
        except UserError as error:
            return refused(error)
        return pdf_response(content, f"{list_name}.pdf")

    async def file_info(request: Request) -> Response:
        try:
            scope = await caller(request)
            file = await files.generated_file(scope, request.path_params["id"])
        except UserError as error:
            return refused(error)
        return JSONResponse(file_status(scope, file))

    async def file_download(request: Request) -> Response:
        try:
            file = await files.generated_file(await caller(request), request.path_params["id"])
            if file.status != FileStatus.DONE:
                raise Conflict(
                    f"the file is {file.status.value}, not ready", status=file.status.value
                )
        except UserError as error:
            return refused(error)
        return FileResponse(
            files.stored_path(file),
            media_type="application/pdf",
            headers=_download_headers(file.filename),
        )

    return [
        Route("/print/files/{id}.pdf", file_download, methods=["GET"]),
        Route("/print/files/{id}", file_info, methods=["GET"]),
        Route("/print/{type}/{id}.pdf", record_pdf, methods=["GET"]),
        Route("/print/{list}.pdf", list_pdf, methods=["GET"]),
    ]
