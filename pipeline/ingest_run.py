"""`callqa ingest`: register a folder of recordings and the call records that describe them.

Files are hashed and examined on a process pool; the driver writes to the store in small
transactions, so an interrupted ingest keeps what it registered and a rerun adds only the rest.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta, tzinfo
from functools import partial
from pathlib import Path

from sqlalchemy import Connection, Engine

from contracts import CallRules
from ingest import (
    CallRecord,
    ColumnMapping,
    FileIdentity,
    ImportResult,
    InputFileError,
    QueueLogEvent,
    RecordingCopy,
    RecordingFacts,
    RowProblem,
    ValidationOptions,
    assemble_call,
    content_envelope,
    examine_recording,
    judge_match,
    read_incidents,
    read_mapped_csv,
    read_master_csv,
    read_queue_events,
    read_queue_log,
    recording_call,
    same_call,
    scan_recordings,
    try_identify,
)
from ingest.assembly import call_keys, whole_call_seconds
from ingest.cdr import pbx_zone
from pipeline.config import call_rules
from pipeline.process import worker_pool
from pipeline.stages import StageOptions, registered_stages
from store import call_records
from store.audit import audit, current_actor
from store.queue import JobQueue

logger = logging.getLogger("callqa.pipeline")

ProgressCallback = Callable[[str, int, int], None]
_COMMIT_EVERY = 50
_ASSEMBLE_EVERY = 500


@dataclass
class IngestSummary:
    """What one ingest did, for the command's report."""

    files_seen: int = 0
    accepted: int = 0
    rejected: int = 0
    conflicts: int = 0
    # Copies of a call's recording kept beside the better one (or set aside when a better one came).
    alternatives: int = 0
    rejected_after_matching: int = 0
    # Calls known only from their recording (no call record names them), and those a record now describes.
    calls_from_recordings: int = 0
    recording_calls_matched: int = 0
    recordings_unchanged: int = 0
    records_unchanged: int = 0  # call record rows (legs) already stored
    queue_events_unchanged: int = 0
    same_content_other_name: int = 0
    call_legs_added: int = 0
    queue_events_added: int = 0
    incidents_added: int = 0
    incidents_updated: int = 0
    jobs_enqueued: int = 0
    inputs_failed: int = 0
    unreadable: int = 0  # recordings found but not readable (also listed in `problems`)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def nothing_ran(self) -> bool:
        """True when no input at all could be read (the command then exits non-zero)."""
        read_something = (
            self.files_seen or self.call_legs_added or self.queue_events_added or self.incidents_added
        )
        known = self.recordings_unchanged or self.records_unchanged or self.queue_events_unchanged
        return self.inputs_failed > 0 and not read_something and not known


@dataclass
class IngestRequest:
    """The inputs of one ingest run."""

    recordings_dir: Path | None = None
    cdr: Path | None = None
    cdr_mapping: ColumnMapping | None = None
    queue_log: Path | None = None
    incidents: Path | None = None
    incidents_mapping: ColumnMapping | None = None
    pbx_timezone: str | None = None  # default: the settings' `pbx_timezone`
    # Text encodings of the inputs; None detects each (UTF-8 with or without BOM, UTF-16, cp1251).
    cdr_encoding: str | None = None
    queue_log_encoding: str | None = None
    incidents_encoding: str | None = None
    # How text dates are written when no mapping says (e.g. "%d/%m/%Y %H:%M:%S" for day-first slashes).
    datetime_format: str | None = None


def _import(
    engine: Engine,
    kind: str,
    path: Path,
    reader: Callable[[], ImportResult],
    register: Callable[[Connection, list], call_records.RegisterCounts],
    summary: IngestSummary,
) -> call_records.RegisterCounts | None:
    """Read one input file and register its rows and problems in one transaction.

    A file that cannot be read at all is reported and the rest of the ingest goes on. A file read again
    replaces its problems: what was fixed in it (a mapping given, a row corrected) is no longer listed.
    """
    try:
        result = reader()
    except Exception as e:  # no input may abort the run: the file is reported instead
        if isinstance(e, InputFileError):
            code, message = e.code, e.message
        else:
            logger.warning("%s: reading failed", kind, exc_info=True)
            code, message = "unreadable_file", f"cannot read this file ({type(e).__name__}: {e})"
        summary.inputs_failed += 1
        # A whole-file problem (no line), so that reading the file fixed drops it.
        problem = RowProblem(str(path), None, code, _without_path(message, str(path)))
        summary.problems.append(problem)
        with engine.begin() as conn:
            call_records.replace_problems(conn, kind, str(path), [problem])
        return None
    with engine.begin() as conn:
        counts = register(conn, result.rows)
        problems = result.problems + unknown_operator_problems(counts.unknown_operators, kind)
        call_records.replace_problems(conn, kind, str(path), problems)
    summary.problems.extend(problems)
    return counts


def _without_path(message: str, source: str) -> str:
    """A reader's message about `source` without its leading file name ("data.csv:12: not valid JSON" ->
    "line 12: not valid JSON"), so that a problem shown with its file does not name the file twice."""
    if match := re.match(rf"{re.escape(source)}(?::(\d+))?:\s*", message):
        return (f"line {match.group(1)}: " if match.group(1) else "") + message[match.end() :]
    return message


def unknown_operator_problems(
    unknown: Iterable[tuple[str, str | None, int | None]], kind: str
) -> list[RowProblem]:
    """One problem per operator name that no roster identity matches, at its first row in each file."""
    rows: dict[tuple[str, str], list[int | None]] = {}
    for name, source, line in unknown:
        rows.setdefault((name, source or kind), []).append(line)
    problems = []
    for (name, source), lines in rows.items():
        more = f" (and {len(lines) - 1} more row(s))" if len(lines) > 1 else ""
        problems.append(
            RowProblem(source, lines[0], "unknown_operator", f"unknown operator identity '{name}'{more}")
        )
    return problems


def _parallel_map(func, items: list, pool: ProcessPoolExecutor | None, workers: int) -> Iterator:
    """map() on the pool when there is one, in order; small chunks keep the progress bar moving."""
    if pool is None or len(items) < 4:
        yield from map(func, items)
        return
    yield from pool.map(func, items, chunksize=max(1, min(16, len(items) // (workers * 4))))


def register_call_records(
    conn: Connection, records: list[CallRecord], rules: CallRules | None = None
) -> call_records.RegisterCounts:
    """Store call-record legs and assemble again every call that got a new leg (from all its legs: a
    transfer can add a leg to a known call). Legs chained by linkedid or a shared channel are one call."""
    keys = {id(record): key for record, key in zip(records, call_keys(records), strict=True)}
    counts, changed = call_records.register_call_legs(conn, records, lambda record: keys[id(record)])
    call_ids = list(changed)
    for start in range(0, len(call_ids), _ASSEMBLE_EVERY):
        legs = call_records.call_legs(conn, call_ids[start : start + _ASSEMBLE_EVERY])
        assembled = {
            call_id: assemble_call([CallRecord(**leg) for leg in call_legs], changed[call_id], rules)
            for call_id, call_legs in legs.items()
        }
        counts.unknown_operators.extend(call_records.save_calls(conn, assembled))
    return counts


def apply_queue_events(conn: Connection) -> list[RowProblem]:
    """Read every call's queue events again and keep what they say (queue, operator, wait, transfers);
    returns the agents no roster identity matches."""
    by_call = call_records.queue_events_by_call(conn)
    legs = {}
    call_ids = list(by_call)
    for start in range(0, len(call_ids), _ASSEMBLE_EVERY):
        legs.update(call_records.call_legs(conn, call_ids[start : start + _ASSEMBLE_EVERY]))
    findings = {
        call_id: read_queue_events(
            [QueueLogEvent(**event) for event in events],
            [CallRecord(**leg) for leg in legs.get(call_id, [])],
        )
        for call_id, events in by_call.items()
    }
    unknown = call_records.save_queue_findings(conn, findings)
    return unknown_operator_problems(unknown, "queue_log")


def attach_recordings(
    conn: Connection,
    options: ValidationOptions | None = None,
    claimed: list[call_records.RecordingMatch] | None = None,
) -> list[RowProblem]:
    """Link recordings that have no call yet to their call, judging each against its call record.

    A recording whose length disagrees with the call's talk time (its first leg's, or after a transfer
    all its legs') is rejected (`duration_mismatch`);
    a copy of the call's recording (same length and parties) is an `alternative`, and when it is the
    better copy it takes over as the call's recording (the other becomes the alternative and its work
    is retired); a different second file becomes a `conflict`; a new file for a call whose only
    recording was rejected takes its place. Alternatives are returned with code `alternative`.
    `claimed` are matches made elsewhere (a recording's call merged into its call record), judged first.
    """
    problems: list[RowProblem] = []
    claimed = claimed or []
    done = {m.recording_id for m in claimed}
    found = [m for m in call_records.unattached_recordings(conn) if m.recording_id not in done]
    legs = call_records.call_legs(conn, [m.call_id for m in claimed + found])
    whole_calls = {
        call_id: whole_call_seconds([CallRecord(**leg) for leg in rows]) for call_id, rows in legs.items()
    }
    for match in claimed + found:
        holder = call_records.accepted_recording(conn, match.call_id) if match.status == "accepted" else None
        # The call's file rewritten in place (re-encoded, copied again): its old content is gone, so the new
        # content is judged as a first recording and, if accepted, replaces the old one.
        rewritten = holder if holder and holder["path"] == match.path else None
        if rewritten:
            holder = None
        copy = holder_copy = None
        if holder:
            # Two files for one call: what they say decides between copy and conflict.
            copy = RecordingCopy(
                match.path,
                match.channels,
                match.sample_rate,
                match.codec,
                match.decoded_duration,
                content_envelope(match.path),
            )
            holder_copy = RecordingCopy(
                holder["path"],
                holder["channels"],
                holder["sample_rate"],
                holder["codec"],
                holder["decoded_duration"],
                content_envelope(holder["path"]),
            )
        verdict = judge_match(
            match.status,
            match.decoded_duration,
            match.billsec,
            match.uniqueid,
            holder["path"] if holder else None,
            options,
            copy=copy,
            holder=holder_copy,
            whole_call=whole_calls.get(match.call_id),
        )
        if verdict is None:
            if rewritten:
                reason = f"{match.path} was rewritten with other content, which is transcribed instead"
                call_records.replace_recording(conn, rewritten["id"], reason)
                logger.info("%s", reason)
            call_records.attach_recording(conn, match.recording_id, match.call_id)
            continue
        if verdict.replaces:
            # The worse copy steps aside first: a call has one accepted recording at a time.
            reason = f"a copy of call {match.uniqueid}; {match.path} is the better copy and is transcribed"
            call_records.make_alternative(conn, holder["id"], reason)
            call_records.attach_recording(conn, match.recording_id, match.call_id)
            logger.info("%s replaces %s as call %s's recording", match.path, holder["path"], match.uniqueid)
            problems.append(RowProblem(holder["path"], None, "alternative", reason))
            continue
        call_records.attach_recording(
            conn, match.recording_id, match.call_id, verdict.status, verdict.code, verdict.message
        )
        problems.append(RowProblem(match.path, None, verdict.code, verdict.message))
    return problems


_SAME_CALL_SECONDS = 5.0
# A recording starts at the answer, which may follow the call record's start by the queue wait.
_LONGEST_WAIT = timedelta(hours=1)


def merge_recording_calls(conn: Connection) -> list[call_records.RecordingMatch]:
    """Calls known only from their recording whose call record has arrived become that record's call.

    The record is the same call when it has the recording's uniqueid, names the recording's file (any
    extension), or has the same caller and started (or was answered) when the recording began. The
    recordings are returned, unlinked, as matches to judge against the record like any recording; the
    transcript and results stay with them, and the recording-only call is folded into the record's.
    """
    orphans = call_records.recording_only_calls(conn)
    targets = _record_calls(conn, [o for o in orphans if not o.has_legs])
    claimed: list[call_records.RecordingMatch] = []
    for orphan in orphans:
        target = orphan.call_id if orphan.has_legs else targets.get(orphan.call_id)
        if target is None:
            continue
        released = call_records.release_recordings(conn, orphan.call_id)
        if target == orphan.call_id:
            call_records.mark_call_record_arrived(conn, target)
        else:
            call_records.merge_recording_call(conn, orphan.call_id, target)
        logger.info("the recording-only call %s now has its call record", orphan.uniqueid)
        claimed += call_records.recording_matches(conn, [(rid, target) for rid in released])
    return claimed


def _record_calls(conn: Connection, orphans: list[call_records.RecordingOnlyCall]) -> dict[int, int]:
    """For recording-only calls, the call from call records each one is (by call id), where one is."""
    named = call_records.calls_naming(conn, [o.recording_file for o in orphans if o.recording_file], "cdr")
    found = {
        o.call_id: named[stem][0]
        for o in orphans
        if o.recording_file and (stem := Path(o.recording_file).stem) in named
    }
    timed = [o for o in orphans if o.call_id not in found and o.start_at is not None and o.caller_number]
    if not timed:
        return found
    window = timedelta(seconds=_SAME_CALL_SECONDS)
    by_caller = call_records.record_calls_of_callers(
        conn,
        [o.caller_number for o in timed],
        min(o.start_at for o in timed) - _LONGEST_WAIT,
        max(o.start_at for o in timed) + window,
    )
    taken = set(found.values())
    for orphan in timed:
        for call in by_caller.get(orphan.caller_number, []):
            if call["id"] not in taken and same_call(
                orphan.start_at,
                (orphan.caller_number, orphan.callee_number),
                call["start_at"],
                call["answer_at"],
                (call["caller_number"], call["callee_number"]),
                _SAME_CALL_SECONDS,
            ):
                found[orphan.call_id] = call["id"]
                taken.add(call["id"])
                break
    return found


def make_recording_calls(conn: Connection, rules: CallRules | None = None, zone: tzinfo | None = None) -> int:
    """Make a call of every accepted recording no call record claims (time, parties and direction from
    its file name where the pattern says so), marked as having no call record; copies of one recording
    (same uniqueid, or the same name with another extension) make one call. Returns the calls created.

    The recordings are linked to their calls by `attach_recordings`, which judges copies. `zone` is the
    PBX's time zone, for a file's modification time (names already hold the PBX's wall clock).
    """
    calls = {}
    stems: set[str] = set()
    for row in call_records.unclaimed_recordings(conn):
        stem = Path(row["file_name"]).stem
        try:
            call = recording_call(row["path"], row["sha256"], row["decoded_duration"], rules, zone=zone)
        except OSError:
            continue  # the file went away since it was examined; the next ingest will see
        if call.uniqueid in calls or stem in stems:
            continue
        calls[call.uniqueid] = call
        stems.add(stem)
    return call_records.add_recording_calls(conn, list(calls.values()))


def _register_records(
    engine: Engine,
    request: IngestRequest,
    summary: IngestSummary,
    rules: CallRules | None,
    zone: tzinfo | None = None,
) -> None:
    if request.cdr:
        mapping = request.cdr_mapping
        if mapping is not None and request.datetime_format and not mapping.datetime_format:
            mapping = replace(mapping, datetime_format=request.datetime_format)
        reader = (
            partial(read_mapped_csv, request.cdr, mapping, zone, request.cdr_encoding)
            if mapping is not None
            else partial(read_master_csv, request.cdr, zone, request.cdr_encoding, request.datetime_format)
        )
        register = partial(register_call_records, rules=rules)
        if counts := _import(engine, "cdr", request.cdr, reader, register, summary):
            summary.call_legs_added += counts.added
            summary.records_unchanged += counts.unchanged
    if request.incidents:
        reader = partial(
            read_incidents,
            request.incidents,
            request.incidents_mapping,
            request.incidents_encoding,
            request.datetime_format,
            rules,
        )
        registered = _import(
            engine, "incidents", request.incidents, reader, call_records.register_incidents, summary
        )
        if counts := registered:
            summary.incidents_added += counts.added
            summary.incidents_updated += counts.details.get("updated", 0)
    if request.queue_log:
        reader = partial(read_queue_log, request.queue_log, zone, request.queue_log_encoding)
        registered = _import(
            engine, "queue_log", request.queue_log, reader, call_records.register_queue_events, summary
        )
        if counts := registered:
            summary.queue_events_added += counts.added
            summary.queue_events_unchanged += counts.unchanged


def _register_recordings(
    engine: Engine,
    directory: Path,
    summary: IngestSummary,
    options: ValidationOptions,
    raw_sample_rate: int | None,
    workers: int,
    progress: ProgressCallback | None,
) -> None:
    # Stored by absolute path (not resolving links), so `callqa run` finds them from any directory.
    directory = Path(os.path.abspath(directory))
    scan = scan_recordings(directory)
    paths = scan.paths
    summary.files_seen = len(paths)
    if any(p.source == str(directory) for p in scan.problems):
        summary.inputs_failed += 1  # the folder itself cannot be listed
    if scan.problems:
        summary.problems.extend(scan.problems)
        with engine.begin() as conn:
            call_records.record_problems(conn, "folder", scan.problems)
    pool = worker_pool(workers) if workers > 1 and len(paths) >= 4 else None
    try:
        _fingerprint_and_examine(engine, paths, summary, options, raw_sample_rate, pool, workers, progress)
    finally:
        if pool is not None:
            pool.shutdown()


def _fingerprint_and_examine(
    engine: Engine,
    paths: list[Path],
    summary: IngestSummary,
    options: ValidationOptions,
    raw_sample_rate: int | None,
    pool: ProcessPoolExecutor | None,
    workers: int,
    progress: ProgressCallback | None,
) -> None:
    identities: list[FileIdentity] = []
    unreadable: list[RowProblem] = []
    for number, identity in enumerate(_parallel_map(try_identify, paths, pool, workers), start=1):
        if isinstance(identity, RowProblem):
            unreadable.append(identity)
        else:
            identities.append(identity)
        if progress:
            progress("fingerprint", number, len(paths))
    if unreadable:
        summary.unreadable += len(unreadable)
        summary.problems.extend(unreadable)
        with engine.begin() as conn:
            call_records.record_problems(conn, "folder", unreadable)
    with engine.connect() as conn:
        known = call_records.known_recordings(conn, [i.sha256 for i in identities])
    fresh: dict[str, FileIdentity] = {}
    copies_in_batch: list[FileIdentity] = []
    with engine.begin() as conn:
        for identity in identities:
            if identity.sha256 in known:
                if call_records.remember_path(conn, known[identity.sha256][0], identity.path):
                    summary.same_content_other_name += 1
                else:
                    summary.recordings_unchanged += 1
            elif identity.sha256 in fresh:
                copies_in_batch.append(identity)
            else:
                fresh[identity.sha256] = identity
    todo = list(fresh.values())
    examine = partial(examine_recording, options=options, raw_sample_rate=raw_sample_rate)
    pending: list[RecordingFacts] = []
    for number, facts in enumerate(_parallel_map(examine, todo, pool, workers), start=1):
        pending.append(facts)
        if len(pending) >= _COMMIT_EVERY or number == len(todo):
            _store_facts(engine, pending, summary)
            pending = []
        if progress:
            progress("decode and validate", number, len(todo))
    if copies_in_batch:
        with engine.begin() as conn:
            ids = call_records.known_recordings(conn, [i.sha256 for i in copies_in_batch])
            for copy in copies_in_batch:
                call_records.remember_path(conn, ids[copy.sha256][0], copy.path)
        summary.same_content_other_name += len(copies_in_batch)


def _store_facts(engine: Engine, batch: Iterable[RecordingFacts], summary: IngestSummary) -> None:
    with engine.begin() as conn:
        for facts in batch:
            outcome = call_records.add_recording(conn, facts)
            if outcome.status == "accepted":
                summary.accepted += 1
            else:
                summary.rejected += 1
                summary.problems.append(
                    RowProblem(facts.identity.path, None, facts.rejection.code, facts.rejection.message)
                )


def ingest(
    engine: Engine,
    request: IngestRequest,
    options: ValidationOptions | None = None,
    raw_sample_rate: int | None = None,
    workers: int = 2,
    progress: ProgressCallback | None = None,
    actor: str | None = None,
    stage_options: StageOptions | None = None,
    rules: CallRules | None = None,
) -> IngestSummary:
    """Register recordings and records, match them, and queue the pipeline's work for new recordings.

    `rules` (default: those in `stage_options`, else the defaults) tell internal numbers from customers'.
    """
    options = options or ValidationOptions()
    rules = rules or call_rules(stage_options)
    zone = pbx_zone(request.pbx_timezone or (stage_options.pbx_timezone if stage_options else None))
    summary = IngestSummary()
    _register_records(engine, request, summary, rules, zone)
    if request.recordings_dir is not None:
        if not request.recordings_dir.is_dir():
            summary.inputs_failed += 1
            problem = RowProblem(
                str(request.recordings_dir), None, "missing_folder", "no such folder of recordings"
            )
            summary.problems.append(problem)
            with engine.begin() as conn:
                call_records.record_problems(conn, "input", [problem])
        else:
            _register_recordings(
                engine, request.recordings_dir, summary, options, raw_sample_rate, workers, progress
            )
    with engine.begin() as conn:
        # Queue events first: their CONNECT-to-hang-up talk time is what a recording is judged against.
        unknown_agents = apply_queue_events(conn)
        call_records.record_problems(conn, "queue_log", unknown_agents)
        summary.problems.extend(unknown_agents)
        # Matching runs over everything stored, so records and recordings may arrive in any order.
        claimed = merge_recording_calls(conn)
        summary.recording_calls_matched = len({m.call_id for m in claimed})
        matched = attach_recordings(conn, options, claimed)
        # What no call record claims is a call of its own, known from its recording.
        summary.calls_from_recordings = make_recording_calls(conn, rules, zone)
        if summary.calls_from_recordings:
            matched += attach_recordings(conn, options)
        # Copies of a call's recording are listed, not problems.
        late = [p for p in matched if p.code != "alternative"]
        summary.alternatives = len(matched) - len(late)
        summary.problems.extend(late)
        summary.conflicts = sum(p.code == "conflict" for p in late)
        summary.rejected_after_matching = len(late) - summary.conflicts
        call_records.link_helpdesk_incidents(conn)
        call_records.link_call_clients(conn)
        audit(
            conn,
            actor or current_actor(),
            "ingest",
            "folder",
            str(request.recordings_dir or ""),
            {
                "accepted": summary.accepted,
                "rejected": summary.rejected,
                "call_legs_added": summary.call_legs_added,
                "incidents_added": summary.incidents_added,
            },
        )
    stages = registered_stages(None, stage_options)
    summary.jobs_enqueued = JobQueue(engine).enqueue_missing([s.key for s in stages])
    return summary
