"""``POST /webhooks/stores/{store_id}``: a store's waiting-list events (SPEC §7).

Request: the JSON body of one event, signed with the store's secret:

    X-Signature: sha256=<hex HMAC-SHA256 of the raw body>

    {"type": "waitlist.joined" | "waitlist.removed" | "waitlist.purchased" | "waitlist.email_sent",
     "timestamp": "2026-11-23T10:00:00Z",        # when the store sent it (or Unix seconds)
     "occurredAt": "2026-11-23T09:59:00Z",       # when it happened; defaults to timestamp
     "customerId": "CM-123", "firstName": "…", "lastName": "…", "email": "…",
     "productCode": "PY-101",                    # joined
     "purchaseDate": "2026-11-20", "orderNumber": "O-9",   # purchased
     "emailsSent": 2}                            # email_sent: the store's total count

The freshness timestamp is a field of the body, not a header: the signature covers the
body only, so a timestamp there cannot be swapped to replay an old request later. It
must lie within 5 minutes of the server's clock. Answers: 200 with the outcome (a
replay answers ``UNCHANGED``), 401 when the store or the signature is wrong, 400 with the
reason when the body is not a valid event, 413 when too large, 429 when rate-limited;
nothing is stored unless the answer is 200.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from models.leads import Store
from resolvers.context import row_id
from resolvers.errors import RateLimited, ValidationFailed
from resolvers.leads.ingestion import apply_waitlist_event
from resolvers.leads.stores import signature_matches, store_scope
from resolvers.leads.waitlist_events import parse_time, prepare_event
from resolvers.runtime import atomic, now

MAX_BODY_BYTES = 64 * 1024
TIMESTAMP_TOLERANCE = timedelta(minutes=5)
# A store may push a burst (a course opening notifies a whole waiting list).
WEBHOOK_RATE_PER_MINUTE = 600


def _answer(status: int, **body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status)


async def _read_body(request: Request) -> bytes | None:
    """The raw body, or None past the size limit (read no further than it)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _store(raw_id: str) -> Store | None:
    pk = row_id(raw_id)
    return None if pk is None else await Store.filter(id=pk).first()


def _check_fresh(data: dict[str, Any]) -> None:
    if data.get("timestamp") is None:
        raise ValidationFailed("timestamp is required", field="timestamp")
    sent_at = parse_time(data["timestamp"], "timestamp")
    if abs(now() - sent_at) > TIMESTAMP_TOLERANCE:
        raise ValidationFailed(
            "timestamp is more than 5 minutes away from the server time", field="timestamp"
        )


async def store_webhook(request: Request) -> JSONResponse:
    raw_id: str = request.path_params["store_id"]
    try:
        await request.app.state.services.rate_limit(
            "webhook", raw_id, per_minute=WEBHOOK_RATE_PER_MINUTE
        )
    except RateLimited as limited:
        return _answer(429, error=limited.message)
    body = await _read_body(request)
    if body is None:
        return _answer(413, error=f"body larger than {MAX_BODY_BYTES} bytes")
    store = await _store(raw_id)
    # An unknown store answers like a bad signature: the endpoint reveals no store ids.
    if store is None or not signature_matches(
        store.secret, body, request.headers.get("x-signature")
    ):
        return _answer(401, error="invalid signature")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _answer(400, error="body is not valid JSON")
    if not isinstance(data, dict):
        return _answer(400, error="body must be a JSON object")
    scope = store_scope(store)
    try:
        _check_fresh(data)
        event = prepare_event(data)
        async with atomic():
            result, lead_id = await apply_waitlist_event(scope, store, event)
    except ValidationFailed as invalid:
        return _answer(400, error=invalid.message, field=invalid.field)
    return _answer(200, result=result.value, leadId=lead_id)


routes = [Route("/webhooks/stores/{store_id}", store_webhook, methods=["POST"])]
