"""Dashboard at scale: transcript search latency and page data times on generated data.

1. Search: 100k and 1M utterances (10 per call) made of the demo transcripts' words, indexed as the
   pipeline indexes them (Snowball stems); 12 queries of every kind (words, phrases, OR, NOT, NEAR, role
   and score filters), 5 rounds; p50 and p95 per backend: SQLite FTS5 and PostgreSQL 15 (GIN index).
2. Pages: with 100k analysed calls on SQLite, the time to build the Calls page table (the store query,
   masking, the frame) and the operators' scorecard (KPIs by operator with the composite).

Run: .venv/bin/python bench/dashboard_scale.py [--sizes 100000 1000000] [--no-postgres]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import write_section  # noqa: E402
from contracts.text import stems  # noqa: E402
from store import open_store  # noqa: E402
from store.api import Viewer  # noqa: E402
from store.search import SearchFilter, search_utterances  # noqa: E402
from store.search_query import parse  # noqa: E402

QUERIES = [
    ("обращение", None),
    ("пароль", None),
    ('"номер обращения"', None),
    ('"электронная подпись"', None),
    ("отчет OR декларация", None),
    ("счет NOT оплата", None),
    ("подпись NEAR/5 сертификат", None),
    ("кабинет войти", "customer"),
    ("здравствуйте компания", "operator"),
    ("смс", "operator"),
    ("ошибка программа", None),
    ("перевожу OR соединяю", "operator"),
]


def _sentences() -> list[tuple[str, str]]:
    truth = json.loads((REPO / "demo" / "ground_truth.json").read_text(encoding="utf-8"))
    return [(t["role"], t["text"]) for c in truth["calls"] for t in c["turns"]]


def _call(i: int, start: datetime) -> dict:
    return {
        "id": i + 1,
        "uniqueid": f"{i}.1",
        "operator_id": i % 40 + 1,
        "caller_number": f"7900{i:07d}",
        "billsec": 30 + i % 400,
        "start_at": start + timedelta(minutes=3 * i),
    }


def _outcome(i: int, rng: random.Random) -> dict:
    return {
        "call_id": i + 1,
        "counted": i % 7 != 0,
        "exclusion_reasons": [] if i % 7 else ["short_call"],
        "purpose": rng.choice(("login", "billing", "signature")),
        "compliance_score": float(rng.randint(0, 100)),
        "linked": i % 3 != 0,
        "handle_seconds": 30.0 + i % 400,
        "versions": {},
        "repeat_of_call_id": None,
        "followed_by_repeat": i % 11 == 0,
        "asr_confidence": 0.8,
    }


def _utterance(i: int, k: int, rng: random.Random, sentences: list[tuple[str, str, str]]) -> dict:
    role, text, stemmed = sentences[rng.randrange(len(sentences))]
    return {
        "recording_id": 1,
        "call_id": i + 1,
        "version": "bench",
        "idx": k,
        "role": role,
        "start": 5.0 * k,
        "end": 5.0 * k + 4,
        "text": text,
        "normalized_text": text,
        "search_text": stemmed,
        "confidence": 0.9,
        "overlap": False,
    }


def populate(url: str, utterances: int, per_call: int = 10, seed: int = 0) -> None:
    """Operators, analysed calls and indexed utterances, written in large batches."""
    from sqlalchemy import insert

    from store.schema import Call, CallOutcome, Operator, Recording, Utterance

    rng = random.Random(seed)
    sentences = [(role, text, " ".join(stems(text))) for role, text in _sentences()]
    engine = open_store(url)
    calls = utterances // per_call
    start = datetime(2026, 1, 1, 8)
    with engine.begin() as conn:
        conn.execute(insert(Operator), [{"code": str(100 + i), "team": f"team-{i % 4}"} for i in range(40)])
        # One stand-in recording row: utterances must name one; search never reads it.
        conn.execute(
            insert(Recording).values(id=1, path="-", sha256="0" * 64, size_bytes=0, status="rejected")
        )
    for first in range(0, calls, 20_000):
        batch = range(first, min(calls, first + 20_000))
        with engine.begin() as conn:
            conn.execute(insert(Call), [_call(i, start) for i in batch])
            conn.execute(insert(CallOutcome), [_outcome(i, rng) for i in batch])
            conn.execute(
                insert(Utterance), [_utterance(i, k, rng, sentences) for i in batch for k in range(per_call)]
            )
    engine.dispose()


def search_latency(url: str, rounds: int = 5) -> tuple[float, float]:
    engine = open_store(url, migrate=False)
    timings = []
    with engine.connect() as conn:
        for _ in range(rounds):
            for query, role in QUERIES:
                started = time.perf_counter()
                search_utterances(conn, parse(query), SearchFilter(role=role), limit=200)
                timings.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    timings.sort()
    return statistics.median(timings), timings[int(0.95 * (len(timings) - 1))]


def page_times(url: str) -> tuple[float, float, int]:
    """Seconds to build the Calls table and the operators' scorecard for an admin."""
    from qa_dashboard.pages_calls import PAGE_SIZE, table_rows
    from store.api import count_visible_calls, kpi_table, list_calls

    engine = open_store(url, migrate=False)
    admin = Viewer("admin", "admin")
    started = time.perf_counter()
    with engine.connect() as conn:
        total = count_visible_calls(conn, admin)
        rows = list_calls(conn, admin, None, PAGE_SIZE, 0)
    table_rows(rows)
    calls_page = time.perf_counter() - started
    started = time.perf_counter()
    with engine.connect() as conn:
        kpi_table(conn, admin, "operator")
    scorecard = time.perf_counter() - started
    engine.dispose()
    return calls_page, scorecard, total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    rows = ["| Backend | Utterances | Search p50 | Search p95 | Indexing |", "|---|---|---|---|---|"]
    server = None
    if not args.no_postgres:
        from tests.conftest import PostgresServer

        server = PostgresServer()
        server.start()
    page_line = ""
    try:
        with tempfile.TemporaryDirectory() as folder:
            for size in args.sizes:
                backends = [("SQLite FTS5", f"sqlite:///{folder}/search-{size}.db")]
                if server:
                    backends.append(("PostgreSQL 15 GIN", server.create_database()))
                for name, url in backends:
                    started = time.perf_counter()
                    populate(url, size)
                    loading = time.perf_counter() - started
                    p50, p95 = search_latency(url)
                    rate = f"{size / loading:,.0f} utterances/s"
                    row = f"| {name} | {size:,} | {p50:.1f} ms | {p95:.1f} ms | {rate} |"
                    print(row, flush=True)
                    rows.append(row)
                    if size == max(args.sizes) and name.startswith("SQLite"):
                        calls_page, scorecard, count = page_times(url)
                        page_line = (
                            f"With {count:,} analysed calls (SQLite): the Calls page's data (count, first "
                            f"page of 500 newest calls, masking, table) {calls_page:.2f} s, the operators' "
                            f"scorecard over all of them {scorecard:.2f} s "
                            "(target ≤ 1 s each)."
                        )
                        print(page_line)
    finally:
        if server:
            server.stop()
    body = "\n".join(rows) + "\n\n" + page_line + "\n\nQueries: " + "; ".join(q for q, _ in QUERIES) + "."
    write_section("Dashboard at scale: search and pages", "python bench/dashboard_scale.py", body)


if __name__ == "__main__":
    main()
