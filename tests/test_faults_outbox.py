"""Faults (SPEC §6, nothing lost) around a batch of 300 emails delivered by a real
``trainhub worker``: Redis restarted with its data lost, the SMTP server refusing mail
for a while, connections dropped in the middle of DATA. After each, every email is SENT
or visibly FAILED, none lost; duplicates (the stable Message-ID lets a receiver drop
them) are counted and reported."""

from __future__ import annotations

from typing import Any

import pytest

from app.settings import Settings
from models.outbox import EmailStatus, OutboundEmail
from tests.conftest import Tenant
from tests.faults_support import FaultRig, wait_until
from tests.smtp import SmtpServer
from tests.test_faults_worker_kill import FAULT_ENV

pytestmark = pytest.mark.postgres_only


@pytest.mark.parametrize("worker_killed_too", [False, True])
async def test_redis_restarted_with_its_data_lost_mid_batch_the_sweep_recovers_every_email(
    settings: Settings, tenant: Tenant, smtp: SmtpServer, app: Any, worker_killed_too: bool
) -> None:
    """Killed too, the worker leaves rows SENDING whose arq jobs Redis no longer has:
    only the outbox sweep can find them again."""
    smtp.handler.data_delay_seconds = 0.02
    async with FaultRig(settings, smtp, **FAULT_ENV) as rig:
        worker = rig.start_worker()
        await rig.queue_batch(tenant.staff.scope, 300)

        async def mid_batch() -> bool:
            return await rig.count(EmailStatus.SENT) >= 60 and (
                not worker_killed_too or await rig.count(EmailStatus.SENDING) > 0
            )

        await wait_until(mid_batch, "60 emails SENT, some SENDING")
        if worker_killed_too:
            worker.kill()
        rig.redis.restart()  # every queued job, lock and result gone
        in_flight = await rig.count(EmailStatus.SENDING)
        queued = await rig.count(EmailStatus.QUEUED)
        if worker_killed_too:
            rig.start_worker()
        outcome = await rig.settled()

    killed = " and the worker killed" if worker_killed_too else ""
    print(f"\nRedis restarted{killed} with {queued} QUEUED and {in_flight} SENDING: {outcome}")
    assert queued > 0 and (in_flight > 0 or not worker_killed_too)
    assert (outcome.sent, outcome.failed, outcome.lost) == (300, 0, 0)
    assert outcome.duplicates <= in_flight


async def test_smtp_refusing_mail_for_a_while_is_retried_until_sent_or_visibly_failed(
    settings: Settings, tenant: Tenant, smtp: SmtpServer, app: Any
) -> None:
    # 421 (service closing) for the first 20 messages, then 451 for every message until
    # each of them was refused once; 10 emails go to a mailbox that stays unavailable.
    smtp.handler.data_answers.extend(["421 4.3.2 Service shutting down"] * 20)
    smtp.handler.answer_all = "451 4.3.0 Try again later"
    smtp.handler.refuse["bounce@client.test"] = "450 4.2.1 Mailbox busy"
    async with FaultRig(settings, smtp, **FAULT_ENV, EMAIL_MAX_ATTEMPTS="6") as rig:
        rig.start_worker()
        await rig.queue_batch(tenant.staff.scope, 300, bounce=10)

        async def each_refused_once() -> bool:
            return len({m["Message-ID"] for m in smtp.handler.refused}) >= 290

        await wait_until(each_refused_once, "every deliverable email refused once")
        smtp.handler.answer_all = ""
        outcome = await rig.settled()

    print(f"\nSMTP 421/451 for a while ({len(smtp.handler.refused)} refusals): {outcome}")
    assert (outcome.sent, outcome.failed, outcome.lost, outcome.duplicates) == (290, 10, 0, 0)
    failed = await OutboundEmail.filter(id__in=rig.ids, status=EmailStatus.FAILED)
    assert {e.to[0] for e in failed} == {"bounce@client.test"}
    assert all(e.attempts == 6 and "gave up after 6 attempts" in e.last_error for e in failed)
    assert all("450" in e.last_error for e in failed)
    sent = await OutboundEmail.filter(id__in=rig.ids, status=EmailStatus.SENT)
    assert all(e.attempts >= 2 for e in sent)  # each was retried after its refusal


async def test_connections_dropped_mid_data_end_sent_with_duplicates_counted(
    settings: Settings, tenant: Tenant, smtp: SmtpServer, app: Any
) -> None:
    smtp.handler.drop_connections = 40  # 20 of them stored before the line died
    async with FaultRig(settings, smtp, **FAULT_ENV) as rig:
        rig.start_worker()
        await rig.queue_batch(tenant.staff.scope, 300)
        outcome = await rig.settled()

    print(f"\n{smtp.handler.dropped} connections dropped mid-DATA: {outcome}")
    assert smtp.handler.dropped == 40
    assert (outcome.sent, outcome.failed, outcome.lost) == (300, 0, 0)
    # Only a message the server stored without answering can arrive twice; every copy
    # carries the email's one Message-ID, so the receiver can drop it.
    assert outcome.duplicates <= 20
