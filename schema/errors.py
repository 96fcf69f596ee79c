"""Error exposure: user errors keep their message and code; anything else is masked
outside development (SPEC §10–11)."""

from __future__ import annotations

from graphql import GraphQLError

from resolvers.errors import UserError

MASKED_MESSAGE = "Unexpected error."


def is_user_facing(error: GraphQLError) -> bool:
    # Parse/validation errors carry no original error: they describe the caller's query.
    original = error.original_error
    return original is None or isinstance(original, UserError)


def should_mask(error: GraphQLError) -> bool:
    return not is_user_facing(error)
