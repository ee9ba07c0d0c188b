"""Errors raised at the ingest boundary: each says what was wrong and what to do."""

from __future__ import annotations


class IngestError(Exception):
    """A recording or record that cannot be used. `code` is a stable reason code for reports."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class InputFileError(IngestError):
    """A whole input file (call records, queue_log, incidents, mapping) cannot be read."""
