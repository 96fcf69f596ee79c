"""Date proposals (SPEC §5): compose one (validated and rendered, nothing written),
preview it, send it (proposal, outbox email, state PENDING in one transaction), and the
scripted bulk send on the bulk contract (``resolvers/bulk.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from markupsafe import Markup, escape

from models.confirmation import DateProposal, TemplateKind
from models.core import User
from models.records import Document
from models.sessions import ConfirmationState, SessionClient, SessionStatus
from resolvers import labels
from resolvers.bulk import (
    BulkCall,
    BulkResult,
    ErrorPolicy,
    ItemError,
    ItemRejected,
    Written,
    run_bulk,
)
from resolvers.confirmation.emails import (
    new_token,
    planning_snapshot,
    proposal_variables,
    token_hash,
)
from resolvers.confirmation.session_client import (
    SessionClientContext,
    load_session_client_context,
    local_today,
)
from resolvers.confirmation.state import RECORD_TYPE, transition
from resolvers.context import Scope
from resolvers.errors import NotFound, UserError, ValidationFailed, WrongState
from resolvers.links import link
from resolvers.outbox import clean_addresses, clean_header, queue_email
from resolvers.runtime import atomic, now
from resolvers.templates import render_template

MAX_MESSAGE_CHARS = 5000
MAX_BULK_ITEMS = 100
PREVIEW_TOKEN = "PREVIEW-LINK"  # the real token exists only once the proposal is sent


@dataclass(frozen=True)
class ProposalInput:
    deadline: date
    to: Sequence[str] | None = None  # None: the client's main contact
    cc: Sequence[str] = ()
    bcc: Sequence[str] = ()
    subject: str | None = None  # None: from the template
    message: str = ""
    attachment_ids: Sequence[int | None] = ()  # None: an id that names no document
    locale: str | None = None  # None: the organisation's default locale


@dataclass
class Draft:
    """A proposal email exactly as it would be sent; ``left_out``: the optional parts
    dropped because they were invalid (only when composed leniently)."""

    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    html: str
    text: str
    deadline: date
    locale: str
    message: str
    attachments: list[Document] = field(default_factory=list)
    left_out: list[ItemError] = field(default_factory=list)


def _check_can_propose(context: SessionClientContext, deadline: date) -> None:
    if context.session_client.confirmation_state == ConfirmationState.MANUALLY_VALIDATED:
        raise WrongState(
            "the dates are validated manually: turn manual validation off first",
            field="sessionClientId",
        )
    if not context.slots or context.session.status == SessionStatus.CANCELLED:
        raise WrongState("the session is not planned (no slot)", field="session")
    if deadline < local_today(context.tz):
        raise ValidationFailed("the deadline is in the past", field="deadline")
    first_slot = min(slot.date for slot in context.slots)
    if deadline > first_slot:
        raise ValidationFailed(
            f"the deadline must be on or before the first slot ({first_slot.isoformat()})",
            field="deadline",
        )


def _to(context: SessionClientContext, data: ProposalInput) -> list[str]:
    if data.to is None:
        main = context.main_contact
        to_raw = [main.email] if main and main.email else []
    else:
        to_raw = list(data.to)
    to = clean_addresses(to_raw, "to")
    if not to:
        raise ValidationFailed(
            "no valid recipient: the client has no main contact email", field="to"
        )
    return to


def _optional_addresses(
    values: Sequence[str], name: str, left_out: list[ItemError] | None
) -> list[str]:
    """CC or BCC; with ``left_out`` (lenient), an address that does not validate is
    dropped and reported as ``<name>.<position>`` instead of refusing the proposal."""
    if left_out is None:
        return clean_addresses(values, name)
    kept = []
    for position, raw in enumerate(values):
        try:
            clean_addresses([raw], name)
        except ValidationFailed as error:
            left_out.append(ItemError(error.code, error.message, f"{name}.{position}"))
        else:
            kept.append(raw)
    return clean_addresses(kept, name)


async def _attachments(
    scope: Scope, ids: Sequence[int | None], left_out: list[ItemError] | None
) -> list[Document]:
    """This organisation's documents, in the order asked; an unknown one refuses the
    proposal or, with ``left_out`` (lenient), is dropped as ``attachmentIds.<position>``."""
    rows = await scope.get_many(Document, [i for i in ids if i is not None])
    found = {row.id: row for row in rows if row is not None}
    kept: dict[int, Document] = {}
    for position, document_id in enumerate(ids):
        document = found.get(document_id) if document_id is not None else None
        if document is not None:
            kept.setdefault(document.id, document)
            continue
        named = "" if document_id is None else f" {document_id}"
        error = NotFound(f"unknown document{named}", field="attachmentIds")
        if left_out is None:
            raise error
        left_out.append(ItemError(error.code, error.message, f"attachmentIds.{position}"))
    return list(kept.values())


def _locale(context: SessionClientContext, data: ProposalInput) -> str:
    if data.locale is not None and data.locale not in labels.LOCALES:
        raise ValidationFailed("locale must be fr or en", field="locale")
    return labels.locale_of(data.locale or context.organization.default_locale)


def _message_markup(message: str) -> Markup:
    """The sender's free text, escaped, line breaks kept."""
    return Markup("<br>\n").join(escape(line) for line in message.splitlines())


async def _sender_name(scope: Scope) -> str:
    user_id = scope.actor.user_id
    if user_id is not None:
        user = await scope.query(User).filter(id=user_id).first()
        if user is not None:
            return user.full_name or user.email
    return scope.actor.label


async def compose(
    scope: Scope,
    context: SessionClientContext,
    data: ProposalInput,
    token: str,
    *,
    lenient: bool = False,
) -> Draft:
    """Validate a proposal and render its email; writes nothing. ``lenient``
    (IGNORE_FAILED): invalid CC/BCC addresses and unknown attachments are left out."""
    left_out: list[ItemError] | None = [] if lenient else None
    _check_can_propose(context, data.deadline)
    to = _to(context, data)
    cc = _optional_addresses(data.cc, "cc", left_out)
    bcc = _optional_addresses(data.bcc, "bcc", left_out)
    locale = _locale(context, data)
    if len(data.message) > MAX_MESSAGE_CHARS:
        raise ValidationFailed(
            f"message is longer than {MAX_MESSAGE_CHARS} characters", field="message"
        )
    attachments = await _attachments(scope, data.attachment_ids, left_out)
    snapshot = planning_snapshot(context.session, context.slots)
    variables = {
        **proposal_variables(context, snapshot, data.deadline, locale, token, to),
        "message": _message_markup(data.message),
        "sender": {"name": await _sender_name(scope)},
    }
    rendered = await render_template(scope, TemplateKind.DATE_PROPOSAL, locale, variables)
    subject = rendered.subject if data.subject is None else data.subject
    return Draft(
        to=to,
        cc=cc,
        bcc=bcc,
        subject=clean_header(subject, "subject"),
        html=rendered.html,
        text=rendered.text,
        deadline=data.deadline,
        locale=locale,
        message=data.message,
        attachments=attachments,
        left_out=left_out or [],
    )


async def preview_date_proposal(scope: Scope, session_client_id: int, data: ProposalInput) -> Draft:
    context = await load_session_client_context(scope, session_client_id)
    return await compose(scope, context, data, PREVIEW_TOKEN)


async def supersede_current_proposal(session_client: SessionClient) -> None:
    """The live proposal's links stop working."""
    if session_client.current_proposal_id is not None:
        await DateProposal.filter(id=session_client.current_proposal_id, superseded_at=None).update(
            superseded_at=now()
        )


async def _write_proposal(
    scope: Scope, context: SessionClientContext, draft: Draft, token: str
) -> DateProposal:
    session_client = context.session_client
    await supersede_current_proposal(session_client)
    attachment_ids = [d.id for d in draft.attachments]
    # The email first, so the proposal is written once, with its email.
    email = await queue_email(
        scope,
        to=draft.to,
        cc=draft.cc,
        bcc=draft.bcc,
        subject=draft.subject,
        html=draft.html,
        text=draft.text,
        attachment_ids=attachment_ids,
        kind=TemplateKind.DATE_PROPOSAL.value,
        concerns=context.email_owners([*draft.to, *draft.cc]),
    )
    proposal = await scope.create(
        DateProposal,
        session_client_id=session_client.id,
        session_id=session_client.session_id,
        token_hash=token_hash(token),
        deadline=draft.deadline,
        planning=planning_snapshot(context.session, context.slots),
        to=draft.to,
        cc=draft.cc,
        bcc=draft.bcc,
        subject=draft.subject,
        message=draft.message,
        attachment_ids=attachment_ids,
        locale=draft.locale,
        sender_kind=scope.actor.kind.value,
        sender_id=scope.actor.id,
        sender_label=scope.actor.label,
        email_id=email.id,
    )
    for document in draft.attachments:
        await link(scope, (RECORD_TYPE, session_client.id), ("document", document.id))
    await transition(
        scope,
        session_client,
        ConfirmationState.PENDING,
        reason=f"proposal sent to {', '.join(draft.to)}, deadline {draft.deadline.isoformat()}",
        unchanged_action="proposal_sent",  # a resend to a PENDING client
        confirmation_sent_at=now(),
        confirmation_deadline=draft.deadline,
        confirmation_answered_at=None,
        current_proposal_id=proposal.id,
    )
    return proposal


async def _propose(
    scope: Scope, session_client_id: int, data: ProposalInput, lenient: bool
) -> tuple[DateProposal, list[ItemError]]:
    context = await load_session_client_context(scope, session_client_id, for_update=True)
    token = new_token()
    draft = await compose(scope, context, data, token, lenient=lenient)
    return await _write_proposal(scope, context, draft, token), draft.left_out


async def send_date_proposal(
    scope: Scope, session_client_id: int, data: ProposalInput
) -> DateProposal:
    """One transaction: proposal, outbox email, state change, change log, event."""
    scope.require_write()
    async with atomic():
        proposal, _ = await _propose(scope, session_client_id, data, lenient=False)
    return proposal


# ---- sendDateProposals ---------------------------------------------------------------

PROPOSAL_FIELDS = frozenset(
    ("deadline", "to", "cc", "bcc", "subject", "message", "attachmentIds", "locale")
)
SESSION_CLIENT_FIELDS = frozenset(("id", "sessionClientId", "session"))


@dataclass(frozen=True)
class ProposalItem:
    """One item of a bulk send: ``BulkDateProposalInput {sessionClientId proposal}``."""

    session_client_id: int | None  # None: the id names no session client
    data: ProposalInput


def _in_item(error: ItemError) -> ItemError:
    """An error of one proposal, its field made relative to the bulk item."""
    head = (error.field or "").split(".")[0]
    if head in PROPOSAL_FIELDS:
        field: str | None = f"proposal.{error.field}"
    elif head in SESSION_CLIENT_FIELDS:
        field = "sessionClientId"
    else:
        field = None  # the item as a whole (e.g. the organisation's template)
    return ItemError(error.code, error.message, field)


async def send_date_proposals(
    scope: Scope,
    items: Sequence[ProposalItem],
    *,
    policy: ErrorPolicy = ErrorPolicy.REJECT_EVERYTHING,
    idempotency_key: str | None = None,
) -> BulkResult:
    """Proposals to many session clients under ``policy``; each written like
    ``send_date_proposal``. Required parts (a valid To, the deadline, the state, the
    session client) fail the item; under IGNORE_FAILED invalid CC/BCC addresses and
    unknown attachments are left out and the proposal is sent without them."""
    call = BulkCall("sendDateProposals", items, policy, idempotency_key, MAX_BULK_ITEMS)

    async def write(item: ProposalItem, lenient: bool) -> Written:
        try:
            if item.session_client_id is None:
                raise NotFound("unknown session client", field="sessionClientId")
            proposal, left_out = await _propose(scope, item.session_client_id, item.data, lenient)
        except UserError as error:
            raise ItemRejected([_in_item(ItemError.of(error))]) from error
        return Written(proposal.id, [_in_item(e) for e in left_out])

    return await run_bulk(scope, call, write)
