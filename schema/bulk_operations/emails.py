"""Bulk emails to leads ("Courriel") and the waiting-list notification of a session, as
bulk operations; the preview of one lead's email."""

from __future__ import annotations

import strawberry

from resolvers import lead_emails
from resolvers.bulk_operations import emails
from resolvers.errors import NotFound
from schema.bulk import ErrorPolicy
from schema.bulk_operations.types import (
    POLICY,
    BulkItemResultError,
    BulkOperation,
    previewed_or_started,
)
from schema.context import Info
from schema.documents import Document
from schema.leads.inputs import LeadSelection
from schema.leads.types import Lead
from schema.relay import db_id
from schema.sessions.types import Session

SKIP_REASONS = (
    "SKIPPED items' `reason`: MERGED, DELETED, NO_EMAIL, DUPLICATE_ADDRESS (another selected "
    "lead has the same address: one email per address), ALREADY_NOTIFIED (notifyWaitlist)."
)


def _document_id(gid: strawberry.ID) -> int | None:
    """None for an id naming no document: refused naming its position."""
    try:
        return db_id(gid, Document)
    except NotFound:
        return None


@strawberry.input(
    description="The email, composed once and rendered per lead: the template kind's "
    "subject and body (LEAD_EMAIL, WAITLIST_SESSION_OPEN: Modèles de mail), or the ones "
    "given here, with the same variables (lead.*, organization.name, sender.name, message)."
)
class LeadEmailInput:
    locale: str | None = strawberry.field(
        default=None, description="fr or en; default: the organisation's."
    )
    subject: str | None = strawberry.field(
        default=None, description="Template source; default: the template's."
    )
    body: str | None = strawberry.field(
        default=None, description="HTML template source; default: the template's."
    )
    message: str = strawberry.field(default="", description="Free text, as {{ message }}.")
    attachment_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Documents uploaded beforehand."
    )

    def to_resolver(self) -> lead_emails.LeadEmailInput:
        return lead_emails.LeadEmailInput(
            locale=self.locale,
            subject=self.subject,
            body=self.body,
            message=self.message,
            attachment_ids=[_document_id(gid) for gid in self.attachment_ids],
        )


@strawberry.type(description="How many selected leads a reason skips.")
class SkippedCount:
    reason: str
    count: int


@strawberry.type(description="What a bulk email would do; nothing was written.")
class LeadEmailsDryRun:
    total: int
    would_send: int
    skipped: list[SkippedCount]
    failed: int
    errors: list[BulkItemResultError]


@strawberry.type
class SendLeadEmailsPayload:
    operation: BulkOperation | None = strawberry.field(description="Null on a dry run.")
    dry_run: LeadEmailsDryRun | None = strawberry.field(description="Only on a dry run.")


@strawberry.type(description="Exactly what one lead would get; nothing was written.")
class LeadEmailPreview:
    to: str | None = strawberry.field(description="Null: the lead would be skipped.")
    skipped_reason: str | None
    subject: str
    text: str
    html: str
    attachments: list[str] = strawberry.field(description="File names.")


def _dry_run(preview: emails.EmailDryRun) -> LeadEmailsDryRun:
    return LeadEmailsDryRun(
        total=preview.total,
        would_send=preview.would_send,
        skipped=[SkippedCount(reason=r, count=c) for r, c in sorted(preview.skipped.items())],
        failed=preview.failed,
        errors=[BulkItemResultError(index=i, code=c, message=m) for i, c, m in preview.errors],
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Email the selected leads (Courriel): composed once, one email per lead "
        "through the outbox, shown in the lead's Emails panel and change log; items SENT "
        f"(newValues: to, emailId) or SKIPPED. {SKIP_REASONS} `dryRun`: the counts and the "
        "skipped reasons, writing nothing."
    )
    async def send_lead_emails(
        self,
        info: Info,
        selection: LeadSelection,
        input: LeadEmailInput,
        dry_run: bool = False,
        error_policy: ErrorPolicy = POLICY,  # type: ignore[valid-type]
        idempotency_key: str | None = None,
    ) -> SendLeadEmailsPayload:
        scope, chosen, email = (
            info.context.require_writer(),
            selection.to_selection(),
            input.to_resolver(),
        )

        async def preview() -> LeadEmailsDryRun:
            return _dry_run(await emails.dry_run_sending(scope, chosen, email))

        return await previewed_or_started(
            SendLeadEmailsPayload,
            dry_run,
            preview,
            lambda: emails.start_sending(
                scope, chosen, email, policy=error_policy, idempotency_key=idempotency_key
            ),
        )

    @strawberry.mutation(
        description="Email every lead waiting (PENDING) for the session's course code that "
        "its planning is open (template WAITLIST_SESSION_OPEN), once per lead and session: "
        "a second call reaches only the leads added since. Items: SENT, or SKIPPED with "
        f"their reason. {SKIP_REASONS}"
    )
    async def notify_waitlist(
        self,
        info: Info,
        session_id: strawberry.ID,
        input: LeadEmailInput | None = None,
        error_policy: ErrorPolicy = POLICY,  # type: ignore[valid-type]
        idempotency_key: str | None = None,
    ) -> BulkOperation:
        row = await emails.start_notifying(
            info.context.require_writer(),
            db_id(session_id, Session, field="sessionId"),
            (input or LeadEmailInput()).to_resolver(),
            policy=error_policy,
            idempotency_key=idempotency_key,
        )
        return BulkOperation.from_row(row)


@strawberry.type
class Query:
    @strawberry.field(description="What sendLeadEmails would send this lead, exactly.")
    async def preview_lead_email(
        self, info: Info, lead_id: strawberry.ID, input: LeadEmailInput
    ) -> LeadEmailPreview:
        scope = info.context.require_scope()
        pk = db_id(lead_id, Lead, field="leadId")
        preview = await lead_emails.preview_lead_email(scope, pk, input.to_resolver())
        return LeadEmailPreview(
            to=preview.to,
            skipped_reason=preview.skipped_reason,
            subject=preview.email.subject,
            text=preview.email.text,
            html=preview.email.html,
            attachments=preview.attachment_names,
        )
