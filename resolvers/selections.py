"""Which records a bulk action, an export or a print applies to (SPEC §7): the ids given,
or every record the list's own filter matches minus some ids.

A selection is resolved once, when the operation starts (``select``), to a frozen list of
items: later changes to the list do not move what the operation works on. A given id
that names no record of this organisation (foreign, missing, malformed) or that is given
twice stays an item of its own with its error, so nothing is silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

from tortoise.models import Model
from tortoise.queryset import QuerySet

from resolvers.context import Scope
from resolvers.errors import Conflict, NotFound, UserError, ValidationFailed

F = TypeVar("F")  # the list's filter type (LeadFilter, SessionFilter…)
M = TypeVar("M", bound=Model)

MAX_SELECTED = 100_000  # records one operation may work on
MAX_FILTER_VALUES = 1_000  # values one list filter matches against (one IN (…) list)
ID_CHUNK = 10_000  # ids per IN (…) query: far below the drivers' parameter limits


def check_filter_values(**lists: Sequence[object]) -> None:
    """Each list of a filter (named as in the API) within MAX_FILTER_VALUES: a longer one
    would pass the database drivers' parameter limits."""
    for name, values in lists.items():
        if len(values) > MAX_FILTER_VALUES:
            raise ValidationFailed(f"{name}: at most {MAX_FILTER_VALUES} values", field=name)


@dataclass(frozen=True)
class Selection(Generic[F]):
    """``ids`` (None where a given id names no record of the type), or ``filter`` with
    ``exclude_ids``; exactly one of ``ids`` and ``filter``."""

    ids: Sequence[int | None] | None = None
    filter: F | None = None
    exclude_ids: Sequence[int | None] = ()

    def __post_init__(self) -> None:
        if (self.ids is None) == (self.filter is None):
            raise ValidationFailed("give either ids or a filter", field="selection")
        if self.ids is not None and len(self.ids) > MAX_SELECTED:
            raise ValidationFailed(f"at most {MAX_SELECTED} ids", field="selection.ids")
        if len(self.exclude_ids) > MAX_SELECTED:
            raise ValidationFailed(f"at most {MAX_SELECTED} ids", field="selection.excludeIds")


@dataclass(frozen=True)
class SelectedItem:
    index: int  # position in the given ids, or in the frozen filter result
    record_id: int | None  # None: the item names no record it may work on
    error: UserError | None = None


@dataclass(frozen=True)
class Selected:
    items: list[SelectedItem]

    @property
    def record_ids(self) -> list[int]:
        return [item.record_id for item in self.items if item.record_id is not None]


async def select(
    scope: Scope,
    model: type[M],
    selection: Selection[F],
    matching: Callable[[F], QuerySet[M]],
) -> Selected:
    """The items of ``selection``: by ids (in the order given), or what ``matching(filter)``
    returns minus the excluded ids, by id (a stable order to resume from)."""
    if selection.ids is not None:
        return await _by_ids(scope, model, selection.ids)
    assert selection.filter is not None
    excluded = [pk for pk in selection.exclude_ids if pk is not None]
    qs = matching(selection.filter)
    if excluded:
        qs = qs.exclude(id__in=excluded)
    ids = cast(
        list[int], await qs.order_by("id").limit(MAX_SELECTED + 1).values_list("id", flat=True)
    )
    if len(ids) > MAX_SELECTED:
        raise ValidationFailed(
            f"the filter matches more than {MAX_SELECTED} records: narrow it",
            field="selection.filter",
        )
    return Selected([SelectedItem(i, pk) for i, pk in enumerate(ids)])


async def _by_ids(scope: Scope, model: type[M], ids: Sequence[int | None]) -> Selected:
    wanted = sorted({pk for pk in ids if pk is not None})
    found: set[int] = set()
    for start in range(0, len(wanted), ID_CHUNK):
        chunk = wanted[start : start + ID_CHUNK]
        rows = await scope.query(model).filter(id__in=chunk).values_list("id", flat=True)
        found.update(cast(list[int], rows))
    seen: set[int] = set()
    items = []
    for index, pk in enumerate(ids):
        if pk is None or pk not in found:
            error: UserError = NotFound(f"{model.__name__} not found")
            items.append(SelectedItem(index, None, error))
        elif pk in seen:
            items.append(SelectedItem(index, None, Conflict("given twice in the selection")))
        else:
            seen.add(pk)
            items.append(SelectedItem(index, pk))
    return Selected(items)
