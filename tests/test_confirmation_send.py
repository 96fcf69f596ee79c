"""Preview and send of date proposals: recipients, typed refusals with nothing written,
attachments, tenant isolation, reminders (the bulk send: test_confirmation_bulk.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from strawberry import relay

from jobs.confirmation import send_proposal_reminders
from models.audit import ChangeLogEntry, DomainEvent
from models.confirmation import DateProposal
from models.outbox import OutboundEmail
from models.records import RecordLink
from models.sessions import Contact, SessionSlot
from resolvers import runtime
from tests.confirmation_support import (
    CONFIRMATION,
    MANUAL,
    PREVIEW,
    PROPOSALS,
    SEND,
    add_session_client,
    fr,
    link_of,
    path_of,
    proposal_input,
    today,
)
from tests.conftest import GraphQLClient, Tenant, error_codes
from tests.smtp import SmtpServer

PDF = b"%PDF-1.4\n% test document\n"
SETTINGS = """
mutation($days: Int) {
  updateConfirmationSettings(reminderDaysBeforeDeadline: $days) { reminderDaysBeforeDeadline }
}"""


async def _counts() -> tuple[int, int, int, int]:
    return (
        await DateProposal.all().count(),
        await OutboundEmail.all().count(),
        await ChangeLogEntry.all().count(),
        await DomainEvent.all().count(),
    )


async def upload(client: httpx.AsyncClient, tenant: Tenant, name: str, content: bytes, kind: str):
    """A GraphQL multipart request (the spec of graphql-multipart-request)."""
    operations = {
        "query": "mutation($f: Upload!) { uploadDocument(file: $f) { id filename size sha256 } }",
        "variables": {"f": None},
    }
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
        files={"0": (name, content, kind)},
        headers=tenant.staff.headers,
    )
    return response.json()


async def test_preview_is_exactly_what_is_sent_and_writes_nothing(
    gql: GraphQLClient, tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> None:
    sc = await add_session_client(tenant)
    extra: dict[str, Any] = {
        "cc": ["Manager <boss@acme.test>"],
        "bcc": ["archive@org-a.test"],
        "message": "Merci de confirmer.\n<b>Parking</b> sur place.",
    }
    before = await _counts()
    preview = (
        await gql.ok(PREVIEW, {"id": sc.gid, "input": proposal_input(**extra)}, as_=tenant.staff)
    )["previewDateProposal"]
    assert await _counts() == before
    assert preview["to"] == ["claire.dupont@acme.test"]
    assert preview["cc"] == ["boss@acme.test"] and preview["bcc"] == ["archive@org-a.test"]
    assert preview["locale"] == "fr"
    # The free text is escaped, its line break kept.
    assert "Merci de confirmer.<br>\n&lt;b&gt;Parking&lt;/b&gt; sur place." in preview["html"]
    assert "<b>Parking</b> sur place." in preview["text"]
    assert fr(today() + timedelta(days=5)) in preview["text"]

    await gql.ok(SEND, {"id": sc.gid, "input": proposal_input(**extra)}, as_=tenant.staff)
    await run_worker()
    [mail] = smtp.received
    assert sorted(mail.rcpt_tos) == [
        "archive@org-a.test",
        "boss@acme.test",
        "claire.dupont@acme.test",
    ]
    assert mail.message["Bcc"] is None and mail.message["Cc"] == "boss@acme.test"
    assert mail.message["Subject"] == preview["subject"]
    sent_text = mail.body("plain").replace("\r\n", "\n")
    token_link = link_of(mail)
    # Same body, the real link in place of the preview's placeholder.
    token = token_link.rsplit("/", 1)[1]
    assert sent_text.strip() == preview["text"].replace("PREVIEW-LINK", token).strip()


async def test_custom_subject_to_and_english(
    gql: GraphQLClient, tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> None:
    sc = await add_session_client(tenant)
    data = proposal_input(to=["other@acme.test"], subject="Vos dates", locale="en")
    sent = (await gql.ok(SEND, {"id": sc.gid, "input": data}, as_=tenant.staff))["sendDateProposal"]
    assert sent["proposal"]["subject"] == "Vos dates" and sent["proposal"]["to"] == [
        "other@acme.test"
    ]
    await run_worker()
    [mail] = smtp.received
    assert mail.rcpt_tos == ["other@acme.test"]
    assert "Please answer by" in mail.body("plain")


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"deadline_days": -1}, "VALIDATION_ERROR", "deadline"),
        ({"deadline_days": 11}, "VALIDATION_ERROR", "deadline"),
        ({"to": []}, "VALIDATION_ERROR", "to"),
        ({"to": ["not-an-address"]}, "VALIDATION_ERROR", "to"),
        ({"to": ["a@acme.test\r\nBcc: victim@evil.test"]}, "VALIDATION_ERROR", "to"),
        ({"cc": ["x@acme.test\nBcc: victim@evil.test"]}, "VALIDATION_ERROR", "cc"),
        ({"subject": "Hello\r\nBcc: victim@evil.test"}, "VALIDATION_ERROR", "subject"),
        ({"attachmentIds": [relay.to_base64("Document", 999)]}, "NOT_FOUND", "attachmentIds"),
        ({"locale": "de"}, "VALIDATION_ERROR", "locale"),
    ],
)
async def test_refusals_write_nothing(
    gql: GraphQLClient, tenant: Tenant, change: dict[str, Any], code: str, field: str
) -> None:
    sc = await add_session_client(tenant)
    days = change.pop("deadline_days", 5)
    before = await _counts()
    body = await gql(
        SEND, {"id": sc.gid, "input": proposal_input(days, **change)}, as_=tenant.staff
    )
    assert error_codes(body) == [code]
    assert body["errors"][0]["extensions"]["field"] == field
    assert await _counts() == before
    assert (await sc.refresh()).confirmation_state == "TO_CONFIRM"


async def test_refusals_of_state_and_planning(gql: GraphQLClient, tenant: Tenant) -> None:
    sc = await add_session_client(tenant)
    # No valid recipient: the main contact has no email.
    await Contact.filter(id=sc.contact.id).update(email="")
    body = await gql(SEND, {"id": sc.gid, "input": proposal_input()}, as_=tenant.staff)
    assert error_codes(body) == ["VALIDATION_ERROR"] and "recipient" in body["errors"][0]["message"]

    unplanned = await add_session_client(tenant, reference="S-002", slot_days=())
    body = await gql(SEND, {"id": unplanned.gid, "input": proposal_input()}, as_=tenant.staff)
    assert error_codes(body) == ["WRONG_STATE"]
    assert body["errors"][0]["extensions"]["field"] == "session"

    await gql.ok(MANUAL, {"id": unplanned.gid, "on": True}, as_=tenant.staff)
    body = await gql(SEND, {"id": unplanned.gid, "input": proposal_input()}, as_=tenant.staff)
    assert error_codes(body) == ["WRONG_STATE"]
    assert await DateProposal.all().count() == 0


async def test_tenant_isolation_and_roles(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    sc = await add_session_client(tenant)
    for query, variables in (
        (SEND, {"id": sc.gid, "input": proposal_input()}),
        (PREVIEW, {"id": sc.gid, "input": proposal_input()}),
        (MANUAL, {"id": sc.gid, "on": True}),
        (CONFIRMATION, {"id": sc.gid}),
        (PROPOSALS, {"id": sc.gid}),
    ):
        assert error_codes(await gql(query, variables, as_=other_tenant.staff)) == ["NOT_FOUND"]
    assert error_codes(
        await gql(SEND, {"id": sc.gid, "input": proposal_input()}, as_=tenant.viewer)
    ) == ["FORBIDDEN"]
    wrong_type = relay.to_base64("Contact", sc.session_client.id)
    assert error_codes(await gql(CONFIRMATION, {"id": wrong_type}, as_=tenant.staff)) == [
        "NOT_FOUND"
    ]
    # Reads are allowed to viewers.
    await gql.ok(CONFIRMATION, {"id": sc.gid}, as_=tenant.viewer)
    assert await DateProposal.all().count() == 0


async def test_attachment_is_sent_and_linked(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    smtp: SmtpServer,
    run_worker: Any,
) -> None:
    sc = await add_session_client(tenant)
    uploaded = await upload(client, tenant, "programme.pdf", PDF, "application/pdf")
    document_id = uploaded["data"]["uploadDocument"]["id"]
    data = proposal_input(attachmentIds=[document_id])
    await gql.ok(SEND, {"id": sc.gid, "input": data}, as_=tenant.staff)
    await run_worker()
    [mail] = smtp.received
    [attachment] = list(mail.message.iter_attachments())
    assert attachment.get_filename() == "programme.pdf"
    assert attachment.get_content() == PDF
    assert await RecordLink.filter(
        owner_type="session_client", owner_id=sc.session_client.id, target_type="document"
    ).exists()

    # Another organisation cannot attach this document.
    foreign = await add_session_client(other_tenant, client_name="Other")
    body = await gql(SEND, {"id": foreign.gid, "input": data}, as_=other_tenant.staff)
    assert error_codes(body) == ["NOT_FOUND"]


async def test_emails_are_linked_to_the_records_they_concern(
    gql: GraphQLClient, tenant: Tenant
) -> None:
    sc = await add_session_client(tenant)
    await gql.ok(SEND, {"id": sc.gid, "input": proposal_input()}, as_=tenant.staff)
    [email] = await OutboundEmail.all()
    owners = set(
        await RecordLink.filter(target_type="email", target_id=email.id).values_list(
            "owner_type", "owner_id"
        )
    )
    assert owners == {
        ("session_client", sc.session_client.id),
        ("session", sc.session.id),
        ("client", sc.client.id),
        ("contact", sc.contact.id),  # the main contact it was sent to
    }


async def test_reminder_sent_once_before_deadline(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    tenant: Tenant,
    smtp: SmtpServer,
    run_worker: Any,
) -> None:
    sc = await add_session_client(tenant)
    answered = await add_session_client(
        tenant, session=sc.session, client_name="B", contact_email="b@b.test"
    )
    far = await add_session_client(
        tenant, reference="S-003", client_name="C", contact_email="c@c.test"
    )
    for e, days in ((sc, 3), (answered, 3), (far, 8)):
        await gql.ok(SEND, {"id": e.gid, "input": proposal_input(days)}, as_=tenant.staff)
    await run_worker()
    answered_link = path_of(link_of(next(m for m in smtp.received if m.rcpt_tos == ["b@b.test"])))
    await client.post(answered_link, data={"answer": "accept"})

    assert await send_proposal_reminders({}) == 0  # the organisation did not ask for any
    settings = await gql.ok(SETTINGS, {"days": 2}, as_=tenant.admin)
    assert settings["updateConfirmationSettings"] == {"reminderDaysBeforeDeadline": 2}
    assert error_codes(await gql(SETTINGS, {"days": -1}, as_=tenant.admin)) == ["VALIDATION_ERROR"]

    # Sent today, 3 days before the deadline: the reminder day is tomorrow.
    assert await send_proposal_reminders({}) == 0
    tomorrow = runtime.now() + timedelta(days=1)
    runtime.current().clock = lambda: tomorrow
    assert await send_proposal_reminders({}) == 1  # not the answered one, not the far one
    assert await send_proposal_reminders({}) == 0  # never twice
    await run_worker()
    [reminder] = [m for m in smtp.received if m.message["Subject"].startswith("Rappel")]
    assert reminder.rcpt_tos == ["claire.dupont@acme.test"]
    assert reminder.message["Subject"].startswith("Rappel")

    # The reminder's own link answers the same proposal.
    reminder_link = path_of(link_of(reminder))
    assert (await client.post(reminder_link, data={"answer": "decline"})).status_code == 200
    proposals = (await gql.ok(PROPOSALS, {"id": sc.gid}, as_=tenant.staff))[
        "sessionClientProposals"
    ]
    assert proposals[0]["answer"] == "DECLINED"
    assert proposals[0]["reminderEmail"]["status"] == "SENT"
    history = (await gql.ok(CONFIRMATION, {"id": sc.gid}, as_=tenant.staff))[
        "sessionClientConfirmation"
    ]["history"]
    assert [h["action"] for h in history] == ["state_changed", "reminder_sent", "state_changed"]


async def test_slot_location_defaults_to_session(gql: GraphQLClient, tenant: Tenant) -> None:
    sc = await add_session_client(tenant)
    await gql.ok(SEND, {"id": sc.gid, "input": proposal_input()}, as_=tenant.staff)
    planning = (await gql.ok(PROPOSALS, {"id": sc.gid}, as_=tenant.staff))[
        "sessionClientProposals"
    ][0]["planning"]
    assert [(p["location"], p["startTime"], p["endTime"]) for p in planning] == [
        ("Lyon", "09:00", "17:30"),
        ("Salle 2", "09:00", "17:30"),
    ]
    assert len(planning) == await SessionSlot.filter(session_id=sc.session.id).count()
