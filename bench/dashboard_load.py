"""Dashboard under load: N signed-in sessions browsing and searching at once, on loopback.

A real `streamlit run` server on a generated call centre (analysed calls with indexed transcripts, SQLite);
N headless Chromium sessions (one browser, a context each) sign in as different roles and, for a bounded
time, go from page to page (Calls, Search with a query, Operators, KPIs) as fast as the pages answer. A page
time is the click to the page's content being shown. Any exception shown, or a page that does not come, is an
error; p50 and p95 page times are printed (and written to BENCHMARKS.md with --write).

Run: .venv/bin/python bench/dashboard_load.py [--sessions 8] [--seconds 60] [--calls 5000] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import write_section  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "load-test-pass-1"
# Who signs in: session i is USERS[i % len(USERS)].
USERS = {
    "admin": ("admin", {}),
    "controller": ("quality_controller", {}),
    "lead": ("team_lead", {"team": "team-1"}),
    "analyst": ("analyst", {}),
}
QUERIES = ("обращение", "пароль", '"электронная подпись"', "отчет OR декларация", "подпись NEAR/5 сертификат")
# A page: its menu link, and the text that says it has come.
PAGES = {"Calls": "Calls", "Operators": "Operators and teams", "KPIs": "KPIs and volumes"}


def prepare(folder: Path, calls: int) -> tuple[str, Path]:
    """A database of `calls` analysed calls (10 indexed turns each) and a users file; (url, users file)."""
    from bench.dashboard_scale import populate
    from qa_dashboard.users import add_user

    url = f"sqlite:///{folder / 'callqa.db'}"
    populate(url, calls * 10)
    users = folder / "users.yaml"
    for username, (role, extra) in USERS.items():
        add_user(username, role, PASSWORD, users, **extra)
    return url, users


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(url: str, users: Path, timeout: float = 90) -> Iterator[str]:
    """`streamlit run` the dashboard on a loopback port; yields its address."""
    port = _free_port()
    env = {**os.environ, "CALLQA_DB": url, "CALLQA_USERS": str(users),
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "PYTHONPATH": str(REPO)}  # fmt: skip
    app = str(REPO / "qa_dashboard" / "app.py")
    command = [sys.executable, "-m", "streamlit", "run", app, "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true"]  # fmt: skip
    address = f"http://127.0.0.1:{port}"
    # The server's output goes to a file, not a pipe: a full pipe would stall it.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_up(address, process, log, time.monotonic() + timeout)
            yield address
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_up(address: str, process: subprocess.Popen, log, deadline: float) -> None:
    while True:
        try:
            with urllib.request.urlopen(f"{address}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                log.seek(0)
                output = log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"streamlit did not start: {output}") from None
            time.sleep(0.5)


@dataclass
class LoadResult:
    """Page times (seconds) by page, and what went wrong."""

    times: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def all_times(self) -> list[float]:
        """Every page time after signing in (the first page a fresh server renders is not browsing)."""
        return [t for name, ts in self.times.items() if name != "Sign in" for t in ts]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of values, interpolated."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[min(max(int(q) - 1, 0), 98)]


async def _session(
    browser, address: str, username: str, seconds: float, result: LoadResult, seed: int
) -> None:
    from playwright.async_api import expect

    rng = random.Random(seed)
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(60_000)

    async def timed(name: str, action, done) -> None:
        started = time.perf_counter()
        try:
            await action()
            await expect(done).to_be_visible(timeout=60_000)
            # Shown while the script still runs: the page has come when it is gone.
            await expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=60_000)
        except Exception as e:  # a page that does not come is an error, whatever the cause
            result.errors.append(f"{username} {name}: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
            return
        result.times.setdefault(name, []).append(time.perf_counter() - started)
        if os.environ.get("CALLQA_BENCH_VERBOSE"):
            print(f"{username} {name} {time.perf_counter() - started:.2f} s", flush=True)
        shown = await page.locator('[data-testid="stException"]').count()
        if shown:
            text = await page.locator('[data-testid="stException"]').first.inner_text()
            result.errors.append(f"{username} {name}: exception shown: {text[:200]}")

    try:
        await page.goto(address)

        async def sign_in() -> None:
            await page.get_by_role("textbox", name="User name").fill(username)
            await page.get_by_role("textbox", name="Password").fill(PASSWORD)
            await page.get_by_role("button", name="Sign in").click()

        await timed("Sign in", sign_in, page.get_by_role("heading", name="Calls"))
        until = time.monotonic() + seconds  # browsing time, counted from the session's sign-in
        here = "Calls"
        while time.monotonic() < until and not result.errors:
            choice = here = rng.choice([p for p in (*PAGES, "Search") if p != here])
            if choice == "Search":
                await timed("Search page", page.get_by_role("link", name="Search").click,
                            page.get_by_role("heading", name="Search transcripts"))  # fmt: skip
                box = page.get_by_label("Search (words", exact=False)

                async def query(box=box) -> None:
                    await box.fill(rng.choice(QUERIES))
                    await box.press("Enter")

                await timed("Search query", query, page.get_by_text("hit(s)", exact=False).first)
            else:
                await timed(choice, page.get_by_role("link", name=choice, exact=True).click,
                            page.get_by_role("heading", name=PAGES[choice]))  # fmt: skip
    finally:
        await context.close()


async def run_load(address: str, sessions: int, seconds: float) -> LoadResult:
    """`sessions` signed-in sessions browsing and searching `address` for `seconds`."""
    from playwright.async_api import async_playwright

    result = LoadResult()
    names = list(USERS)
    async with async_playwright() as p:
        flags = [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
        ]
        executable = str(CHROMIUM) if CHROMIUM.exists() else None
        browser = await p.chromium.launch(executable_path=executable, headless=True, args=flags)
        try:
            await asyncio.gather(
                *(
                    _session(browser, address, names[i % len(names)], seconds, result, i)
                    for i in range(sessions)
                )
            )
        finally:
            await browser.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--write", action="store_true", help="write the figures to BENCHMARKS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url, users = prepare(Path(folder), args.calls)
        with serve(url, users) as address:
            result = asyncio.run(run_load(address, args.sessions, args.seconds))
    everything = result.all_times()
    rows = ["| Page | Loads | p50 | p95 |", "|---|---|---|---|"]
    for name, times in sorted(result.times.items()):
        rows.append(
            f"| {name} | {len(times)} | {statistics.median(times):.2f} s | {percentile(times, 95):.2f} s |"
        )
    if everything:
        rows.append(
            f"| **all pages after sign-in** | {len(everything)} | {statistics.median(everything):.2f} s "
            f"| {percentile(everything, 95):.2f} s |"
        )
    print("\n".join(rows))
    print(f"errors: {len(result.errors)}")
    for error in result.errors[:20]:
        print("  " + error)
    if args.write:
        body = (
            f"{args.sessions} concurrent signed-in sessions (admin, quality controller, team lead, "
            f"analyst in turn) for {args.seconds:.0f} s on {args.calls:,} analysed calls "
            f"({args.calls * 10:,} indexed turns, SQLite), one `streamlit run` server on loopback, "
            "headless Chromium; a page time is a click to the page's content shown (sign-in: the scrypt "
            "check, N=2^17, and the first Calls page of a freshly started server, all sessions at once). "
            f"Errors: {len(result.errors)}. The server, the browsers and the benchmark share the machine "
            f"(1-minute load average at the end: {os.getloadavg()[0]:.1f}).\n\n" + "\n".join(rows)
        )
        command = (
            f"python bench/dashboard_load.py --sessions {args.sessions} --seconds {args.seconds:.0f} "
            f"--calls {args.calls} --write"
        )
        write_section("Dashboard under load: concurrent sessions", command, body)
    if result.errors or not everything:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
