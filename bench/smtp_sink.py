"""An SMTP sink in its own process (aiosmtpd on loopback) for bench/email_pipeline.py:
accepts every message and prints its Message-ID on stdout, one a line, so the bench
counts deliveries (and duplicates) without the sink taking CPU from the bench's loop.

    .venv/bin/python -m bench.smtp_sink PORT     # prints "READY" once listening
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from aiosmtpd.smtp import SMTP


class Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content: bytes = envelope.original_content or b""
        headers = content.split(b"\r\n\r\n", 1)[0]
        message_id = next(
            (
                line.split(b":", 1)[1].strip()
                for line in headers.split(b"\r\n")
                if line.lower().startswith(b"message-id:")
            ),
            b"(none)",
        )
        sys.stdout.buffer.write(message_id + b"\n")
        sys.stdout.buffer.flush()
        return "250 Message accepted"


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Sink()), "127.0.0.1", port)
    print("READY", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
