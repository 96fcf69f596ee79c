"""Small shared GraphQL types and helpers: delete results, partial-update inputs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry import relay

from resolvers.errors import ValidationFailed


@strawberry.type
class DeleteResult:
    id: strawberry.ID
    deleted: bool


def deleted(node_type: type, id: int) -> DeleteResult:
    """The answer of a delete mutation: the record's global ID."""
    return DeleteResult(
        id=strawberry.ID(str(relay.GlobalID(node_type.__name__, str(id)))), deleted=True
    )


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def given_fields(
    source: object, names: Iterable[str], *, nullable: Iterable[str] = ()
) -> dict[str, Any]:
    """The fields of a partial-update input the caller actually sent (UNSET ones left out);
    an explicit null is refused for a field that cannot be empty."""
    values: dict[str, Any] = {}
    allowed_null = set(nullable)
    for name in names:
        value = getattr(source, name, strawberry.UNSET)
        if value is strawberry.UNSET:
            continue
        if value is None and name not in allowed_null:
            raise ValidationFailed(f"{camel(name)} cannot be null", field=camel(name))
        values[name] = value
    return values
