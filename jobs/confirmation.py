"""Time-driven confirmation jobs (arq cron): deadline expiry and reminders (SPEC §5)."""

from __future__ import annotations

from typing import Any

from resolvers.confirmation import deadlines


async def expire_overdue_proposals(ctx: dict[str, Any]) -> int:
    """PENDING proposals past their deadline (end of day, organisation time zone) → EXPIRED."""
    return await deadlines.expire_overdue_proposals()


async def send_proposal_reminders(ctx: dict[str, Any]) -> int:
    """One reminder per PENDING proposal, N days before its deadline, when configured."""
    return await deadlines.send_due_reminders()
