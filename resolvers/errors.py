"""Typed user errors. Each has a stable ``code`` (SPEC §11) surfaced in GraphQL extensions."""

from __future__ import annotations

import re
from typing import Any

from asyncpg.exceptions import DataError
from tortoise.exceptions import OperationalError
from tortoise.exceptions import ValidationError as TortoiseValidationError


class UserError(Exception):
    """A mistake of the caller (never a bug): safe to show, never a partial write."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    @property
    def extensions(self) -> dict[str, Any]:
        # graphql-core copies an original error's ``extensions`` into the GraphQL error.
        ext: dict[str, Any] = {"code": self.code}
        if self.field:
            ext["field"] = self.field
        ext.update(self.details)
        return ext


class ValidationFailed(UserError):
    code = "VALIDATION_ERROR"


class NotFound(UserError):
    code = "NOT_FOUND"


class StaleVersion(UserError):
    code = "STALE_VERSION"


class WrongState(UserError):
    code = "WRONG_STATE"


class Conflict(UserError):
    code = "CONFLICT"


class Unauthenticated(UserError):
    code = "UNAUTHENTICATED"


class Forbidden(UserError):
    code = "FORBIDDEN"


class RateLimited(UserError):
    code = "RATE_LIMITED"


class TooLarge(UserError):
    code = "TOO_LARGE"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _column_name(reason: str) -> str | None:
    name, sep, _ = reason.partition(": ")
    return _camel(name) if sep and name.isidentifier() else None


def refused_value(original: BaseException | None) -> UserError | None:
    """A value the database cannot hold (too long for its column, a NUL character, a
    number out of range) is the caller's mistake, not a bug; what it was part of rolls
    back. None for any other exception."""
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


class LinkExpired(UserError):
    code = "LINK_EXPIRED"
