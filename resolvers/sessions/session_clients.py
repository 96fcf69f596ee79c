"""The clients of a session (``SessionClient`` rows): adding one, adding a script's list
on the bulk contract, removing one. Each change refreshes the session's confirmation
summary in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence

from models.sessions import Client, SessionClient, TrainingSession
from resolvers.audit import record_action
from resolvers.bulk import BulkCall, BulkResult, ErrorPolicy, Written, run_bulk
from resolvers.confirmation.state import refresh_summary
from resolvers.context import Scope
from resolvers.errors import Conflict, NotFound
from resolvers.runtime import atomic
from resolvers.sessions.records import SESSION, refuse_pending, taken_as_conflict

MAX_CLIENTS_AT_ONCE = 100


async def _add_session_client(
    scope: Scope, session: TrainingSession, client_id: int, field: str | None
) -> SessionClient:
    """``client_id`` in the locked ``session``; errors name ``field`` (None: a bulk item,
    the client id as a whole)."""
    client = await scope.query(Client).filter(id=client_id).first()
    if client is None:
        raise NotFound(f"client {client_id} not found", field=field)
    already = f"client {client_id} is already in this session"
    if await scope.query(SessionClient).filter(session_id=session.id, client_id=client.id).exists():
        raise Conflict(already, field=field)
    with taken_as_conflict(already, field):
        session_client = await scope.create(
            SessionClient, session_id=session.id, client_id=client.id
        )
    await record_action(
        scope,
        SESSION,
        session.id,
        "client_added",
        event="session.client_added",
        payload={"id": session.id, "clientId": client.id, "sessionClientId": session_client.id},
        new_value=client.name,
    )
    return session_client


async def add_client(scope: Scope, session_id: int, client_id: int) -> SessionClient:
    scope.require_write()
    async with atomic():
        session = await scope.get(TrainingSession, session_id, for_update=True)
        session_client = await _add_session_client(scope, session, client_id, "clientId")
        await refresh_summary(scope, session.id)
    return session_client


async def add_clients(
    scope: Scope,
    session_id: int,
    client_ids: Sequence[int],
    policy: ErrorPolicy = ErrorPolicy.REJECT_EVERYTHING,
    idempotency_key: str | None = None,
) -> BulkResult:
    """A script's clients on the bulk contract (resolvers/bulk.py), one item per client:
    a missing or foreign one is NOT_FOUND, one already in the session or given twice a
    CONFLICT. An unknown session refuses the whole call."""
    scope.require_write()
    call = BulkCall(
        f"addClientsToSession:{session_id}",
        client_ids,
        policy,
        idempotency_key,
        MAX_CLIENTS_AT_ONCE,
        field="clientIds",
    )
    async with atomic():
        # Locked: concurrent calls for this session add their clients one after the other.
        session = (
            await scope.query(TrainingSession).filter(id=session_id).select_for_update().first()
        )
        if session is None:
            raise NotFound(f"session {session_id} not found", field="sessionId")
        given: set[int] = set()

        async def write(client_id: int, lenient: bool) -> Written:
            if client_id in given:
                raise Conflict(f"client {client_id} is given twice")
            given.add(client_id)
            return Written((await _add_session_client(scope, session, client_id, None)).id)

        async def finish(written_ids: list[int]) -> None:
            await refresh_summary(scope, session.id)

        return await run_bulk(scope, call, write, finish=finish)


async def remove_client(scope: Scope, session_id: int, client_id: int) -> TrainingSession:
    """Refused while the client has a proposal waiting for its answer (WRONG_STATE)."""
    scope.require_write()
    async with atomic():
        session = await scope.get(TrainingSession, session_id, for_update=True)
        session_client = (
            await scope.query(SessionClient)
            .filter(session_id=session.id, client_id=client_id)
            .select_for_update()
            .first()
        )
        if session_client is None:
            raise NotFound(f"client {client_id} is not in this session", field="clientId")
        await refuse_pending(scope, session.id, client_id)
        await session_client.delete()
        client_name = (
            await scope.query(Client).filter(id=client_id).first().values_list("name", flat=True)
        )
        await record_action(
            scope,
            SESSION,
            session.id,
            "client_removed",
            event="session.client_removed",
            payload={"id": session.id, "clientId": client_id, "sessionClientId": session_client.id},
            new_value=client_name,
        )
        # A nullable column: Tortoise types the attribute as the bare enum.
        session.confirmation_summary = await refresh_summary(scope, session.id)  # type: ignore[assignment]
    return session
