"""The query engine (issue #4, item 5): filters, q, sort, fields within the projection, keyset
and offset pages, totals, and no injection path. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal

import pytest
import sqlalchemy as sa
from django.core import signing
from django.db import connection

from govdata import testing as t
from govdata.common.validators import id_check_char
from govdata.datastore import query, services, tables
from govdata.datastore.models import Mask, ResourceColumn
from govdata.datastore.query import ALL, Filter, Query, QueryError

from .conftest import published_entry

# Every data type of the guide, the four masking rules, a key.
ITEMS = [
    {
        "name": "公民身份号码",
        "code": "sfzh",
        "data_type": "C",
        "length": 18,
        "required": True,
        "is_key": True,
        "sensitive": True,
    },
    {"name": "姓名", "code": "xm", "data_type": "C", "length": 50, "required": True, "sensitive": True},
    {"name": "手机号码", "code": "sjhm", "data_type": "C", "length": 11, "sensitive": True},
    {"name": "银行卡号", "code": "yhkh", "data_type": "C", "length": 19, "sensitive": True},
    {"name": "住址", "code": "dz", "data_type": "C", "length": 200},
    {"name": "备注", "code": "bz", "data_type": "M"},
    {"name": "出生日期", "code": "csrq", "data_type": "D"},
    {"name": "登记时间", "code": "djsj", "data_type": "T"},
    {"name": "月收入", "code": "ysr", "data_type": "Y"},
    {"name": "家庭人数", "code": "jtrs", "data_type": "I"},
    {"name": "是否在册", "code": "sfzc", "data_type": "L"},
    {"name": "评分", "code": "pf", "data_type": "N"},
    {"name": "经度", "code": "jd", "data_type": "B"},
    {"name": "权重", "code": "qz", "data_type": "F"},
]
CODES = [i["code"] for i in ITEMS]
PLACES = ["站前区", "西市区", "鲅鱼圈区", "老边区", "盖州市", "大石桥市"]
STREETS = ["渤海大街", "辽河大街", "盐滩路", "平安路", "新兴大街", "青龙山大街"]
SURNAMES = ["张", "王", "李", "刘", "陈", "欧阳", "司马", "诸葛", "赵", "孙"]
GIVEN = ["伟", "芳", "娜娜", "秀英", "敏", "静", "丽", "强", "磊", "军"]


def id_number(division: str, birth: dt.date, serial: int) -> str:
    first17 = f"{division}{birth:%Y%m%d}{serial % 1000:03d}"
    return first17 + id_check_char(first17)


def person(i: int, rng: random.Random) -> dict:
    """A generated resident: realistic values, with ties and NULLs spread over every column."""
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 20000))
    place = PLACES[i % len(PLACES)]
    return {
        "sfzh": id_number(f"21080{1 + i % 4}", birth, i),
        "xm": rng.choice(SURNAMES) + rng.choice(GIVEN),
        "sjhm": None if i % 7 == 0 else f"13{rng.randrange(10**9):09d}",
        "yhkh": f"622202{rng.randrange(10**13):013d}",
        "dz": None if i % 11 == 0 else f"营口市{place}{rng.choice(STREETS)}{i % 50}号",
        "bz": None if i % 5 else rng.choice(["低保户", "退役军人", "独居老人 需定期走访", "残疾人"]),
        "csrq": None if i % 9 == 0 else birth,
        "djsj": dt.datetime(2024, 1 + i % 12, 1 + i % 28, i % 24, i % 60, 0),
        "ysr": None if i % 8 == 0 else Decimal(rng.choice([1800, 2500, 3200, 4800, 6500])) + Decimal("0.50"),
        "jtrs": None if i % 10 == 0 else 1 + i % 4,
        "sfzc": None if i % 6 == 0 else bool(i % 2),
        "pf": None if i % 4 == 0 else Decimal(rng.choice(["60", "72.5", "88.25", "95"])),
        "jd": None if i % 3 == 0 else round(122.1 + (i % 10) / 100, 4),
        "qz": None if i % 5 == 0 else (i % 4) * 0.25,
    }


def people(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    return [person(i, rng) for i in range(n)]


def mount_table(yk, items=ITEMS, name="居民信息表"):
    entry = published_entry(yk, items=items)
    return services.mount(t.actor(yk.police_staff), entry, kind="table", name=name)


def insert_rows(resource, rows: list[dict]) -> None:
    """Put rows into a table resource directly (the ingest service is a separate piece)."""
    columns = list(resource.columns.all())
    table = tables.table_for(resource.table_name, columns)
    codes = [c.code for c in columns]
    compiled = sa.insert(table).values({c: sa.bindparam(c) for c in codes}).compile(dialect=tables.dialect())
    names = compiled.positiontup
    with connection.cursor() as cursor:
        if names is not None:
            cursor.executemany(str(compiled), [[row.get(n) for n in names] for row in rows])
        else:
            cursor.executemany(str(compiled), [{n: row.get(n) for n in codes} for row in rows])


D1, D2 = people(120)[1]["csrq"], people(120)[2]["csrq"]


@pytest.fixture
def table(yk):
    resource = mount_table(yk)
    rows = people(120)
    insert_rows(resource, rows)
    resource.rows = rows  # the generated rows, in row id order
    return resource


def everything(**kwargs) -> Query:
    return Query(projection=ALL, masked=False, **kwargs)


def keys(result) -> list[str]:
    return [r["sfzh"] for r in result.rows]


def all_keys(resource, **kwargs) -> list[str]:
    return keys(query.run(resource, everything(limit=1000, fields=["sfzh"], **kwargs)))


# --- values and filters ---------------------------------------------------------------------


@pytest.mark.req("R-16.1")
def test_rows_come_back_typed_the_same_on_both_databases(table):
    result = query.run(table, everything(limit=3))
    assert result.codes == CODES
    assert [f.name for f in result.fields][:2] == ["公民身份号码", "姓名"]
    first = result.rows[1]
    expected = table.rows[1]
    for code in CODES:
        assert first[code] == expected[code], code
        if expected[code] is not None:
            assert type(first[code]) is type(expected[code]), code
    assert str(first["ysr"]) == str(expected["ysr"])  # currency keeps two places
    assert result.total is None and result.total_kind is None


@pytest.mark.req("R-16.1")
@pytest.mark.parametrize(
    ("filters", "predicate"),
    [
        ([("jtrs", "eq", 2)], lambda r: r["jtrs"] == 2),
        ([("jtrs", "eq", "2")], lambda r: r["jtrs"] == 2),
        ([("sfzc", "eq", "是")], lambda r: r["sfzc"] is True),
        ([("sfzc", "eq", "false")], lambda r: r["sfzc"] is False),
        ([("ysr", "eq", "3,200.50")], lambda r: r["ysr"] == Decimal("3200.50")),
        ([("pf", "eq", "72.5")], lambda r: r["pf"] == Decimal("72.5")),
        ([("qz", "eq", 0.25)], lambda r: r["qz"] == 0.25),
        ([("xm", "in", ["张伟", "欧阳娜娜", "无此人"])], lambda r: r["xm"] in ("张伟", "欧阳娜娜")),
        ([("jtrs", "in", [1, "3"])], lambda r: r["jtrs"] in (1, 3)),
        (
            [("csrq", "in", [f"{D1.year}/{D1.month}/{D1.day}", f"{D2.year}年{D2.month}月{D2.day}日", "2001-02-03"])],
            lambda r: r["csrq"] in (D1, D2),
        ),
        ([("jtrs", "gt", 2)], lambda r: r["jtrs"] is not None and r["jtrs"] > 2),
        ([("jtrs", "gte", 2)], lambda r: r["jtrs"] is not None and r["jtrs"] >= 2),
        ([("jtrs", "lt", 2)], lambda r: r["jtrs"] is not None and r["jtrs"] < 2),
        ([("jtrs", "lte", 2)], lambda r: r["jtrs"] is not None and r["jtrs"] <= 2),
        (
            [("csrq", "gte", "1970-01-01"), ("csrq", "lt", "19800101")],
            lambda r: r["csrq"] is not None and dt.date(1970, 1, 1) <= r["csrq"] < dt.date(1980, 1, 1),
        ),
        ([("csrq", "gt", "1990年1月1日")], lambda r: r["csrq"] is not None and r["csrq"] > dt.date(1990, 1, 1)),
        ([("djsj", "gte", "2024-06-01 12:00")], lambda r: r["djsj"] >= dt.datetime(2024, 6, 1, 12)),
        ([("djsj", "lt", "2024/3/1")], lambda r: r["djsj"] < dt.datetime(2024, 3, 1)),
        ([("ysr", "gt", "4,000")], lambda r: r["ysr"] is not None and r["ysr"] > 4000),
        ([("jd", "lte", "122.13")], lambda r: r["jd"] is not None and r["jd"] <= 122.13),
        ([("dz", "prefix", "营口市站前区")], lambda r: (r["dz"] or "").startswith("营口市站前区")),
        ([("sfzh", "prefix", "210802")], lambda r: r["sfzh"].startswith("210802")),
        ([("sjhm", "null")], lambda r: r["sjhm"] is None),
        ([("sjhm", "notnull")], lambda r: r["sjhm"] is not None),
        ([("csrq", "null"), ("jtrs", "notnull")], lambda r: r["csrq"] is None and r["jtrs"] is not None),
        ([Filter("sfzc", "eq", True), Filter("jtrs", "gte", 3)], lambda r: r["sfzc"] is True and (r["jtrs"] or 0) >= 3),
    ],
)
def test_every_filter_operation(table, filters, predicate):
    expected = [r["sfzh"] for r in table.rows if predicate(r)]
    assert expected, "the generated rows should exercise the filter"
    assert all_keys(table, filters=filters) == expected


@pytest.mark.req("R-16.1")
def test_prefix_is_case_sensitive_and_literal(yk):
    resource = mount_table(yk, items=ITEMS[:1] + [{"name": "编号", "code": "bh", "data_type": "C", "length": 30}])
    insert_rows(
        resource,
        [
            {"sfzh": "1", "bh": "AB_1"},
            {"sfzh": "2", "bh": "ab_2"},
            {"sfzh": "3", "bh": "ABC1"},
            {"sfzh": "4", "bh": "AB%9"},
        ],
    )
    assert all_keys(resource, filters=[("bh", "prefix", "AB")]) == ["1", "3", "4"]
    assert all_keys(resource, filters=[("bh", "prefix", "AB_")]) == ["1"]
    assert all_keys(resource, filters=[("bh", "prefix", "AB%")]) == ["4"]


@pytest.mark.req("R-16.1")
@pytest.mark.parametrize(
    ("filters", "field", "fragment"),
    [
        ([("csrq", "eq", "2024-13-01")], "csrq", "2024-13-01"),
        ([("csrq", "gte", "yesterday")], "csrq", "yesterday"),
        ([("djsj", "lt", "2024-01-01 25:00")], "djsj", "2024-01-01 25:00"),
        ([("jtrs", "eq", "2.5")], "jtrs", "2.5"),
        ([("jtrs", "eq", "99999999999999999999")], "jtrs", "99999999999999999999"),
        ([("ysr", "gt", "abc")], "ysr", "abc"),
        ([("pf", "gt", "NaN")], "pf", "NaN"),
        ([("jd", "gt", "1e999")], "jd", "1e999"),
        ([("sfzc", "eq", "maybe")], "sfzc", "maybe"),
        ([("sfzc", "eq", "")], "sfzc", ""),
        ([("xm", "eq", None)], "xm", "null"),
        ([("xm", "eq", ["张伟"])], "xm", "张伟"),
        ([("xm", "eq", "x" * 2000)], "xm", "1000"),
        ([("jtrs", "in", "1,2")], "jtrs", "list"),
        ([("jtrs", "in", list(range(1001)))], "jtrs", "1000"),
        ([("jtrs", "prefix", "1")], "jtrs", "text"),
        ([("xm", "prefix", "")], "xm", "beginning"),
        ([("xm", "like", "张%")], "xm", "like"),
        ([("xm",)], "xm", "value"),
        ([("xm", 5, "x")], "xm", "operation"),
    ],
)
def test_bad_filter_values_name_the_field(table, filters, field, fragment):
    with pytest.raises(QueryError) as err:
        query.run(table, everything(filters=filters))
    assert err.value.parameter == "filters"
    assert err.value.field == field
    message = err.value.message_dict["filters"][0]
    assert field in message and fragment.lower() in message.lower(), message


@pytest.mark.req("R-16.1")
@pytest.mark.parametrize(
    ("kwargs", "parameter", "bad"),
    [
        ({"fields": ["xm", "nosuch"]}, "fields", "nosuch"),
        ({"fields": "xm,_row_id"}, "fields", "_row_id"),
        ({"fields": ["xm; DROP TABLE x"]}, "fields", "xm; DROP TABLE x"),
        ({"sort": ["-nosuch"]}, "sort", "nosuch"),
        ({"sort": ['"xm"']}, "sort", '"xm"'),
        ({"sort": ["xm desc"]}, "sort", "xm desc"),
        ({"sort": ["(SELECT 1)"]}, "sort", "(SELECT 1)"),
        ({"filters": [("1=1 OR xm", "eq", "x")]}, "filters", "1=1 OR xm"),
        ({"filters": [("ds_1.xm", "eq", "x")]}, "filters", "ds_1.xm"),
        ({"filters": [(None, "eq", "x")]}, "filters", "None"),
    ],
)
def test_names_come_only_from_the_columns(table, kwargs, parameter, bad):
    with pytest.raises(QueryError) as err:
        query.run(table, everything(**kwargs))
    assert err.value.parameter == parameter
    assert bad in err.value.message_dict[parameter][0]


@pytest.mark.req("R-16.1")
def test_column_names_are_case_insensitive_like_the_catalog_codes(table):
    result = query.run(
        table, everything(fields=["SFZH", "Xm"], sort=["-JTRS"], filters=[("SFZC", "eq", True)], limit=5)
    )
    assert result.codes == ["sfzh", "xm"]


# --- full text ------------------------------------------------------------------------------


@pytest.mark.req("R-16.1")
def test_q_needs_every_word_in_some_text_column(table):
    def matches(r, *words):
        text = " ".join(v for v in (r["sfzh"], r["xm"], r["sjhm"], r["yhkh"], r["dz"], r["bz"]) if v)
        return all(w in text for w in words)

    assert all_keys(table, q="站前区") == [r["sfzh"] for r in table.rows if matches(r, "站前区")]
    # Words from different columns: the address and the memo.
    expected = [r["sfzh"] for r in table.rows if matches(r, "鲅鱼圈", "低保")]
    assert expected
    assert all_keys(table, q="鲅鱼圈 低保户") == expected
    assert all_keys(table, q="盖州市渤海大街") == [r["sfzh"] for r in table.rows if matches(r, "盖州", "渤海", "大街")]
    assert all_keys(table, q="火星") == []
    # Punctuation alone is no words: no condition.
    assert len(all_keys(table, q="，。！")) == len(table.rows)


@pytest.mark.req("R-16.1")
def test_q_is_case_insensitive_and_treats_like_characters_literally(yk):
    resource = mount_table(yk, items=ITEMS[:1] + [{"name": "说明", "code": "sm", "data_type": "M"}])
    insert_rows(
        resource,
        [
            {"sfzh": "1", "sm": "完成率100%"},
            {"sfzh": "2", "sm": "完成率1000"},
            {"sfzh": "3", "sm": "code_a"},
            {"sfzh": "4", "sm": "codeXa"},
            {"sfzh": "5", "sm": "GovData 平台"},
            {"sfzh": "6", "sm": "a/b 路径"},
        ],
    )
    assert all_keys(resource, q="govdata") == ["5"]
    assert all_keys(resource, q="GOVDATA") == ["5"]
    assert all_keys(resource, q="code_a") == ["3"]  # "_" is not a wildcard
    assert all_keys(resource, q="100") == ["1", "2"]
    assert all_keys(resource, q="a/b") == ["6"] or all_keys(resource, q="a/b") == ["3", "4", "6"]


@pytest.mark.req("R-16.1")
def test_q_searches_only_readable_text_columns(table):
    someone = table.rows[3]
    assert all_keys(table, q=someone["sfzh"]) == [someone["sfzh"]]
    hidden = Query(projection=["xm", "dz"], masked=False, q=someone["sfzh"], limit=1000)
    assert query.run(table, hidden).rows == []
    numbers_only = Query(projection=["jtrs", "csrq"], masked=False, q="站前区")
    with pytest.raises(QueryError) as err:
        query.run(table, numbers_only)
    assert err.value.parameter == "q"


@pytest.mark.req("R-16.1")
def test_q_limits(table):
    with pytest.raises(QueryError) as err:
        query.run(table, everything(q="站" * 201))
    assert err.value.parameter == "q"
    with pytest.raises(QueryError):
        query.run(table, everything(q=" ".join(f"词{i}" for i in range(30))))


# --- sort, fields and projection ------------------------------------------------------------


def _null_last_key(value, descending):
    # Ascending: NULLs last; descending: NULLs first. Returns a key for Python's ascending sort.
    if descending:
        return (0, 0) if value is None else (1, _neg(value))
    return (1, 0) if value is None else (0, value)


def _neg(value):
    if isinstance(value, bool):
        return -int(value)
    if isinstance(value, dt.datetime):
        return -value.timestamp()
    if isinstance(value, dt.date):
        return -value.toordinal()
    return -value


@pytest.mark.req("R-16.1")
@pytest.mark.parametrize(
    "sort",
    [[], ["jtrs"], ["-jtrs"], ["sfzc", "-csrq"], ["-ysr", "jtrs"], ["-jd"], ["qz", "-pf", "djsj"], ["-sfzc", "csrq"]],
)
def test_sort_orders_nulls_last_ascending_and_breaks_ties_by_row_id(table, sort):
    ids = {r["sfzh"]: i for i, r in enumerate(table.rows)}
    codes = [s.lstrip("-") for s in sort]
    expected = sorted(
        table.rows,
        key=lambda r: (*(_null_last_key(r[s.lstrip("-")], s.startswith("-")) for s in sort), ids[r["sfzh"]]),
    )
    result = query.run(table, everything(sort=sort, fields=["sfzh", *codes], limit=1000))
    assert keys(result) == [r["sfzh"] for r in expected]


@pytest.mark.req("R-16.1")
def test_sort_text_and_bad_sort(table):
    result = query.run(table, everything(sort="-xm,sfzh", fields="xm,sfzh", limit=1000))
    pairs = [(r["xm"], r["sfzh"]) for r in result.rows]
    assert [p[0] for p in pairs] == sorted((p[0] for p in pairs), reverse=True)
    for kwargs in ({"sort": ["xm", "-xm"]}, {"sort": ["a", "b", "c", "d", "e", "f"]}, {"sort": [3]}):
        with pytest.raises(QueryError) as err:
            query.run(table, everything(**kwargs))
        assert err.value.parameter == "sort"


@pytest.mark.req("R-22.1")
def test_fields_are_chosen_within_the_projection(table):
    reader = Query(projection=["xm", "dz", "jtrs", "csrq"], masked=False, limit=5)
    result = query.run(table, reader)
    assert result.codes == ["xm", "dz", "csrq", "jtrs"]  # resource order, projection only
    assert set(result.rows[0]) == {"xm", "dz", "jtrs", "csrq"}
    reader.fields = ["jtrs", "xm", "jtrs"]
    assert query.run(table, reader).codes == ["jtrs", "xm"]
    for kwargs, parameter in (
        ({"fields": ["xm", "sfzh"]}, "fields"),
        ({"filters": [("sfzh", "eq", table.rows[0]["sfzh"])]}, "filters"),
        ({"sort": ["-sjhm"]}, "sort"),
    ):
        outside = Query(projection=["xm", "dz", "jtrs", "csrq"], masked=False, **kwargs)
        with pytest.raises(QueryError) as err:
            query.run(table, outside)
        assert err.value.parameter == parameter
        assert "may read" in err.value.message_dict[parameter][0]
    # Codes in the projection that the resource does not have are simply not there.
    assert query.run(table, Query(projection=["xm", "nosuch"], masked=False, limit=1)).codes == ["xm"]
    with pytest.raises(QueryError):
        query.run(table, everything(fields=[]))


@pytest.mark.req("R-22.1")
def test_the_permission_decision_is_never_defaulted(table):
    with pytest.raises(TypeError):
        Query(masked=False)  # no projection
    with pytest.raises(TypeError):
        Query(projection=ALL)  # no masking decision
    with pytest.raises(TypeError):
        query.run(table, Query(projection="xm", masked=False))  # a string is not a list of columns


# --- pages ----------------------------------------------------------------------------------


@pytest.mark.req("R-16.1")
@pytest.mark.parametrize(
    "sort", [[], ["jtrs"], ["-jtrs", "sfzc"], ["sfzc", "-csrq"], ["-ysr"], ["xm"], ["-xm"], ["-jd", "qz"]]
)
def test_keyset_pages_give_every_row_exactly_once_despite_ties(table, sort):
    whole = all_keys(table, sort=sort)
    seen, cursor, pages = [], None, 0
    while True:
        result = query.run(table, everything(sort=sort, fields=["sfzh"], limit=7, cursor=cursor))
        seen += keys(result)
        pages += 1
        cursor = result.next_cursor
        if cursor is None:
            break
        assert len(result.rows) == 7
    assert seen == whole
    assert len(set(seen)) == len(table.rows)
    assert pages == -(-len(table.rows) // 7)


@pytest.mark.req("R-16.1")
def test_single_precision_values_filter_and_page_exactly(yk):
    """F is ``real`` on PostgreSQL: 0.1 stored is not the double 0.1 a parameter would be."""
    resource = mount_table(yk, items=[ITEMS[0], {"name": "权重", "code": "qz", "data_type": "F"}])
    values = [0.1, 0.2, 0.3, None, 1.1, 0.1, 0.3, 0.7, 0.1, None, 2.5, 0.2]
    insert_rows(resource, [{"sfzh": f"{i:02d}", "qz": v} for i, v in enumerate(values)])
    assert all_keys(resource, filters=[("qz", "eq", "0.1")]) == ["00", "05", "08"]
    assert all_keys(resource, filters=[("qz", "in", [0.3, 0.7])]) == ["02", "06", "07"]
    assert all_keys(resource, filters=[("qz", "gt", 0.3)]) == ["04", "07", "10"]
    assert all_keys(resource, filters=[("qz", "lte", 0.2)]) == ["00", "01", "05", "08", "11"]
    rows = query.run(resource, everything(filters=[("qz", "eq", 0.1)], fields=["qz"])).rows
    assert [r["qz"] for r in rows] == [0.1, 0.1, 0.1]
    for sort in (["qz"], ["-qz"]):
        whole = all_keys(resource, sort=sort)
        seen, cursor = [], None
        while True:
            result = query.run(resource, everything(sort=sort, fields=["sfzh"], limit=2, cursor=cursor))
            seen += keys(result)
            if not (cursor := result.next_cursor):
                break
        assert seen == whole and len(seen) == len(values)


@pytest.mark.req("R-16.1")
def test_keyset_pages_with_filters_and_q(table):
    kwargs = {"filters": [("jtrs", "gte", 2)], "q": "营口市", "sort": ["-csrq"]}
    whole = all_keys(table, **kwargs)
    seen, cursor = [], None
    while True:
        result = query.run(table, everything(fields=["sfzh"], limit=10, cursor=cursor, **kwargs))
        seen += keys(result)
        if not (cursor := result.next_cursor):
            break
    assert seen == whole and len(whole) > 20


@pytest.mark.req("R-16.1")
def test_cursor_is_validated(table, yk):
    first = query.run(table, everything(sort=["jtrs"], limit=5))
    cursor = first.next_cursor
    assert cursor
    # Another sort, other filters or another q: refused, not silently wrong.
    for kwargs in (
        {"sort": ["-jtrs"]},
        {"sort": ["jtrs"], "filters": [("sfzc", "eq", True)]},
        {"sort": ["jtrs"], "q": "站前"},
    ):
        with pytest.raises(QueryError) as err:
            query.run(table, everything(cursor=cursor, **kwargs))
        assert err.value.parameter == "cursor"
    # Tampered, forged, foreign or absurd cursors.
    other = mount_table(yk, name="另一张表")
    insert_rows(other, table.rows[:10])
    with pytest.raises(QueryError):
        query.run(other, everything(sort=["jtrs"], cursor=cursor))
    from django.core import signing

    forged = signing.dumps({"f": "x", "v": [1], "i": 5}, key="not-the-secret", salt=f"{query.CURSOR_SALT}:{table.pk}")
    for bad in (cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB"), "x", "' OR 1=1 --", forged, "a" * 5000, 12):
        with pytest.raises(QueryError) as err:
            query.run(table, everything(sort=["jtrs"], cursor=bad))
        assert err.value.parameter == "cursor"
    with pytest.raises(QueryError) as err:
        query.run(table, everything(sort=["jtrs"], cursor=cursor, offset=5))
    assert err.value.parameter == "offset"


@pytest.mark.req("R-16.1")
def test_offset_pages_and_the_offset_cap(table):
    whole = all_keys(table, sort=["-jtrs"])
    page = query.run(table, everything(sort=["-jtrs"], fields=["sfzh"], offset=30, limit=10))
    assert keys(page) == whole[30:40]
    # A cursor from an offset page continues from there.
    after = query.run(table, everything(sort=["-jtrs"], fields=["sfzh"], limit=10, cursor=page.next_cursor))
    assert keys(after) == whole[40:50]
    assert query.run(table, everything(offset=query.MAX_OFFSET, limit=5)).rows == []
    with pytest.raises(QueryError) as err:
        query.run(table, everything(offset=query.MAX_OFFSET + 1))
    assert err.value.parameter == "offset" and "next_cursor" in err.value.message_dict["offset"][0]
    for bad in (-1, "5", 2.5, True):
        with pytest.raises(QueryError):
            query.run(table, everything(offset=bad))
    for bad in (-1, query.MAX_LIMIT + 1, "10", None):
        with pytest.raises(QueryError) as err:
            query.run(table, everything(limit=bad))
        assert err.value.parameter == "limit"
    assert query.run(table, everything(limit=query.MAX_LIMIT)).next_cursor is None


# --- totals ---------------------------------------------------------------------------------


@pytest.mark.req("R-16.1")
def test_totals_exact_estimated_and_none(table):
    n = len(table.rows)
    tied = sum(1 for r in table.rows if r["jtrs"] == 2)
    assert query.run(table, everything(limit=5)).total is None
    exact = query.run(table, everything(limit=5, total="exact"))
    assert (exact.total, exact.total_kind) == (n, "exact")
    filtered = query.run(table, everything(limit=5, total="exact", filters=[("jtrs", "eq", 2)]))
    assert (filtered.total, filtered.total_kind) == (tied, "exact")
    # Small results are exact even when an estimate is asked for (and SQLite always counts).
    estimated = query.run(table, everything(limit=5, total="estimated", filters=[("jtrs", "eq", 2)]))
    assert (estimated.total, estimated.total_kind) == (tied, "exact")
    # Past the last row, and on a cursor page, the total is still counted.
    beyond = query.run(table, everything(offset=n + 10, total="exact"))
    assert (beyond.rows, beyond.total) == ([], n)
    second = query.run(table, everything(limit=5, total="exact", cursor=exact.next_cursor))
    assert second.total == n
    only_total = query.run(table, everything(limit=0, total="exact"))
    assert (only_total.rows, only_total.total, only_total.next_cursor) == ([], n, None)
    with pytest.raises(QueryError) as err:
        query.run(table, everything(total="approximate"))
    assert err.value.parameter == "total"


@pytest.mark.req("R-16.1")
def test_estimated_totals_use_the_planner_or_count_exactly(table, monkeypatch):
    monkeypatch.setattr(query, "ESTIMATE_EXACT_BELOW", 10)
    if connection.vendor != "postgresql":
        # SQLite has no planner estimate: an estimated total is an exact count, said so.
        result = query.run(table, everything(limit=5, total="estimated", filters=[("jtrs", "gte", 2)]))
        actual = sum(1 for r in table.rows if (r["jtrs"] or 0) >= 2)
        assert (result.total, result.total_kind) == (actual, "exact")
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables.SCHEMA}.{table.table_name}")
    result = query.run(table, everything(limit=5, total="estimated"))
    assert result.total_kind == "estimated"
    assert result.total == len(table.rows)  # fresh statistics: the planner knows the row count
    filtered = query.run(table, everything(limit=5, total="estimated", filters=[("jtrs", "gte", 2)]))
    assert filtered.total_kind == "estimated"
    actual = sum(1 for r in table.rows if (r["jtrs"] or 0) >= 2)
    assert actual / 2 <= filtered.total <= actual * 2
    # Under the threshold the bounded count makes it exact.
    small = query.run(table, everything(limit=2, total="estimated", filters=[("sfzh", "eq", table.rows[0]["sfzh"])]))
    assert (small.total, small.total_kind) == (1, "exact")


# --- injection ------------------------------------------------------------------------------

NASTY = [
    "'; DROP TABLE datastore.ds_1; --",
    "' OR '1'='1",
    '" OR ""="',
    "%",
    "_",
    "%%",
    "\\",
    "/",
    "//%",
    "x' UNION SELECT password FROM orgs_user --",
    "Robert'); DELETE FROM datastore_resource;--",
    "%(sfzh)s",
    "%s",
    "?",
    ":sfzh",
    "$1",
    "张三'--",
    "😀",
    "\u202e反转",
    "a\nb",
]


@pytest.mark.req("R-16.1")
def test_injection_attempts_are_just_values(table, yk):
    nasty_rows = [{"sfzh": f"X{i:03d}", "xm": value, "dz": value, "bz": value} for i, value in enumerate(NASTY)]
    insert_rows(table, nasty_rows)
    before = len(all_keys(table))
    for i, value in enumerate(NASTY):
        # Equality finds exactly the row holding that text: the value was bound, not pasted.
        assert all_keys(table, filters=[("xm", "eq", value)]) == [f"X{i:03d}"], value
        assert all_keys(table, filters=[("dz", "in", [value, "无"])]) == [f"X{i:03d}"], value
        starts = [r["sfzh"] for r in nasty_rows if r["dz"].startswith(value)]
        assert all_keys(table, filters=[("dz", "prefix", value)]) == starts, value
        query.run(table, everything(q=value))  # never breaks
        query.run(table, everything(filters=[("csrq", "eq", "2024-01-01")], q=value, sort=["-xm"], total="exact"))
        for parameter in ({"fields": [value]}, {"sort": [value]}, {"filters": [(value, "eq", 1)]}):
            with pytest.raises(QueryError):
                query.run(table, everything(**parameter))
        with pytest.raises(QueryError):
            query.run(table, everything(filters=[("jtrs", "eq", value)]))
        with pytest.raises(QueryError):
            query.run(table, everything(filters=[("csrq", "gte", value)]))
        with pytest.raises(QueryError):
            query.run(table, everything(cursor=value))
    # "%" and "_" in q match themselves only.
    assert set(all_keys(table, q="%")) == set(all_keys(table))  # no words: no condition
    assert tables.exists(table.table_name)
    assert len(all_keys(table)) == before
    from govdata.datastore.models import Resource
    from govdata.orgs.models import User

    assert Resource.objects.filter(pk=table.pk).exists() and User.objects.exists()


# --- parameters from a query string ---------------------------------------------------------


@pytest.mark.req("R-16.1")
def test_parse_params_from_a_query_string(table):
    from django.http import QueryDict

    params = QueryDict(
        "q=站前区&sort=-csrq,xm&fields=xm,csrq,jtrs&limit=5&total=exact"
        "&jtrs__in=1,2&jtrs__in=3&csrq__gte=1960/1/1&sfzc=是&sjhm__null=false&format=csv"
    )
    parsed = query.parse_params(params, projection=ALL, masked=False, ignore={"format"})
    assert parsed.limit == 5 and parsed.total == "exact" and parsed.q == "站前区"
    result = query.run(table, parsed)
    expected = [
        r
        for r in table.rows
        if r["dz"]
        and "站前区" in r["dz"]
        and r["jtrs"] in (1, 2, 3)
        and r["csrq"]
        and r["csrq"] >= dt.date(1960, 1, 1)
        and r["sfzc"] is True
        and r["sjhm"] is not None
    ]
    assert result.total == len(expected)
    assert result.codes == ["xm", "csrq", "jtrs"]
    assert {(r["xm"], r["csrq"]) for r in result.rows} <= {(r["xm"], r["csrq"]) for r in expected}
    for bad, parameter in (
        ({"limit": "ten"}, "limit"),
        ({"offset": "1e3"}, "offset"),
        ({"limit": "5000"}, "limit"),
        ({"xm__like": "张"}, "filters"),
        ({"sjhm__null": "perhaps"}, "filters"),
    ):
        with pytest.raises(QueryError) as err:
            query.run(table, query.parse_params(bad, projection=ALL, masked=False))
        assert err.value.parameter == parameter
    with pytest.raises(QueryError) as err:
        query.run(table, query.parse_params({"nosuch": "1"}, projection=ALL, masked=False))
    assert err.value.parameter == "filters" and "nosuch" in err.value.message_dict["filters"][0]
    # A dict of lists works as well as a QueryDict.
    parsed = query.parse_params({"xm__in": ["张伟", "王芳"], "sort": "xm"}, projection=ALL, masked=False)
    assert {r["xm"] for r in query.run(table, parsed).rows} <= {"张伟", "王芳"}


@pytest.mark.req("R-16.1")
def test_only_table_resources_are_queried(yk, entry):
    files = services.mount(t.actor(yk.police_admin), entry, kind="file", name="附件")
    with pytest.raises(QueryError) as err:
        query.run(files, everything())
    assert err.value.parameter == "resource"


@pytest.mark.req("R-16.1")
def test_iterate_gives_the_whole_result_and_validates_at_once(table):
    with pytest.raises(QueryError):
        query.iterate(table, everything(fields=["nosuch"]))  # before any row is read
    rows = list(query.iterate(table, everything(sort=["-jtrs"], limit=5, offset=50_000), chunk_rows=7))
    assert [r["sfzh"] for r in rows] == all_keys(table, sort=["-jtrs"])
    masked = next(query.iterate(table, Query(projection=["xm"], masked=True)))
    assert set(masked) == {"xm"} and masked["xm"].endswith("*")


@pytest.mark.req("R-16.1")
def test_within_one_request_the_columns_are_read_once_and_the_next_reads_them_again(table):
    """``columns_read_once`` spares a request its second read of the same columns; a masking
    rule changed since is seen by the next request."""
    column_reads = []

    def spy(execute, sql, params, many, context):
        column_reads.append(ResourceColumn._meta.db_table in sql)
        return execute(sql, params, many, context)

    masked_name = Query(projection=ALL, masked=True, fields=["xm"], limit=1)
    with connection.execute_wrapper(spy), query.columns_read_once():
        keys = [c.code for c in query.columns_of(table) if c.is_key]
        before = query.run(table, masked_name).rows[0]["xm"]
    assert keys == ["sfzh"] and sum(column_reads) == 1
    assert before != table.rows[0]["xm"] and before.endswith("*")
    ResourceColumn.objects.filter(resource=table, code="xm").update(mask=Mask.NONE)
    with connection.execute_wrapper(spy), query.columns_read_once():
        assert query.run(table, masked_name).rows[0]["xm"] == table.rows[0]["xm"]
    assert sum(column_reads) == 2
    with connection.execute_wrapper(spy):  # outside a request's block: every query reads them
        query.columns_of(table)
        query.columns_of(table)
    assert sum(column_reads) == 4


@pytest.mark.req("R-16.1")
def test_queries_by_equal_values_are_planned_once_per_shape_and_answered_as_in_general(table, monkeypatch):
    """A lookup by key (the gateway's every call) is planned and compiled once per shape; the
    answers, the refusals and the cursors are those of the general path."""
    shaped = query._shape
    prepared = []
    prepare = query.prepare
    monkeypatch.setattr(query, "prepare", lambda *args: prepared.append(1) or prepare(*args))
    lookups = [
        Query(projection=ALL, masked=masked, filters=[Filter("sfzh", "eq", row["sfzh"])], fields=fields, limit=1)
        for row in table.rows[:4]
        for masked, fields in ((True, None), (False, None), (False, "xm,csrq"), (True, ["sjhm", "ysr", "jtrs"]))
    ]
    same_name = table.rows[0]["xm"]
    pages = [Query(projection=["sfzh", "xm", "dz"], masked=False, filters=[("xm", "eq", same_name)], limit=1)]

    def answers() -> list:
        out = [query.run(table, q) for q in lookups + pages]
        # The next page from a cursor of either path is the same general-path page.
        follow = dataclasses.replace(pages[0], cursor=out[-1].next_cursor)
        out.append(query.run(table, follow))
        # Cursors compared by what they carry (signing adds the time).
        salt = f"{query.CURSOR_SALT}:{table.pk}"
        carried = [r.next_cursor and signing.loads(r.next_cursor, salt=salt) for r in out]
        return [dataclasses.replace(r, next_cursor=c) for r, c in zip(out, carried, strict=True)]

    monkeypatch.setattr(query, "_shape", lambda *args: None)
    general = answers()
    monkeypatch.setattr(query, "_shape", shaped)
    query._shaped.clear()
    prepared.clear()
    assert answers() == general
    # Four lookup shapes and one filter shape planned once each (and the cursor page in general).
    assert len(prepared) == 4 + 1 + 1
    assert general[-2].next_cursor and general[-1].rows
    # A value that does not fit is the general path's refusal, shape known or not.
    bad = dataclasses.replace(lookups[0], filters=[Filter("jtrs", "eq", "many")])
    refusals = []
    for _ in range(2):
        query.run(table, dataclasses.replace(bad, filters=[Filter("jtrs", "eq", 3)]))
        with pytest.raises(QueryError) as err:
            query.run(table, bad)
        refusals.append((err.value.parameter, err.value.field, err.value.message_dict))
    assert refusals[0] == refusals[1] and refusals[0][:2] == ("filters", "jtrs")


@pytest.mark.req("R-16.1")
def test_a_changed_masking_rule_is_a_new_shape(table):
    by_key = Query(projection=ALL, masked=True, filters=[("sfzh", "eq", table.rows[0]["sfzh"])], fields="xm", limit=1)
    assert query.run(table, by_key).rows[0]["xm"].endswith("*")
    ResourceColumn.objects.filter(resource=table, code="xm").update(mask=Mask.NONE)
    assert query.run(table, by_key).rows == [{"xm": table.rows[0]["xm"]}]
