"""Reading a text input in whatever encoding it came in, reporting bytes that do not decode by line.

Every reader of call records, queue_log, incidents, rosters and mappings goes through `read_text_file`:
it detects UTF-8 (with or without a BOM), UTF-16 (BOM, or the NUL pattern of plain ASCII in UTF-16) and
Windows-1251 (Russian exports from Windows tools), or decodes with the encoding the user names. Bytes that
do not decode become U+FFFD and a `bad_bytes` problem naming the file and line, never an exception.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import InputFileError
from ingest.records import RowProblem

DETECTED_ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1251")
# Past this many lines with bad bytes a file gets one summary problem instead of one per line.
MAX_BYTE_PROBLEMS = 20
# cp1251 letters (А..я, Ё, ё): Russian text in cp1251 is runs of these, not isolated high bytes.
_CP1251_WORD = re.compile(rb"[\xa8\xb8\xc0-\xff]{2,}")
_ASCII = bytes(range(0x80))


@dataclass
class TextFile:
    """A decoded input file: its text, the encoding used and the lines whose bytes did not decode."""

    path: str
    text: str
    encoding: str
    problems: list[RowProblem] = field(default_factory=list)


def check_encoding(name: str) -> str:
    """The codec's canonical name; ValueError naming the detected encodings when Python does not know it."""
    try:
        return codecs.lookup(name).name
    except LookupError as e:
        raise ValueError(
            f"unknown encoding {name!r}; use a Python codec name such as {', '.join(DETECTED_ENCODINGS)}"
        ) from e


def read_text_file(path: Path | str, encoding: str | None = None) -> TextFile:
    """Read and decode a whole input file; `encoding` None detects it.

    Raises InputFileError only when the file cannot be opened (missing, unreadable, a folder) or the
    encoding name is unknown; undecodable bytes are replaced and reported per line.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as e:
        raise InputFileError("missing_file", f"{path}: no such file") from e
    except IsADirectoryError as e:
        raise InputFileError("unreadable_file", f"{path}: is a folder, not a file") from e
    except OSError as e:
        raise InputFileError("unreadable_file", f"{path}: cannot read ({e.strerror or e})") from e
    if encoding:
        try:
            encoding = check_encoding(encoding)
        except ValueError as e:
            raise InputFileError("bad_encoding", f"{path}: {e}") from e
    return decode_bytes(raw, str(path), encoding)


def decode_bytes(raw: bytes, source: str, encoding: str | None = None) -> TextFile:
    """Decode `raw` (see `read_text_file`); `source` names it in problems."""
    encoding = encoding or detect_encoding(raw)
    if encoding in ("utf-8", "utf_8") and raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    if encoding in ("utf-16", "utf_16") and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16-be" if _utf16_order(raw) == "be" else "utf-16-le"  # Windows writes LE
    try:
        text = raw.decode(encoding)
        return TextFile(source, _strip_bom(text), encoding)
    except UnicodeDecodeError:
        pass
    text = raw.decode(encoding, errors="replace")
    return TextFile(source, _strip_bom(text), encoding, _byte_problems(raw, text, source, encoding))


def detect_encoding(raw: bytes) -> str:
    """The likeliest of UTF-8 (BOM or not), UTF-16 and cp1251 for these bytes.

    UTF-8 wins whenever the bytes are valid UTF-8 or hold more valid multi-byte sequences than invalid
    ones (a UTF-8 file with a stray bad byte); cp1251 needs its bad UTF-8 to look like Cyrillic words.
    """
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _utf16_order(raw):
        return "utf-16"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    good = len(raw.decode("utf-8", errors="ignore").encode("utf-8")) - len(
        raw.decode("ascii", errors="ignore")
    )  # bytes of valid multi-byte sequences
    high = len(raw.translate(None, _ASCII))
    bad = high - good
    in_words = sum(len(m) for m in _CP1251_WORD.findall(raw))
    if good < bad and in_words >= high * 0.6:
        return "cp1251"
    return "utf-8"


def _utf16_order(raw: bytes) -> str | None:
    """'le' or 'be' when the bytes look like mostly-ASCII UTF-16 without a BOM (every other byte NUL)."""
    sample = raw[:4096]
    if len(sample) < 4:
        return None
    pairs = len(sample) // 2
    odd_nuls = sample[1::2].count(0)
    even_nuls = sample[0::2].count(0)
    if odd_nuls > pairs * 0.6 and even_nuls < pairs * 0.1:
        return "le"
    if even_nuls > pairs * 0.6 and odd_nuls < pairs * 0.1:
        return "be"
    return None


def _strip_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text


def _byte_problems(raw: bytes, text: str, source: str, encoding: str) -> list[RowProblem]:
    """One problem per line that holds replaced bytes (at most MAX_BYTE_PROBLEMS, then a summary)."""
    problems: list[RowProblem] = []
    bad_lines = [n for n, line in enumerate(text.split("\n"), start=1) if "\ufffd" in line]
    # Byte columns are told where a line's bytes are a line of the file (not in UTF-16 or UTF-32).
    wide = encoding.replace("_", "-").lower().startswith(("utf-16", "utf-32"))
    raw_lines = None if wide else raw.split(b"\n")
    for number in bad_lines[:MAX_BYTE_PROBLEMS]:
        detail = ""
        if raw_lines is not None and number <= len(raw_lines):
            column = _first_bad_byte(raw_lines[number - 1], encoding)
            if column is not None:
                value = raw_lines[number - 1][column]
                detail = f" (byte 0x{value:02x} at column {column + 1})"
        problems.append(
            RowProblem(
                source,
                number,
                "bad_bytes",
                f"bytes that are not {encoding} text{detail}; replaced with '\ufffd' and the row read on "
                f"(name the file's encoding with --encoding if it is another)",
            )
        )
    if len(bad_lines) > MAX_BYTE_PROBLEMS:
        problems.append(
            RowProblem(
                source,
                None,
                "bad_bytes",
                f"{len(bad_lines)} lines hold bytes that are not {encoding} text; the first "
                f"{MAX_BYTE_PROBLEMS} are listed; is the file in another encoding? (name it with --encoding)",
            )
        )
    return problems


def _first_bad_byte(line: bytes, encoding: str) -> int | None:
    try:
        line.decode(encoding)
    except UnicodeDecodeError as e:
        return e.start
    return None
