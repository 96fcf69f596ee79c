"""A real SMTP server (aiosmtpd) on loopback whose answers a test can script."""

from __future__ import annotations

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
    """Accepts mail, unless ``data_answers`` / ``refuse`` say otherwise."""

    received: list[Received] = field(default_factory=list)
    data_answers: deque[str] = field(default_factory=deque)  # next DATA answers, e.g. "451 ..."
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> RCPT answer

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.data_answers:
            return self.data_answers.popleft()
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), message, tuple(session.peer))  # type: ignore[arg-type]
        )
        return "250 Message accepted"


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
