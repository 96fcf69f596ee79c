"""What a kind of bulk operation is, and the registry the engine looks kinds up in.

A kind is a function that processes one batch of items inside the operation's
transaction and answers one ``ItemOutcome`` per item it was given, in the bulk contract
(``resolvers/bulk.py``): an ``outcome`` (UPDATED, DELETED, SENT…) or ``errors``. It
writes set-based (a statement per batch, not per item) and does not commit: the engine
records the outcomes, the progress and the operation's event in the same transaction.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from models.operations import BulkOperation
from resolvers.bulk import ItemError
from resolvers.context import Scope


@dataclass(frozen=True)
class BatchItem:
    position: int  # in the operation's frozen selection
    lead_id: int


@dataclass(frozen=True)
class Batch:
    operation: BulkOperation
    scope: Scope  # acts as whoever started the operation
    items: list[BatchItem]  # only positions naming a lead: selection errors are the engine's

    @property
    def lead_ids(self) -> list[int]:
        return [item.lead_id for item in self.items]

    @property
    def arguments(self) -> dict[str, Any]:
        return self.operation.arguments  # type: ignore[no-any-return]

    @property
    def tag(self) -> str:
        """What the change log's ``bulk_job_id`` holds for this operation's rows."""
        return str(self.operation.id)


@dataclass
class ItemOutcome:
    position: int
    lead_id: int | None
    outcome: str | None = None  # None: the item failed (see errors)
    errors: list[ItemError] = field(default_factory=list)
    old_values: dict[str, Any] | None = None  # what a revert puts back
    new_values: dict[str, Any] | None = None  # what a revert expects to find
    reason: str = ""  # why an item was SKIPPED (NO_EMAIL…)
    recorded: bool = False  # its item row was written by the kind's own statement

    @property
    def failed(self) -> bool:
        return self.outcome is None


Process = Callable[[Batch], Awaitable[list[ItemOutcome]]]
Revert = Callable[[Batch, BulkOperation, bool], Awaitable[list[ItemOutcome]]]
"""Puts back on the batch's leads what the operation it reverts did; ``force``: even over
later changes."""


@dataclass(frozen=True)
class Kind:
    """``process``: one batch. ``revert`` (with ``changes``, the outcomes it undoes): how
    a revert operation puts this kind's changes back; None: cannot be reverted.
    ``on_done``: in the transaction of the last batch (a revert marks its target).
    ``large_batches``: a batch costs the same few set-based statements whatever its size,
    so a large operation may take larger batches (``engine.batch_size``)."""

    name: str
    process: Process
    revert: Revert | None = None
    changes: tuple[str, ...] = ()
    on_done: Callable[[BulkOperation], Awaitable[None]] | None = None
    large_batches: bool = False


KINDS: dict[str, Kind] = {}
# The modules that register kinds, imported on the first look-up (the worker runs any kind).
KIND_MODULES = [
    "resolvers.bulk_operations.mass_update",
    "resolvers.bulk_operations.deletion",
    "resolvers.bulk_operations.revert",
    "resolvers.bulk_operations.emails",
]


def register(kind: Kind) -> Kind:
    KINDS[kind.name] = kind
    return kind


def kind_of(name: str) -> Kind:
    if name not in KINDS:
        for module in KIND_MODULES:
            importlib.import_module(module)
    return KINDS[name]
