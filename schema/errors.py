"""Error exposure: user errors keep their message and code; anything else is masked
outside development (SPEC §10–11)."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalIDValueError

from resolvers.errors import NotFound, UserError, refused_value

MASKED_MESSAGE = "Unexpected error."


def is_user_facing(error: GraphQLError) -> bool:
    # Parse/validation errors carry no original error: they describe the caller's query.
    original = error.original_error
    return original is None or isinstance(original, UserError)


def should_mask(error: GraphQLError) -> bool:
    return not is_user_facing(error)


def refused_input(original: BaseException | None) -> UserError | None:
    """A value the database refuses is a VALIDATION_ERROR (resolvers.errors.refused_value);
    a malformed global ID answers like a missing record."""
    if isinstance(original, GlobalIDValueError):
        return NotFound(str(original), field="id")
    return refused_value(original)


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
