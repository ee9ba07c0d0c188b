"""The Calls page's exports in a real headless Chromium against a real server: what the page sends holds no
media URL of an export before Export is pressed, and the file a press downloads is on the audit log."""

from __future__ import annotations

import csv
import io
import os
import re
import urllib.request

import pytest
from sqlalchemy import select

from bench.dashboard_load import serve
from qa_dashboard.users import add_user
from store import open_store
from store.schema import AuditEntry
from tests.test_dashboard_browser import CHROMIUM
from tests.test_side_doors import FORMULAS, add_formula_calls

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"), reason="needs Debian's chromium"
)
PASSWORD = "s3cret-pass"
MEDIA = re.compile(rb"/media/[0-9a-f]+\.(?:csv|xlsx)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("side-doors")
    url = f"sqlite:///{folder / 'callqa.db'}"
    engine = open_store(url)
    add_formula_calls(engine)
    engine.dispose()
    users = folder / "users.yaml"
    add_user("analyst", "analyst", PASSWORD, users)
    with serve(url, users) as base:
        yield {"base": base, "url": url}


def _exports(url: str) -> list[dict]:
    engine = open_store(url, migrate=False)
    with engine.connect() as conn:
        rows = conn.execute(select(AuditEntry.details).where(AuditEntry.action == "export")).scalars().all()
    engine.dispose()
    return list(rows)


def _fetch(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def test_an_export_is_neither_reachable_nor_unaudited_before_and_after_it_is_pressed(server):
    from playwright.sync_api import expect, sync_playwright

    frames: list[bytes] = []
    with sync_playwright() as p:
        flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=flags)
        page = browser.new_page(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(30_000)
        page.on("websocket", lambda ws: ws.on("framereceived", lambda data: frames.append(
            data if isinstance(data, bytes) else data.encode())))  # fmt: skip
        page.goto(server["base"])
        page.get_by_role("textbox", name="User name").fill("analyst")
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Calls")).to_be_visible()
        expect(page.get_by_role("button", name="Export CSV")).to_be_visible()
        page.wait_for_timeout(1500)
        offered = {m.decode() for m in MEDIA.findall(b"".join(frames))}
        reachable = [u for u in offered if _fetch(server["base"] + u) == 200]
        assert reachable == [], "an export fetched by its media URL, without pressing Export"
        assert _exports(server["url"]) == []

        with page.expect_download() as download:
            page.get_by_role("button", name="Export CSV").click()
        written = download.value.path().read_text(encoding="utf-8")
        browser.close()
    cells = [c for row in csv.reader(io.StringIO(written)) for c in row]
    assert "'" + FORMULAS[0] in cells and not [c for c in cells if c and c[0] in "=+-@\t\r"]
    assert [(e["format"], e["rows"]) for e in _exports(server["url"])] == [("csv", len(FORMULAS))]
