"""Small shared GraphQL types: labelled enums, pages."""

from __future__ import annotations

import strawberry


@strawberry.type
class DeleteResult:
    id: strawberry.ID
    deleted: bool
