"""Bulk email to leads ("Courriel") over HTTP, delivered by the real worker to a real SMTP
server: one email per distinct address, skipped reasons, attachments, the Emails panel
and change log, the preview equal to what was sent, dry run, refusals, idempotency, a
queued send through the worker; and notifyWaitlist twice (the second call reaches only
the leads added since)."""

from __future__ import annotations

import json
from datetime import date, time
from typing import Any

import httpx
import pytest

from models.audit import ChangeLogEntry, DomainEvent
from models.core import ApiScope
from models.leads import Lead, WaitlistStatus
from models.operations import BulkOperation, WaitlistNotification
from models.outbox import EmailStatus, OutboundEmail
from models.sessions import SessionSlot, TrainingSession
from resolvers.runtime import now
from tests.bulk_support import OPERATION, gid, make_leads, outcomes
from tests.conftest import GraphQLClient, Tenant
from tests.conftest import error_codes as call_errors
from tests.smtp import SmtpServer
from tests.statements import StatementCounter
from tests.subpanels_support import shown, subpanels

PDF = b"%PDF-1.4\n% programme\n"
ITEMS = OPERATION.replace("outcome errors", "outcome reason errors")
SEND = f"""mutation($s: LeadSelection!, $i: LeadEmailInput!, $dry: Boolean! = false,
    $p: ErrorPolicy! = REJECT_EVERYTHING, $k: String) {{
  sendLeadEmails(selection: $s, input: $i, dryRun: $dry, errorPolicy: $p, idempotencyKey: $k) {{
    operation {{ {ITEMS} }}
    dryRun {{ total wouldSend failed skipped {{ reason count }} errors {{ index code }} }} }} }}"""
PREVIEW = """query($id: ID!, $i: LeadEmailInput!) { previewLeadEmail(leadId: $id, input: $i) {
  to skippedReason subject text html attachments } }"""
NOTIFY = f"""mutation($id: ID!, $k: String) {{
  notifyWaitlist(sessionId: $id, idempotencyKey: $k) {{ {ITEMS} }} }}"""
MESSAGE = {"subject": "Offre {{ lead.first_name }}", "message": "Nouvelle offre\nà saisir"}


async def _upload(client: httpx.AsyncClient, tenant: Tenant) -> str:
    operations = {
        "query": "mutation($f: Upload!) { uploadDocument(file: $f) { id } }",
        "variables": {"f": None},
    }
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
        files={"0": ("programme.pdf", PDF, "application/pdf")},
        headers=tenant.staff.headers,
    )
    return str(response.json()["data"]["uploadDocument"]["id"])


async def _send(gql: GraphQLClient, tenant: Tenant, **variables: Any) -> dict[str, Any]:
    data = await gql.ok(SEND, variables, as_=tenant.staff)
    return data["sendLeadEmails"]  # type: ignore[no-any-return]


def _reasons(operation: dict[str, Any]) -> list[str]:
    return [edge["node"]["reason"] for edge in operation["items"]["edges"]]


async def _mixed_leads(tenant: Tenant, other_tenant: Tenant) -> list[Lead]:
    """Emailed; same address as the first; no email; deleted; merged; another org's."""
    (first,) = await make_leads(tenant, 1, first_name="Ana", email="ana@x.test")
    (same,) = await make_leads(tenant, 1, first_name="Bob", email=" ANA@x.test ")
    (no_email,) = await make_leads(tenant, 1)
    deleted, merged = await make_leads(tenant, 2, email="gone@x.test")
    await Lead.filter(id=deleted.id).update(deleted_at=now())
    await Lead.filter(id=merged.id).update(deleted_at=now(), merged_into_id=first.id)
    (foreign,) = await make_leads(other_tenant, 1, email="f@y.test")
    return [first, same, no_email, deleted, merged, foreign]


async def test_one_email_per_address_skipped_reasons_attachments_panel_and_change_log(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    smtp: SmtpServer,
    run_worker: Any,
) -> None:
    leads = await _mixed_leads(tenant, other_tenant)
    message = {**MESSAGE, "attachmentIds": [await _upload(client, tenant)]}
    preview = (await gql.ok(PREVIEW, {"id": gid(leads[0].id), "i": message}, as_=tenant.staff))[
        "previewLeadEmail"
    ]
    assert (preview["to"], preview["subject"]) == ("ana@x.test", "Offre Ana")
    assert preview["attachments"] == ["programme.pdf"]

    selection = {"ids": [gid(lead.id) for lead in leads]}
    op = (await _send(gql, tenant, s=selection, i=message, p="REJECT_FAILED_ROWS"))["operation"]
    assert (op["status"], op["total"], op["succeeded"], op["failed"]) == ("DONE", 6, 5, 1)
    assert outcomes(op) == ["SENT", "SKIPPED", "SKIPPED", "SKIPPED", "SKIPPED", None]
    assert _reasons(op) == ["", "DUPLICATE_ADDRESS", "NO_EMAIL", "DELETED", "MERGED", ""]
    assert op["items"]["edges"][5]["node"]["errors"][0]["code"] == "NOT_FOUND"

    await run_worker()
    [mail] = smtp.received
    assert mail.rcpt_tos == ["ana@x.test"]
    assert mail.message["Subject"] == preview["subject"]
    assert mail.body("plain").replace("\r\n", "\n").strip() == preview["text"].strip()
    assert mail.body("html").replace("\r\n", "\n").strip() == preview["html"].strip()
    assert "<p>Nouvelle offre<br>\nà saisir</p>" in preview["html"]
    [attachment] = list(mail.message.iter_attachments())
    assert (attachment.get_filename(), attachment.get_content()) == ("programme.pdf", PDF)
    assert await OutboundEmail.filter(status=EmailStatus.SENT).count() == 1

    panels = await subpanels(gql, tenant.staff, gid(leads[0].id), keys=["emails", "change_log"])
    assert [r["subject"] for r in shown(panels["emails"])] == ["Offre Ana"]
    [logged] = [r for r in shown(panels["change_log"]) if r["action"] == "email_sent"]
    assert logged["newValue"] == "Offre Ana → ana@x.test"
    operation_id = (await BulkOperation.get()).id
    assert await ChangeLogEntry.filter(
        bulk_job_id=str(operation_id), record_id=leads[0].id, action="email_sent"
    ).exists()
    assert (await subpanels(gql, tenant.staff, gid(leads[1].id), keys=["emails"]))["emails"][
        "totalCount"
    ] == 0


async def _written() -> tuple[int, ...]:
    return (
        await OutboundEmail.all().count(),
        await BulkOperation.all().count(),
        await ChangeLogEntry.all().count(),
        await DomainEvent.all().count(),
    )


async def test_dry_run_counts_and_writes_nothing(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    leads = await _mixed_leads(tenant, other_tenant)
    before = await _written()
    payload = await _send(
        gql, tenant, s={"ids": [gid(lead.id) for lead in leads]}, i=MESSAGE, dry=True
    )
    assert payload["operation"] is None
    assert payload["dryRun"] == {
        "total": 6,
        "wouldSend": 1,
        "failed": 1,
        "skipped": [
            {"reason": "DELETED", "count": 1},
            {"reason": "DUPLICATE_ADDRESS", "count": 1},
            {"reason": "MERGED", "count": 1},
            {"reason": "NO_EMAIL", "count": 1},
        ],
        "errors": [{"index": 5, "code": "NOT_FOUND"}],
    }
    assert await _written() == before


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"body": "<p>{{ lead.nope }</p>"}, "VALIDATION_ERROR", "input.body"),
        ({"body": "<p>{{ secret }}</p>"}, "VALIDATION_ERROR", "input.body"),
        ({"subject": "Hi\r\nBcc: victim@evil.test"}, "VALIDATION_ERROR", "input.subject"),
        ({"locale": "de"}, "VALIDATION_ERROR", "input.locale"),
        ({"attachmentIds": [gid(999, "Document")]}, "NOT_FOUND", "input.attachmentIds.0"),
    ],
)
async def test_bad_inputs_are_typed_errors_and_write_nothing(
    gql: GraphQLClient, tenant: Tenant, change: dict[str, Any], code: str, field: str
) -> None:
    (lead,) = await make_leads(tenant, 1, email="a@x.test")
    before = await _written()
    body = await gql(SEND, {"s": {"ids": [gid(lead.id)]}, "i": change}, as_=tenant.staff)
    assert call_errors(body) == [code]
    assert body["errors"][0]["extensions"]["field"] == field
    assert await _written() == before


async def test_viewer_and_read_only_key_are_refused(gql: GraphQLClient, tenant: Tenant) -> None:
    (lead,) = await make_leads(tenant, 1, email="a@x.test")
    variables = {"s": {"ids": [gid(lead.id)]}, "i": MESSAGE}
    read_only = await tenant.api_key(ApiScope.READ)
    for who in (tenant.viewer, read_only):
        assert call_errors(await gql(SEND, variables, as_=who)) == ["FORBIDDEN"]
    assert await OutboundEmail.all().count() == 0


async def test_a_retry_with_the_idempotency_key_returns_the_first_operation(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    (lead,) = await make_leads(tenant, 1, email="a@x.test")
    variables = {"s": {"ids": [gid(lead.id)]}, "i": MESSAGE, "k": "mail-1"}
    first = (await _send(gql, tenant, **variables))["operation"]
    again = (await _send(gql, tenant, **variables))["operation"]
    assert again["id"] == first["id"]
    assert await OutboundEmail.all().count() == 1


@pytest.mark.postgres_only
async def test_a_queued_send_is_run_and_delivered_by_the_worker(
    gql: GraphQLClient, tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> None:
    count = 520
    await Lead.bulk_create(
        [
            Lead(
                organization_id=tenant.org.id,
                last_name=f"Queued {i}",
                name_norm=f"queued {i}",
                email=f"q{i % 510}@x.test",  # the last ten share an address with others
                email_norm=f"q{i % 510}@x.test",
            )
            for i in range(count)
        ],
        batch_size=1000,
    )
    op = (await _send(gql, tenant, s={"filter": {"search": "queued"}}, i=MESSAGE))["operation"]
    assert (op["status"], op["total"]) == ("QUEUED", count)
    await run_worker()
    row = await BulkOperation.get()
    assert (row.status.value, row.processed, row.succeeded) == ("DONE", count, count)
    assert await OutboundEmail.filter(status=EmailStatus.SENT).count() == 510
    assert len({m.rcpt_tos[0] for m in smtp.received}) == len(smtp.received) == 510


async def _session(tenant: Tenant, code: str = "PY-01") -> TrainingSession:
    session = await TrainingSession.create(
        organization_id=tenant.org.id, reference="S-42", title="Python", product_code=code
    )
    for day in (3, 4):
        await SessionSlot.create(
            organization_id=tenant.org.id,
            session_id=session.id,
            date=date(2027, 3, day),
            start_time=time(9),
            end_time=time(17),
            location="Lyon",
        )
    return session


async def _waiting(tenant: Tenant, name: str, email: str, **values: Any) -> Lead:
    (lead,) = await make_leads(tenant, 1, first_name=name, email=email)
    fields = {"waitlist_status": WaitlistStatus.PENDING, "waitlist_product_code": "PY-01"}
    await Lead.filter(id=lead.id).update(**{**fields, **values})
    return lead


async def _notify(gql: GraphQLClient, tenant: Tenant, session: TrainingSession) -> Any:
    data = await gql.ok(NOTIFY, {"id": gid(session.id, "Session")}, as_=tenant.staff)
    return data["notifyWaitlist"]


async def test_notify_waitlist_twice_reaches_only_the_leads_added_since(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> None:
    session = await _session(tenant)
    first = await _waiting(tenant, "Ana", "ana@x.test")
    no_email = await _waiting(tenant, "Bob", "")
    await _waiting(tenant, "Cy", "cy@x.test", waitlist_status=WaitlistStatus.REMOVED)
    await _waiting(tenant, "Di", "di@x.test", waitlist_product_code="JAVA")
    await _waiting(tenant, "Ed", "ed@x.test", deleted_at=now())

    op = await _notify(gql, tenant, session)
    assert (op["status"], op["kind"], op["total"]) == ("DONE", "notify_waitlist", 2)
    assert outcomes(op) == ["SENT", "SKIPPED"] and _reasons(op) == ["", "NO_EMAIL"]
    await run_worker()
    [mail] = smtp.received
    assert mail.rcpt_tos == ["ana@x.test"]
    assert mail.message["Subject"] == "Nouvelle session : Python (S-42)"
    text = mail.body("plain")
    assert "Bonjour Ana" in text and "03/03/2027" in text and "04/03/2027" in text

    added = await _waiting(tenant, "Fay", "fay@x.test")
    again = await _notify(gql, tenant, session)
    assert outcomes(again) == ["SKIPPED", "SKIPPED", "SENT"]
    assert _reasons(again) == ["ALREADY_NOTIFIED", "NO_EMAIL", ""]
    await run_worker()
    assert [m.rcpt_tos for m in smtp.received] == [["ana@x.test"], ["fay@x.test"]]
    notified = await WaitlistNotification.filter(session_id=session.id).values_list(
        "lead_id", flat=True
    )
    assert sorted(notified) == sorted([first.id, added.id]) and no_email.id not in notified

    foreign = await _session(other_tenant)
    body = await gql(NOTIFY, {"id": gid(foreign.id, "Session")}, as_=tenant.staff)
    assert call_errors(body) == ["NOT_FOUND"]
    assert call_errors(
        await gql(NOTIFY, {"id": gid(session.id, "Session")}, as_=tenant.viewer)
    ) == ["FORBIDDEN"]


async def test_statements_do_not_grow_with_the_number_of_emails(
    gql: GraphQLClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = await make_leads(tenant, 2, email="s@x.test")  # one address: one email
    large = [(await make_leads(tenant, 1, email=f"l{i}@x.test"))[0] for i in range(30)]
    counts = []
    for leads in (small, large):
        counter = StatementCounter(monkeypatch)
        await _send(gql, tenant, s={"ids": [gid(lead.id) for lead in leads]}, i=MESSAGE)
        counts.append(len(counter.statements))
        monkeypatch.undo()
    assert counts[0] == counts[1]
    assert await OutboundEmail.all().count() == 31
