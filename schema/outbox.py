"""Outbound emails: delivery status and the dead-letter retry."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models.outbox import EmailStatus as EmailStatusModel
from models.outbox import OutboundEmail
from resolvers import outbox
from schema.context import Info

EmailStatus = strawberry.enum(EmailStatusModel, name="EmailStatus")


@strawberry.type
class Email:
    id: strawberry.ID
    kind: str
    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    status: EmailStatus  # type: ignore[valid-type]
    attempts: int
    last_error: str
    message_id: str
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def from_row(cls, row: OutboundEmail) -> Email:
        return cls(
            id=strawberry.ID(str(row.id)),
            kind=row.kind,
            to=row.to,
            cc=row.cc,
            bcc=row.bcc,
            subject=row.subject,
            status=row.status,
            attempts=row.attempts,
            last_error=row.last_error,
            message_id=row.message_id,
            created_at=row.created_at,
            sent_at=row.sent_at,
        )


@strawberry.type
class Query:
    @strawberry.field(
        description="Outbound emails, newest first; status FAILED is the dead-letter list."
    )
    async def emails(
        self,
        info: Info,
        status: EmailStatus | None = None,  # type: ignore[valid-type]  # strawberry.enum value
        first: int = 50,
    ) -> list[Email]:
        qs = outbox.emails_query(info.context.require_scope(), status)
        rows = await qs.limit(max(1, min(first, 100)))
        return [Email.from_row(r) for r in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Queue a FAILED email again.")
    async def retry_email(self, info: Info, id: strawberry.ID) -> Email:
        row = await outbox.retry_failed_email(info.context.require_writer(), id)
        return Email.from_row(row)
