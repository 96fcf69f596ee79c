"""A real browser (Debian's headless Chromium driven by Playwright) answers a proposal
from the link of a real email, on a phone-sized screen."""

from __future__ import annotations

import os
from typing import Any

import pytest

from models.audit import ChangeLogEntry
from tests.confirmation_support import (
    CONFIRMATION,
    SEND,
    add_session_client,
    fr,
    link_of,
    proposal_input,
    today,
)
from tests.conftest import GraphQLClient, LiveServer, Tenant
from tests.smtp import SmtpServer

CHROMIUM = "/usr/bin/chromium"
# CI installs Chromium (.ci/run), so there a missing browser fails instead of skipping.
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (apt-get install chromium)",
)


async def test_browser_accepts_from_the_email_link(
    gql: GraphQLClient,
    tenant: Tenant,
    smtp: SmtpServer,
    run_worker: Any,
    live_server: LiveServer,
) -> None:
    from playwright.async_api import async_playwright

    sc = await add_session_client(tenant)
    await gql.ok(SEND, {"id": sc.gid, "input": proposal_input()}, as_=tenant.staff)
    await run_worker()
    link = link_of(smtp.received[-1])
    assert link.startswith(live_server.url + "/respond/")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = await browser.new_context(
                viewport={"width": 375, "height": 740}, locale="fr-FR", java_script_enabled=False
            )
            page = await context.new_page()
            response = await page.goto(link)
            assert response is not None and response.status == 200
            assert await page.title() == "Proposition de dates - Sécurité incendie"
            accept = page.get_by_role("button", name="J'accepte")
            decline = page.get_by_role("button", name="Je décline")
            assert await accept.is_visible() and await decline.is_visible()
            box = await accept.bounding_box()
            assert box is not None and box["x"] + box["width"] <= 375  # fits a phone screen
            # Opening the page changed nothing.
            assert (await sc.refresh()).confirmation_state == "PENDING"

            await accept.click()
            await page.wait_for_load_state()
            status = page.get_by_role("status")
            assert "Votre réponse a été enregistrée." in await status.inner_text()
            assert f"Date(s) acceptée(s) le {fr(today())}" in await status.inner_text()
        finally:
            await browser.close()

    confirmation = (await gql.ok(CONFIRMATION, {"id": sc.gid}, as_=tenant.staff))[
        "sessionClientConfirmation"
    ]
    assert confirmation["state"] == "ACCEPTED"
    assert confirmation["sessionSummary"]["label"] == "Confirmé"
    assert confirmation["history"][-1]["actorKind"] == "CLIENT"
    assert (
        await ChangeLogEntry.filter(
            record_type="session_client", new_value="ACCEPTED", field="confirmation_state"
        ).count()
        == 1
    )
