"""The CSV export written by PostgreSQL (``resolvers/exports/server_csv.py``, COPY) against
the one written by Python over a cursor, on PostgreSQL: the same bytes, for every list type,
over values that try the quoting, the formula neutralisation, the line ends, NULL against
empty text and a change of summer time, with both separators and both languages. Bytes, not
parsed rows: a spreadsheet sees the line ends and the quotes, and the Python path is the
reference (``csv.writer``'s own bytes, per ``Fields``).

And a client that leaves midway leaves no COPY running on the server, nor a connection."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from tortoise import connections

from models.audit import ChangeLogEntry
from models.core import User
from models.leads import Lead, LeadStatus, WaitlistStatus
from models.sessions import (
    Client,
    ConfirmationState,
    ConfirmationSummary,
    Contact,
    SessionClient,
    SessionStatus,
    TrainingSession,
)
from resolvers.exports import csv_export
from resolvers.exports.rows import EXPORT_APPLICATION
from tests.bulk_support import gid
from tests.conftest import LiveServer, Tenant

pytestmark = pytest.mark.postgres_only

TRICKY = [
    'say "hi"',
    "a;b",
    "a,b",
    "line\r\nbreak",
    "lf\nonly",
    "cr\ronly",
    "=1+2",
    "+33 6 12",
    "-5",
    "@SUM(A1)",
    "\ttab",
    "\rcr first",
    "Élodie à l'œil",
    "fête 🎉",
    "",
    " spaced ",
    "\\.",
    "$1 literal",
    '"',
]
# Europe/Paris leaves summer time on 2026-10-25 at 01:00 UTC: 02:30 happens twice.
AROUND_DST = [
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC),
]


def tricky(index: int) -> str:
    return TRICKY[index % len(TRICKY)]


async def make_records(tenant: Tenant, foreign_user: User) -> None:
    org_id = tenant.org.id
    await User.filter(id=tenant.staff.user.id).update(full_name='=Staff; "x"\nÉ')
    await User.filter(id=tenant.viewer.user.id).update(full_name="")  # named by email
    users = [tenant.staff.user.id, tenant.viewer.user.id, foreign_user.id, None]
    statuses, waitlist = list(LeadStatus), [*WaitlistStatus, None]
    clients, sessions = [], []
    for index in range(len(TRICKY)):
        lead = await Lead.create(
            organization_id=org_id,
            first_name=tricky(index),
            last_name=tricky(index + 3),
            email=tricky(index + 5),
            account_name=tricky(index + 7),
            status=statuses[index % len(statuses)],
            waitlist_status=waitlist[index % len(waitlist)],
            waitlist_product_code=tricky(index + 11),
            waitlist_date_added=AROUND_DST[index % 4] if index % 5 else None,
            waitlist_emails_sent=index * 1000 - 3,
            source_system=tricky(index + 13),
            assigned_user_id=users[index % len(users)],
        )
        # Distinct creation times across the change of time, for the list's order.
        created = AROUND_DST[index % 4] + timedelta(minutes=index)
        await Lead.filter(id=lead.id).update(created_at=created, updated_at=created)
        contact = await Contact.create(
            organization_id=org_id,
            first_name=tricky(index + 1),
            last_name=tricky(index + 2) or "Nom",
            email=tricky(index + 4),
            phone=tricky(index + 6),
            job_title=tricky(index + 8),
        )
        client = await Client.create(
            organization_id=org_id,
            name=tricky(index + 9) or "Client",
            address=tricky(index + 10),
            siret=None if index % 3 == 0 else tricky(index)[:14],
            main_contact=contact if index % 4 else None,
        )
        clients.append(client)
        if index % 2:
            await Contact.filter(id=contact.id).update(client_id=client.id)
        summaries = [*ConfirmationSummary, None]
        session = await TrainingSession.create(
            organization_id=org_id,
            reference=f"R{index}{tricky(index)}"[:40],
            title=tricky(index + 1),
            product_code=tricky(index + 2),
            location=tricky(index + 3),
            status=list(SessionStatus)[index % len(SessionStatus)],
            owner_id=users[index % len(users)],
            confirmation_summary=summaries[index % len(summaries)],
            first_date=date(2026, 10, 24) + timedelta(days=index) if index % 3 else None,
            last_date=date(2026, 10, 26) + timedelta(days=index) if index % 4 else None,
        )
        sessions.append(session)
    states = list(ConfirmationState)
    for index, session in enumerate(sessions):  # none, one or two clients each
        for offset in range(index % 3):
            await SessionClient.create(
                organization_id=org_id,
                session=session,
                client=clients[(index + offset) % len(clients)],
                confirmation_state=states[(index + offset) % len(states)],
                confirmation_sent_at=AROUND_DST[index % 4] if index % 5 else None,
                confirmation_deadline=date(2026, 10, 25) if offset else None,
                confirmation_answered_at=AROUND_DST[(index + 1) % 4],
            )


async def export(
    client: httpx.AsyncClient, tenant: Tenant, name: str, **parameters: Any
) -> httpx.Response:
    query = {
        k: v if isinstance(v, str) else ",".join(v) if k == "columns" else json.dumps(v)
        for k, v in parameters.items()
    }
    response = await client.get(f"/exports/{name}.csv", params=query, headers=tenant.staff.headers)
    assert response.status_code == 200, response.text
    return response


async def both_paths(
    client: httpx.AsyncClient,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    **parameters: Any,
) -> bytes:
    copied = await export(client, tenant, name, **parameters)
    with monkeypatch.context() as python_only:
        python_only.setattr(csv_export, "copy_statement", lambda *args: None)
        cursor = await export(client, tenant, name, **parameters)
    assert (copied.headers["x-export-path"], cursor.headers["x-export-path"]) == (
        "copy",
        "cursor",
    )
    assert copied.content == cursor.content, f"{name} {parameters}"
    return copied.content


def parsed(content: bytes, separator: str = ",") -> list[list[str]]:
    text = content.decode("utf-8").removeprefix("\ufeff")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))


async def test_the_server_writes_the_bytes_python_writes(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_records(tenant, other_tenant.staff.user)
    lists: dict[str, dict[str, Any]] = {
        "leads": {},
        "sessions": {},
        "clients": {},
        "contacts": {},
    }
    files: dict[tuple[str, str, str], bytes] = {}
    for name, parameters in lists.items():
        for lang in ("fr", "en"):
            for variant in ("false", "true"):
                files[name, lang, variant] = await both_paths(
                    client, tenant, monkeypatch, name, lang=lang, excel=variant, **parameters
                )
    # What both wrote is what was stored, neutralised where a spreadsheet would run it.
    leads = parsed(files["leads", "en", "false"])
    assert len(leads) == len(TRICKY) + 1
    first_names = {row[1] for row in leads[1:]}
    assert {"'=1+2", "'+33 6 12", "'-5", "'@SUM(A1)", "'\ttab", "'\rcr first"} <= first_names
    assert {"line\r\nbreak", "lf\nonly", "cr\ronly", 'say "hi"', "fête 🎉", "\\."} <= first_names
    assert files["leads", "en", "false"].count(b"\r\n") >= len(leads)
    added = [row[8] for row in leads[1:]]
    assert added.count("2026-10-25 02:30:00") >= 2  # once in summer time, once in winter
    assert {"2026-03-29 01:59:59", "2026-03-29 03:00:00", ""} <= set(added)
    assigned = {row[11] for row in leads[1:]}
    assert assigned == {'\'=Staff; "x"\nÉ', tenant.viewer.user.email, ""}  # foreign: none
    excel = files["leads", "fr", "true"]
    assert excel.startswith("\ufeffID;Prénom".encode())
    assert parsed(excel, ";")[1:] == parsed(files["leads", "fr", "false"])[1:]
    sessions = parsed(files["sessions", "fr", "false"])
    enrolled = "\n".join(row[-1] for row in sessions[1:])
    for label in ("Envoyé le 25/10/2026", "Échéance dépassée le — - sans réponse"):
        assert label in enrolled  # the states' dates in the organisation's zone, or "—"
    assert "\n-5 : Date(s) à confirmer" in enrolled  # a cell's later lines stay as they are
    clients = parsed(files["clients", "en", "false"])
    assert {row[3] for row in clients[1:]} >= {"", "a;b"}  # NULL and empty SIRET alike


async def test_filters_selections_and_subsets_take_the_same_path(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_records(tenant, other_tenant.staff.user)
    ids = [lead.id for lead in await Lead.filter(organization_id=tenant.org.id).limit(5)]
    asked: list[dict[str, Any]] = [
        {"filter": {"statuses": ["NEW", "DEAD"]}, "order": {"field": "NAME", "descending": False}},
        {"selection": {"ids": [gid(pk) for pk in ids]}, "columns": ["email", "id", "status"]},
        {"filter": {"createdFrom": "2026-10-25T00:45:00+00:00"}},
    ]
    for parameters in asked:
        await both_paths(client, tenant, monkeypatch, "leads", **parameters)
    lone = await export(client, tenant, "leads", columns=["firstName"])
    assert lone.headers["x-export-path"] == "cursor"  # COPY writes a lone empty field blank


async def test_a_client_that_leaves_midway_leaves_no_copy_running(
    live_server: LiveServer, tenant: Tenant
) -> None:
    """Enough rows that the server is still writing when the client stops reading: the
    COPY is seen running, then gone with its connection once the client has left."""
    wide = "x" * 190
    await Lead.bulk_create(
        [
            Lead(organization_id=tenant.org.id, last_name=f"L{i}", account_name=wide, email=wide)
            for i in range(20_000)
        ]
    )
    database = connections.get("default")
    activity = (
        "SELECT count(*) AS connections, count(*) FILTER (WHERE query LIKE 'COPY (%%'"
        " AND state = 'active') AS copies FROM pg_stat_activity"
        f" WHERE datname = current_database() AND application_name = '{EXPORT_APPLICATION}'"
    )

    async def server_side() -> tuple[int, int]:
        (row,) = await database.execute_query_dict(activity)
        return row["connections"], row["copies"]

    async with (
        httpx.AsyncClient(base_url=live_server.url) as http,
        http.stream("GET", "/exports/leads.csv", headers=tenant.viewer.headers) as response,
    ):
        assert response.headers["x-export-path"] == "copy"
        body = response.aiter_raw()  # kept: a dropped iterator would close the response
        await anext(body)  # the header arrived: the client reads no more
        for _ in range(200):
            if await server_side() == (1, 1):
                break
            await asyncio.sleep(0.05)
        assert await server_side() == (1, 1)  # held by the client that does not read
    for _ in range(200):  # the client has left
        now = await server_side()
        if now == (0, 0):
            break
        await asyncio.sleep(0.05)
    assert now == (0, 0)  # no COPY, no connection of the export's left
    entry = await ChangeLogEntry.filter(organization_id=tenant.org.id, action="export").first()
    assert entry is not None
    assert 0 <= json.loads(entry.new_value or "{}")["rows"] < 20_000
