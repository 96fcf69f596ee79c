"""The operation engine: start an operation on a frozen selection, run it batch by batch,
resume it after a crash.

- ``start_operation`` freezes the selection into a ``BulkOperation`` (its ids, and the
  error of each position naming no lead), honours ``idempotencyKey`` (a retry answers the
  first operation) and then runs it inside the request when it has at most
  ``INLINE_LIMIT`` items, or leaves it ``QUEUED`` for the worker (enqueued after commit).
- ``run_operation`` processes batches of ``batch_size`` positions, how depends on
  ``errorPolicy``:
  - under the partial policies each batch is one transaction that locks the operation
    row, hands its items to the kind, writes the items' rows (failing ones with their
    errors) and the progress counters, and emits ``bulk_operation.changed``; a worker
    killed mid-batch leaves nothing of it, and the next run starts at ``processed``, the
    first position not recorded ((operation, position) is unique besides);
  - under ``REJECT_EVERYTHING`` (all or nothing) every batch runs in one transaction,
    each batch's writes kept until the last; if any item failed they are rolled back (a
    savepoint) and the same transaction records the operation ``FAILED`` with every
    item's error. Progress is published after each batch from outside that transaction
    (PostgreSQL: another pooled connection; SQLite has one, so there only at the end);
    a run killed before its commit left only that published progress, and the next run
    starts again at position 0. A PostgreSQL advisory lock keeps a second runner out
    (the operation's row cannot be locked: the progress updates write it). Selection
    errors are known at start, so such an operation is refused before any batch.
  Validating every item first and then writing in one transaction would read each lead
  twice and still need the one transaction (a lead can change in between).
- ``resumable_operations``: what the worker's sweep enqueues again (queued ones whose
  enqueue was lost, running ones whose heartbeat is stale).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models.operations import BulkOperation, BulkOperationItem, OperationStatus
from resolvers.audit import log_action
from resolvers.bulk import ErrorPolicy, ItemError
from resolvers.bulk_operations.kinds import Batch, BatchItem, ItemOutcome, kind_of
from resolvers.context import Scope, acting_scope
from resolvers.errors import ValidationFailed, WrongState
from resolvers.events import emit_event
from resolvers.rows import insert_rows
from resolvers.runtime import atomic, now
from resolvers.selections import Selected

log = logging.getLogger(__name__)

INLINE_LIMIT = 500  # items run inside the request; more go to the worker
BATCH_SIZE = 500  # positions per transaction
LARGE_BATCH_SIZE = 2_000  # at most, for kinds with large_batches
PROGRESS_STEPS = 5  # a large operation of such a kind still shows progress this many times
RECORD_TYPE = "bulk_operation"
EVENT = "bulk_operation.changed"
ADVISORY_CLASS = 10  # pg_try_advisory_xact_lock(ADVISORY_CLASS, operation id): its runner
FINAL = (OperationStatus.DONE, OperationStatus.FAILED, OperationStatus.REVERTED)
# What changes on an operation's row once it is created: saving only these keeps every
# batch from rewriting the frozen selection (thousands of ids as JSON, ~10 ms a save).
PROGRESS_FIELDS = (
    "status",
    "processed",
    "succeeded",
    "failed",
    "started_at",
    "heartbeat_at",
    "finished_at",
    "error",
    "updated_at",
)


def progress(operation: BulkOperation) -> dict[str, Any]:
    """The payload of ``bulk_operation.changed``."""
    return {
        "id": operation.id,
        "kind": operation.kind,
        "status": operation.status.value,
        "total": operation.total,
        "processed": operation.processed,
        "succeeded": operation.succeeded,
        "failed": operation.failed,
    }


def _selection_error(position: int, by_ids: bool, error: Any) -> dict[str, Any]:
    return {
        "code": error.code,
        "message": error.message,
        "field": f"selection.ids.{position}" if by_ids else None,
    }


async def start_operation(
    scope: Scope,
    kind: str,
    selected: Selected,
    *,
    arguments: dict[str, Any] | None = None,
    policy: ErrorPolicy = ErrorPolicy.REJECT_EVERYTHING,
    idempotency_key: str | None = None,
    by_ids: bool = True,
    reverts: BulkOperation | None = None,
) -> BulkOperation:
    """A new operation of ``kind`` on ``selected`` (run now if small, else queued); with an
    ``idempotency_key`` already used for ``kind``, the operation that key started."""
    scope.require_write()
    kind_of(kind)  # a registered kind
    if idempotency_key is not None:
        if not idempotency_key.strip() or len(idempotency_key) > 200:
            raise ValidationFailed("1 to 200 characters", field="idempotencyKey")
        existing = await _by_key(scope, kind, idempotency_key)
        if existing is not None:
            return existing
    actor = scope.actor
    try:
        async with atomic() as unit:
            operation = await scope.create(
                BulkOperation,
                kind=kind,
                status=OperationStatus.QUEUED,
                error_policy=policy.value,
                target_ids=[item.record_id for item in selected.items],
                target_errors={
                    str(i.index): _selection_error(i.index, by_ids, i.error)
                    for i in selected.items
                    if i.error is not None
                },
                arguments=arguments or {},
                total=len(selected.items),
                created_by_id=actor.user_id,
                actor_kind=actor.kind.value,
                actor_id=actor.id,
                actor_label=actor.label,
                actor_role=actor.role.value if actor.role else None,
                actor_scopes=sorted(s.value for s in actor.scopes),
                idempotency_key=idempotency_key,
                reverts_id=reverts.id if reverts else None,
            )
            if reverts is not None:
                await _claim_revert(scope, reverts, operation)
            await log_action(scope, RECORD_TYPE, operation.id, kind, bulk_job_id=str(operation.id))
            await _begin(operation)
            if operation.status == OperationStatus.QUEUED:
                unit.operation_ids.append(operation.id)
    except IntegrityError:
        # A concurrent retry with the same key committed first: its operation stands.
        winner = await _by_key(scope, kind, idempotency_key) if idempotency_key else None
        if winner is None:
            raise
        return winner
    if operation.status == OperationStatus.RUNNING:
        await run_operation(operation.id)
        await operation.refresh_from_db()
    return operation


async def _by_key(scope: Scope, kind: str, key: str) -> BulkOperation | None:
    return await scope.query(BulkOperation).filter(kind=kind, idempotency_key=key).first()


async def _claim_revert(scope: Scope, target: BulkOperation, revert: BulkOperation) -> None:
    """An operation is reverted once: the first revert takes it (a conditional update)."""
    taken = (
        await scope.query(BulkOperation)
        .filter(id=target.id, status=OperationStatus.DONE, reverted_by_id__isnull=True)
        .update(reverted_by_id=revert.id)
    )
    if not taken:
        raise WrongState("this operation was already reverted, or is not DONE", field="id")


async def _begin(operation: BulkOperation) -> None:
    """In the starting transaction: run in the request, queue, or refuse at once."""
    at = now()
    if operation.total == 0:
        operation.status, operation.finished_at = OperationStatus.DONE, at
    elif operation.error_policy == ErrorPolicy.REJECT_EVERYTHING.value and operation.target_errors:
        # Known failing items: refused before any batch writes anything.
        outcomes = [
            ItemOutcome(position, pk, outcome=None if pk is None else "")
            for position, pk in enumerate(operation.target_ids)
        ]
        await _write_items(operation, _with_selection_errors(operation, outcomes), rejected=True)
        _count(operation, outcomes, rejected=True)
        _reject(operation, at)
    elif operation.total <= INLINE_LIMIT:
        operation.status, operation.started_at = OperationStatus.RUNNING, at
    operation.heartbeat_at = at
    await _save_and_announce(operation)


async def _save_and_announce(operation: BulkOperation) -> None:
    """Every change of an operation's row emits ``bulk_operation.changed`` with it."""
    await operation.save(update_fields=PROGRESS_FIELDS)
    await emit_event(acting_scope(operation), EVENT, RECORD_TYPE, operation.id, progress(operation))


def _reject(operation: BulkOperation, at: datetime) -> None:
    operation.status, operation.finished_at = OperationStatus.FAILED, at
    operation.error = (
        f"{operation.failed} item(s) failed under errorPolicy REJECT_EVERYTHING: "
        "nothing was written"
    )


def _with_selection_errors(
    operation: BulkOperation, outcomes: list[ItemOutcome]
) -> list[ItemOutcome]:
    for outcome in outcomes:
        error = operation.target_errors.get(str(outcome.position))
        if error is not None:
            outcome.outcome, outcome.errors = None, [ItemError(**error)]
    return outcomes


async def claim_queued(operation_id: int) -> None:
    """A worker starts a queued operation (a running one is resumed as it is)."""
    at = now()
    await BulkOperation.filter(id=operation_id, status=OperationStatus.QUEUED).update(
        status=OperationStatus.RUNNING, started_at=at, heartbeat_at=at
    )


class _Rejected(Exception):
    def __init__(self, outcomes: list[ItemOutcome]) -> None:
        self.outcomes = outcomes


async def run_operation(operation_id: int, *, budget_seconds: float | None = None) -> bool:
    """The remaining batches of a RUNNING operation; with a ``budget_seconds``, no new
    batch once it is spent (all or nothing runs to its end). True when batches are left."""
    started = time.monotonic()
    policies = await BulkOperation.filter(id=operation_id).values_list("error_policy", flat=True)
    while True:
        try:
            if ErrorPolicy.REJECT_EVERYTHING.value in policies:
                await _run_all_or_nothing(operation_id)
                return False
            more = await _run_batch(operation_id)
        except Exception as exc:
            log.exception("bulk operation %s stopped", operation_id)
            await _fail(operation_id, f"unexpected error: {type(exc).__name__}")
            raise
        if not more:
            return False
        if budget_seconds is not None and time.monotonic() - started >= budget_seconds:
            return True


def batch_size(operation: BulkOperation) -> int:
    """``BATCH_SIZE``; for a kind with ``large_batches``, up to ``LARGE_BATCH_SIZE`` in a
    large operation: a batch's fixed cost (its transaction, the operation's row, the
    progress event, planning its statements) is paid fewer times, and progress still
    moves ``PROGRESS_STEPS`` times."""
    if not kind_of(operation.kind).large_batches:
        return BATCH_SIZE
    return max(BATCH_SIZE, min(LARGE_BATCH_SIZE, operation.total // PROGRESS_STEPS))


def _postgres() -> bool:
    return bool(BulkOperation._meta.db.capabilities.dialect == "postgres")


async def _exclusive(operation_id: int) -> bool:
    """PostgreSQL: this transaction alone runs the operation (released at its end)."""
    if not _postgres():
        return True  # SQLite: one writer at a time anyway
    rows = await BulkOperation._meta.db.execute_query_dict(
        "SELECT pg_try_advisory_xact_lock($1, $2) AS mine", [ADVISORY_CLASS, operation_id]
    )
    return bool(rows[0]["mine"])


async def _run_all_or_nothing(operation_id: int) -> None:
    """REJECT_EVERYTHING: every batch in one transaction (see the module's docstring)."""
    outside = contextvars.copy_context()  # no transaction: where progress is published
    async with atomic():
        if not await _exclusive(operation_id):
            return  # another runner has it
        operation = await BulkOperation.get_or_none(id=operation_id)
        if operation is None or operation.status != OperationStatus.RUNNING:
            return
        # Published by a run killed before its commit: nothing of it was kept.
        operation.processed = operation.succeeded = operation.failed = 0
        outcomes: list[ItemOutcome] = []
        try:
            async with atomic():  # a savepoint: the batches' writes, kept if none failed
                size = batch_size(operation)
                for start in range(0, operation.total, size):
                    end = min(start + size, operation.total)
                    batch = await _process(operation, range(start, end))
                    outcomes += batch
                    await _write_items(operation, batch)
                    _count(operation, batch)
                    if end < operation.total and _postgres():
                        await asyncio.create_task(_publish_progress(operation), context=outside)
                if operation.failed:
                    raise _Rejected(outcomes)
        except _Rejected:
            operation.processed = operation.succeeded = operation.failed = 0
            await _write_items(operation, outcomes, rejected=True)
            _count(operation, outcomes, rejected=True)
            _reject(operation, now())
            await _save_and_announce(operation)
            return
        await _done(operation)


async def _publish_progress(operation: BulkOperation) -> None:
    """Counters, heartbeat and ``bulk_operation.changed``, committed on their own."""
    async with atomic():
        await BulkOperation.filter(id=operation.id, status=OperationStatus.RUNNING).update(
            processed=operation.processed,
            succeeded=operation.succeeded,
            failed=operation.failed,
            heartbeat_at=now(),
        )
        await emit_event(
            acting_scope(operation), EVENT, RECORD_TYPE, operation.id, progress(operation)
        )


async def _locked(operation_id: int) -> BulkOperation | None:
    return await BulkOperation.filter(id=operation_id).select_for_update().first()


async def _run_batch(operation_id: int) -> bool:
    """One batch; False when nothing is left to do."""
    async with atomic():
        operation = await _locked(operation_id)
        if operation is None or operation.status != OperationStatus.RUNNING:
            return False
        start = operation.processed
        end = min(start + batch_size(operation), operation.total)
        outcomes = await _process(operation, range(start, end))
        await _write_items(operation, outcomes)
        _count(operation, outcomes)
        if operation.processed < operation.total:
            operation.heartbeat_at = now()
            await _save_and_announce(operation)
            return True
        await _done(operation)
        return False


async def _done(operation: BulkOperation) -> None:
    """Inside the last batch's transaction: DONE, and the kind's ``on_done``."""
    at = now()
    operation.heartbeat_at = operation.finished_at = at
    operation.status = OperationStatus.DONE
    on_done = kind_of(operation.kind).on_done
    if on_done is not None:
        await on_done(operation)
    await _save_and_announce(operation)


async def _process(operation: BulkOperation, positions: range) -> list[ItemOutcome]:
    targets = [(p, operation.target_ids[p]) for p in positions]
    items = [BatchItem(p, pk) for p, pk in targets if pk is not None]
    done = {o.position: o for o in await _kind_outcomes(operation, items)}
    outcomes = [done.get(p) or ItemOutcome(p, pk) for p, pk in targets]
    return _with_selection_errors(operation, outcomes)


async def _kind_outcomes(operation: BulkOperation, items: list[BatchItem]) -> list[ItemOutcome]:
    if not items:
        return []
    return await kind_of(operation.kind).process(Batch(operation, acting_scope(operation), items))


def _count(
    operation: BulkOperation, outcomes: Sequence[ItemOutcome], rejected: bool = False
) -> None:
    failed = sum(o.failed for o in outcomes)
    operation.processed += len(outcomes)
    operation.failed += failed
    operation.succeeded += 0 if rejected else len(outcomes) - failed


async def _write_items(
    operation: BulkOperation, outcomes: Sequence[ItemOutcome], *, rejected: bool = False
) -> None:
    """The items' rows, one INSERT for the batch. Rejected: the good items keep no outcome."""
    rows = [
        {
            "operation_id": operation.id,
            "position": o.position,
            "lead_id": o.lead_id,
            "outcome": None if rejected else o.outcome,
            "reason": o.reason,
            "failed": o.failed,
            "errors": [{"code": e.code, "message": e.message, "field": e.field} for e in o.errors],
            "old_values": None if rejected else o.old_values,
            "new_values": None if rejected else o.new_values,
        }
        for o in outcomes
        if rejected or not o.recorded  # a rejection rolled back the recorded ones too
    ]
    await insert_rows(BulkOperationItem, rows)


async def _fail(operation_id: int, reason: str) -> None:
    try:
        async with atomic():
            operation = await _locked(operation_id)
            if operation is None or operation.status != OperationStatus.RUNNING:
                return
            operation.status, operation.finished_at = OperationStatus.FAILED, now()
            operation.error = reason
            await _save_and_announce(operation)
    except Exception:  # noqa: BLE001 - the database is gone too: the sweep resumes it later
        log.exception("bulk operation %s could not be marked failed", operation_id)


async def resumable_operations(stale_after: timedelta, limit: int = 100) -> list[BulkOperation]:
    """Queued operations whose enqueue may be lost and running ones nobody advanced for
    ``stale_after`` (the worker or the request running them died)."""
    before = now() - stale_after
    return (
        await BulkOperation.filter(
            Q(status=OperationStatus.QUEUED, created_at__lt=before)
            | Q(status=OperationStatus.RUNNING, heartbeat_at__lt=before)
        )
        .order_by("id")
        .limit(limit)
    )
