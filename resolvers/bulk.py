"""The one contract of every scripted bulk mutation and of the bulk actions built on it.

A bulk call writes a list of items under an ``ErrorPolicy`` (Saleor's three values):

- ``REJECT_EVERYTHING`` (the default): one transaction; if any item fails, nothing is
  written, ``count`` is 0 and each failing item reports its errors.
- ``REJECT_FAILED_ROWS``: each item in its own savepoint; a failing item writes nothing,
  the others are written.
- ``IGNORE_FAILED``: as ``REJECT_FAILED_ROWS``, but an item whose optional parts are
  invalid is written without them; its errors say what was left out.

Each item answers ``{index, id, errors: [{code, field, message}]}`` (plus an ``outcome``
where the mutation has one, e.g. CREATED/UPDATED); ``count`` is how many items were
written. An error's ``field`` is its path in the mutation's arguments, list positions as
numbers and names in camelCase: ``inputs.2.proposal.cc.1`` is the second CC address of
the third item, ``inputs.2`` the item as a whole; a refusal of the whole call names the
argument alone (``inputs``: too many items). Item writers name fields relative to their
item (``proposal.cc.1``, ``slots.0.endTime``, none for the item itself) and ``run_bulk``
makes them paths; a value the database refuses (too long, out of range) is an error of
its item, not of the call. With an ``idempotencyKey`` a retry answers the first call's
result and writes nothing. Each mutation caps its number of items (``max_items``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from resolvers.context import Scope
from resolvers.errors import UserError, ValidationFailed, refused_value
from resolvers.idempotency import run_once
from resolvers.runtime import atomic

T = TypeVar("T")


class ErrorPolicy(StrEnum):
    REJECT_EVERYTHING = "REJECT_EVERYTHING"
    REJECT_FAILED_ROWS = "REJECT_FAILED_ROWS"
    IGNORE_FAILED = "IGNORE_FAILED"


@dataclass(frozen=True)
class ItemError:
    code: str
    message: str
    field: str | None = None

    @classmethod
    def of(cls, error: UserError) -> ItemError:
        return cls(code=error.code, message=error.message, field=error.field)


class ItemRejected(UserError):
    """An item with several errors at once (each a field of the item)."""

    code = "VALIDATION_ERROR"

    def __init__(self, errors: Sequence[ItemError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class Written:
    """What an item writer reports: the row written, the parts it left out (only under
    ``IGNORE_FAILED``) and the mutation's own outcome for the item, if any."""

    id: int
    left_out: Sequence[ItemError] = ()
    outcome: str | None = None


@dataclass
class ItemResult:
    index: int
    id: int | None = None
    errors: list[ItemError] = field(default_factory=list)
    outcome: str | None = None


@dataclass
class BulkResult:
    count: int
    items: list[ItemResult]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BulkResult:
        items = [
            ItemResult(
                index=item["index"],
                id=item["id"],
                errors=[ItemError(**e) for e in item["errors"]],
                outcome=item.get("outcome"),
            )
            for item in data["items"]
        ]
        return cls(count=data["count"], items=items)

    @property
    def written_ids(self) -> list[int]:
        return [item.id for item in self.items if item.id is not None]


ItemWriter = Callable[[T, bool], Awaitable[Written]]
"""Writes one item (``lenient``: IGNORE_FAILED, leave invalid optional parts out);
raises a ``UserError`` when the item cannot be written at all."""


@dataclass(frozen=True)
class BulkCall(Generic[T]):
    operation: str  # the idempotency namespace, e.g. "createSessions" or "addClients:12"
    items: Sequence[T]
    policy: ErrorPolicy = ErrorPolicy.REJECT_EVERYTHING
    idempotency_key: str | None = None
    max_items: int = 100
    field: str = "inputs"  # the argument holding the items, named in errors


class _RejectEverything(Exception):
    def __init__(self, items: list[ItemResult]) -> None:
        self.items = items


def _at(path: str, error: ItemError) -> ItemError:
    """``error`` of the item at ``path`` (``inputs.2``), its field made a full path."""
    return ItemError(error.code, error.message, f"{path}.{error.field}" if error.field else path)


async def _write_item(
    index: int, path: str, item: T, write: ItemWriter[T], lenient: bool
) -> ItemResult:
    try:
        async with atomic():  # a savepoint: a failing item leaves nothing behind
            written = await write(item, lenient)
    except ItemRejected as rejected:
        return ItemResult(index, errors=[_at(path, e) for e in rejected.errors])
    except UserError as error:
        return ItemResult(index, errors=[_at(path, ItemError.of(error))])
    except Exception as exc:
        refused = refused_value(exc)
        if refused is None:
            raise
        return ItemResult(index, errors=[_at(path, ItemError.of(refused))])
    left_out = [_at(path, e) for e in written.left_out]
    return ItemResult(index, written.id, left_out, written.outcome)


async def run_bulk(
    scope: Scope,
    call: BulkCall[T],
    write: ItemWriter[T],
    *,
    finish: Callable[[list[int]], Awaitable[None]] | None = None,
) -> BulkResult:
    """Write ``call.items`` under its policy in one transaction; ``finish`` runs in that
    transaction once with the ids written (e.g. to refresh a summary once, not per item)."""
    scope.require_write()
    if not call.items:
        raise ValidationFailed("give at least one item", field=call.field)
    if len(call.items) > call.max_items:
        raise ValidationFailed(f"at most {call.max_items} items at once", field=call.field)
    lenient = call.policy == ErrorPolicy.IGNORE_FAILED

    async def produce() -> dict[str, Any]:
        items = [
            await _write_item(i, f"{call.field}.{i}", item, write, lenient)
            for i, item in enumerate(call.items)
        ]
        failed = any(item.id is None for item in items)
        if failed and call.policy == ErrorPolicy.REJECT_EVERYTHING:
            raise _RejectEverything(items)  # rolls the whole transaction back
        result = BulkResult(sum(item.id is not None for item in items), items)
        if finish is not None and result.count:
            await finish(result.written_ids)
        return result.to_json()

    try:
        return BulkResult.from_json(
            await run_once(scope, call.operation, call.idempotency_key, produce)
        )
    except _RejectEverything as rejected:
        # Nothing was written: the good items keep no id, the bad ones their errors.
        return BulkResult(
            0, [ItemResult(item.index, errors=item.errors) for item in rejected.items]
        )
