"""sendDateProposals on the bulk contract: one bad item among good ones under each error
policy, optional parts left out under IGNORE_FAILED, unknown session clients, the
idempotent retry and the item cap — over HTTP, emails delivered to a real SMTP server."""

from __future__ import annotations

from typing import Any

from strawberry import relay

from models.audit import ChangeLogEntry, DomainEvent
from models.confirmation import DateProposal
from models.outbox import OutboundEmail
from models.records import RecordLink
from models.sessions import SessionClient
from tests.confirmation_support import (
    CONFIRMATION,
    SessionClientRows,
    add_session_client,
    proposal_input,
)
from tests.conftest import GraphQLClient, Tenant, error_codes
from tests.smtp import SmtpServer
from tests.statements import StatementCounter

RESULTS = """
    count
    results {
      index id errors { code field message }
      record { id to cc bcc deadline attachments { filename } }
    }"""
BULK = f"""
mutation($inputs: [BulkDateProposalInput!]!, $policy: ErrorPolicy!, $key: String) {{
  sendDateProposals(inputs: $inputs, errorPolicy: $policy, idempotencyKey: $key) {{
    {RESULTS}
  }}
}}"""
BULK_DEFAULT_POLICY = f"""
mutation($inputs: [BulkDateProposalInput!]!) {{
  sendDateProposals(inputs: $inputs) {{ {RESULTS} }}
}}"""
BAD_TO = "to: 'bad' is not a valid email address"
BAD_CC = "cc: 'not-an-address' is not a valid email address"


async def _three(tenant: Tenant) -> list[SessionClientRows]:
    first = await add_session_client(tenant)
    second = await add_session_client(
        tenant, session=first.session, client_name="Beta", contact_email="b@beta.test"
    )
    third = await add_session_client(
        tenant, reference="S-002", client_name="Gamma", contact_email="c@gamma.test"
    )
    return [first, second, third]


def _item(sc: SessionClientRows | str, **proposal: Any) -> dict[str, Any]:
    gid = sc if isinstance(sc, str) else sc.gid
    return {"sessionClientId": gid, "proposal": proposal_input(**proposal)}


async def _written() -> dict[str, Any]:
    """Everything a proposal writes, and the confirmation states."""
    return {
        "proposals": await DateProposal.all().count(),
        "emails": await OutboundEmail.all().count(),
        "change_log": await ChangeLogEntry.all().count(),
        "events": await DomainEvent.all().count(),
        "states": await SessionClient.all().order_by("id").values_list("confirmation_state"),
    }


async def _send(gql: GraphQLClient, tenant: Tenant, inputs: list, policy: str, key=None) -> dict:
    variables = {"inputs": inputs, "policy": policy, "key": key}
    return (await gql.ok(BULK, variables, as_=tenant.staff))["sendDateProposals"]


def _delivered_to(smtp: SmtpServer) -> list[str]:
    return sorted(r for m in smtp.received for r in m.rcpt_tos)


async def test_reject_everything_by_default_writes_nothing(
    gql: GraphQLClient, tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> None:
    first, second, third = await _three(tenant)
    before = await _written()
    inputs = [_item(first), _item(second, to=["bad"]), _item(third)]
    payload = (await gql.ok(BULK_DEFAULT_POLICY, {"inputs": inputs}, as_=tenant.staff))[
        "sendDateProposals"
    ]
    assert payload["count"] == 0
    assert payload["results"] == [
        {"index": 0, "id": None, "errors": [], "record": None},
        {
            "index": 1,
            "id": None,
            "errors": [
                {"code": "VALIDATION_ERROR", "field": "inputs.1.proposal.to", "message": BAD_TO}
            ],
            "record": None,
        },
        {"index": 2, "id": None, "errors": [], "record": None},
    ]
    # No proposal, email, change-log row (history) or event; every state unchanged.
    assert await _written() == before
    history = (await gql.ok(CONFIRMATION, {"id": first.gid}, as_=tenant.staff))[
        "sessionClientConfirmation"
    ]
    assert history["state"] == "TO_CONFIRM" and history["history"] == []
    await run_worker()
    assert smtp.received == []


async def test_reject_failed_rows_writes_only_the_good_ones(
    gql: GraphQLClient, tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> None:
    first, second, third = await _three(tenant)
    # An invalid CC is an optional part: under REJECT_FAILED_ROWS it still fails the item.
    inputs = [_item(first), _item(second, cc=["not-an-address"]), _item(third)]
    payload = await _send(gql, tenant, inputs, "REJECT_FAILED_ROWS")

    assert payload["count"] == 2
    good, bad, other = payload["results"]
    assert bad == {
        "index": 1,
        "id": None,
        "errors": [
            {"code": "VALIDATION_ERROR", "field": "inputs.1.proposal.cc", "message": BAD_CC}
        ],
        "record": None,
    }
    for result, sc in ((good, first), (other, third)):
        assert result["errors"] == [] and result["record"]["id"] == result["id"]
        assert result["record"]["to"] == [sc.contact.email]
        proposal = await DateProposal.get(id=int(relay.from_base64(result["id"])[1]))
        assert proposal.session_client_id == sc.session_client.id
    assert [(await sc.refresh()).confirmation_state for sc in (first, second, third)] == [
        "PENDING",
        "TO_CONFIRM",
        "PENDING",
    ]
    changed = await DomainEvent.filter(type="confirmation.changed").values_list(
        "record_id", flat=True
    )
    assert sorted(changed) == [first.session_client.id, third.session_client.id]
    await run_worker()
    assert _delivered_to(smtp) == ["c@gamma.test", "claire.dupont@acme.test"]


async def test_ignore_failed_sends_without_the_invalid_optional_parts(
    gql: GraphQLClient, tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> None:
    first, second, _ = await _three(tenant)
    missing_document = relay.to_base64("Document", 999)
    inputs = [
        _item(first, cc=["not-an-address", "boss@acme.test"], attachmentIds=[missing_document]),
        _item(second, to=["bad"]),  # a required part: the item fails
    ]
    payload = await _send(gql, tenant, inputs, "IGNORE_FAILED")

    assert payload["count"] == 1
    sent, refused = payload["results"]
    assert sent["errors"] == [
        {"code": "VALIDATION_ERROR", "field": "inputs.0.proposal.cc.0", "message": BAD_CC},
        {
            "code": "NOT_FOUND",
            "field": "inputs.0.proposal.attachmentIds.0",
            "message": "unknown document 999",
        },
    ]
    assert sent["record"]["cc"] == ["boss@acme.test"] and sent["record"]["attachments"] == []
    assert refused["id"] is None and refused["errors"] == [
        {"code": "VALIDATION_ERROR", "field": "inputs.1.proposal.to", "message": BAD_TO}
    ]
    assert (await second.refresh()).confirmation_state == "TO_CONFIRM"

    await run_worker()
    [mail] = smtp.received
    assert sorted(mail.rcpt_tos) == ["boss@acme.test", "claire.dupont@acme.test"]
    assert mail.message["Cc"] == "boss@acme.test"
    assert "not-an-address" not in mail.message.as_string()
    assert list(mail.message.iter_attachments()) == []


async def test_unknown_session_clients_fail_their_item_alike(
    gql: GraphQLClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await add_session_client(tenant)
    foreign = await add_session_client(other_tenant, client_name="Other")
    unknown = [
        foreign.gid,  # another organisation's: answered like a missing one
        relay.to_base64("SessionClient", 99999),
        relay.to_base64("Contact", mine.session_client.id),  # another type's id
        "not a global id",
    ]
    inputs = [_item(mine)] + [_item(gid) for gid in unknown]
    payload = await _send(gql, tenant, inputs, "REJECT_FAILED_ROWS")

    assert payload["count"] == 1 and payload["results"][0]["errors"] == []
    for result in payload["results"][1:]:
        assert result["id"] is None
        [error] = result["errors"]
        assert (error["code"], error["field"]) == (
            "NOT_FOUND",
            f"inputs.{result['index']}.sessionClientId",
        )
    assert (await foreign.refresh()).confirmation_state == "TO_CONFIRM"


async def test_idempotent_retry_returns_the_first_result(
    gql: GraphQLClient, tenant: Tenant, smtp: SmtpServer, run_worker: Any
) -> None:
    first, second, third = await _three(tenant)
    inputs = [_item(first), _item(second, to=["bad"]), _item(third)]
    payload = await _send(gql, tenant, inputs, "REJECT_FAILED_ROWS", key="run-1")
    assert payload["count"] == 2
    written = await _written()

    again = await _send(gql, tenant, inputs, "REJECT_FAILED_ROWS", key="run-1")
    assert again == payload  # same ids, same errors
    assert await _written() == written
    await run_worker()
    assert _delivered_to(smtp) == ["c@gamma.test", "claire.dupont@acme.test"]

    # Another key is another call: the proposals are sent again (superseding the first).
    fresh = await _send(gql, tenant, inputs, "REJECT_FAILED_ROWS", key="run-2")
    assert fresh["count"] == 2 and fresh["results"][0]["id"] != payload["results"][0]["id"]


async def test_more_than_100_items_is_refused_whole(gql: GraphQLClient, tenant: Tenant) -> None:
    sc = await add_session_client(tenant)
    before = await _written()
    for count in (101, 0):
        body = await gql(
            BULK,
            {"inputs": [_item(sc)] * count, "policy": "REJECT_FAILED_ROWS"},
            as_=tenant.staff,
        )
        assert error_codes(body) == ["VALIDATION_ERROR"]
        assert body["errors"][0]["extensions"]["field"] == "inputs"
    assert await _written() == before


async def test_viewer_may_not_send(gql: GraphQLClient, tenant: Tenant) -> None:
    sc = await add_session_client(tenant)
    body = await gql(BULK, {"inputs": [_item(sc)], "policy": "IGNORE_FAILED"}, as_=tenant.viewer)
    assert error_codes(body) == ["FORBIDDEN"]
    assert await DateProposal.all().count() == 0


async def test_each_proposal_costs_the_same_few_statements(
    gql: GraphQLClient, tenant: Tenant, monkeypatch: Any
) -> None:
    """A proposal's email and its four Emails-panel links are one INSERT each, and the
    proposal is written once with its email: 15 statements per proposal (was 23)."""
    first, *others = await _three(tenant)
    counter = StatementCounter(monkeypatch)
    await _send(gql, tenant, [_item(first)], "REJECT_EVERYTHING")
    one = len(counter.statements)
    counter.statements.clear()
    await _send(gql, tenant, [_item(sc) for sc in others], "REJECT_EVERYTHING")
    assert len(counter.statements) - one == 15  # the second item alone
    links = await RecordLink.filter(target_type="email").count()
    assert links == 3 * 4  # session client, session, client, the addressed contact
