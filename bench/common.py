"""Shared helpers for benchmarks: machine description, medians, and writing BENCHMARKS.md sections."""

from __future__ import annotations

import os
import platform
import re
import statistics
from datetime import date
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def machine() -> str:
    """CPU model, cores and memory of this machine, for the record."""
    model = "unknown CPU"
    try:
        text = Path("/proc/cpuinfo").read_text()
        found = re.search(r"model name\s*:\s*(.+)", text)
        model = found.group(1).strip() if found else model
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB RAM, Python {platform.python_version()}"


def median(values: list[float]) -> float:
    return statistics.median(values)


def write_section(name: str, command: str, body: str) -> None:
    """Replace (or append) the section `## name` of BENCHMARKS.md."""
    header = f"## {name}"
    section = (
        f"{header}\n\nReproduce: `{command}`  \nMachine: {machine()}  \nDate: {date.today()}\n\n"
        f"{body.strip()}\n"
    )
    text = (
        BENCHMARKS.read_text()
        if BENCHMARKS.exists()
        else "# Benchmarks\n\nFigures are medians of repeated runs.\n"
    )
    pattern = re.compile(rf"^{re.escape(header)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    BENCHMARKS.write_text(text)
