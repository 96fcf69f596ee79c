"""Who acts, for which organisation: the single place tenant scoping happens.

Every resolver reads and writes through a ``Scope``: ``scope.query(Model)`` is already
filtered on the caller's organisation and ``scope.get(Model, id)`` answers a foreign id
exactly like a missing one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.core import ApiScope, Role
from resolvers.errors import Forbidden, NotFound

M = TypeVar("M", bound=Model)  # a model with an organization_id column
MAX_ID = 2**63 - 1  # the id columns are BIGINT: a larger number names no row


def row_id(value: object) -> int | None:
    """``value`` as a row id, or None when no row can have it (not a whole number, not
    positive, past BIGINT). The one rule every id argument is checked with."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):
        return None
    pk = int(text)
    return pk if 0 < pk <= MAX_ID else None


class ActorKind(StrEnum):
    USER = "USER"
    API_KEY = "API_KEY"
    CLIENT = "CLIENT"  # a client answering through a response link
    STORE = "STORE"  # a store webhook
    SYSTEM = "SYSTEM"  # cron jobs, CLI


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str | None = None
    label: str = ""
    role: Role | None = None
    scopes: frozenset[ApiScope] = field(default_factory=frozenset)

    @property
    def can_read(self) -> bool:
        return self.kind != ActorKind.API_KEY or ApiScope.READ in self.scopes

    @property
    def can_write(self) -> bool:
        if self.kind == ActorKind.USER:
            return self.role in (Role.ADMIN, Role.STAFF)
        if self.kind == ActorKind.API_KEY:
            return ApiScope.WRITE in self.scopes
        return True

    @property
    def can_subscribe(self) -> bool:
        return self.kind == ActorKind.USER or ApiScope.SUBSCRIBE in self.scopes

    @property
    def user_id(self) -> int | None:
        return int(self.id) if self.kind == ActorKind.USER and self.id else None

    @classmethod
    def restored(
        cls, kind: str, id: str | None, label: str, role: str | None, scopes: Iterable[str]
    ) -> Actor:
        """An actor from its stored fields, for work a job does on someone's behalf."""
        return cls(
            ActorKind(kind),
            id,
            label,
            role=Role(role) if role else None,
            scopes=frozenset(ApiScope(s) for s in scopes),
        )


class ActingRecord(Protocol):
    """A stored piece of work done on someone's behalf (a bulk operation, a generated
    file): who asked, as the worker restores them."""

    @property
    def organization_id(self) -> int: ...
    @property
    def actor_kind(self) -> str: ...
    @property
    def actor_id(self) -> str | None: ...
    @property
    def actor_label(self) -> str: ...
    @property
    def actor_role(self) -> str | None: ...
    @property
    def actor_scopes(self) -> Any: ...


def acting_scope(record: ActingRecord) -> Scope:
    """The scope of whoever asked for ``record``: the worker acts as them."""
    actor = Actor.restored(
        record.actor_kind,
        record.actor_id,
        record.actor_label,
        record.actor_role,
        record.actor_scopes,
    )
    return Scope(record.organization_id, actor)


SYSTEM = Actor(ActorKind.SYSTEM, label="system")


@dataclass(frozen=True)
class Scope:
    organization_id: int
    actor: Actor

    def query(self, model: type[M]) -> QuerySet[M]:
        return model.filter(organization_id=self.organization_id)

    @staticmethod
    def sql_condition(alias: str, parameter: str) -> str:
        """``query``'s filter in hand-written SQL, on the table aliased ``alias``; the
        caller binds the scope's ``organization_id`` as ``parameter``."""
        return f'{alias}."organization_id" = {parameter}'

    async def get(self, model: type[M], id: int | str | None, *, for_update: bool = False) -> M:
        """The row of this organisation with that id; a foreign or missing id is NOT_FOUND."""
        pk = row_id(id)
        if pk is None:
            raise NotFound(f"{model.__name__} {id} not found", field="id")
        qs = self.query(model).filter(id=pk)
        if for_update:
            qs = qs.select_for_update()
        row = await qs.first()
        if row is None:
            raise NotFound(f"{model.__name__} {id} not found", field="id")
        return row

    async def get_many(self, model: type[M], ids: Iterable[int | str]) -> list[M | None]:
        """This organisation's rows with these ids, in the order asked; None for a foreign
        or missing id (one query, whatever the number of ids)."""
        pks = [row_id(i) for i in ids]
        wanted = [pk for pk in pks if pk is not None]
        found = (
            {row.pk: row for row in await self.query(model).filter(id__in=wanted)} if wanted else {}
        )
        return [found.get(pk) if pk is not None else None for pk in pks]

    async def create(self, model: type[M], **values: Any) -> M:
        return await model.create(organization_id=self.organization_id, **values)

    def require_write(self) -> None:
        if not self.actor.can_write:
            raise Forbidden("this account may not change data")


def system_scope(organization_id: int) -> Scope:
    return Scope(organization_id, SYSTEM)
