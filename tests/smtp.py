"""A real SMTP server (aiosmtpd) on loopback whose answers a test can script, with the
faults of a real one: answers 4xx/5xx to the next N messages or for a while, is slow,
drops the connection in the middle of a DATA transaction."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    peer: tuple[str, int]  # the client's address: one per SMTP connection

    def body(self, subtype: str) -> str:
        """The text of the message's ``plain`` or ``html`` part (which must be there)."""
        part = self.message.get_body((subtype,))
        assert part is not None, f"no {subtype} part"
        return str(part.get_content())


@dataclass
class ScriptedHandler:
    """Accepts mail, unless the fields below say otherwise."""

    received: list[Received] = field(default_factory=list)
    data_answers: deque[str] = field(default_factory=deque)  # next DATA answers, e.g. "451 ..."
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> RCPT answer
    # While set, every DATA is answered with it (a server refusing mail "for a while").
    answer_all: str = ""
    # The next N DATA transactions lose their connection before the server's answer; the
    # first, third… were stored all the same (the client cannot tell which).
    drop_connections: int = 0
    dropped: int = 0
    data_delay_seconds: float = 0.0  # a slow server: each DATA takes this long
    refused: list[EmailMessage] = field(default_factory=list)  # messages answered 4xx/5xx

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.data_delay_seconds:
            await asyncio.sleep(self.data_delay_seconds)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        answer = self.data_answers.popleft() if self.data_answers else self.answer_all
        if answer:
            self.refused.append(message)  # type: ignore[arg-type]
            return answer
        if self.drop_connections > self.dropped:
            self.dropped += 1
            if self.dropped % 2:
                self._store(session, envelope, message)  # type: ignore[arg-type]
            server.transport.abort()
            return "250 Message accepted"  # never reaches the client
        self._store(session, envelope, message)  # type: ignore[arg-type]
        return "250 Message accepted"

    def _store(self, session: Any, envelope: Any, message: EmailMessage) -> None:
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), message, tuple(session.peer))  # type: ignore[arg-type]
        )


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.handler = ScriptedHandler()
        self.controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
