"""Recording validation: decide whether a file is usable and, if not, say why in plain words."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.audio import AudioInfo
from ingest.copies import CopyOptions, RecordingCopy, best_copy, difference


@dataclass
class ValidationOptions:
    """Thresholds for rejecting recordings; defaults suit 8 kHz PBX recordings."""

    max_duration_seconds: float = 4 * 3600.0
    min_duration_seconds: float = 0.2
    silence_peak_dbfs: float = -50.0
    truncation_tolerance_seconds: float = 1.0
    truncation_tolerance_ratio: float = 0.02
    # A recording may start a little after answer and stop a little before hang-up.
    billsec_tolerance_seconds: float = 5.0
    billsec_tolerance_ratio: float = 0.10


@dataclass
class Rejection:
    """Why a recording cannot be used: a stable code and a message a person understands."""

    code: str
    message: str


def validate_audio(info: AudioInfo, options: ValidationOptions | None = None) -> Rejection | None:
    """Check what can be judged from the file alone (no call record needed)."""
    options = options or ValidationOptions()
    declared = info.declared_duration
    if info.damaged:
        of = f" of the {declared:.1f} s the file header says" if declared else ""
        return Rejection("corrupt", f"damaged: {info.damaged}; {info.decoded_duration:.1f} s decodable{of}")
    if declared and declared - info.decoded_duration > max(
        options.truncation_tolerance_seconds, options.truncation_tolerance_ratio * declared
    ):
        detail = f" ({info.decode_error})" if info.decode_error else ""
        return Rejection(
            "truncated",
            f"truncated: decoded {info.decoded_duration:.1f} s, "
            f"the file header says {declared:.1f} s{detail}",
        )
    if info.decoded_duration < options.min_duration_seconds:
        if info.decode_error:
            return Rejection("corrupt", f"no audio could be decoded ({info.decode_error})")
        return Rejection(
            "no_audio", f"the file holds no audio samples ({info.decoded_duration:.2f} s decoded)"
        )
    if info.decode_error and not declared:
        # Without a declared length we cannot tell a damaged tail from a damaged middle.
        return Rejection("corrupt", f"damaged audio: {info.decode_error}")
    if info.decoded_duration > options.max_duration_seconds:
        return Rejection(
            "too_long",
            f"{info.decoded_duration / 60:.1f} min is longer than the configured maximum "
            f"of {options.max_duration_seconds / 60:.1f} min",
        )
    if info.peak_dbfs < options.silence_peak_dbfs:
        return Rejection(
            "silent",
            f"all silence: the loudest sample is {info.peak_dbfs:.0f} dBFS "
            f"(threshold {options.silence_peak_dbfs:.0f} dBFS)",
        )
    return None


def check_against_call_record(
    decoded_duration: float,
    billsec: float | None,
    options: ValidationOptions | None = None,
    whole_call: float | None = None,
) -> Rejection | None:
    """Compare a recording's length with the talk time its call record reports.

    `whole_call`: for a call of several legs (a transfer), the seconds from its first answer to its last
    leg's end. A recording of the caller's channel (FreePBX's) covers them all, one of the first agent's
    only the first leg's talk: either length is the call's.
    """
    options = options or ValidationOptions()
    if billsec is None or billsec <= 0:
        return None
    talks = [t for t in (billsec, whole_call) if t]
    if any(abs(decoded_duration - t) <= _tolerance(t, options) for t in talks):
        return None
    spans = f" ({whole_call:.0f} s from its first answer to its last leg's end)" if whole_call else ""
    return Rejection(
        "duration_mismatch",
        f"truncated or wrong file: decoded {decoded_duration:.1f} s, the call record says "
        f"{billsec:.0f} s of talk{spans}",
    )


def _tolerance(talk: float, options: ValidationOptions) -> float:
    return max(options.billsec_tolerance_seconds, options.billsec_tolerance_ratio * talk)


@dataclass
class MatchVerdict:
    """What becomes of a recording once matched to its call.

    `status` is the new file's: rejected, conflict, alternative (a worse copy of the call's recording), or
    accepted with `replaces` set (a better copy: the call's recording so far becomes its alternative).
    """

    status: str  # rejected | conflict | alternative | accepted
    code: str
    message: str
    replaces: bool = False


def judge_match(
    status: str,
    decoded_duration: float | None,
    billsec: float | None,
    uniqueid: str,
    holder_path: str | None,
    options: ValidationOptions | None = None,
    *,
    copy: RecordingCopy | None = None,
    holder: RecordingCopy | None = None,
    copy_options: CopyOptions | None = None,
    whole_call: float | None = None,
) -> MatchVerdict | None:
    """A recording matched to a call: None to attach it as it is, or what else it is for the call.

    Only an accepted file is judged. A second file for a call that already has an accepted recording
    (`holder_path`) is a copy when both files' facts (`copy`, `holder`) agree in length and parties
    (`ingest.copies.difference`): the better copy (`ingest.copies.best_copy`) is the call's recording and
    the other its alternative. A file that differs, or one whose facts are unknown, is a conflict. A file
    whose length disagrees with the call's talk time (the first leg's, or `whole_call`: all its legs')
    is rejected (`duration_mismatch`).
    """
    if status != "accepted":
        return None
    if holder_path is not None:
        why = difference(copy, holder, copy_options) if copy and holder else "nothing to compare"
        if why:
            return MatchVerdict(
                "conflict",
                "conflict",
                f"call {uniqueid} already has recording {holder_path}; this different file ({why}) was "
                f"not used (remove one of them and ingest again)",
            )
        if best_copy([holder, copy]) == 0:
            return MatchVerdict(
                "alternative",
                "alternative",
                f"a copy of call {uniqueid}; {holder_path} is the better copy and is transcribed",
            )
    mismatch = check_against_call_record(decoded_duration or 0.0, billsec, options, whole_call)
    if mismatch:
        return MatchVerdict("rejected", mismatch.code, mismatch.message)
    if holder_path is not None:
        return MatchVerdict(
            "accepted",
            "better_copy",
            f"a better copy of call {uniqueid} than {holder_path}, which becomes its alternative",
            replaces=True,
        )
    return None
