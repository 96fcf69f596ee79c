"""GraphiQL works without internet access: a real browser (Debian's headless Chromium
driven by Playwright) whose every request to anything but 127.0.0.1 is aborted opens
/graphql on a live server, gets the editor and runs ``{ __typename }``."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

import httpx
import pytest

from app.graphiql import ASSETS_DIR, LICENCE, STRAWBERRY_PAGE, URL_PREFIX, cdn_packages
from tests.conftest import LiveServer

CHROMIUM = "/usr/bin/chromium"


def test_every_asset_of_strawberrys_page_is_vendored_with_its_licence() -> None:
    packages = cdn_packages(STRAWBERRY_PAGE.read_text())
    assert {p.name for p in packages} >= {"react", "react-dom", "graphiql"}
    missing = [
        f"{package.directory}/{path}"
        for package in packages
        for path in (*package.files, LICENCE)
        if not (ASSETS_DIR / package.directory / path).is_file()
    ]
    assert missing == [], "run `make graphiql-assets`"


async def test_the_page_names_no_outside_address(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        page = (await http.get("/graphql", headers={"accept": "text/html"})).text
        assets = re.findall(r'(?:src|href)="(/static/graphiql/[^"]+)"', page)
        assert len(assets) == 7 and "unpkg" not in page
        for asset in assets:
            assert (await http.get(asset)).status_code == 200, asset
        assert (await http.get(f"{URL_PREFIX}react@18.2.0/LICENSE")).status_code == 200


@pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (apt-get install chromium)",
)
async def test_graphiql_runs_a_query_with_the_outside_network_blocked(
    live_server: LiveServer,
) -> None:
    from playwright.async_api import Route, async_playwright

    blocked: list[str] = []

    async def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = await browser.new_context()
            await context.route("**/*", only_loopback)
            page = await context.new_page()
            response = await page.goto(f"{live_server.url}/graphql")
            assert response is not None and response.status == 200

            editor = page.locator(".graphiql-query-editor .CodeMirror")
            await editor.wait_for(timeout=30_000)
            await editor.evaluate("node => node.CodeMirror.setValue('{ __typename }')")
            await page.get_by_role("button", name=re.compile("Execute query")).click()
            result = page.locator(".graphiql-response .CodeMirror")
            await page.wait_for_function(
                "() => document.querySelector('.graphiql-response .CodeMirror')"
                "?.CodeMirror.getValue().includes('Query')",
                timeout=30_000,
            )
            answer = await result.evaluate("node => node.CodeMirror.getValue()")
            assert '"__typename": "Query"' in answer
        finally:
            await browser.close()
    assert blocked == []
