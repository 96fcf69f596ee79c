"""Bulk emails to leads as bulk operations: ``sendLeadEmails`` ("Courriel") and
``notifyWaitlist`` (a session of the course a waiting list waits for opens).

The email is composed once when the operation starts (``resolvers.lead_emails``, kept in
its arguments) and rendered per lead in each batch; each batch writes its emails and
their Emails-panel links through the outbox (one INSERT each), the leads' change-log rows
and events, in the transaction that records the items: delivered by the worker after
commit, never twice. A lead skipped (merged, deleted, no email, an address already
emailed by this operation, already notified for the session) is a SKIPPED item with its
reason, not an error; a malformed address is an item error.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from models.confirmation import TemplateKind
from models.leads import Lead, WaitlistStatus
from models.operations import BulkOperation, BulkOperationItem, WaitlistNotification
from models.sessions import SessionSlot, TrainingSession
from resolvers.bulk import ErrorPolicy
from resolvers.bulk_operations import engine
from resolvers.bulk_operations.kinds import Batch, BatchItem, ItemOutcome, Kind, register
from resolvers.bulk_operations.lead_writes import audit, failure, not_found, read_leads
from resolvers.confirmation.emails import planning_for_display, planning_snapshot
from resolvers.context import Scope
from resolvers.errors import ValidationFailed
from resolvers.lead_emails import (
    LEAD_COLUMNS,
    Composition,
    LeadEmailInput,
    address_of,
    compose,
    email_locale,
    recipient,
    render_for,
    skip_reason,
)
from resolvers.leads.listing import LeadFilter, filtered_leads
from resolvers.leads.records import RECORD_TYPE as LEAD
from resolvers.outbox import EmailDraft, queue_emails
from resolvers.rows import insert_rows
from resolvers.runtime import now
from resolvers.selections import Selected, SelectedItem, Selection, select

SEND, NOTIFY = "send_lead_emails", "notify_waitlist"
SENT, SKIPPED = "SENT", "SKIPPED"
ALREADY_NOTIFIED = "ALREADY_NOTIFIED"


async def _selected(scope: Scope, selection: Selection[LeadFilter]) -> Selected:
    return await select(scope, Lead, selection, lambda f: filtered_leads(scope, f))


async def start_sending(
    scope: Scope,
    selection: Selection[LeadFilter],
    data: LeadEmailInput,
    *,
    policy: ErrorPolicy,
    idempotency_key: str | None,
) -> BulkOperation:
    scope.require_write()
    composition = await compose(scope, TemplateKind.LEAD_EMAIL, data)
    return await engine.start_operation(
        scope,
        SEND,
        await _selected(scope, selection),
        arguments={"email": composition.to_json()},
        policy=policy,
        idempotency_key=idempotency_key,
        by_ids=selection.ids is not None,
    )


async def start_notifying(
    scope: Scope,
    session_id: int,
    data: LeadEmailInput,
    *,
    policy: ErrorPolicy,
    idempotency_key: str | None,
) -> BulkOperation:
    """Every non-deleted lead waiting (PENDING) for the session's course code; those
    already notified for this session are SKIPPED items (ALREADY_NOTIFIED)."""
    scope.require_write()
    session = await scope.get(TrainingSession, session_id)
    if not session.product_code:
        raise ValidationFailed("this session has no course code", field="sessionId")
    composition = await compose(
        scope,
        TemplateKind.WAITLIST_SESSION_OPEN,
        data,
        await _session_variables(session, await email_locale(scope, data.locale)),
    )
    waiting = cast(
        list[int],
        await scope.query(Lead)
        .filter(
            waitlist_status=WaitlistStatus.PENDING,
            waitlist_product_code=session.product_code,
            deleted_at__isnull=True,
        )
        .order_by("id")
        .values_list("id", flat=True),
    )
    return await engine.start_operation(
        scope,
        NOTIFY,
        Selected([SelectedItem(i, pk) for i, pk in enumerate(waiting)]),
        arguments={"email": composition.to_json(), "session_id": session.id},
        policy=policy,
        idempotency_key=idempotency_key,
    )


async def _session_variables(session: TrainingSession, locale: str) -> dict[str, Any]:
    slots = await SessionSlot.filter(session_id=session.id).order_by("date", "start_time")
    return {
        "session": {
            "reference": session.reference,
            "title": session.title,
            "location": session.location,
            "product_code": session.product_code,
        },
        "planning": planning_for_display(planning_snapshot(session, slots), locale),
    }


async def _sent_before(batch: Batch) -> set[str]:
    """The addresses this operation's earlier batches emailed (one email per address)."""
    if batch.operation.processed == 0:
        return set()
    sent = await BulkOperationItem.filter(
        operation_id=batch.operation.id, outcome=SENT
    ).values_list("new_values", flat=True)
    return {str(values["to"]).lower() for values in cast(list[dict[str, Any]], sent)}


@dataclass
class _Classified:
    outcomes: list[ItemOutcome] = dataclasses.field(default_factory=list)
    drafts: list[tuple[ItemOutcome, EmailDraft]] = dataclasses.field(default_factory=list)


def _classify(
    batch_items: Sequence[tuple[int, int]],
    leads: Mapping[int, dict[str, Any]],
    composition: Composition,
    sent_to: set[str],
    notified: set[int],
) -> _Classified:
    """Each (position, lead id): skipped with its reason, failed, or an email to write.
    ``sent_to`` grows with the addresses emailed."""
    result = _Classified()
    for position, lead_id in batch_items:
        lead = leads.get(lead_id)
        if lead is None:
            result.outcomes.append(not_found(BatchItem(position, lead_id)))
            continue
        reason = ALREADY_NOTIFIED if lead_id in notified else skip_reason(lead, sent_to)
        if reason is not None:
            result.outcomes.append(ItemOutcome(position, lead_id, SKIPPED, reason=reason))
            continue
        try:
            to = recipient(lead)
            email = render_for(composition, lead)
        except ValidationFailed as exc:
            item = BatchItem(position, lead_id)
            result.outcomes.append(failure(item, exc.code, exc.message))
            continue
        sent_to.add(address_of(lead))
        outcome = ItemOutcome(position, lead_id, SENT, new_values={"to": to})
        result.outcomes.append(outcome)
        result.drafts.append(
            (outcome, EmailDraft(to, email.subject, email.html, email.text, (LEAD, lead_id)))
        )
    return result


async def _write(batch: Batch, classified: _Classified, composition: Composition) -> list[int]:
    """The emails (outbox), their ids on the items, the change log and the events."""
    ids = await queue_emails(
        batch.scope,
        [draft for _, draft in classified.drafts],
        kind=composition.kind,
        attachment_ids=composition.attachment_ids,
    )
    for (outcome, _), email_id in zip(classified.drafts, ids, strict=True):
        outcome.new_values = {**(outcome.new_values or {}), "email_id": email_id}
    sent = [outcome for outcome, _ in classified.drafts]
    logged = {outcome.lead_id: f"{d.subject} → {d.to}" for outcome, d in classified.drafts}
    await audit(
        batch,
        sent,
        action="email_sent",
        event="lead.emailed",
        whole_record=True,
        summary=lambda outcome: logged[outcome.lead_id],
    )
    return ids


async def _send(batch: Batch) -> list[ItemOutcome]:
    composition = Composition.from_json(batch.arguments["email"])
    leads = await read_leads(batch, LEAD_COLUMNS)
    items = [(i.position, i.lead_id) for i in batch.items]
    classified = _classify(items, leads, composition, await _sent_before(batch), set())
    await _write(batch, classified, composition)
    return classified.outcomes


async def _notify(batch: Batch) -> list[ItemOutcome]:
    composition = Composition.from_json(batch.arguments["email"])
    session_id: int = batch.arguments["session_id"]
    # Batches notifying for one session run one at a time: "once per lead" holds.
    await TrainingSession.filter(id=session_id).select_for_update().first()
    notified = set(
        cast(
            list[int],
            await WaitlistNotification.filter(
                session_id=session_id, lead_id__in=batch.lead_ids
            ).values_list("lead_id", flat=True),
        )
    )
    leads = await read_leads(batch, LEAD_COLUMNS)
    items = [(i.position, i.lead_id) for i in batch.items]
    classified = _classify(items, leads, composition, await _sent_before(batch), notified)
    ids = await _write(batch, classified, composition)
    at = now()
    await insert_rows(
        WaitlistNotification,
        [
            {
                "organization_id": batch.scope.organization_id,
                "created_at": at,
                "updated_at": at,
                "version": 1,
                "session_id": session_id,
                "lead_id": outcome.lead_id,
                "operation_id": batch.operation.id,
                "email_id": email_id,
            }
            for (outcome, _), email_id in zip(classified.drafts, ids, strict=True)
        ],
    )
    return classified.outcomes


register(Kind(SEND, _send))
register(Kind(NOTIFY, _notify))


@dataclass
class EmailDryRun:
    total: int = 0
    would_send: int = 0
    skipped: Counter[str] = dataclasses.field(default_factory=Counter)  # reason -> leads
    failed: int = 0
    errors: list[tuple[int, str, str]] = dataclasses.field(default_factory=list)


async def dry_run_sending(
    scope: Scope, selection: Selection[LeadFilter], data: LeadEmailInput
) -> EmailDryRun:
    """What ``start_sending`` would do, read only: who would get an email, who would be
    skipped and why, which items would fail."""
    scope.require_write()
    composition = await compose(scope, TemplateKind.LEAD_EMAIL, data)
    selected = await _selected(scope, selection)
    preview = EmailDryRun(total=len(selected.items))
    sent_to: set[str] = set()
    for start_at in range(0, len(selected.items), engine.BATCH_SIZE):
        chunk = selected.items[start_at : start_at + engine.BATCH_SIZE]
        ids = [i.record_id for i in chunk if i.record_id is not None]
        leads = {
            row["id"]: row
            for row in await scope.query(Lead).filter(id__in=ids).values(*LEAD_COLUMNS)
        }
        for item in chunk:
            if item.record_id is None:
                assert item.error is not None
                preview.errors.append((item.index, item.error.code, item.error.message))
        known = [(i.index, i.record_id) for i in chunk if i.record_id is not None]
        for outcome in _classify(known, leads, composition, sent_to, set()).outcomes:
            if outcome.failed:
                preview.errors += [(outcome.position, e.code, e.message) for e in outcome.errors]
            elif outcome.outcome == SKIPPED:
                preview.skipped[outcome.reason] += 1
            else:
                preview.would_send += 1
    preview.errors.sort()
    preview.failed = len({position for position, _, _ in preview.errors})
    return preview
