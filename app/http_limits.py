"""Limits on what a client sends to /graphql, applied before anything parses it, and the
typed JSON answer of a refused request (never a 500, never a plain-text page)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings
from resolvers.errors import TooLarge, UserError

MAX_JSON_DEPTH = 64  # nesting of a request's JSON; real variables stay under 10


def error_response(error: UserError, status_code: int) -> JSONResponse:
    """A refusal in the shape of a GraphQL answer, with the error's code."""
    body = {"data": None, "errors": [{"message": error.message, "extensions": error.extensions}]}
    return JSONResponse(body, status_code=status_code)


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether decoded JSON nests more than ``limit`` arrays/objects (no recursion: a
    hostile document cannot exhaust the stack)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
    return False


class _BodyTooLarge(Exception):
    """Raised from ``receive`` once a body passes its limit (not a ValueError: the
    multipart parser would answer that as a malformed form)."""


class GraphQLBodyLimit:
    """Refuses a /graphql body over ``GRAPHQL_MAX_BODY_BYTES`` (a multipart upload: over
    ``UPLOAD_MAX_BYTES`` plus that) with 413. Counted as the body is read, so a missing
    or false Content-Length does not let a larger one through; nothing is buffered."""

    def __init__(self, app: ASGIApp, settings: Settings, path: str = "/graphql") -> None:
        self.app, self.settings, self.path = app, settings, path

    def _limit(self, headers: Headers) -> int:
        limit = self.settings.graphql_max_body_bytes
        if headers.get("content-type", "").startswith("multipart/form-data"):
            limit += self.settings.upload_max_bytes
        return limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self._limit(headers)
        refusal = error_response(TooLarge(f"the request body is over {limit} bytes"), 413)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await refusal(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except _BodyTooLarge:
            if started:
                raise
            await refusal(scope, receive, send)
