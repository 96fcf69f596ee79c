"""The inputs of the confirmation mutations, and their decoding into resolver inputs."""

from __future__ import annotations

from datetime import date

import strawberry

from resolvers.confirmation.proposals import ProposalInput, ProposalItem
from resolvers.errors import NotFound
from schema.documents import Document
from schema.relay import db_id

# The real node type (no name-only stand-in needed): schema.sessions imports only
# confirmation.types, so importing it here makes no cycle.
from schema.sessions.types import SessionClient


def decode_session_client_id(gid: strawberry.ID) -> int:
    return db_id(gid, SessionClient)


def _known_id(gid: strawberry.ID, node_type: type) -> int | None:
    """None for an id that names no such record: the resolver refuses it (or leaves it
    out) where it is, instead of the whole request failing."""
    try:
        return db_id(gid, node_type)
    except NotFound:
        return None


@strawberry.input
class DateProposalInput:
    deadline: date = strawberry.field(description="Last day to answer (organisation time zone).")
    to: list[str] | None = strawberry.field(
        default=None, description="Default: the client's main contact."
    )
    cc: list[str] = strawberry.field(default_factory=list)
    bcc: list[str] = strawberry.field(default_factory=list)
    subject: str | None = strawberry.field(default=None, description="Default: the template's.")
    message: str = strawberry.field(default="", description="Free text added to the body.")
    attachment_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Documents uploaded beforehand."
    )
    locale: str | None = strawberry.field(
        default=None, description="fr or en; default: the organisation's."
    )

    def to_resolver(self) -> ProposalInput:
        return ProposalInput(
            deadline=self.deadline,
            to=self.to,
            cc=self.cc,
            bcc=self.bcc,
            subject=self.subject,
            message=self.message,
            attachment_ids=[_known_id(gid, Document) for gid in self.attachment_ids],
            locale=self.locale,
        )


@strawberry.input
class BulkDateProposalInput:
    session_client_id: strawberry.ID
    proposal: DateProposalInput

    def to_resolver(self) -> ProposalItem:
        return ProposalItem(
            _known_id(self.session_client_id, SessionClient), self.proposal.to_resolver()
        )
