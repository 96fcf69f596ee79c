"""Error exposure: user errors keep their message and code; anything else is masked
outside development (SPEC §10–11)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from asyncpg.exceptions import DataError
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalIDValueError
from tortoise.exceptions import OperationalError
from tortoise.exceptions import ValidationError as TortoiseValidationError

from resolvers.errors import NotFound, UserError, ValidationFailed
from schema.common import camel

MASKED_MESSAGE = "Unexpected error."


def is_user_facing(error: GraphQLError) -> bool:
    # Parse/validation errors carry no original error: they describe the caller's query.
    original = error.original_error
    return original is None or isinstance(original, UserError)


def should_mask(error: GraphQLError) -> bool:
    return not is_user_facing(error)


def _column_name(reason: str) -> str | None:
    name, sep, _ = reason.partition(": ")
    return camel(name) if sep and name.isidentifier() else None


def refused_input(original: BaseException | None) -> UserError | None:
    """A value the database cannot hold (too long for its column, a NUL character, a number
    out of range) is the caller's mistake, not a bug; nothing was written (the transaction
    rolled back). A malformed global ID answers like a missing record."""
    if isinstance(original, GlobalIDValueError):
        return NotFound(str(original), field="id")
    if isinstance(original, TortoiseValidationError):
        reason = str(original)
        field = _column_name(reason)
        longest = re.search(r"> (\d+)$", reason)
        if longest:
            return ValidationFailed(
                f"{field or 'a value'} must be at most {longest.group(1)} characters",
                field=field,
            )
        return ValidationFailed(f"{field or 'a value'} is not valid", field=field)
    cause = original.__cause__ if isinstance(original, OperationalError) else original
    if isinstance(cause, DataError | OverflowError):
        return ValidationFailed(f"a value was refused: {str(cause)[:200]}")
    return None


class TypedInputErrors(SchemaExtension):
    """Errors for values the database refuses become VALIDATION_ERROR, a malformed global
    ID NOT_FOUND (SPEC §11)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [_typed(error) for error in errors]


def _typed(error: GraphQLError) -> GraphQLError:
    refused = refused_input(error.original_error)
    if refused is None:
        return error
    return GraphQLError(
        refused.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=refused,
    )
