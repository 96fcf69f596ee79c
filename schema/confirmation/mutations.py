"""Preview and send date proposals (one, or many on the bulk contract), manual validation
and the reminder setting."""

from __future__ import annotations

import strawberry

from models.confirmation import DateProposal as DateProposalRow
from models.sessions import SessionClient as SessionClientRow
from resolvers.confirmation import deadlines, manual, proposals
from resolvers.errors import ValidationFailed
from schema.bulk import BulkPayload, ErrorPolicy
from schema.confirmation.inputs import (
    BulkDateProposalInput,
    DateProposalInput,
    decode_session_client_id,
)
from schema.confirmation.types import (
    Confirmation,
    ConfirmationSettings,
    DateProposal,
    DateProposalPreview,
    confirmation_of,
)
from schema.context import Info


@strawberry.type
class SendDateProposalPayload:
    proposal: DateProposal
    confirmation: Confirmation


@strawberry.type(description="Each item's record is the proposal sent.")
class SendDateProposalsPayload(BulkPayload[DateProposal]):
    pass


@strawberry.type
class Mutation:
    @strawberry.mutation(description="What sendDateProposal would send, without sending.")
    async def preview_date_proposal(
        self, info: Info, session_client_id: strawberry.ID, input: DateProposalInput
    ) -> DateProposalPreview:
        draft = await proposals.preview_date_proposal(
            info.context.require_writer(),
            decode_session_client_id(session_client_id),
            input.to_resolver(),
        )
        return DateProposalPreview.of(draft)

    @strawberry.mutation(
        description="Email the session's dates to the client (state PENDING, email QUEUED)."
    )
    async def send_date_proposal(
        self, info: Info, session_client_id: strawberry.ID, input: DateProposalInput
    ) -> SendDateProposalPayload:
        scope = info.context.require_writer()
        sc_id = decode_session_client_id(session_client_id)
        proposal = await proposals.send_date_proposal(scope, sc_id, input.to_resolver())
        row = await scope.get(SessionClientRow, sc_id)
        return SendDateProposalPayload(
            proposal=DateProposal.from_row(proposal),
            confirmation=await confirmation_of(info, row, None),
        )

    @strawberry.mutation(
        description="Proposals to many session clients (at most 100) under errorPolicy; "
        "IGNORE_FAILED sends a proposal without its invalid CC/BCC addresses and unknown "
        "attachments. A retry with the same idempotencyKey returns the first result."
    )
    async def send_date_proposals(
        self,
        info: Info,
        inputs: list[BulkDateProposalInput],
        error_policy: ErrorPolicy = ErrorPolicy.REJECT_EVERYTHING,  # type: ignore[valid-type]
        idempotency_key: str | None = None,
    ) -> SendDateProposalsPayload:
        scope = info.context.require_writer()
        result = await proposals.send_date_proposals(
            scope,
            [i.to_resolver() for i in inputs],
            policy=error_policy,
            idempotency_key=idempotency_key,
        )
        rows = await scope.get_many(DateProposalRow, result.written_ids)
        records = [DateProposal.from_row(r) if r else None for r in rows]
        return SendDateProposalsPayload.of(result, "DateProposal", records)

    @strawberry.mutation(
        description='"Validation manuelle": on → MANUALLY_VALIDATED, off → TO_CONFIRM.'
    )
    async def set_manual_validation(
        self, info: Info, session_client_id: strawberry.ID, enabled: bool
    ) -> Confirmation:
        row = await manual.set_manual_validation(
            info.context.require_writer(), decode_session_client_id(session_client_id), enabled
        )
        return await confirmation_of(info, row, None)

    @strawberry.mutation(description="Remind clients N days before the deadline (null: never).")
    async def update_confirmation_settings(
        self, info: Info, reminder_days_before_deadline: int | None = strawberry.UNSET
    ) -> ConfirmationSettings:
        scope = info.context.require_writer()
        # Nullable, so a caller may leave it out: that is a mistake, not "never".
        if reminder_days_before_deadline is strawberry.UNSET:
            raise ValidationFailed(
                "reminderDaysBeforeDeadline is required (null: never remind)",
                field="reminderDaysBeforeDeadline",
            )
        organization = await deadlines.update_reminder_setting(scope, reminder_days_before_deadline)
        return ConfirmationSettings(
            reminder_days_before_deadline=organization.reminder_days_before_deadline
        )
