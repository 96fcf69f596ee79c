"""Where a subpanel's records come from: each source counts them for many owners with one
grouped COUNT (a whole list page at once; ``count_together`` sends several panels' counts
as one statement) and pages them for one owner in a given order."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import lru_cache
from typing import Any, ClassVar, cast

from pypika_tortoise.terms import Parameterizer
from tortoise.expressions import RawSQL, Subquery
from tortoise.functions import Count
from tortoise.models import Model
from tortoise.queryset import QuerySet, ValuesQuery

from models.audit import ChangeLogEntry
from models.records import RecordLink
from resolvers.context import Scope
from resolvers.errors import ValidationFailed


class Order(StrEnum):
    NEWEST_FIRST = "NEWEST_FIRST"
    OLDEST_FIRST = "OLDEST_FIRST"
    TITLE_ASC = "TITLE_ASC"
    TITLE_DESC = "TITLE_DESC"


@dataclass(frozen=True)
class Source(ABC):
    model: type[Model]
    title: tuple[str, ...] = ()  # the columns TITLE_* sorts on; none: not sortable by title
    date: str = "created_at"  # the column NEWEST_FIRST / OLDEST_FIRST sort on

    @abstractmethod
    def rows(self, scope: Scope, owner_type: str, owner_id: int) -> QuerySet[Any]:
        """The owner's records, unordered."""

    # One grouped COUNT of ``counted`` counts it (so it joins other panels' in
    # count_together); else ``counts`` says how.
    counted_at_once: ClassVar[bool] = True

    @abstractmethod
    def counted(self, scope: Scope, owner_type: str, owner_ids: Owners) -> Counted | None:
        """The rows to count for these owners, if ``counted_at_once`` (else None)."""

    async def counts(
        self, scope: Scope, owner_type: str, owner_ids: Sequence[int]
    ) -> dict[int, int]:
        """How many records each owner has (owners without any are left out)."""
        return (await count_together(scope, [(self, owner_type, owner_ids)]))[0]

    async def page(
        self, scope: Scope, owner_type: str, owner_id: int, order: Order, offset: int, limit: int
    ) -> list[Any]:
        rows = self.rows(scope, owner_type, owner_id).order_by(*self.ordering(order))
        return cast(list[Any], await rows.offset(offset).limit(limit))

    def ordering(self, order: Order) -> list[str]:
        """Columns of ``order``, the id last so that equal values keep a stable order."""
        if order in (Order.TITLE_ASC, Order.TITLE_DESC):
            if not self.title:
                raise ValidationFailed(
                    "this subpanel cannot be sorted by title: sort it by date", field="orderBy"
                )
            columns, descending = [*self.title, "id"], order == Order.TITLE_DESC
        else:
            columns, descending = [self.date, "id"], order == Order.NEWEST_FIRST
        return [f"-{c}" if descending else c for c in columns]


@dataclass(frozen=True)
class Counted:
    """Rows counted per owner: ``key`` is their column holding the owner's id."""

    rows: QuerySet[Any]
    key: str


Part = tuple["Source", str, Sequence[int]]  # (source, owner type, owner ids)
# Owners given by their ids, or as a SQL set of them (``RawSQL("(SELECT id FROM …)")``).
Owners = Sequence[int] | RawSQL
OwnersPart = tuple["Source", str, Owners]


async def count_together(scope: Scope, parts: Sequence[Part]) -> list[dict[int, int]]:
    """Each ``(source, owner type, owner ids)`` part's ``{owner id: rows}``, all in one
    statement: the parts' grouped COUNTs joined by UNION ALL, a literal column telling
    their rows apart. The statement is rendered once per shape (scope, sources, owner types,
    number of ids of each); then only the ids change in its values."""
    shape = tuple((source, owner_type, len(ids)) for source, owner_type, ids in parts)
    db = parts[0][0].model._meta.db  # the connection it runs on (a transaction's)
    sql, template, slots = _statement(scope, shape, db.capabilities.dialect)
    values = list(template)
    for position, part, index in slots:
        values[position] = parts[part][2][index]
    found: list[dict[int, int]] = [{} for _ in parts]
    for row in await db.execute_query_dict(sql, values):
        found[int(row["part"])][int(row["owner"])] = int(row["n"])
    return found


Slot = tuple[int, int, int]  # (position in the values, part, index in the part's ids)


@lru_cache(maxsize=1024)
def _statement(
    scope: Scope, shape: tuple[tuple[Source, str, int], ...], dialect: str
) -> tuple[str, tuple[Any, ...], tuple[Slot, ...]]:
    """The union of ``shape``'s grouped COUNTs for stand-in owner ids (negative: no row has
    them), its values, and where the real ids go in them."""
    stand_ins: dict[int, tuple[int, int]] = {}
    parts: list[OwnersPart] = []
    for i, (source, owner_type, size) in enumerate(shape):
        ids = [-1 - len(stand_ins) - j for j in range(size)]
        stand_ins.update({owner: (i, j) for j, owner in enumerate(ids)})
        parts.append((source, owner_type, ids))
    parameters = ConstantTextInline()
    sql = grouped_counts(scope, parts, parameters)
    slots = tuple(
        (position, *stand_ins[value])
        for position, value in enumerate(parameters.values)
        if type(value) is int and value in stand_ins
    )
    return sql, tuple(parameters.values), slots


class ConstantTextInline(Parameterizer):
    """Placeholders for the numbers of a grouped COUNT (organisation, owner ids), its text
    values written into the SQL: they are the sources' own constants (owner and link
    types, ``Related.where``), never the caller's text. For a placeholder type PostgreSQL's
    generic plan guesses an index (the organisation's, filtering on the type) where a
    literal one reaches the unique (owner type, owner, target type) index; the generic
    plan never wins then, and the statement is planned again at every execution."""

    def should_parameterize(self, value: Any) -> bool:
        return not isinstance(value, str) and super().should_parameterize(value)


def grouped_counts(scope: Scope, parts: Sequence[OwnersPart], parameters: Parameterizer) -> str:
    """The union of the parts' grouped COUNTs, rows (part, owner, n), a part's owners given
    as ids or as a SQL set (``RawSQL("(SELECT …)")``); ``parameters`` numbers the
    placeholders on from the values it holds (one across the parts: $1 … $n); a
    ``ConstantTextInline`` for statements run many times."""
    queries: list[ValuesQuery[Any]] = []
    for i, (source, owner_type, owners) in enumerate(parts):
        counted = source.counted(scope, owner_type, owners)
        assert counted is not None, f"{type(source).__name__} counts in more than one statement"
        query = (
            counted.rows.annotate(n=Count("id"), part=RawSQL(str(i)))
            .group_by(counted.key)
            .values("part", "n", owner=counted.key)
        )
        query._choose_db_if_not_chosen()  # what .sql() does, without rendering the SQL
        query._make_query()
        queries.append(query)
    context = queries[0].query.QUERY_CLS.SQL_CONTEXT.copy(parameterizer=parameters)
    return " UNION ALL ".join(query.query.get_sql(context) for query in queries)


def links_of(scope: Scope, owner_type: str, target_type: str) -> QuerySet[RecordLink]:
    return scope.query(RecordLink).filter(owner_type=owner_type, target_type=target_type)


@dataclass(frozen=True)
class Linked(Source):
    """Records tied to the owner by a ``RecordLink`` of ``target_type`` (notes, emails…)."""

    target_type: str = ""

    def rows(self, scope: Scope, owner_type: str, owner_id: int) -> QuerySet[Any]:
        targets = links_of(scope, owner_type, self.target_type).filter(owner_id=owner_id)
        return scope.query(self.model).filter(id__in=Subquery(targets.values("target_id")))

    def counted(self, scope: Scope, owner_type: str, owner_ids: Owners) -> Counted:
        links = links_of(scope, owner_type, self.target_type).filter(owner_id__in=owner_ids)
        return Counted(links, "owner_id")


@dataclass(frozen=True)
class Related(Source):
    """Rows whose ``key`` column holds the owner's id (a contact's ``client_id``…), or with
    ``via``, the value of a column of the owner's row (a contact's client's sessions)."""

    key: str = ""
    via: tuple[type[Model], str] | None = None  # (owner model, its column the key matches)
    where: tuple[tuple[str, Any], ...] = ()  # more filters: (lookup, value) pairs

    def rows(self, scope: Scope, owner_type: str, owner_id: int) -> QuerySet[Any]:
        rows = scope.query(self.model).filter(**dict(self.where))
        if self.via is None:
            return rows.filter(**{self.key: owner_id})
        owner_model, column = self.via
        owner = scope.query(owner_model).filter(id=owner_id).values(column)
        return rows.filter(**{f"{self.key}__in": Subquery(owner)})

    @property
    def counted_at_once(self) -> bool:  # type: ignore[override]
        return self.via is None

    def counted(self, scope: Scope, owner_type: str, owner_ids: Owners) -> Counted | None:
        return self._by_key(scope, owner_ids) if self.counted_at_once else None

    async def counts(
        self, scope: Scope, owner_type: str, owner_ids: Sequence[int]
    ) -> dict[int, int]:
        if self.via is None:
            return await super().counts(scope, owner_type, owner_ids)
        # The owners' values of the column first, then the rows counted by value.
        owner_model, column = self.via
        pairs = await scope.query(owner_model).filter(id__in=owner_ids).values_list("id", column)
        values = {owner: value for owner, value in pairs if value is not None}
        by_value = replace(self, via=None)
        counts = await by_value.counts(scope, owner_type, sorted(set(values.values())))
        return {owner: counts[value] for owner, value in values.items() if value in counts}

    def _by_key(self, scope: Scope, values: Owners) -> Counted:
        rows = scope.query(self.model).filter(**dict(self.where), **{f"{self.key}__in": values})
        return Counted(rows, self.key)


@dataclass(frozen=True)
class ChangeLog(Source):
    """The owner's change-log entries (every field change and whole-record action)."""

    model: type[Model] = ChangeLogEntry
    date: str = "at"

    def rows(self, scope: Scope, owner_type: str, owner_id: int) -> QuerySet[Any]:
        return scope.query(ChangeLogEntry).filter(record_type=owner_type, record_id=owner_id)

    def counted(self, scope: Scope, owner_type: str, owner_ids: Owners) -> Counted:
        entries = scope.query(ChangeLogEntry).filter(
            record_type=owner_type, record_id__in=owner_ids
        )
        return Counted(entries, "record_id")
