"""Typed user errors. Each has a stable ``code`` (SPEC §11) surfaced in GraphQL extensions."""

from __future__ import annotations

from typing import Any


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
