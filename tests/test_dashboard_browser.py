"""The dashboard in a real headless Chromium: sign in, search, open a call, play from a turn, override a
verdict, visit every page; a screenshot of each page goes to test-artifacts/ (the README shows them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.dashboard_load import serve
from tests import dashboard_data
from tests.conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"), reason="needs Debian's chromium"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = dashboard_data.build(tmp_path_factory.mktemp("browser"))
    with serve(data["url"], data["users"]) as url:
        yield url


def test_a_quality_controller_works_through_the_dashboard(server):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=flags)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.set_default_timeout(30_000)
        page.goto(server)
        page.get_by_role("textbox", name="User name").fill("controller")
        page.get_by_role("textbox", name="Password").fill(dashboard_data.PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Calls")).to_be_visible()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / "calls.png"))

        page.get_by_role("link", name="Search").click()
        page.get_by_label("Search (words", exact=False).fill("обращение")
        page.keyboard.press("Enter")
        expect(page.get_by_text("hit(s)", exact=False)).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "search.png"))
        page.get_by_role("button", name="Open at this moment").first.click()

        expect(page.get_by_role("heading", name="Call ", exact=False)).to_be_visible()
        turn = page.get_by_role("button", name="▶", exact=False).nth(2)
        wanted = turn.inner_text().split()[-1]
        turn.click()
        page.wait_for_timeout(1500)
        audio = page.locator("audio").first
        expect(audio).to_be_attached()
        minutes, seconds = (int(x) for x in wanted.split(":"))
        assert (
            f"#t={minutes * 60 + seconds}" in (audio.get_attribute("src") or "")
            or audio.evaluate("a => Math.round(a.currentTime)") >= minutes * 60 + seconds - 1
        ), "playback starts at the turn"

        page.get_by_text("fail", exact=True).first.click()
        page.get_by_label("Reason (required)").fill("checked by ear: no company name")
        page.get_by_role("button", name="Save override").click()
        expect(page.get_by_text("overridden by controller", exact=False)).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "call.png"), full_page=True)

        for name, shot in (("Operators", "operators"), ("KPIs", "kpis"), ("Review queue", "review")):
            page.get_by_role("link", name=name).click()
            expect(page.get_by_role("heading", name=name.split()[0], exact=False).first).to_be_visible()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
        browser.close()
