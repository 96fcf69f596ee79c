"""Fault (SPEC §6, nothing lost): a real ``trainhub worker`` SIGKILLed in the middle of a
batch of 300 emails, while some are SENDING, and a new one started. Every email is SENT,
none is lost; duplicates (a message the server had when the worker died) are counted and
reported."""

from __future__ import annotations

import time
from typing import Any

import pytest

from app.settings import Settings
from models.outbox import EmailStatus
from tests.conftest import Tenant
from tests.faults_support import FaultRig
from tests.smtp import SmtpServer

pytestmark = pytest.mark.postgres_only

# The job lock of a killed worker's emails is this + 10 s (production: 30 + 10).
FAULT_ENV = {
    "EMAIL_JOB_TIMEOUT_SECONDS": "5",
    "OUTBOX_SWEEP_SECONDS": "1",
    "EMAIL_RETRY_BASE_SECONDS": "0.2",
}


async def test_worker_killed_mid_batch_then_replaced_delivers_every_email(
    settings: Settings, tenant: Tenant, smtp: SmtpServer, app: Any
) -> None:
    smtp.handler.data_delay_seconds = 0.02  # so that a kill finds some rows SENDING
    async with FaultRig(settings, smtp, **FAULT_ENV) as rig:
        first = rig.start_worker()
        await rig.queue_batch(tenant.staff.scope, 300)
        await rig.wait_for(EmailStatus.SENT, 60)
        first.kill()
        sending_at_kill = await rig.count(EmailStatus.SENDING)
        killed_at = time.monotonic()
        rig.start_worker()
        outcome = await rig.settled()
        recovery = time.monotonic() - killed_at

    print(
        f"\nworker SIGKILLed with {sending_at_kill} SENDING: {outcome};"
        f" all settled {recovery:.1f} s after the kill"
    )
    assert sending_at_kill > 0
    assert (outcome.sent, outcome.failed, outcome.lost) == (300, 0, 0)
    # A duplicate is a message the server stored before the worker died: never more than
    # the rows that were in flight.
    assert outcome.duplicates <= sending_at_kill
