"""Enums shown to users with their localised label: ``{ value label }`` (SPEC §5)."""

from __future__ import annotations

import strawberry

from models.sessions import ConfirmationState as ConfirmationStateModel
from models.sessions import ConfirmationSummary as ConfirmationSummaryModel
from models.sessions import SessionStatus as SessionStatusModel
from resolvers import labels

SessionStatus = strawberry.enum(SessionStatusModel, name="SessionStatus")
ConfirmationSummary = strawberry.enum(ConfirmationSummaryModel, name="ConfirmationSummary")
ConfirmationState = strawberry.enum(ConfirmationStateModel, name="ConfirmationState")


@strawberry.type
class SessionStatusLabel:
    value: SessionStatus  # type: ignore[valid-type]
    label: str


@strawberry.type(description="A value of the session list's client confirmation column.")
class ConfirmationSummaryLabel:
    value: ConfirmationSummary  # type: ignore[valid-type]
    label: str

    @classmethod
    def of(cls, summary: ConfirmationSummaryModel, locale: str) -> ConfirmationSummaryLabel:
        return cls(value=summary, label=labels.confirmation_summary(summary, locale))
