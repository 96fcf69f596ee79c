"""PDF prints over HTTP (issue 11): ``GET /print/{type}/{id}.pdf`` for one record (lead,
session, client), ``GET /print/{list}.pdf`` for a list's selection or filter, and the
files of lists printed in the background (``GET /print/files/{id}``: status,
``GET /print/files/{id}.pdf``: the file).

Authenticated like the API: ``Authorization: Bearer <access token or API key with READ>``.
The locale is ``?lang=fr|en``, else the ``Accept-Language`` header (French by default).
Answers: 200 with the PDF; 401 without a valid credential; 403 for a key without READ;
404 for an unknown or foreign record or file (the same answer); 400 for a bad parameter.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from resolvers.auth import authenticate
from resolvers.context import Scope, row_id
from resolvers.errors import NotFound, Unauthenticated, UserError
from resolvers.prints import records
from schema.clients import Client
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
STATUS_OF = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "BAD_REQUEST": 400,
    "VALIDATION_ERROR": 400,
}


def error_response(error: UserError) -> JSONResponse:
    status = STATUS_OF.get(error.code, 409)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"error": {"code": error.code, "message": error.message}}
    return JSONResponse(body, status_code=status, headers=headers)


def pdf_response(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def request_scope(request: Request) -> Scope:
    header = request.headers.get("authorization") or ""
    bearer = header[7:].strip() if header[:7].lower() == "bearer " else None
    scope = await authenticate(bearer)
    if scope is None:
        raise Unauthenticated("sign in: send Authorization: Bearer <token or API key>")
    return scope


def routes(preferred_locale: Locale) -> list[Route]:
    def locale_of(request: Request) -> str:
        return request.query_params.get("lang") or preferred_locale(
            request.headers.get("accept-language")
        )

    async def record_pdf(request: Request) -> Response:
        record_type, record_id = request.path_params["type"], request.path_params["id"]
        try:
            if record_type not in RECORD_PRINTS:
                raise NotFound(f"no print for '{record_type}' records")
            render, node_type = RECORD_PRINTS[record_type]
            scope = await request_scope(request)
            pk = row_id(record_id) or db_id(record_id, node_type)
            content = await render(scope, pk, locale_of(request))
        except UserError as error:
            return error_response(error)
        return pdf_response(content, f"{record_type}-{record_id}.pdf")

    return [Route("/print/{type}/{id}.pdf", record_pdf, methods=["GET"])]
