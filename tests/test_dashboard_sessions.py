"""The dashboard served for real (`streamlit run`, headless Chromium) to signed-in sessions: a link to a
page survives signing in, and concurrent sessions browsing and searching get no error (the CI variant of
bench/dashboard_load.py; it asserts no errors, not timings)."""

from __future__ import annotations

import asyncio
import os

import pytest

from bench import dashboard_load

pytestmark = pytest.mark.skipif(
    not dashboard_load.CHROMIUM.exists() and not os.environ.get("CI"), reason="needs Debian's chromium"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    url, users = dashboard_load.prepare(tmp_path_factory.mktemp("sessions"), calls=200)
    with dashboard_load.serve(url, users) as address:
        yield address


def test_a_link_to_a_call_leads_to_that_call_after_signing_in(server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        browser = p.chromium.launch(executable_path=str(dashboard_load.CHROMIUM), headless=True, args=flags)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(60_000)
        page.goto(f"{server}/call?call=8")
        page.get_by_role("textbox", name="User name").fill("controller")
        page.get_by_role("textbox", name="Password").fill(dashboard_load.PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Call 7.1")).to_be_visible(
            timeout=60_000
        )  # call 8 is uniqueid 7.1
        assert "/call" in page.url and "call=8" in page.url
        expect(page.get_by_role("heading", name="Calls", exact=True)).to_have_count(0)
        browser.close()


def test_concurrent_sessions_browse_and_search_without_errors(server):
    result = asyncio.run(dashboard_load.run_load(server, sessions=3, seconds=15))
    assert result.errors == []
    assert len(result.all_times()) > 3  # signed in, then browsed
    assert len(result.times["Sign in"]) == 3
