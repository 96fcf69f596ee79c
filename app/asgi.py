"""The ASGI application: GraphQL (HTTP + graphql-transport-ws), health, public pages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from babel import negotiate_locale
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET
from tortoise import connections

from app import exports, graphiql, mailbox, metrics, pages, prints, webhooks
from app.db import close_db, init_db
from app.http_limits import MAX_JSON_DEPTH, GraphQLBodyLimit, error_response, nested_deeper_than
from app.logs import RequestIdMiddleware
from app.settings import Settings, get_settings
from app.wiring import Services, collect_garbage_less_often
from resolvers.auth import authenticate, bearer_from_header
from resolvers.errors import TooLarge, UserError
from resolvers.labels import LOCALES
from schema import SchemaLimits, build_schema
from schema.context import Context

log = logging.getLogger(__name__)


def preferred_locale(accept_language: str | None) -> str:
    """The client's most preferred of our locales (SPEC §5); French when none matches."""
    ranges = _by_quality(accept_language or "")
    return negotiate_locale(ranges, LOCALES, sep="-") or "fr"


def _by_quality(header: str) -> list[str]:
    """``Accept-Language`` ranges, most preferred first: by q-value (RFC 9110 §12.4.2),
    header order among equals; ``q=0`` ("not acceptable") and malformed q dropped."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for name, _, value in (param.partition("=") for param in params):
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.lower()))
    return [tag for _, _, tag in sorted(ranked)]


class TrainhubGraphQL(GraphQL[Context, None]):
    def __init__(
        self,
        services_ref: dict[str, Services],
        *,
        max_query_chars: int | None = None,  # None: unlimited
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._services = services_ref
        self._max_query_chars = max_query_chars

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        # strawberry answers a request it refuses (unreadable body, wrong content type…)
        # in plain text; a client gets the same typed JSON as any other error.
        try:
            return await super().run(request, context, root_value)
        except HTTPException as refused:
            error = (
                TooLarge(refused.reason)
                if refused.status_code == 413
                else UserError(refused.reason)
            )
            return error_response(error, refused.status_code)

    def decode_json(self, data: str | bytes) -> object:
        # orjson refuses invalid UTF-8 and nesting past 1,024 levels as a JSONDecodeError
        # (a 400); json.loads raised UnicodeDecodeError or RecursionError (a 500).
        value = orjson.loads(data)
        if nested_deeper_than(value, MAX_JSON_DEPTH):
            raise HTTPException(
                400, f"the request's JSON nests deeper than {MAX_JSON_DEPTH} levels"
            )
        return value

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> Any:
        parsed = await super().parse_http_body(request)
        for operation in parsed if isinstance(parsed, list) else [parsed]:
            if (
                self._max_query_chars is not None
                and len(operation.query or "") > self._max_query_chars
            ):
                raise HTTPException(413, f"the query is over {self._max_query_chars} characters")
        return parsed

    def encode_json(self, data: object) -> str:
        # orjson encodes a big answer several times faster than json.dumps. Text, not
        # bytes: strawberry would send bytes over a WebSocket as a binary frame.
        try:
            return orjson.dumps(data).decode()
        except TypeError:  # what orjson refuses (e.g. an int over 64 bits), json may take
            return super().encode_json(data)  # type: ignore[return-value]

    async def render_graphql_ide(self, request: Request) -> Response:
        # The page works without internet access: its assets come from this server.
        return HTMLResponse(graphiql.offline_page(self.graphql_ide_html))

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:  # type: ignore[override]
        context = Context(
            scope=None,
            locale=preferred_locale(request.headers.get("accept-language")),
            client_ip=request.client.host if request.client else "",
            services=self._services.get("services"),
            request=request,
            over_http=isinstance(request, Request),
            json_fragments=isinstance(request, Request),  # encode_json: orjson
        )
        if isinstance(request, Request):
            # A bad token is refused now, as a typed error, rather than treated as anonymous.
            context.scope = await authenticate(
                bearer_from_header(request.headers.get("authorization"))
            )
        return context

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:  # type: ignore[override]
        params = context.connection_params or {}
        raw = params.get("Authorization") or params.get("authorization") or params.get("authToken")
        token = bearer_from_header(raw) if isinstance(raw, str) and " " in raw else raw
        try:
            context.scope = await authenticate(token if isinstance(token, str) else None)
        except UserError:
            raise ConnectionRejectionError() from None
        if context.scope is None:
            raise ConnectionRejectionError()
        return None


async def _auth_error_response(request: Request, exc: UserError) -> JSONResponse:
    return error_response(exc, 401)


def create_app(settings: Settings | None = None, *, manage_db: bool = True) -> Starlette:
    """The API. ``manage_db=False`` when the caller (dev runner, tests) owns Tortoise."""
    settings = settings or get_settings()
    services_ref: dict[str, Services] = {}
    schema = build_schema(
        SchemaLimits(
            max_depth=settings.graphql_max_depth,
            max_tokens=settings.graphql_max_tokens,
            max_aliases=settings.graphql_max_aliases,
            production=settings.is_production,
        )
    )
    graphql_app = TrainhubGraphQL(
        services_ref,
        max_query_chars=settings.graphql_max_query_chars,
        schema=schema,
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=False,  # GET never mutates; queries go by POST
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),  # never legacy graphql-ws
        multipart_uploads_enabled=True,
        max_subscriptions_per_connection=settings.graphql_max_subscriptions,
        allowed_origins=settings.allowed_origins,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_db:
            await init_db(settings)
        services_ref["services"] = await Services.start(settings)
        app.state.services = services_ref["services"]
        collect_garbage_less_often()
        try:
            yield
        finally:
            await services_ref.pop("services").close()
            if manage_db:
                await close_db()

    async def healthz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> JSONResponse:
        checks = {"database": False, "redis": False}
        try:
            await connections.get("default").execute_query("SELECT 1")
            checks["database"] = True
        except Exception:  # noqa: BLE001 - reported, not raised
            log.exception("readiness: database unreachable")
        try:
            checks["redis"] = bool(await services_ref["services"].pool.ping())
        except Exception:  # noqa: BLE001
            log.exception("readiness: redis unreachable")
        return JSONResponse(checks, status_code=200 if all(checks.values()) else 503)

    routes: list[Any] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", graphql_app, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_app),
        *pages.routes(preferred_locale),
        *prints.routes(preferred_locale),
        *webhooks.routes,
        *metrics.routes(settings),
        *exports.routes,
    ]
    if not settings.is_production:
        routes.extend(graphiql.routes())
    if not settings.is_production and settings.embedded_smtp:
        routes.append(Mount("/dev/mailbox", routes=mailbox.routes(settings.mailbox_dir)))
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(GraphQLBodyLimit, settings=settings),
        ],
        # starlette types a handler as taking any Exception; this one is for UserError only.
        exception_handlers={UserError: _auth_error_response},  # type: ignore[dict-item]
    )
    app.state.schema = schema  # exports read their JSON parameters with the schema's types
    return app
