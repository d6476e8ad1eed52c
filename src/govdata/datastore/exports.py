"""Streamed exports of a query's full result (issue #4, item 5): CSV, JSON and XLSX.

    export = exports.export(resource, query, "csv", header="name", on_complete=audit_rows)
    return exports.streaming_response(export, filename="居民信息")

An ``Export`` is an iterable of ``bytes`` made for ``StreamingHttpResponse`` (which closes it
when the client goes away). The query is validated when the export is made, so a bad query
is a ``QueryError`` before any response starts; its page settings (limit, offset, cursor,
total) are ignored: an export is the whole result, in the query's order, with the same
projection and masking as ``query.run`` gives.

Memory stays flat whatever the size:

- CSV on PostgreSQL is ``COPY (SELECT …) TO STDOUT (FORMAT csv)`` of the same statement that
  ``query`` builds, with the cell rendering (masking, formula defusing, number and date text)
  done by SQL expressions in the SELECT; the rows arrive as a stream of CSV lines. It is the
  database's own fastest path and runs at close to a raw ``COPY`` of the table.
- everything else reads the result a chunk at a time (``query.iterate_tuples``: a
  server-side cursor on PostgreSQL, ``fetchmany`` on SQLite) and writes it out as it goes.
- XLSX is a zip, which cannot be sent before it is finished: openpyxl's write-only mode
  writes the rows to a temporary file, and the file is streamed when the last row is in.
  A sheet holds at most 1,048,576 rows; longer results continue on further sheets.

CSV: UTF-8 with a BOM (Excel reads it as UTF-8), a header of item names (or codes); rows end
in ``\\r\\n`` (RFC 4180) from the row writer and ``\\n`` from COPY, and both quote every cell
holding a line break, quote or comma, so any CSV reader gets the same cells. Text cells
beginning with ``= + - @``, tab or carriage return get a leading ``'`` so spreadsheet programs
do not run them as formulas. Cells are the values' canonical text (``query.as_text``):
2024-01-02, 2024-01-02 08:30:00, 12.30 (currency), 0.5, 1e+15, true/false.

JSON: an array of objects keyed by column code; numbers are JSON numbers written exactly
(decimals are not rounded through floats), dates ISO 8601 strings.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from django.db import connection
from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from govdata.catalog.vocab import DataType

from . import masking, tables
from . import query as q
from .models import Mask, Resource

BOM = "\ufeff"
BUFFER_BYTES = 64 * 1024
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_576
XLSX_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMATS = tuple(CONTENT_TYPES)


class Export:
    """An iterable of bytes: the export being written. ``rows`` counts the rows read so far;
    ``on_complete(rows)`` is called once the last byte has been produced (not when the
    export is closed early), for the caller's audit record."""

    def __init__(self, fmt: str, plan: q.Plan, generate: Callable[[Export], Iterator[bytes]], on_complete=None):
        self.format = fmt
        self.extension = fmt
        self.content_type = CONTENT_TYPES[fmt]
        self.plan = plan
        self.rows = 0
        self.complete = False
        self._on_complete = on_complete
        self._chunks = self._run(generate)

    def _run(self, generate) -> Iterator[bytes]:
        yield from generate(self)
        self.complete = True
        if self._on_complete is not None:
            self._on_complete(self.rows)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        self._chunks.close()


def export(
    resource: Resource,
    query: q.Query,
    fmt: str,
    *,
    header: str = "name",
    chunk_rows: int = q.CHUNK_ROWS,
    buffer_bytes: int = BUFFER_BYTES,
    on_complete: Callable[[int], Any] | None = None,
    use_copy: bool | None = None,
) -> Export:
    """``query``'s full result over ``resource`` as a stream in ``fmt`` (csv, json, xlsx).
    ``header``: "name" (item names) or "code" for CSV and XLSX. ``use_copy`` forces (or, with
    False, avoids) PostgreSQL's COPY for CSV; by default it is used on PostgreSQL."""
    if fmt not in CONTENT_TYPES:
        raise q.QueryError("format", _("Choose one of %(formats)s.") % {"formats": ", ".join(FORMATS)})
    if header not in ("name", "code"):
        raise q.QueryError("header", _("Choose a header of item names or codes."))
    plan = q.prepare_all(resource, query)
    titles = [f.name if header == "name" else f.code for f in plan.fields]
    if fmt == "csv":
        if use_copy is None:
            use_copy = connection.vendor == "postgresql"
        if use_copy and connection.vendor != "postgresql":
            raise ValueError("COPY needs PostgreSQL")
        writer = _csv_copy if use_copy else _csv_rows

        def generate(ex: Export) -> Iterator[bytes]:
            return writer(ex, titles, chunk_rows, buffer_bytes)

    elif fmt == "json":

        def generate(ex: Export) -> Iterator[bytes]:
            return _json_rows(ex, chunk_rows, buffer_bytes)

    else:

        def generate(ex: Export) -> Iterator[bytes]:
            return _xlsx_rows(ex, titles, resource.name, chunk_rows, buffer_bytes)

    return Export(fmt, plan, generate, on_complete)


def streaming_response(stream: Export, *, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream, content_type=stream.content_type)
    response["Content-Disposition"] = content_disposition_header(True, f"{filename}.{stream.extension}")
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- CSV ------------------------------------------------------------------------------------


def defuse(text: str | None) -> str | None:
    """A text cell that spreadsheet programs will not run as a formula."""
    if text and text[0] in FORMULA_STARTS:
        return "'" + text
    return text


def _is_text(f: q.Field) -> bool:
    return f.masked or f.data_type in q.TEXT_TYPES


def _csv_cell(plan: q.Plan, f: q.Field) -> Callable[[Any], Any]:
    """The CSV cell of a field's database value (not None): read, masked, as text, defused,
    composed once so a cell costs one or two calls."""
    read = q.reader(f.data_type)
    rule = masking.RULES.get(plan.columns[f.code].mask) if f.masked else None
    text = q.text_function(f.data_type)
    if f.data_type in q.TEXT_TYPES and read is None:
        text = None  # already text
    steps = [step for step in (read, text, rule) if step is not None]
    if _is_text(f):
        steps.append(defuse)
    if not steps:
        return lambda value: value
    if len(steps) == 1:
        return steps[0]
    if len(steps) == 2:
        first, second = steps
        return lambda value: second(first(value))

    def cell(value: Any) -> Any:
        for step in steps:
            value = step(value)
        return value

    return cell


def _header(titles: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([defuse(" ".join(t.split())) for t in titles])
    return BOM + buffer.getvalue()


def _csv_rows(ex: Export, titles: list[str], chunk_rows: int, buffer_bytes: int) -> Iterator[bytes]:
    buffer = io.StringIO()
    # "\r\n": Python's csv module quotes a cell only for the line end's own characters, and a
    # cell may hold a lone "\r".
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(_header(titles))
    cells = [_csv_cell(ex.plan, f) for f in ex.plan.fields]
    width = len(cells)
    for chunk in q.iterate_tuples(ex.plan, chunk_rows=chunk_rows, raw=True):
        writer.writerows(
            [None if v is None else cell(v) for cell, v in zip(cells, row[:width], strict=True)] for row in chunk
        )
        ex.rows += len(chunk)
        if buffer.tell() >= buffer_bytes:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _cat(*parts: Any) -> Any:
    expression = parts[0]
    for part in parts[1:]:
        expression = expression.op("||", return_type=sa.Text)(part)
    return expression


# The usual lengths get a branch of their own with a constant run of stars, chosen by a simple
# CASE on char_length (evaluated once a row); other lengths take the general expression.
_USUAL_LENGTHS = {Mask.ID_NUMBER: (18, 15), Mask.MOBILE: (11,), Mask.BANK_CARD: (16, 19)}


def _sql_mask(mask: str, text: Any) -> Any:
    """``masking``'s rules as PostgreSQL expressions (NULL stays NULL)."""
    n = sa.func.char_length(text)

    def stars(count: Any) -> Any:
        if isinstance(count, int):
            return sa.literal(masking.STAR * count, sa.Text)
        return sa.func.repeat(sa.literal(masking.STAR, sa.Text), count, type_=sa.Text)

    def left(count: int) -> Any:
        return sa.func.left(text, count, type_=sa.Text)

    if mask in masking.KEEP:
        head, tail = masking.KEEP[mask]
        right = sa.func.right(text, tail, type_=sa.Text)
        general = sa.case((n > head + tail, _cat(left(head), stars(n - head - tail), right)), else_=stars(n))
        usual = {length: _cat(left(head), stars(length - head - tail), right) for length in _USUAL_LENGTHS[mask]}
        return sa.case(usual, value=n, else_=general)
    if mask == Mask.NAME:
        compound = left(2).in_(sorted(masking.COMPOUND_SURNAMES))
        general = sa.case(
            (n <= 1, text),
            (sa.and_(n > 2, compound), _cat(left(2), stars(n - 2))),
            else_=_cat(left(1), stars(n - 1)),
        )
        usual = {
            2: _cat(left(1), stars(1)),
            3: sa.case((compound, _cat(left(2), stars(1))), else_=_cat(left(1), stars(2))),
        }
        return sa.case(usual, value=n, else_=general)
    raise ValueError(mask)


# Code points of FORMULA_STARTS: ascii() of a text is its first character's code point.
_FORMULA_CODES = sorted(ord(c) for c in FORMULA_STARTS)


def sql_text(plan: q.Plan, f: q.Field) -> Any:
    """A field's CSV cell as a PostgreSQL expression: the same text ``_csv_rows`` writes.
    Chosen for speed: casts over to_char (Django's psycopg needs DateStyle ISO anyway), and
    ``ascii()`` (an integer) to spot formula characters."""
    col = plan.table.c[f.code]
    data_type = f.data_type
    if data_type in q.TEXT_TYPES:
        text = col
    elif data_type == DataType.DATETIME:
        text = sa.cast(sa.func.date_trunc(sa.literal("second"), col, type_=sa.DateTime), sa.Text)
    elif data_type == DataType.LOGICAL:
        text = sa.case((col.is_(True), sa.literal("true")), (col.is_(False), sa.literal("false")))
    elif data_type == DataType.NUMBER:
        text = sa.cast(sa.func.trim_scale(col), sa.Text)
    else:  # date (ISO), currency numeric(20, 2), integer, float8 and float4 print as as_text does
        text = sa.cast(col, sa.Text)
    formula = sa.func.ascii(text).in_(_FORMULA_CODES)
    if f.masked:
        mask = plan.columns[f.code].mask
        # A masked value starts with the value's own first character unless it is all stars:
        # test the raw value, so the masking expression is evaluated once per row.
        if mask in masking.KEEP:
            head, tail = masking.KEEP[mask]
            formula = sa.and_(formula, sa.func.char_length(text) > head + tail)
        text = _sql_mask(mask, text)
    if _is_text(f):
        text = sa.case((formula, _cat(sa.literal("'", sa.Text), text)), else_=text)
    return text.label(f.code)


def _csv_copy(ex: Export, titles: list[str], chunk_rows: int, buffer_bytes: int) -> Iterator[bytes]:
    plan = ex.plan
    statement = sa.select(*(sql_text(plan, f) for f in plan.fields)).select_from(plan.table)
    if plan.where:
        statement = statement.where(*plan.where)
    sql, params = tables.compile_statement(statement.order_by(*plan.order_by))
    yield _header(titles).encode()
    with connection.cursor() as cursor:
        # Django's psycopg cursor binds client-side, which is what COPY needs: it takes no
        # server-side parameters. The values are still quoted by psycopg, never pasted in.
        raw = cursor.cursor
        with raw.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
            parts: list[Any] = []
            append = parts.append
            size = rows = 0
            for data in copy:  # one row per message (a fresh buffer each time)
                append(data)
                size += len(data)
                rows += 1
                if size >= buffer_bytes:
                    ex.rows = rows
                    yield b"".join(parts)
                    parts.clear()
                    size = 0
            ex.rows = rows
            if parts:
                yield b"".join(parts)


# --- JSON -----------------------------------------------------------------------------------


_json_string = json.encoder.encode_basestring  # the C encoder; keeps non-ASCII characters


def json_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else "null"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "null"
    return '"' + value.isoformat() + '"'


def _json_encoder(f: q.Field) -> Callable[[Any], str]:
    if f.masked or f.data_type in q.TEXT_TYPES:
        return lambda v: "null" if v is None else _json_string(v if isinstance(v, str) else str(v))
    if f.data_type in (DataType.DATE, DataType.DATETIME):
        return lambda v: "null" if v is None else '"' + v.isoformat() + '"'
    if f.data_type == DataType.INTEGER:
        return lambda v: "null" if v is None else str(v)
    return json_value


def _json_rows(ex: Export, chunk_rows: int, buffer_bytes: int) -> Iterator[bytes]:
    encoders = [(json.dumps(f.code, ensure_ascii=False) + ":", _json_encoder(f)) for f in ex.plan.fields]
    parts = ["["]
    size = 0
    separator = "\n"
    for chunk in q.iterate_tuples(ex.plan, chunk_rows=chunk_rows):
        for row in chunk:
            text = separator + "{" + ",".join([k + enc(v) for (k, enc), v in zip(encoders, row, strict=True)]) + "}"
            separator = ",\n"
            parts.append(text)
            size += len(text)
        ex.rows += len(chunk)
        if size >= buffer_bytes:
            yield "".join(parts).encode()
            parts, size = [], 0
    parts.append("\n]\n")
    yield "".join(parts).encode()


# --- XLSX -----------------------------------------------------------------------------------


def _sheet_title(name: str, number: int) -> str:
    title = re.sub(r"[\[\]:*?/\\']", " ", name).strip()[:25] or "Sheet"
    return title if number == 1 else f"{title} ({number})"


def _xlsx_rows(ex: Export, titles: list[str], name: str, chunk_rows: int, buffer_bytes: int) -> Iterator[bytes]:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheets = 0
    sheet = None
    used = XLSX_MAX_ROWS

    def text_cell(value: str) -> Any:
        value = XLSX_ILLEGAL.sub("", value)
        if value.startswith("="):  # a string, never a formula
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            return cell
        return value

    def cell_value(value: Any) -> Any:
        if isinstance(value, str):
            return text_cell(value)
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    try:
        for chunk in q.iterate_tuples(ex.plan, chunk_rows=chunk_rows):
            for row in chunk:
                if used >= XLSX_MAX_ROWS:
                    sheets += 1
                    sheet = workbook.create_sheet(_sheet_title(name, sheets))
                    sheet.append([text_cell(t) for t in titles])
                    used = 1
                sheet.append([cell_value(v) for v in row])
                used += 1
            ex.rows += len(chunk)
        if sheet is None:
            sheet = workbook.create_sheet(_sheet_title(name, 1))
            sheet.append([text_cell(t) for t in titles])
        with tempfile.TemporaryFile() as file:
            workbook.save(file)
            file.seek(0)
            while data := file.read(buffer_bytes):
                yield data
    finally:
        _remove_sheet_files(workbook)


def _remove_sheet_files(workbook: Any) -> None:
    """openpyxl's write-only sheets live in temporary files until the book is saved; remove
    them when it never is (an error midway), rather than at the process's exit."""
    for sheet in workbook.worksheets:
        writer = getattr(sheet, "_writer", None)
        path = getattr(writer, "out", None)
        if isinstance(path, str) and os.path.exists(path):
            try:
                sheet.close()  # finish and close its file first, so nothing writes to it later
            except Exception:  # noqa: BLE001 - best effort on a book that is being abandoned
                pass
            try:
                writer.cleanup()
            except (OSError, ValueError):
                pass
