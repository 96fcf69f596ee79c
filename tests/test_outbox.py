"""The email outbox against a real SMTP server (aiosmtpd on loopback) and an arq worker."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from app.worker import retry_policy
from jobs.outbox_delivery import RetryPolicy, requeue_stuck_emails
from models.audit import DomainEvent
from models.outbox import EmailStatus, OutboundEmail
from models.records import Document, RecordLink
from resolvers import runtime
from resolvers.context import Scope
from resolvers.errors import ValidationFailed
from resolvers.outbox import queue_email
from tests.conftest import GraphQLClient, Tenant, error_codes
from tests.smtp import SmtpServer
from tests.statements import StatementCounter


async def _queue(scope: Scope, **overrides: Any) -> OutboundEmail:
    values: dict[str, Any] = {
        "to": ["Alice Martin <alice@client.test>"],
        "subject": "Vos dates de formation",
        "html": "<p>Bonjour <b>Alice</b></p>",
        "text": "Bonjour Alice",
        "concerns": [("session", 42)],
    }
    values.update(overrides)
    async with runtime.atomic():
        return await queue_email(scope, **values)


async def _status(email: OutboundEmail) -> OutboundEmail:
    return await OutboundEmail.get(id=email.id)


async def _event_statuses(email: OutboundEmail) -> Sequence[str]:
    events = await DomainEvent.filter(type="email.status_changed", record_id=email.id).order_by(
        "id"
    )
    return [e.payload["status"] for e in events]


async def test_delivers_with_cc_bcc_and_attachments(
    tenant: Tenant, smtp: SmtpServer, run_worker: Any, settings: Any
) -> None:
    settings.storage_dir.mkdir(parents=True, exist_ok=True)
    (settings.storage_dir / "doc-1").write_bytes(b"%PDF-1.4 programme")
    doc = await Document.create(
        organization_id=tenant.org.id,
        filename="programme.pdf",
        content_type="application/pdf",
        size=18,
        sha256="x" * 64,
        storage_name="doc-1",
    )
    email = await _queue(
        tenant.staff.scope,
        cc=["manager@client.test"],
        bcc=["archive@org.test"],
        attachment_ids=[doc.id],
    )
    await run_worker()

    assert (await _status(email)).status == EmailStatus.SENT
    [received] = smtp.received
    assert sorted(received.rcpt_tos) == [
        "alice@client.test",
        "archive@org.test",
        "manager@client.test",
    ]
    message = received.message
    assert message["To"] == "alice@client.test" and message["Cc"] == "manager@client.test"
    assert message["Bcc"] is None  # blind copy: envelope only
    assert message["Message-ID"] == email.message_id
    assert received.body("plain").strip() == "Bonjour Alice"
    assert "<b>Alice</b>" in received.body("html")
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "programme.pdf"
    assert attachment.get_content() == b"%PDF-1.4 programme"
    assert await _event_statuses(email) == ["SENT"]
    # The email shows on the record it concerns (subpanel "Emails").
    assert await RecordLink.filter(
        owner_type="session", owner_id=42, target_type="email", target_id=email.id
    ).exists()


async def test_deliveries_share_pooled_connections_and_reconnect_after_a_restart(
    tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> None:
    first = [await _queue(tenant.staff.scope, subject=f"n{i}") for i in range(10)]
    await run_worker()
    # Concurrent jobs share the worker's pool of 4 connections.
    assert len(smtp.received) == 10 and len({r.peer for r in smtp.received}) <= 4
    smtp.stop()  # drops the pooled connection
    smtp.start()
    later = await _queue(tenant.staff.scope, subject="after restart")
    await run_worker()
    assert [(await _status(e)).status for e in [*first, later]] == [EmailStatus.SENT] * 11
    assert (await _status(later)).attempts == 1  # reconnected at once, no retry needed
    assert smtp.received[-1].message["Subject"] == "after restart"


async def test_emails_of_one_transaction_are_claimed_at_once_and_read_no_documents(
    tenant: Tenant, smtp: SmtpServer, run_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with runtime.atomic():
        emails = [
            await queue_email(
                tenant.staff.scope, to=[f"c{i}@client.test"], subject=f"n{i}", html="h", text="t"
            )
            for i in range(10)
        ]
    counter = StatementCounter(monkeypatch)
    await run_worker()
    worker = list(counter.statements)

    assert [(await _status(e)).status for e in emails] == [EmailStatus.SENT] * 10
    assert [await _event_statuses(e) for e in emails] == [["SENT"]] * 10
    claims = [s for s in worker if s.lstrip().upper().startswith("UPDATE") and "RETURNING" in s]
    assert len(claims) == 1  # one UPDATE … RETURNING for the batch, no re-read
    assert not any(s.lstrip().upper().startswith("SELECT") for s in worker)  # no documents
    # SENT: one UPDATE and one events INSERT per group commit, never more than per email.
    marks = [s for s in worker if s.lstrip().upper().startswith("UPDATE") and s not in claims]
    inserts = [s for s in worker if s.lstrip().upper().startswith("INSERT")]
    assert 1 <= len(marks) == len(inserts) <= 10


async def test_451_is_retried_then_delivered_with_the_same_message_id(
    tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> None:
    smtp.handler.data_answers.append("451 4.3.0 Try again later")
    email = await _queue(tenant.staff.scope)
    await run_worker()

    row = await _status(email)
    assert row.status == EmailStatus.SENT and row.attempts == 2
    assert [r.message["Message-ID"] for r in smtp.received] == [email.message_id]
    assert await _event_statuses(email) == ["QUEUED", "SENT"]
    retry_event = await DomainEvent.filter(type="email.status_changed", record_id=email.id).first()
    assert retry_event is not None and "451" in retry_event.payload["error"]


async def test_550_fails_at_once_with_the_server_answer(
    tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> None:
    smtp.handler.data_answers.append("550 5.7.1 Message rejected as spam")
    email = await _queue(tenant.staff.scope)
    await run_worker()

    row = await _status(email)
    assert row.status == EmailStatus.FAILED and row.attempts == 1
    assert "550" in row.last_error and "rejected as spam" in row.last_error
    assert smtp.received == []


async def test_partial_refusal_is_sent_and_keeps_the_refused_address(
    tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> None:
    smtp.handler.refuse["gone@client.test"] = "550 5.1.1 No such user"
    email = await _queue(tenant.staff.scope, cc=["gone@client.test"])
    await run_worker()

    row = await _status(email)
    assert row.status == EmailStatus.SENT
    assert row.refused_recipients == {"gone@client.test": "550 5.1.1 No such user"}
    assert smtp.received[0].rcpt_tos == ["alice@client.test"]


async def test_server_down_is_retried_and_delivered_when_it_is_back(
    tenant: Tenant, smtp: SmtpServer, run_worker: Any, settings: Any
) -> None:
    smtp.stop()
    settings.email_max_attempts = 50  # plenty of attempts while the server is down
    try:
        email = await _queue(tenant.staff.scope)
        worker_task = asyncio.create_task(run_worker())
        # Failed at least twice against a closed port (attempts counts claims, so a
        # second attempt may still be under way when it reads 2: wait for its failure).
        while (await _event_statuses(email)).count("QUEUED") < 2:
            await asyncio.sleep(0.02)
        assert (await _status(email)).status in (EmailStatus.QUEUED, EmailStatus.SENDING)
        smtp.start()
        await worker_task
    finally:
        settings.email_max_attempts = 4

    row = await _status(email)
    assert row.status == EmailStatus.SENT and row.attempts >= 3
    assert len(smtp.received) == 1


async def test_gives_up_after_bounded_attempts(
    tenant: Tenant, smtp: SmtpServer, run_worker: Any, settings: Any
) -> None:
    smtp.stop()
    email = await _queue(tenant.staff.scope)
    await run_worker()
    row = await _status(email)
    assert row.status == EmailStatus.FAILED
    assert row.attempts == settings.email_max_attempts
    assert row.last_error.startswith(f"gave up after {settings.email_max_attempts} attempts")


def test_retry_delays_double_up_to_an_hour_then_the_policy_gives_up() -> None:
    policy = RetryPolicy(max_attempts=12, first_delay_seconds=5)
    delays = [policy.retry_delay(attempts) for attempts in range(1, 13)]
    assert delays[:4] == [5, 10, 20, 40] and delays[9:11] == [2560, 3600]
    assert delays[-1] is None  # the 12th attempt failed: FAILED, no retry
    assert policy.arq_max_tries > policy.max_attempts  # arq never stops a job first


async def test_failed_email_can_be_retried_by_mutation(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> None:
    smtp.handler.data_answers.append("554 5.0.0 Transaction failed")
    email = await _queue(tenant.staff.scope)
    await run_worker()
    failed = await gql.ok("{ emails(status: FAILED) { id status lastError } }", as_=tenant.staff)
    assert [e["id"] for e in failed["emails"]] == [str(email.id)]

    retry = "mutation($id: ID!) { retryEmail(id: $id) { status attempts } }"
    foreign = await gql(retry, {"id": str(email.id)}, as_=other_tenant.staff)
    assert error_codes(foreign) == ["NOT_FOUND"]
    assert error_codes(await gql(retry, {"id": str(email.id)}, as_=tenant.viewer)) == ["FORBIDDEN"]

    data = await gql.ok(retry, {"id": str(email.id)}, as_=tenant.staff)
    assert data["retryEmail"] == {"status": "QUEUED", "attempts": 0}
    await run_worker()
    assert (await _status(email)).status == EmailStatus.SENT
    again = await gql(retry, {"id": str(email.id)}, as_=tenant.staff)
    assert error_codes(again) == ["WRONG_STATE"]


async def test_rolled_back_transaction_leaves_no_email_and_no_event(
    tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with runtime.atomic():
            await queue_email(
                tenant.staff.scope, to=["a@client.test"], subject="s", html="h", text="t"
            )
            from resolvers.events import emit_event

            await emit_event(tenant.staff.scope, "test.event", "session", 1, {})
            raise Boom
    await run_worker()
    assert await OutboundEmail.all().count() == 0
    assert await DomainEvent.all().count() == 0
    assert await RecordLink.all().count() == 0
    assert smtp.received == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "Hello\r\nBcc: victim@evil.test"),
        ("to", "alice@client.test\nBcc: victim@evil.test"),
        ("cc", "not-an-address"),
    ],
)
async def test_header_injection_and_bad_addresses_are_refused(
    tenant: Tenant, field: str, value: str
) -> None:
    override: dict[str, Any] = {field: value if field == "subject" else [value]}
    with pytest.raises(ValidationFailed) as refused:
        await _queue(tenant.staff.scope, **override)
    assert refused.value.field == field
    assert await OutboundEmail.all().count() == 0


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("Alice Martin <alice@client.test>", "alice@client.test"),
        ("Alice@Client.TEST", "Alice@client.test"),  # a domain is case-insensitive
        ("o'brien+formation@sub.client.test", "o'brien+formation@sub.client.test"),
        ("jean@bücher.example", "jean@xn--bcher-kva.example"),  # IDN: ASCII for any server
        ("Élodie <élodie@exemple.fr>", "élodie@exemple.fr"),  # needs SMTPUTF8 to deliver
    ],
)
async def test_good_addresses_are_kept_in_the_form_smtp_takes(
    tenant: Tenant, given: str, kept: str
) -> None:
    email = await _queue(tenant.staff.scope, cc=[given])
    assert (await _status(email)).cc == [kept]


@pytest.mark.parametrize(
    "address",
    [
        "alice..martin@client.test",
        "alice@localhost",
        "alice@client",
        "alice@-client.test",
        "@client.test",
        "alice martin@client.test",
        "alice@client.test, not-an-address",
    ],
)
async def test_bad_addresses_are_refused_with_the_field(tenant: Tenant, address: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await _queue(tenant.staff.scope, cc=[address])
    assert refused.value.code == "VALIDATION_ERROR" and refused.value.field == "cc"
    assert await OutboundEmail.all().count() == 0


async def test_internationalised_domain_is_delivered_in_ascii(
    tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> None:
    email = await _queue(tenant.staff.scope, to=["Jean <jean@bücher.example>"])
    await run_worker()
    assert (await _status(email)).status == EmailStatus.SENT
    assert smtp.received[0].rcpt_tos == ["jean@xn--bcher-kva.example"]


async def test_sweep_requeues_emails_whose_enqueue_was_lost(
    tenant: Tenant, smtp: SmtpServer, run_worker: Any, app: Any
) -> None:
    dispatcher = runtime.current().dispatcher
    runtime.current().dispatcher = runtime.NullDispatcher()  # the enqueue after commit is lost
    try:
        email = await _queue(tenant.staff.scope)
    finally:
        runtime.current().dispatcher = dispatcher
    await run_worker()
    assert (await _status(email)).status == EmailStatus.QUEUED  # nothing told the worker

    real_now = runtime.current().clock
    runtime.current().clock = lambda: real_now() + timedelta(minutes=2)
    services = app.state.services
    ctx = {
        "redis": services.pool,
        "namespace": services.settings.redis_namespace,
        "retry_policy": retry_policy(services.settings),
    }
    count = await requeue_stuck_emails(ctx)
    assert count == 1
    await run_worker()
    assert (await _status(email)).status == EmailStatus.SENT
