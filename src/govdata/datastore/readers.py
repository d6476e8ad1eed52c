"""Reading a table file as a stream of rows, whatever the provider uploads: CSV (UTF-8 with or
without BOM, GBK, GB18030), XLSX, or JSON lines; and rows pushed by an information system.

Nothing here holds more than one row (and one buffer) in memory, whatever the file's size:

* the format is taken from the content, not the name: an xlsx is a zip archive with
  ``xl/workbook.xml``, CSV and JSON lines are text. A name that says otherwise is refused, as
  are old .xls workbooks and anything binary;
* CSV: the encoding is detected on the first 64 KB (BOM, then strict UTF-8, then GB18030 —
  a superset of GBK and GB2312 — then charset-normalizer's best guess; a pure ASCII start
  is decided by the first text that is not), then the file is decoded a megabyte at a time,
  and line by line where that fails, so that a line that does not decode is an error of its
  row, not of the file;
* XLSX: the archive's inflated size and compression ratio are checked before openpyxl opens it
  (zip bombs), then the first sheet is read in openpyxl's streaming (read-only) mode; formula
  cells are refused (the value a provider saw is not in the file, only the formula);
* the header row maps the file's columns to the resource's by column code or item name;
  unknown, duplicated and missing required columns are one error naming all of them;
* a row with more or fewer cells than the header, a cell larger than the limit
  (``DATASTORE_MAX_CELL_CHARS``, 1,000,000 characters by default), or a JSON line that does not
  parse is an error of that row (:class:`BadRow`); the file goes on being read.

Readers yield ``(row number, cells)`` with the cells in the file's order (``layout.positions``
says where each resource column is), or a :class:`BadRow`. Row numbers are what the provider
sees: the header is row 1 of a CSV file (a record spanning lines counts once), the sheet's own
row number in a workbook, the line number in JSON lines, the position (from 1) of a pushed row.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import json
import os
import re
import shutil
import tempfile
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _

from govdata.common.digests import sm3, sm3_hex, sm3_of_stream

from .validation import CellProblem, shown, storable

SNIFF_BYTES = 64 * 1024
BUFFER_BYTES = 1 << 20
RATIO_CHECK_FROM = 1_000_000  # members smaller than this may compress as well as they like

# File-level problem codes.
EMPTY = "empty"
NO_ROWS = "no_rows"
HEADER = "header"
FORMAT = "format"
ENCODING = "encoding"
ARCHIVE = "archive"
# Row-level problem codes (validation's codes are the cell-level ones).
RAGGED = "ragged"
TOO_LARGE = "too_large"
FORMULA = "formula"
BROKEN = "broken"
UNKNOWN_COLUMN = "unknown_column"

FORMATS = ("csv", "xlsx", "jsonl")
EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".xls": "xls",
}
FORMAT_NAMES = {"csv": "CSV", "xlsx": "Excel (.xlsx)", "jsonl": "JSON lines", "xls": "Excel 97-2003 (.xls)"}


def max_cell_chars() -> int:
    return settings.DATASTORE_MAX_CELL_CHARS


class FileRejected(Exception):
    """The file as a whole cannot be read as a table of this resource."""

    def __init__(self, reason: str, code: str = FORMAT, row: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.row = row


@dataclass(slots=True)
class BadRow:
    """A row refused before its values are looked at: what is wrong, and its raw cells."""

    row: int
    problems: list[CellProblem]
    values: dict[str, Any] = field(default_factory=dict)


def _row_problem(reason: str, code: str, column: str = "", value: Any = None) -> CellProblem:
    return CellProblem(column, shown(value), reason, code)


# --- the input ------------------------------------------------------------------------------


@contextlib.contextmanager
def open_source(source: Any) -> Iterator[BinaryIO]:
    """``source`` (a path, bytes, or a binary file-like object) as a seekable binary file
    positioned at its start. A stream that cannot seek is spooled to a temporary file."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as fh:
            yield fh
        return
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(bytes(source))
        return
    if hasattr(source, "open") and not hasattr(source, "read"):  # a Django File not yet opened
        source.open("rb")
    seekable = getattr(source, "seekable", None)
    if seekable is not None and seekable():
        source.seek(0)
        yield source
        return
    with tempfile.TemporaryFile(dir=getattr(settings, "FILE_UPLOAD_TEMP_DIR", None)) as spool:
        shutil.copyfileobj(source, spool, BUFFER_BYTES)
        spool.seek(0)
        yield spool


def file_size(fh: BinaryIO) -> int:
    position = fh.tell()
    try:
        return fh.seek(0, io.SEEK_END)
    finally:
        fh.seek(position)


class HashingRaw(io.RawIOBase):
    """A raw stream over ``fh`` that feeds every byte read into an SM3 digest."""

    def __init__(self, fh: BinaryIO):
        super().__init__()
        self._fh = fh
        self.digest = sm3()
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._fh.readinto(buffer)
        if n:
            self.digest.update(memoryview(buffer)[:n])
            self.consumed += n
        return n or 0

    def finish(self) -> str:
        """Read what is left and return the hex SM3 of the whole input."""
        while True:
            chunk = self._fh.read(BUFFER_BYTES)
            if not chunk:
                break
            self.digest.update(chunk)
            self.consumed += len(chunk)
        return self.digest.finalize().hex()


# --- what the file is -----------------------------------------------------------------------


_JSON_ARRAY = re.compile(r"\[\s*[-{\[\]\"\dtfn]")


_BINARY_SIGNATURES = (
    b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"\x7fELF", b"MZ", b"BM", b"RIFF",
    b"\x00\x00\x00", b"ID3", b"OggS", b"fLaC",
)


def _content_kind(head: bytes, named: str | None) -> str:
    """csv | jsonl | zip | xls | binary | json-array | empty, from the first bytes (and, for
    text starting with "[", the name: JSON lines may hold arrays, a .json file may not)."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = head[2:].decode("utf-16-le" if head.startswith(codecs.BOM_UTF16_LE) else "utf-16-be", "ignore")
    else:
        if head.startswith(_BINARY_SIGNATURES) or head.count(b"\x00") > max(2, len(head) // 100):
            return "binary"
        text = head.removeprefix(codecs.BOM_UTF8).decode("latin-1")
    stripped = text.lstrip()
    if not stripped:
        return "empty"
    if stripped[0] == "{":
        return "jsonl"
    if stripped[0] == "[" and _JSON_ARRAY.match(stripped + "]"):
        return "jsonl" if named == "jsonl" else "json-array"
    return "csv"


def detect_format(head: bytes, filename: str) -> str:
    """The format of the content, refusing a name that says something else."""
    extension = Path(filename or "").suffix.lower()
    named = EXTENSIONS.get(extension)
    kind = _content_kind(head, named if extension != ".json" else None)
    if kind == "empty":
        raise FileRejected(_("The file is empty."), EMPTY)
    if kind == "binary":
        raise FileRejected(_("The file is neither CSV text, JSON lines nor an Excel workbook (.xlsx)."), FORMAT)
    if kind == "xls":
        raise FileRejected(
            _("Excel 97-2003 workbooks (.xls) are not read; save the sheet as .xlsx or CSV and upload that."), FORMAT
        )
    if kind == "json-array":
        raise FileRejected(_("A JSON array is not read; write one JSON object per line (JSON lines)."), FORMAT)
    if kind == "zip":
        kind = "xlsx"  # whether it really is a workbook is checked when the archive is opened
    if named is not None and named != kind:
        raise FileRejected(
            _("The file is named “%(name)s” (%(named)s) but its content is %(actual)s; save it in the right format or correct the name.")
            % {"name": Path(filename).name, "named": FORMAT_NAMES[named], "actual": FORMAT_NAMES[kind]},
            FORMAT,
        )
    return kind


_COMMON_HAN = re.compile(
    r"[\s\x20-\x7e\u00b7\u2014-\u2026\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]"
)


def _plausible_chinese(text: str) -> bool:
    """True when text decoded as GB18030 looks like Chinese (not Latin-1 bytes read as GB)."""
    if not text:
        return True
    odd = len(text) - len(_COMMON_HAN.findall(text))
    return odd <= max(2, len(text) // 50)


def detect_encoding(head: bytes, complete: bool) -> str:
    """The encoding of a text file from its first bytes (``complete``: they are all of it)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
        except UnicodeDecodeError as exc:
            # Most of it reads, with real multi-byte text, then a line does not: a file in this
            # encoding with bad lines (each is reported), not a file in another encoding.
            good = head[: exc.start]
            if len(good) >= len(head) // 2 and not good.isascii():
                text = good.decode(encoding, "ignore")
                if encoding == "utf-8" or _plausible_chinese(text):
                    return encoding
            continue
        if encoding == "utf-8" or _plausible_chinese(text):
            return encoding
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None:
        raise FileRejected(_("The text encoding of the file cannot be recognised; save it as UTF-8 or GBK."), ENCODING)
    name = codecs.lookup(best.encoding).name
    return "gb18030" if name in ("gbk", "gb2312", "gb18030", "hz") else name


ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (BOM)", "gb18030": "GB18030/GBK", "utf-16": "UTF-16"}


# --- header ---------------------------------------------------------------------------------

_BLANKS = re.compile(r"[\s\u200b\ufeff]+")
_NAME_AND_CODE = re.compile(r"^(.+?)[(（]([A-Za-z][A-Za-z0-9_]*)[)）]$")


def _norm(text: Any) -> str:
    return _BLANKS.sub("", unicodedata.normalize("NFKC", str(text))) if text is not None else ""


@dataclass
class Layout:
    """Where each of the resource's columns is in the file's rows."""

    positions: list[int | None]
    header: list[str]  # the file's column headings as written
    width: int

    def raw_values(self, cells: Sequence[Any]) -> dict[str, Any]:
        out = {}
        for i, value in enumerate(cells):
            key = self.header[i] if i < len(self.header) and self.header[i] else f"#{i + 1}"
            if isinstance(value, str):
                value = storable(value)
            elif not (value is None or isinstance(value, int | float | bool)):
                value = storable(str(value))
            out[key] = value
        return out


def _column_label(column: Any) -> str:
    return f"{column.name}（{column.code}）"


def _column_lookup(columns: Sequence[Any]) -> dict[str, int]:
    lookup: dict[str, int] = {}
    for i, column in enumerate(columns):
        lookup.setdefault(_norm(column.name), i)
    for i, column in enumerate(columns):  # a code wins over another column's name
        lookup[column.code.lower()] = i
    return lookup


def _find(lookup: dict[str, int], heading: str) -> int | None:
    key = _norm(heading)
    found = lookup.get(key, lookup.get(key.lower()))
    if found is None:
        match = _NAME_AND_CODE.match(key)
        if match:
            found = lookup.get(match.group(2).lower(), lookup.get(match.group(1)))
    return found


def match_header(header: Sequence[Any], columns: Sequence[Any], row: int = 1) -> Layout:
    """Map a header row to the resource's columns by code or item name, or refuse the file
    with one message naming every unknown, repeated and missing required column."""
    texts = ["" if h is None else str(h).strip() for h in header]
    while texts and not _norm(texts[-1]):
        texts.pop()
    if not texts:
        raise FileRejected(_("The header row is empty."), HEADER, row)
    lookup = _column_lookup(columns)
    positions: list[int | None] = [None] * len(columns)
    unknown, repeated, blank = [], [], []
    for position, text in enumerate(texts):
        if not _norm(text):
            blank.append(str(position + 1))
            continue
        index = _find(lookup, text)
        if index is None:
            unknown.append(text)
        elif positions[index] is not None:
            repeated.append(text)
        else:
            positions[index] = position
    missing = [
        _column_label(c) for c, p in zip(columns, positions, strict=True) if p is None and (c.required or c.is_key)
    ]
    problems = []
    if unknown:
        problems.append(
            _("unknown columns: %(names)s (the resource's columns are %(known)s)")
            % {"names": "、".join(unknown), "known": "、".join(_column_label(c) for c in columns)}
        )
    if missing:
        problems.append(_("required columns missing: %(names)s") % {"names": "、".join(missing)})
    if repeated:
        problems.append(_("columns given twice: %(names)s") % {"names": "、".join(repeated)})
    if blank:
        problems.append(_("columns without a heading: column %(numbers)s") % {"numbers": "、".join(blank)})
    if problems:
        raise FileRejected(_("Header row %(row)d: %(problems)s.") % {"row": row, "problems": "；".join(problems)}, HEADER, row)
    return Layout(positions, texts, len(texts))


# --- readers --------------------------------------------------------------------------------


@dataclass(slots=True)
class Batch:
    """Consecutive rows of a file: the good ones (all ``layout.width`` cells long) with their
    row numbers, and the ones refused as they were read."""

    numbers: Sequence[int]
    rows: list[Sequence[Any]]
    bad: list[BadRow]


class TableReader:
    """What every reader offers: ``batches()`` of rows, ``progress()``, ``checksum()``."""

    format = ""
    encoding = ""
    layout: Layout

    def __iter__(self) -> Iterator[Any]:
        """Row by row: ``(row number, cells)`` or a :class:`BadRow`."""
        raise NotImplementedError

    def batches(self, size: int = 1000) -> Iterator[Batch]:
        numbers: list[int] = []
        rows: list[Sequence[Any]] = []
        bad: list[BadRow] = []
        for item in self:
            if item.__class__ is BadRow:
                bad.append(item)
            else:
                numbers.append(item[0])
                rows.append(item[1])
            if len(rows) + len(bad) >= size:
                yield Batch(numbers, rows, bad)
                numbers, rows, bad = [], [], []
        if rows or bad:
            yield Batch(numbers, rows, bad)

    def progress(self) -> tuple[int, int]:
        """(done, total) in whatever unit the reader can tell (bytes, or rows)."""
        return 0, 0

    def checksum(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        pass


PIECE_BYTES = 1 << 20
# Put at the start of a line that did not read, so that the record it ends up in can be told
# (a noncharacter: never in real data).
MARK = "\U0010fffe"


class _TextReader(TableReader):
    """The lines of a text file, decoded a megabyte at a time (line by line where that fails,
    so that a bad line is named), and hashed as they are read."""

    def __init__(self, fh: BinaryIO, head: bytes, size: int, max_cell: int):
        self.size = size
        self.max_cell = max_cell
        self.raw = HashingRaw(fh)
        self.buffer = io.BufferedReader(self.raw, BUFFER_BYTES)
        self.encoding = detect_encoding(head, complete=len(head) >= size)
        # Pure ASCII so far: UTF-8 and GB18030 agree; the first text that is not says which.
        self.undecided = self.encoding == "utf-8" and head.isascii() and len(head) < size
        if self.encoding == "utf-8-sig":
            self.buffer.read(len(codecs.BOM_UTF8))
            self.encoding = "utf-8"
        # Line number (as the csv module counts lines: \n, \r\n or \r) -> its problem.
        self.bad_lines: dict[int, CellProblem] = {}
        self.lines_seen = 0
        self._digest: str | None = None

    def _line_limit(self, columns: int) -> int:
        return 4 * self.max_cell * max(columns, 1) + SNIFF_BYTES

    def lines(self, limit: int) -> Iterator[str]:
        """Every line, decoded; a line that does not decode (or is longer than ``limit``
        bytes) is noted in ``bad_lines`` and given as best it can be, marked with ``MARK``."""
        if self.encoding == "utf-16":
            return self._utf16_lines()
        return itertools.chain.from_iterable(self._pieces(limit))

    def _pieces(self, limit: int) -> Iterator[Iterable[str]]:
        read = self.buffer.read
        pending = bytearray()
        while True:
            data = read(PIECE_BYTES)
            if data:
                pending += data
                cut = pending.rfind(b"\n")
                if cut < 0:
                    if len(pending) > limit:
                        yield self._skip_long_line(pending, limit)
                    continue
                piece = bytes(pending[: cut + 1])
                del pending[: cut + 1]
            elif pending:
                piece = bytes(pending)
                pending.clear()
            else:
                return
            if len(piece) > limit:
                yield self._line_by_line(piece, limit)
                continue
            try:
                text = piece.decode(self.encoding)
            except UnicodeDecodeError:
                if self.undecided:
                    try:
                        text = piece.decode("gb18030")
                    except UnicodeDecodeError:
                        yield self._line_by_line(piece, limit)
                        continue
                    self.encoding = "gb18030"
                    self.undecided = False
                else:
                    yield self._line_by_line(piece, limit)
                    continue
            else:
                if self.undecided and not piece.isascii():
                    self.undecided = False
            self.lines_seen += text.count("\n") + text.count("\r") - text.count("\r\n") + (text[-1:] not in ("\n", "\r"))
            yield io.StringIO(text, newline="")

    def _skip_long_line(self, pending: bytearray, limit: int) -> list[str]:
        """A line longer than ``limit`` with no end in sight: drop it (keeping nothing)."""
        pending.clear()
        while True:
            data = self.buffer.read(PIECE_BYTES)
            if not data:
                break
            cut = data.find(b"\n")
            if cut >= 0:
                pending += data[cut + 1 :]
                break
        self.lines_seen += 1
        self.bad_lines[self.lines_seen] = _row_problem(_("The line is longer than %(n)d bytes.") % {"n": limit}, TOO_LARGE)
        return [MARK + "\n"]

    def _line_by_line(self, piece: bytes, limit: int) -> list[str]:
        out = []
        encoding = self.encoding
        for line in piece.splitlines(keepends=True):  # \n, \r\n and \r, as the csv module counts
            self.lines_seen += 1
            if len(line) > limit:
                self.bad_lines[self.lines_seen] = _row_problem(
                    _("The line is longer than %(n)d bytes.") % {"n": limit}, TOO_LARGE
                )
                out.append(MARK + "\n")
                continue
            try:
                out.append(line.decode(encoding))
            except UnicodeDecodeError as exc:
                self.bad_lines[self.lines_seen] = _row_problem(
                    _("The line cannot be read as %(encoding)s text (byte %(position)d); save the file as UTF-8 or GBK.")
                    % {"encoding": ENCODING_NAMES.get(encoding, encoding), "position": exc.start + 1},
                    ENCODING,
                )
                out.append(MARK + line.decode(encoding, "replace"))
        return out

    def _utf16_lines(self) -> Iterator[str]:
        wrapper = io.TextIOWrapper(self.buffer, encoding="utf-16", newline="")
        try:
            yield from wrapper
        except UnicodeDecodeError as exc:
            raise FileRejected(_("The file cannot be read as UTF-16 text: %(error)s") % {"error": exc.reason}, ENCODING) from None

    def progress(self) -> tuple[int, int]:
        return self.raw.consumed, self.size

    def checksum(self) -> str:
        if self._digest is None:
            self._digest = self.raw.finish()
        return self._digest


class CsvReader(_TextReader):
    format = "csv"

    def __init__(self, fh: BinaryIO, head: bytes, size: int, columns: Sequence[Any], max_cell: int):
        super().__init__(fh, head, size, max_cell)
        if csv.field_size_limit() != max_cell:
            csv.field_size_limit(max_cell)
        first_line = head.split(b"\n", 1)[0]
        delimiter = "\t" if b"\t" in first_line and b"," not in first_line else ","
        self.records = csv.reader(self.lines(self._line_limit(len(columns))), delimiter=delimiter)
        self.number = 0
        header = None
        while header is None:
            try:
                cells = next(self.records)
            except StopIteration:
                raise FileRejected(_("The file is empty."), EMPTY) from None
            except csv.Error as exc:
                raise FileRejected(_("The header row cannot be read: %(error)s") % {"error": exc}, HEADER, self.number + 1) from None
            self.number += 1
            problems = self._marked(cells)
            if problems:
                raise FileRejected(
                    _("Header row %(row)d: %(reason)s") % {"row": self.number, "reason": problems[0].reason}, problems[0].code, self.number
                )
            if any(c.strip() for c in cells):
                header = cells
        self.layout = match_header(header, columns, self.number)

    def _marked(self, cells: Sequence[str]) -> list[CellProblem]:
        """The problems of the bad lines a record is made of (one ``MARK`` each). Records
        are read in order, so they are the first noted lines."""
        if not self.bad_lines:
            return []
        count = sum(cell.count(MARK) for cell in cells)
        found = []
        for line in sorted(self.bad_lines)[:count]:
            found.append(self.bad_lines.pop(line))
        return found

    def __iter__(self) -> Iterator[Any]:
        for batch in self.batches():
            yield from batch.bad
            yield from zip(batch.numbers, batch.rows, strict=True)

    def batches(self, size: int = 1000) -> Iterator[Batch]:
        records, width = self.records, self.layout.width
        blank = [""] * width
        while True:
            first = self.number + 1
            rows: list[list[str]] = []
            error = None
            try:
                rows.extend(itertools.islice(records, size))  # keeps what it read before an error
            except csv.Error as exc:
                error = exc
            self.number += len(rows)
            if not self.bad_lines and (not rows or (set(map(len, rows)) == {width} and blank not in rows)):
                if rows:
                    yield Batch(range(first, first + len(rows)), rows, [])
            else:
                yield self._sorted_out(first, rows)
            if error is not None:
                self.number += 1
                for line in [line for line in self.bad_lines if line <= records.line_num]:
                    del self.bad_lines[line]  # lines of the record that could not be read
                if "field larger than field limit" in str(error):
                    problem = _row_problem(_("A cell is larger than %(n)d characters.") % {"n": self.max_cell}, TOO_LARGE)
                else:
                    problem = _row_problem(_("The row cannot be read as CSV: %(error)s") % {"error": error}, BROKEN)
                yield Batch([], [], [BadRow(self.number, [problem])])
                continue
            if len(rows) < size:
                return

    def _sorted_out(self, first: int, rows: list[list[str]]) -> Batch:
        """Row by row: lines that did not read, blank rows, rows with too few or many cells."""
        width, raw_values = self.layout.width, self.layout.raw_values
        numbers: list[int] = []
        good: list[Sequence[Any]] = []
        bad: list[BadRow] = []
        for i, cells in enumerate(rows):
            number = first + i
            problems = self._marked(cells)
            if problems:
                bad.append(BadRow(number, problems[:1], raw_values([c.replace(MARK, "") for c in cells])))
                continue
            if len(cells) != width or not any(cells):
                if not any(c.strip() for c in cells):
                    continue  # a blank row
                if len(cells) < width or any(c.strip() for c in cells[width:]):
                    bad.append(
                        BadRow(
                            number,
                            [
                                _row_problem(
                                    _("The row has %(n)d cells; the header has %(width)d.") % {"n": len(cells), "width": width},
                                    RAGGED,
                                )
                            ],
                            raw_values(cells),
                        )
                    )
                    continue
                cells = cells[:width]
            numbers.append(number)
            good.append(cells)
        return Batch(numbers, good, bad)


class DictRows:
    """Rows given as mappings (JSON lines, pushed rows): keys are column codes or item names."""

    def __init__(self, columns: Sequence[Any], max_cell: int):
        self.columns = columns
        self.max_cell = max_cell
        self.lookup = _column_lookup(columns)
        self.width = len(columns)
        self.layout = Layout(list(range(len(columns))), [c.code for c in columns], len(columns))
        self._plans: dict[tuple, tuple[list[int], list[str]]] = {}

    def _plan(self, keys: tuple) -> tuple[list[int], list[str]]:
        plan = self._plans.get(keys)
        if plan is None:
            indexes, unknown = [], []
            for key in keys:
                index = _find(self.lookup, key) if isinstance(key, str) else None
                if index is None:
                    unknown.append(str(key))
                indexes.append(index)
            plan = (indexes, unknown)
            if len(self._plans) < 1000:
                self._plans[keys] = plan
        return plan

    def row(self, number: int, obj: Any, check_size: bool = True, check_text: bool = True) -> Any:
        if not isinstance(obj, dict):
            return BadRow(number, [_row_problem(_("A row must be an object of column: value."), BROKEN, value=obj)])
        indexes, unknown = self._plan(tuple(obj))
        if unknown:
            return BadRow(
                number,
                [_row_problem(_("Unknown columns: %(names)s") % {"names": "、".join(unknown)}, UNKNOWN_COLUMN)],
                _json_safe(obj),
            )
        cells: list[Any] = [None] * self.width
        for index, value in zip(indexes, obj.values(), strict=True):
            if cells[index] is not None:
                return BadRow(number, [_row_problem(_("A column is given twice."), BROKEN)], _json_safe(obj))
            cells[index] = value
        if check_text:
            for value in cells:
                if value.__class__ is str and _SURROGATE.search(value):
                    return BadRow(
                        number, [_row_problem(_("A cell contains an invalid character (a lone surrogate)."), BROKEN)], _json_safe(obj)
                    )
        if check_size:
            for value in cells:
                if value.__class__ is str and len(value) > self.max_cell:
                    return BadRow(
                        number,
                        [_row_problem(_("A cell is larger than %(n)d characters.") % {"n": self.max_cell}, TOO_LARGE)],
                    )
        return number, cells


def _json_safe(obj: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, str):
            value = storable(value)
        elif not (value is None or isinstance(value, int | float | bool)):
            value = shown(json.dumps(value, ensure_ascii=False, default=str))
        out[storable(str(key))] = value
    return out


_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonLinesReader(_TextReader):
    format = "jsonl"

    def __init__(self, fh: BinaryIO, head: bytes, size: int, columns: Sequence[Any], max_cell: int):
        super().__init__(fh, head, size, max_cell)
        self.rows = DictRows(columns, max_cell)
        self.layout = self.rows.layout
        self._lines = self.lines(self._line_limit(len(columns)))

    def __iter__(self) -> Iterator[Any]:
        loads, rows, bad_lines, max_cell = json.loads, self.rows, self.bad_lines, self.max_cell
        for number, line in enumerate(self._lines, start=1):
            if bad_lines and line[:1] == MARK:
                problem = bad_lines.pop(number, None) or bad_lines.pop(min(bad_lines))
                yield BadRow(number, [problem])
                continue
            if not line or line.isspace():
                continue
            try:
                obj = loads(line)
            except ValueError as exc:
                yield BadRow(
                    number,
                    [_row_problem(_("The line is not valid JSON: %(error)s") % {"error": exc}, BROKEN, value=line.strip())],
                )
                continue
            yield rows.row(number, obj, check_size=len(line) > max_cell, check_text="\\u" in line)


def check_archive(fh: BinaryIO, size: int) -> None:
    """Refuse what is not an xlsx, and zip bombs, before openpyxl inflates anything."""
    limit = settings.DATASTORE_XLSX_MAX_INFLATED_BYTES
    ratio = settings.DATASTORE_XLSX_MAX_RATIO
    fh.seek(0)
    try:
        archive = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FileRejected(_("The file is not a valid Excel workbook (.xlsx)."), ARCHIVE) from None
    with archive:
        infos = archive.infolist()
        if "xl/workbook.xml" not in {info.filename for info in infos}:
            raise FileRejected(_("The file is a zip archive but not an Excel workbook (.xlsx)."), ARCHIVE)
        inflated = sum(info.file_size for info in infos)
        if inflated > limit:
            raise FileRejected(
                _("The workbook expands to %(mb)d MB, more than the %(limit)d MB allowed; it is refused.")
                % {"mb": inflated // 1_000_000, "limit": limit // 1_000_000},
                ARCHIVE,
            )
        for info in infos:
            if info.file_size > RATIO_CHECK_FROM and info.file_size > ratio * max(info.compress_size, 1):
                raise FileRejected(
                    _("The workbook is compressed %(ratio)d times (a zip bomb?); it is refused.")
                    % {"ratio": info.file_size // max(info.compress_size, 1)},
                    ARCHIVE,
                )
    fh.seek(0)


class XlsxReader(TableReader):
    format = "xlsx"

    def __init__(self, fh: BinaryIO, size: int, columns: Sequence[Any], max_cell: int):
        self.max_cell = max_cell
        check_archive(fh, size)
        self._digest = sm3_of_stream(fh)
        import openpyxl

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.workbook = openpyxl.load_workbook(fh, read_only=True, data_only=False)
            sheet = self.workbook.worksheets[0]
            self.total = sheet.max_row or 0
            sheet.reset_dimensions()  # the declared size may lie: read what is there
            self.rows = sheet.iter_rows()
            self.number = 0
            header = None
            while header is None:
                cells = next(self.rows, None)
                self.number += 1
                if cells is None:
                    raise FileRejected(_("The workbook's first sheet is empty."), EMPTY)
                values = [c.value for c in cells]
                if any(c.data_type == "f" for c in cells):
                    raise FileRejected(_("Header row %(row)d contains formulas.") % {"row": self.number}, HEADER, self.number)
                if any(v is not None and str(v).strip() for v in values):
                    header = values
        except FileRejected:
            self.close()
            raise
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged workbook
            self.close()
            raise FileRejected(
                _("The workbook cannot be read (%(error)s).") % {"error": exc.__class__.__name__}, ARCHIVE
            ) from None
        self.layout = match_header(header, columns, self.number)

    def __iter__(self) -> Iterator[Any]:
        width, max_cell, raw_values = self.layout.width, self.max_cell, self.layout.raw_values
        try:
            for cells in self.rows:
                self.number += 1
                values = []
                formula = large = False
                for cell in cells:
                    value = cell.value
                    kind = cell.data_type
                    if kind == "f":
                        formula = True
                    elif kind == "s" and value is not None and len(value) > max_cell:
                        large = True
                        value = shown(value)
                    values.append(value)
                if len(values) > width:
                    if any(v is not None and (not isinstance(v, str) or v.strip()) for v in values[width:]):
                        yield BadRow(
                            self.number,
                            [_row_problem(_("The row has values beyond the last column of the header."), RAGGED)],
                            raw_values(values),
                        )
                        continue
                    values = values[:width]
                elif len(values) < width:
                    if not values:
                        continue
                    values.extend([None] * (width - len(values)))
                if formula:
                    yield BadRow(
                        self.number,
                        [_row_problem(_("The row contains formulas; paste the values instead (Paste Special → Values)."), FORMULA)],
                        raw_values(values),
                    )
                    continue
                if large:
                    yield BadRow(
                        self.number,
                        [_row_problem(_("A cell is larger than %(n)d characters.") % {"n": max_cell}, TOO_LARGE)],
                    )
                    continue
                yield self.number, values
        except Exception as exc:  # noqa: BLE001 - a damaged sheet part-way through
            raise FileRejected(
                _("The workbook cannot be read after row %(row)d (%(error)s).") % {"row": self.number, "error": exc.__class__.__name__},
                ARCHIVE,
            ) from None

    def progress(self) -> tuple[int, int]:
        return self.number, max(self.total, self.number)

    def checksum(self) -> str:
        return self._digest

    def close(self) -> None:
        workbook = getattr(self, "workbook", None)
        if workbook is not None:
            workbook.close()


class PushedRows(TableReader):
    """Rows pushed by an information system (R-9.1): a list of mappings."""

    format = "push"

    def __init__(self, rows: Sequence[Any], columns: Sequence[Any], max_cell: int):
        self.items = rows
        self.rows = DictRows(columns, max_cell)
        self.layout = self.rows.layout
        self.number = 0
        payload = json.dumps(list(rows), ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))
        self._digest = sm3_hex(payload.encode("utf-8", "backslashreplace"))

    def progress(self) -> tuple[int, int]:
        return self.number, len(self.items)

    def checksum(self) -> str:
        """SM3 of the rows as canonical JSON (sorted keys, no spaces)."""
        return self._digest

    def __iter__(self) -> Iterator[Any]:
        row = self.rows.row
        for number, obj in enumerate(self.items, start=1):
            self.number = number
            yield row(number, obj)


def open_reader(fh: BinaryIO, filename: str, columns: Sequence[Any], *, max_cell: int | None = None) -> TableReader:
    """The reader for the file's content (see the module's docstring), its header checked."""
    max_cell = max_cell or max_cell_chars()
    size = file_size(fh)
    start = fh.tell()
    head = fh.read(SNIFF_BYTES)
    fh.seek(start)
    kind = detect_format(head, filename)
    if kind == "xlsx":
        return XlsxReader(fh, size, columns, max_cell)
    if kind == "jsonl":
        return JsonLinesReader(fh, head, size, columns, max_cell)
    return CsvReader(fh, head, size, columns, max_cell)
