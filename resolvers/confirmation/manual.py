"""Manual validation ("Validation manuelle", SPEC §5): staff confirm the dates without
an email; turning it off puts the session client back to TO_CONFIRM."""

from __future__ import annotations

from models.sessions import ConfirmationState, SessionClient
from resolvers.confirmation.proposals import supersede_current_proposal
from resolvers.confirmation.state import transition
from resolvers.context import Scope
from resolvers.errors import WrongState
from resolvers.runtime import atomic


async def set_manual_validation(
    scope: Scope, session_client_id: int, enabled: bool
) -> SessionClient:
    """On → MANUALLY_VALIDATED (a live link stops working), off → TO_CONFIRM."""
    scope.require_write()
    async with atomic():
        session_client = await scope.get(SessionClient, session_client_id, for_update=True)
        state = session_client.confirmation_state
        if enabled and state != ConfirmationState.MANUALLY_VALIDATED:
            await supersede_current_proposal(session_client)
            await transition(
                scope,
                session_client,
                ConfirmationState.MANUALLY_VALIDATED,
                reason="manual validation on",
                current_proposal_id=None,
            )
        elif not enabled:
            if state != ConfirmationState.MANUALLY_VALIDATED:
                raise WrongState("the dates are not validated manually", field="enabled")
            await transition(
                scope, session_client, ConfirmationState.TO_CONFIRM, reason="manual validation off"
            )
    return session_client
