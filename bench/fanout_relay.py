"""The raw baseline of bench/fanout.py: a minimal Redis pub/sub → WebSocket relay
(websockets + redis.asyncio, no GraphQL, no auth, no database). Every message published
on CHANNEL goes to every connected socket with ``websockets.broadcast``; a socket gets
"ready" once registered.

    .venv/bin/python -m bench.fanout_relay PORT REDIS_URL CHANNEL
"""

from __future__ import annotations

import asyncio
import sys

from redis.asyncio import Redis
from websockets.asyncio.server import ServerConnection, broadcast, serve


async def relay(port: int, redis_url: str, channel: str) -> None:
    sockets: set[ServerConnection] = set()

    async def handler(socket: ServerConnection) -> None:
        sockets.add(socket)
        try:
            await socket.send("ready")
            await socket.wait_closed()
        finally:
            sockets.discard(socket)

    redis = Redis.from_url(redis_url)
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(channel)
        async with serve(handler, "127.0.0.1", port, compression=None):
            async for message in pubsub.listen():
                if message["type"] == "message":
                    broadcast(sockets, message["data"].decode())


if __name__ == "__main__":
    asyncio.run(relay(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
