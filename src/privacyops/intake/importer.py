"""Reading bulk-import files (CSV, JSON Lines) into numbered rows, and the import summary.

Each row keeps the line of the file it started on, so a summary can say exactly which rows
landed and which were refused and why. A malformed row (bad JSON, a CSV row with more or fewer
cells than the header, undecodable bytes) becomes a refused row; it never stops the import.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privacyops.errors import InvalidInput, PayloadTooLarge

__all__ = ["FORMATS", "ImportSummary", "Refusal", "Row", "guess_format", "read_rows"]

FORMATS = ("csv", "jsonl")
MAX_LINE_BYTES = 1_000_000


@dataclass(frozen=True)
class Row:
    """One row of an import file: its first line number and its payload, or why it is bad."""

    line: int
    payload: dict[str, Any] | None
    error: str | None = None


@dataclass(frozen=True)
class Refusal:
    """A refused row: its line, the error code and a message without the row's values."""

    line: int
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "code": self.code, "message": self.message}


def _ranges(lines: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for n in sorted(lines):
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


@dataclass
class ImportSummary:
    """What an import did, row by row.

    Attributes:
        rows: rows read (blank lines are not rows).
        stored: rows stored as records; ``stored_lines`` their line numbers.
        quarantined: rows held by the spam gate; ``quarantined_lines`` their line numbers.
        refused: rows refused, with why.
        failed_at: when a batch could not be written (the database failed), the first line of
            that batch; it and every later row did not land.
        error: what failed, when ``failed_at`` is set.
    """

    channel: str
    rows: int = 0
    stored_lines: list[int] = field(default_factory=list)
    quarantined_lines: list[int] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    failed_at: int | None = None
    error: str | None = None

    @property
    def stored(self) -> int:
        return len(self.stored_lines)

    @property
    def quarantined(self) -> int:
        return len(self.quarantined_lines)

    @property
    def ok(self) -> bool:
        """True when every batch was written (refused rows do not make an import fail)."""
        return self.failed_at is None

    def landed_ranges(self) -> list[tuple[int, int]]:
        """Line ranges that landed (stored or quarantined), merged: ``[(2, 501), (503, 900)]``."""
        return _ranges(self.stored_lines + self.quarantined_lines)

    def landed_text(self) -> str:
        """``"2-501, 503-900"``, or ``"none"``."""
        parts = [f"{a}-{b}" if a != b else str(a) for a, b in self.landed_ranges()]
        return ", ".join(parts) or "none"

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "ok": self.ok,
            "rows": self.rows,
            "stored": self.stored,
            "quarantined": self.quarantined,
            "refused": [r.to_dict() for r in self.refused],
            "landed_lines": self.landed_text(),
            "failed_at_line": self.failed_at,
            "error": self.error,
        }


def guess_format(path: Path, given: str | None) -> str:
    """The import format: ``given``, or from the file name (``.csv``; ``.jsonl``/``.ndjson``)."""
    if given:
        if given not in FORMATS:
            raise InvalidInput(f"Unknown import format '{given[:20]}'; use csv or jsonl.")
        return given
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    raise InvalidInput("Cannot tell the format from the file name; give --format csv or jsonl.")


def read_rows(path: Path, fmt: str) -> Iterator[Row]:
    """The rows of an import file, in order.

    Raises:
        InvalidInput: the file cannot be opened, or a CSV file has no usable header.
    """
    try:
        handle = path.open("rb")
    except OSError:
        raise InvalidInput(f"Cannot open the import file {path.name}.") from None
    with handle:
        if fmt == "jsonl":
            yield from _jsonl_rows(handle)
        else:
            yield from _csv_rows(handle)


def _jsonl_rows(handle: io.BufferedReader) -> Iterator[Row]:
    for number, raw in enumerate(handle, start=1):
        if len(raw) > MAX_LINE_BYTES:
            yield Row(number, None, f"line is longer than {MAX_LINE_BYTES} bytes")
            continue
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            yield Row(number, None, "line is not UTF-8 text")
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Row(number, None, f"malformed JSON at column {exc.colno}: {exc.msg}")
            continue
        if not isinstance(value, dict):
            yield Row(number, None, "line is not a JSON object")
            continue
        yield Row(number, value)


def _csv_rows(handle: io.BufferedReader) -> Iterator[Row]:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    except (csv.Error, UnicodeDecodeError):
        raise InvalidInput("The CSV header line cannot be read.") from None
    names = [h.strip() for h in header]
    if not any(names) or any(not n for n in names):
        raise InvalidInput("Every column of the CSV header needs a name.")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInput("The CSV header repeats column " + ", ".join(f"'{d}'" for d in dup))
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            yield Row(start, None, "row is not UTF-8 text; the rest of the file was not read")
            return
        except csv.Error as exc:
            yield Row(start, None, f"malformed CSV row: {exc}")
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(names):
            more_or_fewer = "more" if len(cells) > len(names) else "fewer"
            yield Row(
                line,
                None,
                f"row has {more_or_fewer} cells ({len(cells)}) than the header ({len(names)})",
            )
            continue
        yield Row(line, dict(zip(names, cells, strict=True)))


def header_of(path: Path, fmt: str) -> list[str] | None:
    """The CSV header's column names (``None`` for JSON Lines, which has no header)."""
    if fmt != "csv":
        return None
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            first = next(csv.reader(handle), None)
    except (OSError, csv.Error, UnicodeDecodeError):
        raise InvalidInput(f"Cannot read the header of {path.name}.") from None
    return [h.strip() for h in first] if first else []


def check_file_size(path: Path, cap: int) -> None:
    """Raises PayloadTooLarge when the import file is larger than ``cap`` bytes."""
    try:
        size = path.stat().st_size
    except OSError:
        raise InvalidInput(f"Cannot open the import file {path.name}.") from None
    if size > cap:
        raise PayloadTooLarge(f"The import file is larger than {cap} bytes.")
