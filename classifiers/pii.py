"""Personal data in transcripts: detection lives in `contracts.pii` (the store masks with it too)."""

from __future__ import annotations

from contracts.pii import PiiSpan, find_pii, find_pii_in_turns

__all__ = ["PiiSpan", "find_pii", "find_pii_in_turns"]
