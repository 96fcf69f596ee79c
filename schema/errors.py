"""Error exposure: user errors keep their message and code; anything else is masked
outside development (SPEC §10–11)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from graphql import GraphQLError, VariableDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalIDValueError
from strawberry.utils.logging import StrawberryLogger

from resolvers.errors import NotFound, UserError, ValidationFailed, refused_value

MASKED_MESSAGE = "Unexpected error."
log = logging.getLogger(__name__)


def is_user_facing(error: GraphQLError) -> bool:
    # Parse/validation errors carry no original error: they describe the caller's query.
    original = error.original_error
    return original is None or isinstance(original, UserError)


def should_mask(error: GraphQLError) -> bool:
    return not is_user_facing(error)


def is_callers_mistake(error: GraphQLError) -> bool:
    """A user error, or one TypedInputErrors makes typed: nothing for an operator to fix."""
    return (
        is_user_facing(error)
        or refused_variable(error) is not None
        or refused_input(error.original_error) is not None
    )


def log_errors(errors: Iterable[GraphQLError]) -> None:
    """A caller's mistake is one INFO line (a client cannot flood the log with
    tracebacks, real errors stay visible); anything else is an ERROR with its traceback."""
    for error in errors:
        if is_callers_mistake(error):
            code = (error.extensions or {}).get("code", "GRAPHQL")
            # One line, bounded: a message may quote what the caller sent.
            log.info("user error %s: %.300s", code, " ".join(error.message.split()))
        else:
            StrawberryLogger.error(error)


def refused_input(original: BaseException | None) -> UserError | None:
    """A value the database refuses is a VALIDATION_ERROR (resolvers.errors.refused_value);
    a malformed global ID answers like a missing record."""
    if isinstance(original, GlobalIDValueError):
        return NotFound(str(original), field="id")
    return refused_value(original)


def refused_variable(error: GraphQLError) -> UserError | None:
    """graphql-core's refusal of a variable's value (``Variable '$n' has invalid value…``),
    located at the variable's definition: the caller's mistake, whatever original error
    the scalar's parser raised."""
    node = error.nodes[0] if error.nodes else None
    if isinstance(node, VariableDefinitionNode):
        return ValidationFailed(error.message, field=node.variable.name.value)
    return None


class TypedInputErrors(SchemaExtension):
    """Errors for values the database refuses and variables graphql-core refuses become
    VALIDATION_ERROR, a malformed global ID NOT_FOUND (SPEC §11)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [_typed(error) for error in errors]


def _typed(error: GraphQLError) -> GraphQLError:
    refused = refused_variable(error) or refused_input(error.original_error)
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
