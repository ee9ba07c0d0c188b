"""Typed rows produced by the importers (pure data; the pipeline stores them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ingest.fingerprint import row_fingerprint


@dataclass
class RowProblem:
    """A row or file that could not be used: where it is and what was wrong."""

    source: str
    line: int | None
    code: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.message}"

    def fingerprint(self, kind: str) -> str:
        """The problem's identity among those of one kind of input: reported again, it is the same one."""
        return row_fingerprint(kind, self.source, self.line, self.code, self.message)


@dataclass
class CallRecord:
    """One call-record leg (an Asterisk CDR row or a mapped generic CSV row)."""

    uniqueid: str
    source_file: str
    source_line: int
    src: str | None = None
    dst: str | None = None
    dcontext: str | None = None
    clid: str | None = None
    channel: str | None = None
    dstchannel: str | None = None
    lastapp: str | None = None
    lastdata: str | None = None
    start: datetime | None = None
    answer: datetime | None = None
    end: datetime | None = None
    duration: float | None = None
    billsec: float | None = None
    disposition: str | None = None
    accountcode: str | None = None
    userfield: str | None = None
    linkedid: str | None = None
    sequence: int | None = None
    operator: str | None = None
    queue: str | None = None
    direction: str | None = None
    recording: str | None = None
    incident: str | None = None

    @property
    def fingerprint(self) -> str:
        """The leg's identity: the same leg read again (from any file) is the same leg."""
        return row_fingerprint(
            self.uniqueid, self.channel, self.dstchannel, self.start, self.answer, self.end, self.billsec,
            self.disposition, self.dst, self.lastapp,
        )  # fmt: skip


@dataclass
class QueueLogEvent:
    """One Asterisk queue_log line: epoch|uniqueid|queue|agent|event|data1|data2|…"""

    at: datetime
    uniqueid: str
    queue: str | None
    agent: str | None
    event: str
    data: list[str]
    source_file: str = ""
    source_line: int = 0

    @property
    def fingerprint(self) -> str:
        """The line's identity: the same event logged again is the same event."""
        return row_fingerprint(
            self.at.isoformat(), self.uniqueid, self.queue, self.agent, self.event, *self.data
        )


@dataclass
class IncidentRecord:
    """One helpdesk incident from an export."""

    external_id: str
    created_at: datetime | None
    source_file: str
    source_line: int
    inn: str | None = None
    kpp: str | None = None
    phones: list[str] = field(default_factory=list)  # canonical (contracts.phones); non-phones left out
    account: str | None = None  # the client's contract or account number with the company
    knowledge_article: str | None = None
    operator: str | None = None
    status: str | None = None
    summary: str | None = None
    client_name: str | None = None
    call_uniqueids: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    """Rows read from one file plus the problems met on the way."""

    rows: list = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
