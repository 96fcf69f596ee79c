"""The confirmation story end to end through the real stack: GraphQL over HTTP, the
outbox, an arq worker, a real SMTP server, the link in the received email, the page."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import httpx

from jobs.confirmation import expire_overdue_proposals
from models.audit import ChangeLogEntry, DomainEvent
from models.confirmation import DateProposal, ProposalAnswer
from models.outbox import OutboundEmail
from models.sessions import SessionClient, SessionSlot, TrainingSession
from resolvers import runtime
from resolvers.confirmation.state import reset_after_planning_change
from resolvers.runtime import atomic
from tests.confirmation_support import (
    CONFIRMATION,
    MANUAL,
    PARIS,
    PROPOSALS,
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
from tests.conftest import GraphQLClient, Tenant, error_codes
from tests.smtp import SmtpServer


async def _send(gql: GraphQLClient, tenant: Tenant, sc: SessionClientRows, **extra: Any) -> dict:
    data = await gql.ok(SEND, {"id": sc.gid, "input": proposal_input(**extra)}, as_=tenant.staff)
    return data["sendDateProposal"]


async def _confirmation(gql: GraphQLClient, tenant: Tenant, sc: SessionClientRows) -> dict:
    data = await gql.ok(CONFIRMATION, {"id": sc.gid}, as_=tenant.staff)
    return data["sessionClientConfirmation"]


async def _write_counts() -> tuple[int, int, int, int]:
    return (
        await ChangeLogEntry.all().count(),
        await DomainEvent.all().count(),
        await ProposalAnswer.all().count(),
        await OutboundEmail.all().count(),
    )


async def _sent_link(
    gql: GraphQLClient, tenant: Tenant, sc: SessionClientRows, smtp: SmtpServer, run_worker: Any
) -> str:
    """Send a proposal, let the worker deliver it, and read the link in the received mail."""
    before = len(smtp.received)
    await _send(gql, tenant, sc)
    await run_worker()
    assert len(smtp.received) == before + 1
    return path_of(link_of(smtp.received[-1]))


async def test_accept_story(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    run_worker: Any,
) -> None:
    sc = await add_session_client(tenant)
    deadline = today() + timedelta(days=5)
    sent = await _send(gql, tenant, sc)
    assert sent["confirmation"]["state"] == "PENDING"
    assert sent["confirmation"]["label"] == (
        f"Date(s) en attente de confirmation - Envoyé le {fr(today())} - Échéance {fr(deadline)}"
    )
    assert sent["confirmation"]["listValue"] == {
        "value": "PENDING",
        "label": "En attente de confirmation",
    }
    assert sent["proposal"]["email"]["status"] == "QUEUED"
    assert sent["proposal"]["to"] == ["claire.dupont@acme.test"]

    await run_worker()
    assert len(smtp.received) == 1
    mail = smtp.received[0]
    assert mail.rcpt_tos == ["claire.dupont@acme.test"]
    assert "Sécurité incendie" in mail.message["Subject"]
    text = mail.body("plain")
    assert fr(sc.slots[0].date) in text and "09:00 - 17:30" in text and "Lyon" in text
    url = path_of(link_of(mail))

    # A mail scanner opening the link (GET, HEAD, again) changes nothing at all.
    before = await _write_counts()
    page = await client.get(url)
    assert page.status_code == 200
    assert "Sécurité incendie" in shown(page) and "J'accepte" in shown(page)
    assert 'method="post"' in shown(page) and "<script" not in shown(page)
    assert (await client.head(url)).status_code == 200
    assert (await client.get(url + "?answer=accept")).status_code == 200
    assert await _write_counts() == before
    assert (await sc.refresh()).confirmation_state == "PENDING"

    answered = await client.post(url, data={"answer": "accept"})
    assert answered.status_code == 200
    assert f"Date(s) acceptée(s) le {fr(today())}" in shown(answered)

    confirmation = await _confirmation(gql, tenant, sc)
    assert confirmation["state"] == "ACCEPTED"
    assert confirmation["label"] == f"Date(s) acceptée(s) le {fr(today())}"
    assert confirmation["listValue"]["label"] == "Confirmé"
    assert confirmation["sessionSummary"] == {"value": "CONFIRMED", "label": "Confirmé"}
    assert confirmation["proposal"]["answer"] == "ACCEPTED"
    assert confirmation["proposal"]["email"]["status"] == "SENT"
    assert [(h["previousState"], h["state"], h["actorKind"]) for h in confirmation["history"]] == [
        ("TO_CONFIRM", "PENDING", "USER"),
        ("PENDING", "ACCEPTED", "CLIENT"),
    ]
    assert (await TrainingSession.get(id=sc.session.id)).confirmation_summary == "CONFIRMED"

    # The session owner is told by email (RESPONSE_NOTIFICATION), through the worker.
    await run_worker()
    assert len(smtp.received) == 2
    notice = smtp.received[1]
    assert notice.rcpt_tos == [tenant.staff.user.email]
    assert f"Date(s) acceptée(s) le {fr(today())}" in notice.message["Subject"]

    english = await gql.ok(CONFIRMATION, {"id": sc.gid, "locale": "en"}, as_=tenant.staff)
    assert english["sessionClientConfirmation"]["sessionSummary"]["label"] == "Confirmed"
    assert english["sessionClientConfirmation"]["label"].startswith("Date(s) accepted on ")


async def test_decline_then_change_of_answer(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    run_worker: Any,
) -> None:
    sc = await add_session_client(tenant)
    url = await _sent_link(gql, tenant, sc, smtp, run_worker)

    declined = await client.post(url, data={"answer": "decline"})
    assert f"Date(s) déclinée(s) le {fr(today())}" in shown(declined)
    confirmation = await _confirmation(gql, tenant, sc)
    assert confirmation["state"] == "DECLINED"
    assert confirmation["sessionSummary"] == {"value": "DECLINED", "label": "Décliné"}

    # Until the deadline the client may change the answer; the last one stands.
    accepted = await client.post(url, data={"answer": "accept"})
    assert f"Date(s) acceptée(s) le {fr(today())}" in shown(accepted)
    confirmation = await _confirmation(gql, tenant, sc)
    assert confirmation["state"] == "ACCEPTED"
    assert confirmation["sessionSummary"]["label"] == "Confirmé"
    assert [a["answer"] for a in confirmation["proposal"]["answers"]] == ["DECLINED", "ACCEPTED"]
    assert [h["state"] for h in confirmation["history"]] == ["PENDING", "DECLINED", "ACCEPTED"]

    await run_worker()
    notices = [m for m in smtp.received if m.rcpt_tos == [tenant.staff.user.email]]
    assert len(notices) == 2  # every answer notifies the owner


async def test_expiry_at_end_of_deadline_day(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    run_worker: Any,
) -> None:
    sc = await add_session_client(tenant)
    before = len(smtp.received)
    await _send(gql, tenant, sc, deadline_days=1)
    await run_worker()
    url = path_of(link_of(smtp.received[before]))
    deadline = today() + timedelta(days=1)

    # Late on the deadline day (Paris time) the link still works and nothing expires.
    late = datetime.combine(deadline, time(23, 30), PARIS)
    runtime.current().clock = lambda: late
    assert await expire_overdue_proposals({}) == 0
    assert (await client.get(url)).status_code == 200

    # Just after midnight, the proposal is past its deadline: the link is gone (410)...
    after = datetime.combine(deadline + timedelta(days=1), time(0, 0, 30), PARIS)
    runtime.current().clock = lambda: after
    gone = await client.get(url)
    assert gone.status_code == 410 and "Échéance dépassée" in shown(gone)
    refused = await client.post(url, data={"answer": "accept"})
    assert refused.status_code == 410
    assert (await sc.refresh()).confirmation_state == "PENDING"

    # ... and the periodic job marks it EXPIRED.
    assert await expire_overdue_proposals({}) == 1
    assert await expire_overdue_proposals({}) == 0
    confirmation = await _confirmation(gql, tenant, sc)
    assert confirmation["state"] == "EXPIRED"
    assert confirmation["label"] == f"Échéance dépassée le {fr(deadline)} - sans réponse"
    assert confirmation["sessionSummary"] == {"value": "TO_CONFIRM", "label": "À confirmer"}
    assert confirmation["history"][-1]["actorKind"] == "SYSTEM"
    assert (await client.get(url)).status_code == 410

    # A new proposal may be sent after an expiry.
    runtime.current().clock = runtime.utc_now
    resent = await _send(gql, tenant, sc)
    assert resent["confirmation"]["state"] == "PENDING"


async def test_superseded_link(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    run_worker: Any,
) -> None:
    sc = await add_session_client(tenant)
    old = await _sent_link(gql, tenant, sc, smtp, run_worker)
    new = await _sent_link(gql, tenant, sc, smtp, run_worker)
    assert old != new

    gone = await client.get(old)
    assert gone.status_code == 410 and "remplacée" in shown(gone)
    assert (await client.post(old, data={"answer": "accept"})).status_code == 410
    assert (await sc.refresh()).confirmation_state == "PENDING"

    assert (await client.post(new, data={"answer": "accept"})).status_code == 200
    proposals = (await gql.ok(PROPOSALS, {"id": sc.gid}, as_=tenant.staff))[
        "sessionClientProposals"
    ]
    assert [p["answer"] for p in proposals] == ["ACCEPTED", None]
    assert proposals[1]["supersededAt"] is not None and proposals[0]["supersededAt"] is None
    assert [p["email"]["status"] for p in proposals] == ["SENT", "SENT"]
    history = (await _confirmation(gql, tenant, sc))["history"]
    assert [h["action"] for h in history] == [
        "state_changed",
        "proposal_sent",
        "answer_refused",
        "state_changed",
    ]


async def test_manual_validation(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    run_worker: Any,
) -> None:
    sc = await add_session_client(tenant)
    url = await _sent_link(gql, tenant, sc, smtp, run_worker)

    on = (await gql.ok(MANUAL, {"id": sc.gid, "on": True}, as_=tenant.staff))["setManualValidation"]
    assert on["state"] == "MANUALLY_VALIDATED"
    assert on["label"] == "Date(s) validée(s) manuellement"
    assert on["sessionSummary"] == {"value": "CONFIRMED", "label": "Confirmé"}
    # The pending proposal is superseded: its link stops working.
    assert (await client.post(url, data={"answer": "decline"})).status_code == 410
    refused = await gql(SEND, {"id": sc.gid, "input": proposal_input()}, as_=tenant.staff)
    assert error_codes(refused) == ["WRONG_STATE"]

    off = (await gql.ok(MANUAL, {"id": sc.gid, "on": False}, as_=tenant.staff))[
        "setManualValidation"
    ]
    assert off["state"] == "TO_CONFIRM" and off["label"] == "Date(s) à confirmer"
    assert off["sessionSummary"] == {"value": "TO_CONFIRM", "label": "À confirmer"}
    again = await gql(MANUAL, {"id": sc.gid, "on": False}, as_=tenant.staff)
    assert error_codes(again) == ["WRONG_STATE"]
    viewer = await gql(MANUAL, {"id": sc.gid, "on": True}, as_=tenant.viewer)
    assert error_codes(viewer) == ["FORBIDDEN"]


async def test_planning_change_after_acceptance(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    run_worker: Any,
) -> None:
    sc = await add_session_client(tenant)
    url = await _sent_link(gql, tenant, sc, smtp, run_worker)
    assert (await client.post(url, data={"answer": "accept"})).status_code == 200

    # A slot moves (the sessions domain does this in its own mutations).
    async with atomic():
        await SessionSlot.filter(id=sc.slots[0].id).update(
            date=sc.slots[0].date + timedelta(days=1)
        )
        assert await reset_after_planning_change(tenant.staff.scope, sc.session.id) == 1

    confirmation = await _confirmation(gql, tenant, sc)
    assert confirmation["state"] == "TO_CONFIRM"
    assert confirmation["history"][-1]["reason"] == "planning changed"
    assert confirmation["sessionSummary"]["label"] == "À confirmer"
    assert confirmation["proposal"] is None
    assert (await client.get(url)).status_code == 410
    assert (await client.post(url, data={"answer": "decline"})).status_code == 410


async def test_summary_over_several_clients(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    run_worker: Any,
) -> None:
    first = await add_session_client(tenant)
    second = await add_session_client(
        tenant, session=first.session, client_name="Beta SARL", contact_email="bob@beta.test"
    )
    url = await _sent_link(gql, tenant, first, smtp, run_worker)
    await client.post(url, data={"answer": "accept"})
    assert (await _confirmation(gql, tenant, first))["sessionSummary"]["label"] == "À confirmer"
    await gql.ok(MANUAL, {"id": second.gid, "on": True}, as_=tenant.staff)
    assert (await _confirmation(gql, tenant, first))["sessionSummary"]["label"] == "Confirmé"
    assert await SessionClient.filter(session_id=first.session.id).count() == 2
    assert await DateProposal.all().count() == 1
