"""Lists printed to PDF over HTTP (``GET /print/{list}.pdf``): the table of the list's
columns for a filter or a selection, the page header (organisation, filter, date of
printing, page numbers), the change log, signed links, and lists above the in-request
limit rendered by the worker into a file to download."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from strawberry import relay

from app.settings import Settings
from models.exports import FileStatus, GeneratedFile
from models.leads import Lead, LeadStatus
from resolvers import runtime
from resolvers.exports import links
from resolvers.prints import files
from resolvers.prints.lists import IN_REQUEST_LIMIT, MAX_PRINTED
from tests.confirmation_support import MANUAL, add_session_client, fr, today
from tests.conftest import GraphQLClient, Tenant, process_env
from tests.faults_support import wait_until
from tests.print_support import assert_pdf, page_count, pdf_text, render_first_page

AUDIT = """query { auditLog(first: 10) { edges { node { action reason newValue } } } }"""
LINK = """mutation($selection: JSON) {
  createExportLink(list: LEADS, selection: $selection, format: PDF) { url } }"""


async def make_leads(tenant: Tenant, names: list[str], status: LeadStatus) -> list[Lead]:
    return [
        await Lead.create(
            organization_id=tenant.org.id,
            first_name=first,
            last_name=f"Dupré-{n}",
            email=f"{first.lower()}.{n}@exemple.fr",
            status=status,
            account_name="Établissements Méhari et Fils, société anonyme à conseil d'administration",
        )
        for n, first in enumerate(names)
    ]


def gids(leads: list[Lead]) -> list[str]:
    return [relay.to_base64("Lead", lead.id) for lead in leads]


async def test_a_filtered_lead_list_prints_its_columns_header_and_page_numbers(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: Tenant
) -> None:
    shown = await make_leads(tenant, ["Hélène", "Zoé", "Anaïs"], LeadStatus.RECYCLED)
    await make_leads(tenant, ["Gérard"], LeadStatus.NEW)
    response = await client.get(
        "/print/leads.pdf",
        params={
            "filter": json.dumps({"statuses": ["RECYCLED"]}),
            "order": json.dumps({"field": "NAME", "descending": False}),
        },
        headers=tenant.viewer.headers,
    )
    text = assert_pdf(response)

    assert tenant.org.name in text and f"Imprimé le {fr(today())}" in text
    assert "Clients potentiels (3)" in text and "Filtre : statuses = RECYCLED" in text
    assert "Prénom" in text and "Statut" in text and "Nom du compte" in text
    squeezed = "".join(text.split())  # a narrow cell wraps its value over lines
    for lead in shown:
        assert f"{lead.first_name} {lead.last_name}" in text
    assert "Gérard" not in text
    assert text.count("Recyclé") == 3
    # The long account name wraps inside its cell, every word kept.
    assert squeezed.count("sociétéanonymeàconseild'administration") == 3
    assert "Page 1 / 1" in text

    entries = (await gql.ok(AUDIT, as_=tenant.admin))["auditLog"]["edges"]
    logged = json.loads(entries[0]["node"]["newValue"])
    assert entries[0]["node"]["action"] == "print"
    assert logged["list"] == "leads" and logged["rows"] == 3 and logged["format"] == "pdf"


async def test_dates_times_and_numbers_print_as_a_reader_expects_them(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    added = datetime(2026, 11, 3, 9, 30, 15, 123456, tzinfo=UTC)  # 10:30 in Paris
    await Lead.create(
        organization_id=tenant.org.id,
        last_name="Dupré",
        waitlist_date_added=added,
        waitlist_emails_sent=12345,
    )
    columns = "lastName,waitlistDateAdded,waitlistEmailsSent"
    printed = {
        lang: assert_pdf(
            await client.get(
                "/print/leads.pdf",
                params={"columns": columns, "lang": lang},
                headers=tenant.staff.headers,
            )
        )
        for lang in ("fr", "en")
    }
    assert "Dupré 03/11/2026 10:30 12 345" in printed["fr"]  # a narrow no-break space
    assert "Dupré 2026-11-03 10:30 12,345" in printed["en"]
    for text in printed.values():
        assert "09:30" not in text and "123456" not in text and "+00:00" not in text


async def test_a_session_list_prints_the_confirmation_column_and_each_clients_label(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: Tenant
) -> None:
    first = await add_session_client(tenant, client_name="Hôtel Beauséjour")
    second = await add_session_client(tenant, session=first.session, client_name="Crêperie Île")
    await gql.ok(MANUAL, {"id": second.gid, "on": True}, as_=tenant.staff)
    response = await client.get(
        "/print/sessions.pdf", params={"lang": "en"}, headers=tenant.staff.headers
    )
    text = assert_pdf(response)
    assert "Sessions (1)" in text and "Filter : none (every record)" in text
    assert "Client date confirmation" in text and "To confirm" in text
    assert "Hôtel Beauséjour : Date(s) to be confirmed" in text
    assert "Crêperie Île : Date(s) validated manually" in text


async def test_a_selection_of_ids_prints_those_records_and_refuses_a_foreign_one(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    leads = await make_leads(tenant, ["Hélène", "Zoé", "Anaïs"], LeadStatus.NEW)
    picked = gids(leads[:2])
    response = await client.get(
        "/print/leads.pdf",
        params={"selection": json.dumps({"ids": picked}), "columns": "lastName,firstName,email"},
        headers=tenant.staff.headers,
    )
    text = assert_pdf(response)
    assert "Sélection : 2 dossier(s) choisi(s)" in text and "Anaïs" not in text
    assert "Dupré-0 Hélène hélène.0@exemple.fr" in text and "Dupré-1 Zoé zoé.1@exemple.fr" in text

    foreign = await client.get(
        "/print/leads.pdf",
        params={"selection": json.dumps({"ids": picked})},
        headers=other_tenant.staff.headers,
    )
    missing = await client.get(
        "/print/leads.pdf",
        params={"selection": json.dumps({"ids": [relay.to_base64("Lead", 10**12)]})},
        headers=other_tenant.staff.headers,
    )
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["code"] == missing.json()["code"] == "NOT_FOUND"
    assert (await client.get("/print/leads.pdf")).status_code == 401
    unknown = await client.get("/print/invoices.pdf", headers=tenant.staff.headers)
    assert unknown.status_code == 400 and unknown.json()["field"] == "list"


async def test_a_signed_link_prints_without_a_bearer_header(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    leads = await make_leads(tenant, ["Hélène", "Zoé"], LeadStatus.NEW)
    selection = {"ids": gids(leads[:1])}
    url = (await gql.ok(LINK, {"selection": selection}, as_=tenant.staff))["createExportLink"][
        "url"
    ]
    assert "/print/leads.pdf?" in url
    text = assert_pdf(await client.get(url))
    assert "Hélène" in text and "Zoé" not in text
    stranger = await client.get(url, headers=other_tenant.staff.headers)
    assert stranger.status_code == 403


async def test_a_list_above_the_limit_is_rendered_by_the_worker_into_a_file(
    client: httpx.AsyncClient, tenant: Tenant, run_worker: Any
) -> None:
    count = IN_REQUEST_LIMIT + 1
    await Lead.bulk_create(
        [
            Lead(organization_id=tenant.org.id, first_name="Élodie", last_name=f"Mérieux {n:04d}")
            for n in range(count)
        ]
    )
    asked = await client.get(
        "/print/leads.pdf",
        params={"order": json.dumps({"field": "NAME", "descending": False})},
        headers=tenant.staff.headers,
    )
    assert asked.status_code == 202, asked.text
    queued = asked.json()
    assert queued["status"] == "QUEUED" and queued["rows"] == count
    early = await client.get(queued["downloadUrl"], headers=tenant.staff.headers)
    assert early.status_code == 409

    await run_worker()

    status = await client.get(queued["statusUrl"], headers=tenant.staff.headers)
    assert status.status_code == 200 and status.json()["status"] == "DONE"
    download = await client.get(queued["downloadUrl"], headers=tenant.staff.headers)
    assert download.status_code == 200 and download.headers["content-type"] == "application/pdf"
    render_first_page(download.content)
    text = pdf_text(download.content)
    assert f"Clients potentiels ({count})" in text
    # Every row's names (pdftotext may read a page's table a column at a time).
    assert text.count("Élodie") == count
    assert sorted(re.findall(r"Mérieux (\d{4})", text)) == [f"{n:04d}" for n in range(count)]
    assert text.index("Mérieux 0000") < text.index("Mérieux 0250") < text.index("Mérieux 0500")
    pages = page_count(download.content)
    assert f"Page {pages} / {pages}" in text and pages > 5

    # Only whoever asked sees the file: another user of the organisation gets a 404.
    for path in (queued["statusUrl"], queued["downloadUrl"]):
        assert (await client.get(path, headers=tenant.admin.headers)).status_code == 404
        assert (await client.get(path)).status_code == 401
    file = await GeneratedFile.get(organization_id=tenant.org.id)
    assert files.stored_path(file).exists()

    # A day later the file is gone: its links answer 404, the sweep removes it from disk.
    later = runtime.now() + files.KEEP_FOR
    runtime.current().clock = lambda: later
    assert (await client.get(queued["statusUrl"], headers=tenant.staff.headers)).status_code == 404
    assert await files.remove_expired_files() == 1
    assert not files.stored_path(file).exists()
    assert not await GeneratedFile.filter(organization_id=tenant.org.id).exists()


async def _queued_print(client: httpx.AsyncClient, tenant: Tenant, count: int) -> dict[str, Any]:
    await Lead.bulk_create(
        [
            Lead(organization_id=tenant.org.id, first_name="Élodie", last_name=f"Mérieux {n:05d}")
            for n in range(count)
        ],
        batch_size=1000,
    )
    asked = await client.get("/print/leads.pdf", headers=tenant.staff.headers)
    assert asked.status_code == 202, asked.text
    return asked.json()  # type: ignore[no-any-return]


async def test_a_render_whose_worker_stopped_is_run_again_then_failed_for_the_user_to_see(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    queued = await _queued_print(client, tenant, IN_REQUEST_LIMIT + 1)
    file_id = int(queued["id"])
    stale = timedelta(seconds=60)
    # A worker claimed the file (its first render) and its heartbeat is fresh: left alone.
    await GeneratedFile.filter(id=file_id).update(
        status=FileStatus.RUNNING, attempts=1, heartbeat_at=runtime.now()
    )
    assert await files.stale_files(stale) == []
    # The worker died: no heartbeat for longer than ``stale``, the sweep queues it again.
    later = runtime.now() + 2 * stale
    runtime.current().clock = lambda: later
    assert await files.stale_files(stale) == [file_id]
    assert (await GeneratedFile.get(id=file_id)).status == FileStatus.QUEUED
    assert await files.generate_file(file_id, timedelta(seconds=1)) == FileStatus.DONE
    done = await GeneratedFile.get(id=file_id)
    assert (done.status, done.attempts) == (FileStatus.DONE, 2) and files.stored_path(done).exists()

    # A file whose every render lost its worker is FAILED, with the reason shown.
    await GeneratedFile.filter(id=file_id).update(
        status=FileStatus.RUNNING, attempts=files.MAX_ATTEMPTS, heartbeat_at=later
    )
    even_later = later + 2 * stale
    runtime.current().clock = lambda: even_later
    assert await files.stale_files(stale) == []
    status = (await client.get(queued["statusUrl"], headers=tenant.staff.headers)).json()
    assert status["status"] == "FAILED" and status["error"] == files.LOST_WORKER
    # The run that lost its claim cannot finish the file over the sweep's decision.
    assert await files.generate_file(file_id, timedelta(seconds=1)) is None


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A ``trainhub worker`` process, as production runs it."""
    return subprocess.Popen([sys.executable, "-m", "app", "worker"], env=env)


def _rendering(file_id: int) -> Callable[[], Awaitable[bool]]:
    """The file is RUNNING and its render has beaten its heartbeat at least once since it
    started: the kill lands in the middle of the layout, not before it."""

    async def rendering() -> bool:
        file = await GeneratedFile.get(id=file_id)
        beat, started = file.heartbeat_at, file.started_at
        if file.status != FileStatus.RUNNING or beat is None or started is None:
            return False
        return beat > started

    return rendering


STALE_SECONDS = 3


def _stale(file_id: int) -> Callable[[], Awaitable[bool]]:
    """The file's last heartbeat is older than the workers' stale period."""

    async def stale() -> bool:
        beat = (await GeneratedFile.get(id=file_id)).heartbeat_at
        return beat is not None and datetime.now(UTC) - beat > timedelta(seconds=STALE_SECONDS)

    return stale


@pytest.mark.postgres_only
async def test_a_worker_killed_mid_render_leaves_the_file_to_the_next_worker(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    count = MAX_PRINTED  # a render of some seconds, so the kill lands in the middle
    queued = await _queued_print(client, tenant, count)
    file_id = int(queued["id"])
    # Stale after 3 s (beats every 0.75 s): a busy machine's render must not go stale
    # under its own worker, whose sweep would then start a second attempt before the kill.
    env = process_env(settings, PRINT_STALE_SECONDS=str(STALE_SECONDS))
    worker = _worker(env)
    try:
        await wait_until(_rendering(file_id), "the first worker is rendering the file")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        killed = await GeneratedFile.get(id=file_id)
        assert (killed.status, killed.attempts) == (FileStatus.RUNNING, 1)
        await wait_until(_stale(file_id), "the killed worker's heartbeat went stale")
        worker = _worker(env)
        await wait_until(
            lambda: GeneratedFile.filter(id=file_id, status=FileStatus.DONE).exists(),
            "the next worker rendered the file",
            within=300,
        )
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    done = await GeneratedFile.get(id=file_id)
    assert done.attempts == 2
    download = await client.get(queued["downloadUrl"], headers=tenant.staff.headers)
    assert download.status_code == 200
    assert f"Clients potentiels ({count})" in pdf_text(download.content)


async def test_a_generated_file_has_signed_links_for_a_browser(
    client: httpx.AsyncClient, gql: GraphQLClient, tenant: Tenant, run_worker: Any
) -> None:
    await Lead.bulk_create(
        [Lead(organization_id=tenant.org.id, last_name=f"Lié {n}") for n in range(501)]
    )
    url = (await gql.ok(LINK, {"selection": None}, as_=tenant.staff))["createExportLink"]["url"]
    queued = (await client.get(url)).json()  # a browser: no Bearer header
    assert queued["status"] == "QUEUED"
    status_link, download_link = queued["signedStatusUrl"], queued["signedDownloadUrl"]
    assert (await client.get(download_link)).status_code == 409  # not rendered yet

    await run_worker()

    status = (await client.get(status_link)).json()
    assert status["status"] == "DONE"
    download = await client.get(status["signedDownloadUrl"])
    assert download.status_code == 200 and download.content.startswith(b"%PDF-")
    # Bound to its file, its user and its organisation.
    other_file = download_link.replace(f"/files/{queued['id']}.pdf", "/files/999999.pdf")
    altered = download_link.replace("signature=", "signature=0")
    assert (await client.get(other_file)).status_code == 403
    assert (await client.get(altered)).status_code == 403
    stranger = await client.get(download_link, headers=tenant.admin.headers)
    assert stranger.status_code == 403
    # Another user's own signed link to the file finds no file of theirs.
    admin_link, _ = links.signed_link(tenant.admin.scope, f"/print/files/{queued['id']}.pdf")
    assert (await client.get(admin_link)).status_code == 404
    # Expired after five minutes; a fresh status (by Bearer) gives new links that work.
    later = runtime.now() + links.LINK_LIFETIME + timedelta(seconds=1)
    runtime.current().clock = lambda: later
    expired = await client.get(download_link)
    assert expired.status_code == 410 and expired.json()["code"] == "LINK_EXPIRED"
    renewed = (await client.get(queued["statusUrl"], headers=tenant.staff.headers)).json()
    assert (await client.get(renewed["signedDownloadUrl"])).status_code == 200
