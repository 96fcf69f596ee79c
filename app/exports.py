"""``GET /exports/{list}.csv``: a list as CSV, streamed (SPEC §7), for
``leads``, ``sessions``, ``clients`` and ``contacts``.

Authenticated by a Bearer header (a user's token, or an API key with READ; a VIEWER may
export), or by the signed parameters of a ``createExportLink`` URL. The parameters are
described in ``schema/exports.py``. Answers: 200 with the CSV; 400 for a bad parameter;
401 without credentials; 403 for a tampered link, another user's link or a key without
READ; 404 when a selected id names no record of the organisation; 410 for an expired link.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from resolvers.auth import authenticate, bearer_from_header
from resolvers.context import Scope
from resolvers.errors import Forbidden, Unauthenticated, UserError
from resolvers.exports import links
from resolvers.exports.csv_export import csv_chunks
from schema.exports import export_request

STATUS = {
    "VALIDATION_ERROR": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "LINK_EXPIRED": 410,
}


async def caller(request: Request) -> Scope:
    """Who asks: the user a signed link to this path was made for (a Bearer sent along
    must be the same user), else the Bearer credential, which must allow reading."""
    parameters = request.query_params
    credential = await authenticate(bearer_from_header(request.headers.get("authorization")))
    if links.is_signed(parameters):
        path = request.url.path.removeprefix(request.scope.get("root_path", ""))
        scope = await links.link_scope(path, parameters)
        if credential is not None and credential.actor != scope.actor:
            raise Forbidden("this link was made for another user")
        return scope
    if credential is None:
        raise Unauthenticated("authentication required: send 'Authorization: Bearer <token>'")
    if not credential.actor.can_read:
        raise Forbidden("this API key lacks the READ scope")
    return credential


def refused(error: UserError) -> JSONResponse:
    body = {"error": error.message, "code": error.code, "field": error.field}
    return JSONResponse(body, status_code=STATUS.get(error.code, 400))


async def export_csv(request: Request) -> Response:
    list_name: str = request.path_params["list"]
    try:
        scope = await caller(request)
        export = export_request(request.app.state.schema, list_name, request.query_params)
        csv = await csv_chunks(scope, export)
    except UserError as error:
        return refused(error)
    return StreamingResponse(
        csv.chunks,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{list_name}.csv"',
            # Who wrote the rows (PostgreSQL's COPY, or Python): for benchmarks and support.
            "X-Export-Path": csv.path,
        },
    )


routes = [Route("/exports/{list}.csv", export_csv, methods=["GET"])]
