"""The public response page: read-only GET/HEAD (mail scanners), unknown and tampered
links, languages, headers, rate limit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.settings import Settings
from models.audit import ChangeLogEntry, DomainEvent
from models.confirmation import DateProposal, ProposalAnswer
from models.outbox import OutboundEmail
from tests.confirmation_support import (
    SEND,
    SessionClientRows,
    add_session_client,
    fr,
    link_of,
    path_of,
    proposal_input,
    shown,
    today,
)
from tests.conftest import GraphQLClient, Tenant
from tests.smtp import SmtpServer


@pytest.fixture
async def sent(
    gql: GraphQLClient, tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> tuple[SessionClientRows, str]:
    """A session client with a proposal emailed, and the path of the link in that email."""
    sc = await add_session_client(tenant)
    await gql.ok(SEND, {"id": sc.gid, "input": proposal_input()}, as_=tenant.staff)
    await run_worker()
    return sc, path_of(link_of(smtp.received[-1]))


async def _snapshot(sc: SessionClientRows) -> tuple[Any, ...]:
    row = await sc.refresh()
    proposal = await DateProposal.get(id=row.current_proposal_id)
    return (
        row.confirmation_state,
        row.version,
        row.confirmation_answered_at,
        proposal.answer,
        await ProposalAnswer.all().count(),
        await ChangeLogEntry.all().count(),
        await DomainEvent.all().count(),
        await OutboundEmail.all().count(),
    )


async def test_scanner_like_requests_change_nothing(
    client: httpx.AsyncClient, sent: tuple[SessionClientRows, str]
) -> None:
    sc, url = sent
    before = await _snapshot(sc)
    scanner = {"User-Agent": "Mozilla/5.0 (compatible; SafeLinks scanner)"}
    for method, target in [
        ("HEAD", url),
        ("GET", url),
        ("GET", url + "?answer=accept"),
        ("HEAD", url + "?answer=accept"),
        ("GET", url + "?answer=decline"),
        ("HEAD", url + "?answer=decline"),
        ("GET", url + "?answer=accept&confirm=1"),
        ("GET", url),
    ]:
        response = await client.request(method, target, headers=scanner)
        assert response.status_code == 200, (method, target)
    for method in ("PUT", "DELETE", "PATCH"):
        assert (await client.request(method, url)).status_code == 405
    assert await _snapshot(sc) == before
    assert before[0] == "PENDING"


async def test_page_content_and_headers(
    client: httpx.AsyncClient, sent: tuple[SessionClientRows, str]
) -> None:
    sc, url = sent
    page = await client.get(url + "?answer=accept")
    text = shown(page)
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    assert "<script" not in page.text.lower() and "onload" not in page.text.lower()
    assert page.text.count('method="post"') == 1
    assert "Org A" in text and "Sécurité incendie" in text and "S-001" in text
    for slot in sc.slots:
        assert fr(slot.date) in text
    assert "09:00 - 17:30" in text and "Salle 2" in text
    assert f"au plus tard le <strong>{fr(today() + timedelta(days=5))}</strong>" in text
    assert "Date(s) en attente de confirmation" in text
    assert 'value="accept" class="accept chosen"' in page.text  # pre-selected, not submitted
    assert "J'accepte" in text and "Je décline" in text


async def test_english_by_the_language_switch(
    client: httpx.AsyncClient, sent: tuple[SessionClientRows, str]
) -> None:
    _, url = sent
    page = await client.get(url + "?lang=en")
    assert "I accept" in shown(page) and "Please answer by" in shown(page)
    assert '<html lang="en">' in page.text
    answered = await client.post(url + "?lang=en", data={"answer": "accept"})
    assert "Your answer has been recorded." in shown(answered)
    assert "Date(s) accepted on" in shown(answered)
    french = await client.get(url + "?lang=de")  # not one of ours: the proposal's French
    assert "J'accepte" in shown(french)


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
async def test_unknown_and_tampered_links_are_404(
    client: httpx.AsyncClient, sent: tuple[SessionClientRows, str], method: str
) -> None:
    sc, url = sent
    before = await _snapshot(sc)
    tampered = url[:-1] + ("A" if url[-1] != "A" else "B")
    for target in (tampered, "/respond/nope", "/respond/" + "x" * 500):
        response = await client.request(
            method, target, data={"answer": "accept"} if method == "POST" else None
        )
        assert response.status_code == 404
        if method != "HEAD":
            assert "Lien inconnu" in shown(response) and "Traceback" not in response.text
    assert await _snapshot(sc) == before


async def test_bad_answer_is_400_and_changes_nothing(
    client: httpx.AsyncClient, sent: tuple[SessionClientRows, str]
) -> None:
    sc, url = sent
    before = await _snapshot(sc)
    for data in ({"answer": "maybe"}, {}, {"answer": "ACCEPTED"}):
        response = await client.post(url, data=data)
        assert response.status_code == 400
    assert await _snapshot(sc) == before


@pytest.fixture
def low_rate(settings: Settings) -> Iterator[int]:
    previous = settings.public_rate_per_minute
    settings.public_rate_per_minute = 5
    yield 5
    settings.public_rate_per_minute = previous


async def test_rate_limited(app: Any, sent: tuple[SessionClientRows, str], low_rate: int) -> None:
    sc, url = sent
    # An address of its own, so earlier requests of this minute do not count.
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        statuses = [(await client.get(url)).status_code for _ in range(low_rate + 2)]
        assert statuses[:low_rate] == [200] * low_rate and statuses[low_rate:] == [429, 429]
        refused = await client.post(url, data={"answer": "accept"})
    assert refused.status_code == 429 and "Trop de requêtes" in shown(refused)
    assert (await sc.refresh()).confirmation_state == "PENDING"


async def test_a_line_break_in_a_name_does_not_block_the_answer(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    run_worker: Any,
) -> None:
    """Names are interpolated into subjects: a CR/LF from a stored value folds to a space
    (no header injection) instead of refusing the client's answer and the owner's email."""
    sc = await add_session_client(tenant, client_name="Acme\r\nBcc: evil@attacker.test")
    await gql.ok(SEND, {"id": sc.gid, "input": proposal_input()}, as_=tenant.staff)
    await run_worker()
    answered = await client.post(path_of(link_of(smtp.received[-1])), data={"answer": "accept"})
    assert answered.status_code == 200
    assert (await sc.refresh()).confirmation_state == "ACCEPTED"
    notification = await OutboundEmail.filter(kind="RESPONSE_NOTIFICATION").get()
    assert notification.subject.startswith("Acme Bcc: evil@attacker.test : ")
    assert notification.to == [tenant.staff.user.email] and not notification.bcc


async def test_an_answer_that_cannot_be_recorded_gets_a_page_and_writes_nothing(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    tenant: Tenant,
    sent: tuple[SessionClientRows, str],
) -> None:
    """A notification template that renders with the sample values but not with this
    session's (an empty location) used to answer the client with a 401 JSON error."""
    sc, url = sent
    await gql.ok(
        """mutation($i: EmailTemplateInput!) { updateEmailTemplate(input: $i) { version } }""",
        {
            "i": {
                "kind": "RESPONSE_NOTIFICATION",
                "locale": "fr",
                "subject": "Réponse",
                "html": "<p>{{ 100 // (session.location | length) }}</p>",
            }
        },
        as_=tenant.staff,
    )
    sc.session.location = ""
    await sc.session.save(update_fields=["location"])
    before = await _snapshot(sc)
    response = await client.post(url, data={"answer": "accept"})
    assert response.status_code == 400 and "Réponse non enregistrée" in shown(response)
    assert response.headers["content-type"].startswith("text/html")
    assert await _snapshot(sc) == before
