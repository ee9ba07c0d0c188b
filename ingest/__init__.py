"""Recordings and call records in: decode, validate, fingerprint, and import CDR / queue_log / incidents.

Pure functions and dataclasses; storing what they return is the pipeline's job.
"""

from ingest.assembly import AssembledCall, QueueFindings, TransferEvent, assemble_call, read_queue_events
from ingest.audio import AUDIO_EXTENSIONS, AudioInfo, decode_audio, inspect_audio
from ingest.cdr import read_master_csv
from ingest.copies import (
    CopyOptions,
    RecordingCopy,
    best_copy,
    content_envelope,
    content_similarity,
    copy_rank,
)
from ingest.encode import CODECS, write_audio
from ingest.errors import IngestError, InputFileError
from ingest.examine import (
    FileIdentity,
    RecordingFacts,
    RecordingScan,
    examine_recording,
    find_recordings,
    identify,
    scan_recordings,
    try_identify,
)
from ingest.filenames import RecordingCall, RecordingName, parse_recording_name, recording_call, same_call
from ingest.generic_csv import read_mapped_csv
from ingest.incidents import read_incidents
from ingest.mapping import ColumnMapping, load_mapping
from ingest.queue_log import agent_code, read_queue_log
from ingest.records import CallRecord, ImportResult, IncidentRecord, QueueLogEvent, RowProblem
from ingest.textfile import TextFile, check_encoding, decode_bytes, detect_encoding, read_text_file
from ingest.validate import (
    MatchVerdict,
    Rejection,
    ValidationOptions,
    check_against_call_record,
    judge_match,
    validate_audio,
)

__all__ = [
    "AUDIO_EXTENSIONS",
    "CODECS",
    "AssembledCall",
    "AudioInfo",
    "CallRecord",
    "ColumnMapping",
    "CopyOptions",
    "FileIdentity",
    "ImportResult",
    "IncidentRecord",
    "IngestError",
    "InputFileError",
    "MatchVerdict",
    "QueueFindings",
    "QueueLogEvent",
    "RecordingCall",
    "RecordingCopy",
    "RecordingFacts",
    "RecordingName",
    "RecordingScan",
    "Rejection",
    "RowProblem",
    "TextFile",
    "TransferEvent",
    "ValidationOptions",
    "agent_code",
    "assemble_call",
    "best_copy",
    "check_against_call_record",
    "check_encoding",
    "content_envelope",
    "content_similarity",
    "copy_rank",
    "decode_audio",
    "decode_bytes",
    "detect_encoding",
    "examine_recording",
    "find_recordings",
    "identify",
    "inspect_audio",
    "judge_match",
    "load_mapping",
    "parse_recording_name",
    "read_incidents",
    "read_mapped_csv",
    "read_master_csv",
    "read_queue_events",
    "read_queue_log",
    "read_text_file",
    "recording_call",
    "same_call",
    "scan_recordings",
    "try_identify",
    "validate_audio",
    "write_audio",
]
