"""Error exposure: user errors keep their message and a stable ``code``; anything else
is masked outside development (SPEC §10–11)."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalIDValueError

from resolvers.errors import UserError

MASKED_MESSAGE = "Unexpected error."

# Errors strawberry raises itself on a caller's bad input, and the code they answer with:
# a malformed global ID is answered like a missing record.
INPUT_ERROR_CODES: dict[type[Exception], str] = {GlobalIDValueError: "NOT_FOUND"}


def _input_error_code(error: GraphQLError) -> str | None:
    original = error.original_error
    return next((c for t, c in INPUT_ERROR_CODES.items() if isinstance(original, t)), None)


def is_user_facing(error: GraphQLError) -> bool:
    # Parse/validation errors carry no original error: they describe the caller's query.
    original = error.original_error
    return (
        original is None or isinstance(original, UserError) or _input_error_code(error) is not None
    )


def should_mask(error: GraphQLError) -> bool:
    return not is_user_facing(error)


class InputErrorCodes(SchemaExtension):
    """Gives strawberry's own input errors the stable ``code`` of a user error."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in (result.errors if result else None) or []:
            code = _input_error_code(error)
            if code is not None:
                error.extensions = {**(error.extensions or {}), "code": code, "field": "id"}
