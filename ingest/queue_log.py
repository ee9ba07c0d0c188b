"""Asterisk `queue_log` importer: epoch|uniqueid|queue|agent|event|data1|data2|…"""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path

from ingest.records import ImportResult, QueueLogEvent, RowProblem
from ingest.tabular import clean
from ingest.textfile import read_text_file

# Events that describe one call (the rest — logins, pauses, reloads — concern agents or queues).
CALL_EVENTS = frozenset(
    {
        "ENTERQUEUE",
        "CONNECT",
        "COMPLETEAGENT",
        "COMPLETECALLER",
        "ATTENDEDTRANSFER",
        "BLINDTRANSFER",
        "TRANSFER",
        "ABANDON",
        "RINGNOANSWER",
        "RINGCANCELED",
        "EXITWITHTIMEOUT",
        "EXITWITHKEY",
        "EXITEMPTY",
        "DID",
    }
)


def read_queue_log(path: Path, zone: tzinfo | None = None, encoding: str | None = None) -> ImportResult:
    """Read every line of a queue_log; lines that are not queue_log records become problems.

    `encoding` None detects it (`ingest.textfile`); bytes that do not decode are reported by line.

    Its epoch seconds are absolute: they become the PBX's wall clock in `zone` (this machine's when None),
    the clock the call records' text times are written in.
    """
    text = read_text_file(path, encoding)
    result = ImportResult(problems=list(text.problems))
    source = str(path)
    for line_no, raw in enumerate(text.text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        parts = line.split("|")
        if len(parts) < 5:
            result.problems.append(
                RowProblem(
                    source, line_no, "malformed_row", f"{len(parts)} fields, queue_log needs at least 5"
                )
            )
            continue
        try:
            at = datetime.fromtimestamp(float(parts[0]), zone).replace(tzinfo=None)
        except (ValueError, OverflowError, OSError):
            result.problems.append(
                RowProblem(source, line_no, "malformed_row", f"time {parts[0]!r} is not a Unix timestamp")
            )
            continue
        event = parts[4].strip().upper()
        if not event:
            result.problems.append(RowProblem(source, line_no, "malformed_row", "empty event name"))
            continue
        agent = clean(parts[3])
        result.rows.append(
            QueueLogEvent(
                at=at,
                uniqueid=parts[1].strip(),
                queue=None if clean(parts[2]) in (None, "NONE") else clean(parts[2]),
                agent=None if agent in (None, "NONE") else agent,
                event=event,
                data=[p.strip() for p in parts[5:]],
                source_file=source,
                source_line=line_no,
            )
        )
    return result


def agent_code(agent: str | None) -> str | None:
    """The operator's code from a member interface or channel.

    'SIP/101', 'PJSIP/101-0000000a' and 'Local/101@agents' all give '101'.
    """
    if not agent:
        return None
    code = agent.split("/", 1)[-1]
    code = code.split("@", 1)[0]
    if "-" in code and code.rsplit("-", 1)[-1].isalnum() and len(code.rsplit("-", 1)[-1]) >= 6:
        code = code.rsplit("-", 1)[0]
    return code or None
