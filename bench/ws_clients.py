"""Many WebSocket subscribers in one asyncio process, cheap on CPU: each is an asyncio
``Protocol`` driving websockets' sans-I/O ``ClientProtocol`` (no task, no queue per
socket); the arrival time of a message is read on entry of ``data_received``, before
any parsing, with ``time.monotonic_ns()`` (CLOCK_MONOTONIC: comparable across processes
of the machine).

Two dialects: ``GraphQLSubscriber`` speaks graphql-transport-ws (connection_init with
the Bearer token, one subscription) to Trainhub; ``RawSubscriber`` to the raw relay of
bench/fanout_relay.py (a "ready" text once registered, then the events as they come).
A subscriber is *live* once it has received the marker: Trainhub's replay of the
marker event (the event feed is opened before the replay, so this proves it is
registered for live events) or the relay's "ready".
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri


class Subscriber(asyncio.Protocol):
    subprotocols: list[Subprotocol] = []

    def __init__(self, uri: str) -> None:
        self.ws = ClientProtocol(parse_uri(uri), subprotocols=self.subprotocols or None)
        self.transport: asyncio.Transport | None = None
        self.live = asyncio.get_running_loop().create_future()
        self.deliveries: list[tuple[int, int]] = []  # (arrival ns, event id) after the marker
        self.failure: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        at = time.monotonic_ns()
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if self.ws.handshake_exc is not None:
                    self._fail(f"handshake: {self.ws.handshake_exc}")
                else:
                    self.opened()
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self.text(at, bytes(event.data).decode())
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.live.done():
            self._fail(f"connection lost: {exc}")

    def send(self, message: dict[str, Any] | str) -> None:
        text = message if isinstance(message, str) else json.dumps(message)
        self.ws.send_text(text.encode())
        self._flush()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _flush(self) -> None:
        if self.transport is None:
            return
        for chunk in self.ws.data_to_send():
            if chunk:
                self.transport.write(chunk)

    def _fail(self, reason: str) -> None:
        self.failure = self.failure or reason
        if not self.live.done():
            self.live.set_exception(RuntimeError(reason))

    def opened(self) -> None:
        """The WebSocket handshake succeeded."""

    def text(self, at: int, text: str) -> None:
        raise NotImplementedError


class GraphQLSubscriber(Subscriber):
    subprotocols = [Subprotocol("graphql-transport-ws")]

    def __init__(self, uri: str, token: str, query: str, marker: int) -> None:
        super().__init__(uri)
        self.token, self.query, self.marker = token, query, marker

    def opened(self) -> None:
        self.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}})

    def text(self, at: int, text: str) -> None:
        message = json.loads(text)
        kind = message.get("type")
        if kind == "next" and "errors" not in message["payload"]:
            event_id = int(message["payload"]["data"]["events"]["id"])
            if self.live.done():
                self.deliveries.append((at, event_id))
            elif event_id == self.marker:
                self.live.set_result(None)
            else:
                self._fail(f"event {event_id} before the marker {self.marker}")
        elif kind == "connection_ack":
            self.send({"id": "1", "type": "subscribe", "payload": {"query": self.query}})
        elif kind == "ping":
            self.send({"type": "pong"})
        else:
            self._fail(f"unexpected message: {text[:300]}")


class RawSubscriber(Subscriber):
    def text(self, at: int, text: str) -> None:
        if text == "ready":
            self.live.set_result(None)
        else:
            self.deliveries.append((at, int(json.loads(text)["id"])))


async def connect(subscriber: Subscriber, host: str, port: int) -> Subscriber:
    loop = asyncio.get_running_loop()
    await loop.create_connection(lambda: subscriber, host, port)
    await subscriber.live
    return subscriber


async def connect_all(
    subscribers: list[tuple[Subscriber, int]], at_once: int = 50
) -> list[Subscriber]:
    """Connects (subscriber, port) pairs ``at_once`` at a time; returns them once all are
    live (raises the first failure)."""
    done: list[Subscriber] = []
    for start in range(0, len(subscribers), at_once):
        batch = subscribers[start : start + at_once]
        done += await asyncio.gather(*(connect(s, "127.0.0.1", port) for s, port in batch))
    return done
