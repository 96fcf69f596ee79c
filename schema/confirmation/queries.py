"""Reading a session client's confirmation and proposals by its id."""

from __future__ import annotations

import strawberry

from models.sessions import SessionClient as SessionClientRow
from schema.confirmation.inputs import decode_session_client_id
from schema.confirmation.types import (
    Confirmation,
    DateProposal,
    confirmation_of,
    proposals_of_row,
)
from schema.context import Info


@strawberry.type
class Query:
    @strawberry.field(description="A session client's date confirmation.")
    async def session_client_confirmation(
        self, info: Info, session_client_id: strawberry.ID, locale: str | None = None
    ) -> Confirmation:
        scope = info.context.require_scope()
        row = await scope.get(SessionClientRow, decode_session_client_id(session_client_id))
        return await confirmation_of(info, row, locale)

    @strawberry.field(description="Every proposal sent to a session client, newest first.")
    async def session_client_proposals(
        self, info: Info, session_client_id: strawberry.ID
    ) -> list[DateProposal]:
        scope = info.context.require_scope()
        row = await scope.get(SessionClientRow, decode_session_client_id(session_client_id))
        return await proposals_of_row(info, row)
