"""The bad-input corpus (issue #4): every file is refused with a report naming the row, the
column and the reason, and the table, its counters and its current version are exactly as
before the load. The files are generated here (``corpus``), not committed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa

from govdata import testing as t
from govdata.common.digests import sm3_hex
from govdata.datastore import tables
from govdata.datastore.models import DataVersion, QuarantinedRow
from govdata.datastore.services import loads, mount
from govdata.datastore.tests.conftest import published_entry

from . import corpus as c

pytestmark = pytest.mark.req("R-21.1", "R-3.1")

H = c.PERSON_HEADER
CH = c.COMPANY_HEADER


def person_csv(*rows: list[Any], header: list[str] = H, **kwargs: Any) -> Callable[[], bytes]:
    return lambda: c.csv_bytes(header, rows, **kwargs)


def company_csv(*rows: list[Any]) -> Callable[[], bytes]:
    return lambda: c.csv_bytes(CH, rows)


def bad_id(birth: str) -> str:
    first17 = f"210802{birth}123"
    from govdata.common.validators import id_check_char

    return first17 + id_check_char(first17)


def utf8_with_a_gbk_line() -> bytes:
    good = c.csv_bytes(H, [c.person(2000 + i) for i in range(1000)])  # > 64 KB of UTF-8 first
    return good + c.csv_text(None, [c.person(3500, "李四")]).encode("gbk") + c.csv_text(None, [c.person(3501)]).encode()


def unclosed_quote() -> bytes:
    text = c.csv_text(H, [c.person(11)])
    text += f'{c.id_number(12)},"王五,13904170012,1990-01-01,3500,3,是\r\n'
    text += c.csv_text(None, [c.person(13)])
    return text.encode()


@dataclass
class Case:
    id: str
    filename: str
    data: Callable[[], bytes]
    expect: list[tuple[int | None, str | None, str]]  # (row, column, code); column None: any
    table: str = "person"
    mode: str = "replace"
    mentions: list[str] = field(default_factory=list)  # words the report or message must name


CASES = [
    # encodings: the rows are decoded right (the refused values read back as written)
    Case("gbk-text", "居民.csv", person_csv(c.person(11, "王五"), c.person(12, "赵六", 手机号码="一三九"), encoding="gbk"),
         [(3, "sjhm", "content")], mentions=["一三九", "GB18030/GBK"]),
    Case("gb18030-four-byte-characters", "居民.csv", person_csv(c.person(11, "𠀀" * 51), encoding="gb18030"),
         [(2, "xm", "length")], mentions=["𠀀𠀀𠀀"]),
    Case("utf8-bom", "居民.csv", person_csv(c.person(11), c.person(12, 家庭人数="三口"), bom=True),
         [(3, "jtrs", "type")], mentions=["三口"]),
    Case("utf8-with-an-undecodable-line", "居民.csv", utf8_with_a_gbk_line, [(1002, "", "encoding")]),
    # structure
    Case("ragged-too-few-cells", "居民.csv", person_csv(c.person(11), c.person(12)[:5], c.person(13)), [(3, "", "ragged")]),
    Case("ragged-too-many-cells", "居民.csv", person_csv(c.person(11), c.person(12), c.person(13) + ["多余"]), [(4, "", "ragged")]),
    Case("unclosed-quote", "居民.csv", unclosed_quote, [(3, "", "ragged")]),
    Case("huge-cell", "居民.csv", person_csv(c.person(11), c.person(12, "张" * 1_000_001)), [(3, "", "too_large")]),
    Case("empty-file", "居民.csv", lambda: b"", [(None, "", "empty")]),
    Case("blank-lines-only", "居民.csv", lambda: b"\r\n\r\n   \r\n", [(None, "", "empty")]),
    Case("header-only", "居民.csv", person_csv(), [(None, "", "no_rows")]),
    Case("unknown-columns", "居民.csv", person_csv(c.person(11) + ["x"], header=[*H, "婚姻状况"]), [(1, "", "header")],
         mentions=["婚姻状况"]),
    Case("missing-required-column", "居民.csv", lambda: c.csv_bytes([h for h in H if h != "姓名"], [c.person(11)[:1] + c.person(11)[2:]]),
         [(1, "", "header")], mentions=["姓名"]),
    Case("column-given-twice", "居民.csv", person_csv(c.person(11) + ["张三"], header=[*H, "xm"]), [(1, "", "header")],
         mentions=["xm"]),
    # types and content
    Case("wrong-type-integer", "居民.csv", person_csv(c.person(11, 家庭人数="3.5")), [(2, "jtrs", "type")]),
    Case("wrong-type-decimal", "居民.csv", person_csv(c.person(11), c.person(12, 月收入="三千")), [(3, "ysr", "type")]),
    Case("decimal-too-large", "居民.csv", person_csv(c.person(11, 月收入="1" + "0" * 20)), [(2, "ysr", "range")]),
    Case("boolean-not-yes-or-no", "居民.csv", person_csv(c.person(11, 是否在册="可能")), [(2, "sfzc", "type")]),
    Case("id-number-check-character", "居民.csv", person_csv(c.person(11, 公民身份号码=c.bad_check(c.id_number(11)))),
         [(2, "sfzh", "content")]),
    Case("id-number-impossible-birth-date", "居民.csv", person_csv(c.person(11, 公民身份号码=bad_id("19900230"))),
         [(2, "sfzh", "content")]),
    Case("id-number-born-in-the-future", "居民.csv", person_csv(c.person(11, 公民身份号码=bad_id("20300101"))),
         [(2, "sfzh", "content")]),
    Case("id-number-wrong-shape", "居民.csv", person_csv(c.person(11, 公民身份号码="21080219900101001")), [(2, "sfzh", "content")]),
    Case("mobile-number-invalid", "居民.csv", person_csv(c.person(11, 手机号码="12345678901")), [(2, "sjhm", "content")]),
    Case("text-too-long", "居民.csv", person_csv(c.person(11, "张" * 51)), [(2, "xm", "length")]),
    Case("required-value-missing", "居民.csv", person_csv(c.person(11), c.person(12, 姓名="")), [(3, "xm", "required")]),
    Case("key-value-missing", "居民.csv", person_csv(c.person(11, 公民身份号码=" ")), [(2, "sfzh", "required")]),
    Case("nul-character", "居民.csv", person_csv(c.person(11, "张\x00三")), [(2, "xm", "type")]),
    Case("impossible-dates", "居民.csv",
         person_csv(c.person(11, 出生日期="2024-02-30"), c.person(12, 出生日期="2024年13月1日"), c.person(13, 出生日期="20240231"),
                    c.person(14, 出生日期="2023/2/29")),
         [(2, "csrq", "type"), (3, "csrq", "type"), (4, "csrq", "type"), (5, "csrq", "type")]),
    Case("date-in-words", "居民.csv", person_csv(c.person(11, 出生日期="明天")), [(2, "csrq", "type")]),
    Case("duplicate-keys-in-the-file", "居民.csv", person_csv(c.person(11), c.person(12), c.person(11, "另一个")),
         [(4, "sfzh", "duplicate")], mentions=["2"]),
    Case("append-key-already-loaded", "居民.csv", person_csv(c.person(11), c.person(1)), [(3, "sfzh", "exists")], mode="append"),
    # workbooks and other formats
    Case("formula-cells", "居民.xlsx", lambda: c.xlsx_bytes(H, [c.person(11), c.person(12, 家庭人数="=1+2")]), [(3, "", "formula")]),
    Case("xlsx-zip-bomb", "居民.xlsx", lambda: c.zip_bomb_xlsx(), [(None, "", "archive")]),
    Case("csv-named-xlsx", "居民.xlsx", person_csv(c.person(11)), [(None, "", "format")], mentions=["CSV"]),
    Case("xlsx-named-csv", "居民.csv", lambda: c.xlsx_bytes(H, [c.person(11)]), [(None, "", "format")], mentions=[".xlsx"]),
    Case("zip-that-is-no-workbook", "居民.xlsx", c.docx_like_zip, [(None, "", "archive")]),
    Case("old-xls-workbook", "居民.xls", lambda: c.OLE_HEADER, [(None, "", "format")], mentions=[".xls"]),
    Case("image-named-csv", "居民.csv", lambda: c.PNG_HEADER, [(None, "", "format")]),
    Case("json-lines-broken-line", "居民.jsonl",
         lambda: c.jsonl_bytes([dict(zip(H, c.person(11), strict=True))] * 3, broken={2: '{"sfzh": "2108'}), [(2, "", "broken")]),
    Case("json-lines-not-an-object", "居民.jsonl", lambda: c.jsonl_bytes([[1, 2]]), [(1, "", "broken")]),
    Case("json-lines-unknown-key", "居民.jsonl", lambda: c.jsonl_bytes([{"sfzh": c.id_number(11), "xm": "王五", "爱好": "书法"}]),
         [(1, "", "unknown_column")], mentions=["爱好"]),
    Case("json-array", "居民.json", lambda: b'[{"sfzh": "1"}]', [(None, "", "format")]),
    # the company table: credit codes, numbers, times
    Case("credit-code-check-character", "法人.csv", company_csv(c.company(21, 统一社会信用代码=c.credit_code(21)[:17] + "0")),
         [(2, "tyshxydm", "content")], table="company"),
    Case("credit-code-wrong-length", "法人.csv", company_csv(c.company(21), c.company(22, 统一社会信用代码=c.credit_code(22)[:17])),
         [(3, "tyshxydm", "content")], table="company"),
    Case("datetime-impossible", "法人.csv", company_csv(c.company(21, 更新时间="2025-11-02 25:61")), [(2, "gxsj", "type")],
         table="company"),
    Case("single-precision-out-of-range", "法人.csv", company_csv(c.company(21, 纬度="1e39")), [(2, "wd", "range")], table="company"),
    Case("double-not-a-number", "法人.csv", company_csv(c.company(21, 经度="东经122度")), [(2, "jd", "type")], table="company"),
    Case("number-too-many-digits", "法人.csv", company_csv(c.company(21, 注册资本="1" + "0" * 30)), [(2, "zczb", "range")],
         table="company"),
]


def snapshot(resource) -> list[tuple]:
    table = tables.table_for(resource.table_name, resource.columns.all())
    return tables.execute(sa.select(table).order_by(table.c[tables.ROW_ID]))


@pytest.fixture
def loaded(yk):
    """The two tables, each loaded with good rows: what a refused load must leave alone."""
    person = mount(t.actor(yk.police_admin), published_entry(yk), kind="table", name="居民信息表")
    company = mount(
        t.actor(yk.police_admin),
        published_entry(yk, items=c.COMPANY_ITEMS, name="法人登记信息", summary="测试用法人信息"),
        kind="table",
        name="法人登记表",
    )
    for resource, data in (
        (person, c.csv_bytes(H, [c.person(1), c.person(2), c.person(3)])),
        (company, c.csv_bytes(CH, [c.company(1), c.company(2)])),
    ):
        version = loads.load_table(t.actor(yk.police_admin), resource, data, filename="初始.csv", mode="replace")
        assert version.status == DataVersion.Status.DONE, version.report
    return {"person": person, "company": company}


def test_the_corpus_has_at_least_thirty_files():
    assert len(CASES) >= 30
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_with_a_clear_report_and_the_table_is_as_before(yk, loaded, case):
    resource = loaded[case.table]
    resource.refresh_from_db()
    before = snapshot(resource)
    counters = (resource.current_version_id, resource.row_count, resource.last_loaded_at)
    data = case.data()

    version = loads.load_table(t.actor(yk.police_staff), resource, data, filename=case.filename, mode=case.mode)

    assert version.status == DataVersion.Status.REJECTED, (version.message, version.report[:5])
    assert version.rows_loaded == 0
    assert version.checksum == sm3_hex(data)
    assert version.message
    for row, column, code in case.expect:
        matches = [
            item
            for item in version.report
            if item["row"] == row and item["code"] == code and (column is None or item["column"] == column)
        ]
        assert matches, f"no ({row}, {column}, {code}) in {version.report[:10]}"
        assert all(item["reason"] for item in matches)
    text = version.message + " ".join(f"{item['reason']} {item['value']}" for item in version.report)
    for word in case.mentions:
        assert word in text, f"{word!r} not in {text[:500]!r}"
    # exactly as before
    resource.refresh_from_db()
    assert snapshot(resource) == before
    assert (resource.current_version_id, resource.row_count, resource.last_loaded_at) == counters
    assert not tables.exists(f"{resource.table_name}_new")
    assert not QuarantinedRow.objects.filter(version=version).exists()
    assert DataVersion.objects.get(pk=version.pk).status == DataVersion.Status.REJECTED
