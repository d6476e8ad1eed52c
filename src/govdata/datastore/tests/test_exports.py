"""Streamed exports (issue #4, item 5): CSV, JSON and XLSX equal the query's full result, with
the same projection and masking, and stream with flat memory. SQLite and PostgreSQL (where CSV
goes through COPY, proven equal to the row-by-row writer)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tracemalloc
from decimal import Decimal

import pytest
from django.db import connection

from govdata.datastore import exports, masking, query
from govdata.datastore.models import Mask
from govdata.datastore.query import ALL, Query, QueryError

from .test_query import CODES, insert_rows, mount_table, people, table  # noqa: F401 - fixture



def content(stream) -> bytes:
    return b"".join(stream)


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def expected_cells(result) -> list[list[str]]:
    """The query result as CSV cells: the canonical text, text cells defused, None as ''."""
    out = []
    for row in result.rows:
        cells = []
        for f in result.fields:
            value = row[f.code]
            if f.masked or f.data_type in query.TEXT_TYPES:
                value = exports.defuse(value)
            else:
                value = query.as_text(f.data_type, value)
            cells.append("" if value is None else value)
        out.append(cells)
    return out


def csv_paths():
    return [False, True] if connection.vendor == "postgresql" else [False]


@pytest.mark.req("R-16.1")
@pytest.mark.parametrize("masked", [False, True])
def test_csv_is_the_full_query_result(table, masked):  # noqa: F811
    q = Query(projection=ALL, masked=masked, filters=[("jtrs", "gte", 1)], sort=["-csrq"], q="营口市")
    result = query.run(table, Query(**{**q.__dict__, "limit": 1000}))
    assert len(result.rows) > query.DEFAULT_LIMIT // 2
    for use_copy in csv_paths():
        rows = read_csv(content(exports.export(table, q, "csv", use_copy=use_copy)))
        assert rows[0] == [f.name for f in result.fields]
        assert rows[1:] == expected_cells(result), f"use_copy={use_copy}"
    # The whole result, not one page: more rows than a page holds.
    everything = read_csv(content(exports.export(table, Query(projection=ALL, masked=masked, limit=5), "csv")))
    assert len(everything) - 1 == len(table.rows) > query.DEFAULT_LIMIT


@pytest.mark.req("R-22.1")
def test_csv_header_codes_projection_and_masked_values(table):  # noqa: F811
    someone = table.rows[0]
    q = Query(projection=["sfzh", "xm", "csrq"], masked=True, filters=[("sfzh", "eq", someone["sfzh"])])
    for use_copy in csv_paths():
        rows = read_csv(content(exports.export(table, q, "csv", header="code", use_copy=use_copy)))
        assert rows == [
            ["sfzh", "xm", "csrq"],
            [
                someone["sfzh"][:6] + "********" + someone["sfzh"][-4:],
                masking.mask_value(Mask.NAME, someone["xm"]),
                someone["csrq"].isoformat() if someone["csrq"] else "",
            ],
        ]
    with pytest.raises(QueryError):
        exports.export(table, Query(projection=["xm"], masked=True, fields=["sfzh"]), "csv")


EDGE_ROWS = [
    # Formulas, quotes, separators and line breaks in text; masks on short and odd values;
    # numbers and floats whose text differs between naive printing and the databases'.
    {"sfzh": "=1+2", "xm": "欧阳", "sjhm": "+861381234", "yhkh": "62220212", "dz": "=HYPERLINK(\"http://x\")",
     "bz": "第一行\n第二行, \"引号\"", "csrq": dt.date(1900, 1, 1), "djsj": dt.datetime(2024, 2, 29, 23, 59, 59),
     "ysr": Decimal("0.00"), "jtrs": -3, "sfzc": False, "pf": Decimal("1000"), "jd": 1e15, "qz": 1234567.0},
    {"sfzh": "-21080219900101123", "xm": "张", "sjhm": "1381234", "yhkh": "", "dz": "@SUM(A1)",
     "bz": "\t制表符开头", "csrq": dt.date(2024, 1, 2), "djsj": dt.datetime(2024, 1, 2, 3, 4, 5),
     "ysr": Decimal("-12.50"), "jtrs": 0, "sfzc": True, "pf": Decimal("0.0001"), "jd": 0.1, "qz": 0.1},
    {"sfzh": "21080219900101123X", "xm": "诸葛亮明", "sjhm": None, "yhkh": None, "dz": "", "bz": None,
     "csrq": None, "djsj": dt.datetime(2024, 1, 2, 3, 4, 5), "ysr": None, "jtrs": None, "sfzc": None,
     "pf": Decimal("-72.5"), "jd": 1.5e-7, "qz": 1e-5},
    {"sfzh": "'引号'", "xm": "John Smith", "sjhm": "13812345678", "yhkh": "6222021234567890123", "dz": "+区",
     "bz": "\r回车", "csrq": dt.date(2000, 2, 29), "djsj": dt.datetime(1999, 12, 31, 0, 0, 0),
     "ysr": Decimal("12345678.90"), "jtrs": 9223372036854775807, "sfzc": True, "pf": Decimal("12345.0123456789"),
     "jd": 123456789012345678.0, "qz": 100.0},
    {"sfzh": "210802900101123", "xm": "欧阳明", "sjhm": "13812345678", "yhkh": "6222021234567890", "dz": "-"},
    {"sfzh": "210802199001011", "xm": "王秀英", "sjhm": "1381234567", "yhkh": "62220212345678901", "dz": "张三"},
    {"sfzh": "21080219900101123", "xm": "张三", "sjhm": "138123", "yhkh": "622202123456789012", "dz": "'"},
]  # fmt: skip


@pytest.mark.req("R-22.1")
@pytest.mark.parametrize("masked", [False, True])
def test_csv_cells_are_defused_and_rendered_the_same_by_both_paths(yk, masked):
    resource = mount_table(yk, name="边界值")
    insert_rows(resource, EDGE_ROWS)
    q = Query(projection=ALL, masked=masked)
    result = query.run(resource, q)
    expected = expected_cells(result)
    for use_copy in csv_paths():
        rows = read_csv(content(exports.export(resource, q, "csv", use_copy=use_copy)))
        assert rows[1:] == expected, f"use_copy={use_copy}"
    first = dict(zip(CODES, expected[0], strict=True))
    assert first["dz"] == '\'=HYPERLINK("http://x")'
    assert first["bz"] == '第一行\n第二行, "引号"'
    assert (first["ysr"], first["jtrs"], first["sfzc"], first["pf"]) == ("0.00", "-3", "false", "1000")
    assert (first["csrq"], first["djsj"], first["jd"], first["qz"]) == (
        "1900-01-01",
        "2024-02-29 23:59:59",
        "1e+15",
        "1.234567e+06",
    )
    second = dict(zip(CODES, expected[1], strict=True))
    assert (second["dz"], second["bz"], second["ysr"], second["pf"], second["jd"]) == (
        "'@SUM(A1)",
        "'\t制表符开头",
        "-12.50",
        "0.0001",
        "0.1",
    )
    if masked:
        assert (first["sfzh"], first["xm"], first["sjhm"], first["yhkh"]) == ("****", "欧*", "'+86***1234", "********")
        assert (second["sfzh"], second["xm"], second["sjhm"]) == ("'-21080********1123", "张", "*******")
        assert dict(zip(CODES, expected[2], strict=True))["xm"] == "诸葛**"
        assert [dict(zip(CODES, row, strict=True))["xm"] for row in expected[4:]] == ["欧阳*", "王**", "张*"]
        assert [dict(zip(CODES, row, strict=True))["sfzh"] for row in expected[4:]] == [
            "210802*****1123",
            "210802*****1011",
            "210802*******1123",
        ]
    else:
        assert (first["sfzh"], first["xm"]) == ("'=1+2", "欧阳")


@pytest.mark.req("R-16.1")
@pytest.mark.parametrize("masked", [False, True])
def test_json_is_the_full_query_result(table, masked):  # noqa: F811
    q = Query(projection=ALL, masked=masked, sort=["jtrs", "-ysr"])
    result = query.run(table, Query(**{**q.__dict__, "limit": 1000}))
    data = json.loads(content(exports.export(table, q, "json")), parse_float=Decimal)
    assert len(data) == len(table.rows)

    def jsonish(value):
        if isinstance(value, dt.date | dt.datetime):
            return value.isoformat()
        if isinstance(value, float):
            return Decimal(repr(value))
        return value

    assert data == [{k: jsonish(v) for k, v in row.items()} for row in result.rows]
    assert (
        content(exports.export(table, Query(projection=ALL, masked=False, filters=[("jtrs", "eq", 99)]), "json"))
        == b"[\n]\n"
    )


@pytest.mark.req("R-16.1")
def test_json_of_edge_values(yk):
    resource = mount_table(yk, name="边界值")
    insert_rows(resource, EDGE_ROWS)
    data = json.loads(
        content(exports.export(resource, Query(projection=ALL, masked=False), "json")), parse_float=Decimal
    )
    assert data[0]["pf"] == 1000 and data[3]["pf"] == Decimal("12345.0123456789")  # not via float
    assert data[3]["jtrs"] == 9223372036854775807
    assert data[0]["bz"] == '第一行\n第二行, "引号"' and data[2]["bz"] is None
    assert data[0]["djsj"] == "2024-02-29T23:59:59" and data[0]["sfzc"] is False


@pytest.mark.req("R-16.1")
@pytest.mark.parametrize("masked", [False, True])
def test_xlsx_is_the_full_query_result(table, masked):  # noqa: F811
    from openpyxl import load_workbook

    q = Query(projection=ALL, masked=masked, sort=["-djsj"])
    result = query.run(table, Query(**{**q.__dict__, "limit": 1000}))
    stream = exports.export(table, q, "xlsx", header="name")
    book = load_workbook(io.BytesIO(content(stream)), read_only=True)
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(max_col=len(result.fields), values_only=True))
    assert list(rows[0]) == [f.name for f in result.fields]

    def cell(value):
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return dt.datetime.combine(value, dt.time())
        return value

    assert [list(r) for r in rows[1:]] == [[cell(v) for v in row.values()] for row in result.rows]
    assert stream.rows == len(table.rows) and stream.complete


@pytest.mark.req("R-16.1")
def test_xlsx_keeps_formulas_as_text_and_continues_on_new_sheets(yk, monkeypatch):
    from openpyxl import load_workbook

    resource = mount_table(yk, name="边界值")
    insert_rows(resource, [*EDGE_ROWS, *({"sfzh": f"K{i}", "xm": "王五", "dz": "=A1\x01"} for i in range(60))])
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 25)
    data = content(exports.export(resource, Query(projection=ALL, masked=False, fields=["sfzh", "dz"]), "xlsx"))
    book = load_workbook(io.BytesIO(data))
    assert [len(list(s.iter_rows())) for s in book.worksheets] == [25, 25, 20]  # 67 rows + a header each
    assert book.worksheets[1].title.endswith("(2)")
    first = book.worksheets[0]
    assert first["B2"].value == '=HYPERLINK("http://x")' and first["B2"].data_type == "s"
    assert first["A2"].value == "=1+2" and first["A2"].data_type == "s"
    assert book.worksheets[2]["B20"].value == "=A1"  # control characters dropped, still text
    assert book.worksheets[2]["B20"].data_type == "s"


@pytest.mark.req("R-16.1")
def test_xlsx_leaves_no_temporary_files_when_it_fails_midway(table, monkeypatch):  # noqa: F811
    import os

    from openpyxl.worksheet import _writer

    real = query.iterate_tuples

    def failing(plan, **kwargs):
        chunks = real(plan, **kwargs)
        yield next(chunks)
        chunks.close()
        raise RuntimeError("the database went away")

    monkeypatch.setattr(query, "iterate_tuples", failing)
    before = set(_writer.ALL_TEMP_FILES)
    stream = exports.export(table, Query(projection=ALL, masked=False), "xlsx", chunk_rows=10)
    with pytest.raises(RuntimeError):
        content(stream)
    leftovers = [path for path in set(_writer.ALL_TEMP_FILES) - before if os.path.exists(path)]
    assert leftovers == []


# --- streaming ------------------------------------------------------------------------------


def _formats():
    return [("csv", False), ("json", None)] + ([("csv", True)] if connection.vendor == "postgresql" else [])


@pytest.mark.req("R-16.1")
def test_exports_stream_before_reading_every_row(table):  # noqa: F811
    for fmt, use_copy in _formats():
        kwargs = {"use_copy": use_copy} if fmt == "csv" else {}
        stream = exports.export(table, Query(projection=ALL, masked=True), fmt, chunk_rows=10, buffer_bytes=1, **kwargs)
        first = next(stream)
        assert first
        second = next(stream)
        assert second
        assert 0 < stream.rows < len(table.rows), (fmt, use_copy)
        rest = content(stream)
        assert rest and stream.rows == len(table.rows) and stream.complete


@pytest.mark.req("R-16.1")
def test_closing_an_export_midway_leaves_the_connection_usable(table):  # noqa: F811
    done = []
    for fmt, use_copy in [*_formats(), ("xlsx", None)]:
        kwargs = {"use_copy": use_copy} if fmt == "csv" else {}
        stream = exports.export(
            table,
            Query(projection=ALL, masked=False),
            fmt,
            chunk_rows=10,
            buffer_bytes=1,
            on_complete=done.append,
            **kwargs,
        )
        next(stream)
        stream.close()
        assert not stream.complete
        # The same connection answers the next query.
        assert query.run(table, Query(projection=ALL, masked=False, limit=1, total="exact")).total == len(table.rows)
    assert done == []
    stream = exports.export(table, Query(projection=ALL, masked=False), "csv", on_complete=done.append)
    content(stream)
    assert done == [len(table.rows)]


def _peak(stream) -> tuple[int, int]:
    """Peak Python memory while the stream is consumed, and the bytes it produced."""
    tracemalloc.start()
    total = 0
    try:
        for chunk in stream:
            total += len(chunk)
        return tracemalloc.get_traced_memory()[1], total
    finally:
        tracemalloc.stop()


@pytest.mark.req("R-16.1")
def test_memory_stays_flat_while_exporting(yk):
    resource = mount_table(yk, name="大表")
    rows = people(20000, seed=11)
    for i, row in enumerate(rows):
        row["sfzh"] = f"{i:06d}" + row["sfzh"][6:]
        row["bz"] = "走访记录" * 10
    insert_rows(resource, rows)
    small = Query(projection=ALL, masked=True, filters=[("sfzh", "in", [r["sfzh"] for r in rows[:1000]])])
    large = Query(projection=ALL, masked=True)
    for fmt, use_copy in _formats():
        kwargs = {"use_copy": use_copy} if fmt == "csv" else {}
        content(exports.export(resource, small, fmt, **kwargs))  # warm caches
        peak_small, bytes_small = _peak(exports.export(resource, small, fmt, chunk_rows=500, **kwargs))
        stream = exports.export(resource, large, fmt, chunk_rows=500, **kwargs)
        peak_large, bytes_large = _peak(stream)
        assert stream.rows == len(rows)
        assert bytes_large > 9 * bytes_small > 0
        # Twenty times the rows, about the same memory: nothing grows with the result.
        assert peak_large < 1.5 * peak_small + 256 * 1024, (fmt, use_copy, peak_small, peak_large, bytes_large)
        assert peak_large < bytes_large / 2, (fmt, use_copy, peak_large, bytes_large)


@pytest.mark.req("R-16.1")
def test_export_validates_before_streaming_and_makes_a_response(table):  # noqa: F811
    with pytest.raises(QueryError) as err:
        exports.export(table, Query(projection=ALL, masked=False, filters=[("nosuch", "eq", 1)]), "csv")
    assert err.value.parameter == "filters"
    with pytest.raises(QueryError) as err:
        exports.export(table, Query(projection=ALL, masked=False), "pdf")
    assert err.value.parameter == "format"
    with pytest.raises(QueryError) as err:
        exports.export(table, Query(projection=ALL, masked=False), "csv", header="title")
    assert err.value.parameter == "header"
    # Page settings do not matter to an export (a deep offset or a cursor would otherwise).
    deep = exports.export(table, Query(projection=ALL, masked=False, offset=50, limit=5, total="exact"), "csv")
    assert len(read_csv(content(deep))) == len(table.rows) + 1
    stream = exports.export(table, Query(projection=ALL, masked=True, fields=["xm"]), "csv")
    response = exports.streaming_response(stream, filename="居民信息")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "filename*=utf-8''%E5%B1%85%E6%B0%91%E4%BF%A1%E6%81%AF.csv" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    response.close()
    assert len(read_csv(body)) == len(table.rows) + 1
