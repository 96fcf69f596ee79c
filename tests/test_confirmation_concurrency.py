"""Real concurrency on PostgreSQL: the client's answer and a manual validation (or two
answers) arrive at the same moment; the row lock and the conditional update keep the
state consistent and the history complete."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import asyncpg
import httpx
import pytest

from models.confirmation import ProposalAnswer
from tests.confirmation_support import (
    CONFIRMATION,
    MANUAL,
    SEND,
    SessionClientRows,
    add_session_client,
    link_of,
    path_of,
    proposal_input,
)
from tests.conftest import GraphQLClient, Tenant
from tests.smtp import SmtpServer

pytestmark = pytest.mark.postgres_only


async def _linked(
    gql: GraphQLClient, tenant: Tenant, smtp: SmtpServer, run_worker: Any, n: int
) -> list[tuple[SessionClientRows, str]]:
    first = await add_session_client(tenant)
    session_clients = [first] + [
        await add_session_client(
            tenant, session=first.session, client_name=f"C{i}", contact_email=f"c{i}@c.test"
        )
        for i in range(1, n)
    ]
    for sc in session_clients:
        await gql.ok(SEND, {"id": sc.gid, "input": proposal_input()}, as_=tenant.staff)
    await run_worker()
    by_recipient = {m.rcpt_tos[0]: path_of(link_of(m)) for m in smtp.received}
    return [(e, by_recipient[e.contact.email]) for e in session_clients]


async def _all_at_once(
    database_url: str, session_client_id: int, *operations: Awaitable[Any]
) -> list[Any]:
    """Hold the session client's row lock until every operation waits on it, then let go."""
    holder = await asyncpg.connect(database_url)
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(
            'SELECT 1 FROM "sessionclient" WHERE id = $1 FOR UPDATE', session_client_id
        )
        tasks = [asyncio.ensure_future(op) for op in operations]
        for _ in range(500):
            waiting = await holder.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            if waiting == len(operations):
                break
            await asyncio.sleep(0.01)
        assert waiting == len(operations), "the operations did not all reach the row lock"
        await transaction.commit()
        return await asyncio.gather(*tasks)
    finally:
        await holder.close()


async def test_accept_and_manual_validation_at_the_same_moment(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    run_worker: Any,
    database_url: str,
) -> None:
    for sc, url in await _linked(gql, tenant, smtp, run_worker, 4):
        answer, manual = await _all_at_once(
            database_url,
            sc.session_client.id,
            client.post(url, data={"answer": "accept"}),
            gql(MANUAL, {"id": sc.gid, "on": True}, as_=tenant.staff),
        )
        assert not manual.get("errors")
        confirmation = (await gql.ok(CONFIRMATION, {"id": sc.gid}, as_=tenant.staff))[
            "sessionClientConfirmation"
        ]
        # Manual validation stands whichever came first; both are in the history.
        assert confirmation["state"] == "MANUALLY_VALIDATED"
        assert confirmation["proposal"] is None
        history = [(h["action"], h["state"], h["actorKind"]) for h in confirmation["history"]]
        validated = ("state_changed", "MANUALLY_VALIDATED", "USER")
        if answer.status_code == 200:  # the answer got the lock first
            assert history[-2:] == [("state_changed", "ACCEPTED", "CLIENT"), validated]
        else:  # the validation got it first: the answer is refused, and the refusal logged
            assert answer.status_code == 410
            assert history[-2:] == [validated, ("answer_refused", "ACCEPTED", "CLIENT")]
    assert (await sc.refresh()).confirmation_state == "MANUALLY_VALIDATED"
    summary = (await gql.ok(CONFIRMATION, {"id": sc.gid}, as_=tenant.staff))[
        "sessionClientConfirmation"
    ]["sessionSummary"]
    assert summary == {"value": "CONFIRMED", "label": "Confirmé"}


async def test_two_answers_at_the_same_moment(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    run_worker: Any,
    database_url: str,
) -> None:
    [(sc, url)] = await _linked(gql, tenant, smtp, run_worker, 1)
    responses = await _all_at_once(
        database_url,
        sc.session_client.id,
        client.post(url, data={"answer": "accept"}),
        client.post(url, data={"answer": "decline"}),
    )
    assert [r.status_code for r in responses] == [200, 200]
    answers = await ProposalAnswer.all().order_by("id").values_list("answer", flat=True)
    assert sorted(answers) == ["ACCEPTED", "DECLINED"]
    confirmation = (await gql.ok(CONFIRMATION, {"id": sc.gid}, as_=tenant.staff))[
        "sessionClientConfirmation"
    ]
    # The last answer recorded stands, and the history tells the same story.
    assert confirmation["state"] == answers[-1]
    assert [h["state"] for h in confirmation["history"]] == ["PENDING", *answers]
    assert [a["answer"] for a in confirmation["proposal"]["answers"]] == list(answers)
