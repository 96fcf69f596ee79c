"""The session list's filter and order, and the inputs of the session mutations."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import strawberry
from strawberry import relay

from models.sessions import SessionStatus as SessionStatusModel
from resolvers.context import row_id
from resolvers.errors import NotFound
from resolvers.sessions import listing, records
from resolvers.sessions.slots import SlotSpec
from schema.common import given_fields
from schema.labels import ConfirmationSummary, SessionStatus

SessionOrder = strawberry.enum(listing.SessionOrder, name="SessionOrder")
SESSION_FIELDS = ("reference", "title", "product_code", "location", "status")


@strawberry.input
class SessionFilter:
    status: list[SessionStatus] | None = None  # type: ignore[valid-type]
    product_code: list[str] | None = None
    slot_from: date | None = strawberry.field(
        default=None, description="Sessions with a slot on or after this date."
    )
    slot_to: date | None = strawberry.field(
        default=None, description="Sessions with a slot on or before this date."
    )
    owner_id: list[strawberry.ID] | None = None
    confirmation_summary: list[ConfirmationSummary] | None = None  # type: ignore[valid-type]
    text: str | None = strawberry.field(default=None, description="In the title or reference.")

    def to_resolver(self) -> listing.SessionFilter:
        owner_ids = [row_id(i) for i in self.owner_id or ()]
        if None in owner_ids:
            raise NotFound("ownerId: unknown user", field="ownerId")
        return listing.SessionFilter(
            statuses=self.status or (),
            product_codes=self.product_code or (),
            slot_from=self.slot_from,
            slot_to=self.slot_to,
            owner_ids=[i for i in owner_ids if i is not None],
            summaries=self.confirmation_summary or (),
            text=self.text or "",
        )


@strawberry.input
class SlotInput:
    date: date
    start_time: time
    end_time: time
    location: str = strawberry.field(default="", description="Empty: the session's location.")

    def to_spec(self) -> SlotSpec:
        return SlotSpec(self.date, self.start_time, self.end_time, self.location.strip())


@strawberry.input
class SlotPatch:
    date: date | None = strawberry.UNSET
    start_time: time | None = strawberry.UNSET
    end_time: time | None = strawberry.UNSET
    location: str | None = strawberry.UNSET

    def to_changes(self) -> dict[str, Any]:
        changes = given_fields(self, ("date", "start_time", "end_time"))
        if self.location is not strawberry.UNSET:
            changes["location"] = (self.location or "").strip()
        return changes


@strawberry.input
class CreateSessionInput:
    reference: str
    title: str
    product_code: str = ""
    location: str = ""
    status: SessionStatus = SessionStatusModel.DRAFT  # type: ignore[valid-type]
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="The owning user (default: the caller)."
    )
    slots: list[SlotInput] = strawberry.field(default_factory=list)

    def to_new(self) -> records.NewSession:
        values = given_fields(self, SESSION_FIELDS)
        if self.owner_id is not None:
            values["owner_id"] = self.owner_id  # the resolver checks it names a user
        return records.NewSession(values, [slot.to_spec() for slot in self.slots])


@strawberry.input
class UpdateSessionInput:
    id: relay.GlobalID
    version: int
    reference: str | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    product_code: str | None = strawberry.UNSET
    location: str | None = strawberry.UNSET
    status: SessionStatus | None = strawberry.UNSET  # type: ignore[valid-type]
    owner_id: strawberry.ID | None = strawberry.UNSET

    def to_changes(self) -> dict[str, Any]:
        """The fields given; ``owner_id`` as given (the resolver checks it names a user)."""
        return given_fields(self, (*SESSION_FIELDS, "owner_id"), nullable=("owner_id",))
