"""The hand-written baseline of bench/nested_sessions.py: the nested sessions query's
exact JSON answer, built with asyncpg and plain dicts (no ORM, no GraphQL).

Same work per request as the API where it matters: the Bearer token is verified and its
user looked up, then one statement per level (sessions, count, slots, session clients,
clients, contacts) and JSON encoding. Run with ``uvicorn bench.baseline_app:create_app
--factory`` and BENCH_DSN / SECRET_KEY in the environment.
"""

from __future__ import annotations

import base64
import json
import os
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import time
from typing import Any

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from models.sessions import ConfirmationState, ConfirmationSummary, SessionStatus
from resolvers import labels

SESSIONS = """SELECT id, reference, title, product_code, location, status, first_date,
  last_date, confirmation_summary FROM trainingsession WHERE organization_id = $1
  ORDER BY (first_date IS NULL), first_date, id LIMIT 100"""
COUNT = "SELECT count(*) FROM trainingsession WHERE organization_id = $1"
SLOTS = """SELECT session_id, date, start_time, end_time, location FROM sessionslot
  WHERE organization_id = $1 AND session_id = ANY($2)
  ORDER BY date, start_time, position, id"""
ENROLMENTS = """SELECT id, session_id, client_id, confirmation_state, confirmation_sent_at,
  confirmation_deadline, confirmation_answered_at FROM sessionclient
  WHERE organization_id = $1 AND session_id = ANY($2) ORDER BY id"""
CLIENTS = """SELECT id, name, main_contact_id FROM client
  WHERE organization_id = $1 AND id = ANY($2)"""
CONTACTS = """SELECT id, client_id, first_name, last_name, email FROM contact
  WHERE organization_id = $1 AND client_id = ANY($2) ORDER BY last_name, first_name, id"""


def gid(type_name: str, id: int) -> str:
    return base64.b64encode(f"{type_name}:{id}".encode()).decode()


def wall(value: time) -> str:
    return value.replace(tzinfo=None).isoformat()


async def nested_sessions(pool: asyncpg.Pool, org: int, locale: str) -> dict[str, Any]:
    async with pool.acquire() as db:
        sessions = await db.fetch(SESSIONS, org)
        total = await db.fetchval(COUNT, org)
        ids = [s["id"] for s in sessions]
        slots = defaultdict(list)
        for row in await db.fetch(SLOTS, org, ids):
            slots[row["session_id"]].append(row)
        session_clients = defaultdict(list)
        client_ids = set()
        for row in await db.fetch(ENROLMENTS, org, ids):
            session_clients[row["session_id"]].append(row)
            client_ids.add(row["client_id"])
        clients = {r["id"]: r for r in await db.fetch(CLIENTS, org, list(client_ids))}
        contacts = defaultdict(list)
        for row in await db.fetch(CONTACTS, org, list(client_ids)):
            contacts[row["client_id"]].append(row)
        time_zone = await db.fetchval("SELECT time_zone FROM organization WHERE id = $1", org)

    def contact(row: Any) -> dict[str, Any]:
        return {
            "id": gid("Contact", row["id"]),
            "firstName": row["first_name"],
            "lastName": row["last_name"],
            "email": row["email"],
        }

    def client(client_id: int) -> dict[str, Any]:
        row = clients[client_id]
        own = contacts[client_id]
        main = next((c for c in own if c["id"] == row["main_contact_id"]), None)
        return {
            "id": gid("Client", client_id),
            "name": row["name"],
            "mainContact": {"id": gid("Contact", main["id"]), "email": main["email"]}
            if main
            else None,
            "contacts": [contact(c) for c in own],
        }

    def session_client(row: Any) -> dict[str, Any]:
        state = ConfirmationState(row["confirmation_state"])
        return {
            "node": {
                "id": gid("SessionClient", row["id"]),
                "confirmation": {
                    "state": state.value,
                    "label": labels.confirmation_state(
                        state,
                        locale,
                        sent_at=row["confirmation_sent_at"],
                        deadline=row["confirmation_deadline"],
                        answered_at=row["confirmation_answered_at"],
                        time_zone=time_zone,
                    ),
                },
                "client": client(row["client_id"]),
            }
        }

    def session(row: Any) -> dict[str, Any]:
        status = SessionStatus(row["status"])
        summary = row["confirmation_summary"]
        return {
            "id": gid("Session", row["id"]),
            "reference": row["reference"],
            "title": row["title"],
            "productCode": row["product_code"],
            "status": {"value": status.value, "label": labels.session_status(status, locale)},
            "firstDate": row["first_date"] and row["first_date"].isoformat(),
            "lastDate": row["last_date"] and row["last_date"].isoformat(),
            "confirmationSummary": {
                "value": summary,
                "label": labels.confirmation_summary(ConfirmationSummary(summary), locale),
            }
            if summary
            else None,
            "slots": [
                {
                    "date": s["date"].isoformat(),
                    "startTime": wall(s["start_time"]),
                    "endTime": wall(s["end_time"]),
                    "location": s["location"] or row["location"],
                }
                for s in slots[row["id"]]
            ],
            "clients": {"edges": [session_client(e) for e in session_clients[row["id"]]]},
        }

    return {
        "data": {
            "sessions": {
                "totalCount": total,
                "edges": [{"node": session(s)} for s in sessions],
            }
        }
    }


def create_app() -> Starlette:
    secret = os.environ["SECRET_KEY"]
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(os.environ["BENCH_DSN"], min_size=2, max_size=10)
        yield
        await state["pool"].close()

    async def endpoint(request: Request) -> Response:
        token = request.headers.get("authorization", "")[7:]
        try:
            claims = jwt.decode(
                token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]}
            )
        except jwt.PyJWTError:
            return JSONResponse({"error": "unauthenticated"}, status_code=401)
        pool = state["pool"]
        org = await pool.fetchval(
            'SELECT organization_id FROM "user" WHERE id = $1 AND is_active', int(claims["sub"])
        )
        if org is None or org != claims.get("org"):
            return JSONResponse({"error": "unauthenticated"}, status_code=401)
        locale = "en" if request.headers.get("accept-language", "").startswith("en") else "fr"
        body = await nested_sessions(pool, org, locale)
        return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")

    return Starlette(routes=[Route("/sessions", endpoint, methods=["POST"])], lifespan=lifespan)
