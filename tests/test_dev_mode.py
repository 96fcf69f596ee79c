"""``trainhub dev``: the embedded default (SQLite, embedded Redis, SMTP sink, mailbox)
as a user starts it, in a subprocess."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx
import pytest

from tests.faults_support import descendants, spawn, wait_gone
from tests.smtp import free_port


@pytest.fixture
async def dev_server(tmp_path: Path) -> AsyncIterator[tuple[str, int, dict[str, str]]]:
    port, smtp_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SMTP_HOST", "ENVIRONMENT", "SECRET_KEY"}
    }
    env.update({"VAR_DIR": str(tmp_path / "var"), "SMTP_PORT": str(smtp_port)})
    proc = spawn(["dev", "--demo", "--port", str(port)], env, quiet=True)
    yield f"http://127.0.0.1:{port}", smtp_port, env
    children = descendants(proc.pid)
    proc.terminate()
    await asyncio.to_thread(proc.wait, 20)
    await wait_gone(children, "after the dev-mode test")  # its embedded redis-server too


async def test_dev_mode_serves_graphiql_login_and_mailbox(
    dev_server: tuple[str, int, dict[str, str]], tmp_path: Path
) -> None:
    url, smtp_port, env = dev_server
    async with httpx.AsyncClient(base_url=url) as http:
        for _ in range(300):
            try:
                if (await http.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        assert (await http.get("/readyz")).json() == {"database": True, "redis": True}
        assert (tmp_path / "var" / "trainhub.sqlite3").exists()
        assert (
            "graphiql" in (await http.get("/graphql", headers={"accept": "text/html"})).text.lower()
        )

        login = await http.post(
            "/graphql",
            json={
                "query": 'mutation { login(email: "admin@demo.trainhub.test", password: "demo-password") { accessToken } }'
            },
        )
        token = login.json()["data"]["login"]["accessToken"]

        # The demo's first session client gets a proposal; its links point at this server.
        deadline = (date.today() + timedelta(days=2)).isoformat()
        sent = await http.post(
            "/graphql",
            json={
                "query": "mutation($d: Date!) { sendDateProposal(sessionClientId: "
                '"U2Vzc2lvbkNsaWVudDox", input: { deadline: $d }) { confirmation { state } } }',
                "variables": {"d": deadline},
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert sent.json()["data"]["sendDateProposal"]["confirmation"]["state"] == "PENDING"
        for _ in range(100):
            if "Proposition de dates" in (await http.get("/dev/mailbox/")).text:
                break
            await asyncio.sleep(0.1)
        proposal_stem = re.search(r"/dev/mailbox/(\d+)", (await http.get("/dev/mailbox/")).text)
        proposal = await http.get(f"/dev/mailbox/{proposal_stem.group(1)}")  # type: ignore[union-attr]
        assert f"{url}/respond/" in proposal.text

        # Mail sent to the embedded sink is listed and readable, links intact.
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = (
            "a@demo.test",
            "b@client.test",
            "Dates à confirmer",
        )
        message.set_content("Voir http://127.0.0.1/respond/abc")
        message.add_alternative(
            '<p><a href="http://127.0.0.1/respond/abc">Répondre</a></p>', subtype="html"
        )
        await aiosmtplib.send(message, hostname="127.0.0.1", port=smtp_port)
        inbox = await http.get("/dev/mailbox/")
        assert "Dates à confirmer" in inbox.text
        stem = re.search(r"/dev/mailbox/(\d+)", inbox.text).group(1)  # type: ignore[union-attr]
        view = await http.get(f"/dev/mailbox/{stem}")
        assert "b@client.test" in view.text and "respond/abc" in view.text
        html = await http.get(f"/dev/mailbox/{stem}/html")
        assert '<a href="http://127.0.0.1/respond/abc">' in html.text
        assert (await http.get("/dev/mailbox/../../etc/passwd")).status_code == 404

    # A second `trainhub dev` on the same port says so clearly.
    port = url.rsplit(":", 1)[1]
    second = subprocess.run(
        [sys.executable, "-m", "app", "dev", "--port", port],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in second.stderr
