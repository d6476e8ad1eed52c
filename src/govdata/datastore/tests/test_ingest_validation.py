"""The two ways cells are checked agree: whole columns at once (the fast path of a load) and
cell by cell (which names the problems). Property-based, over values departments write and
values that must be refused, for both databases' value forms."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govdata.datastore import validation
from govdata.datastore.models import Check
from govdata.datastore.validation import Invalid, RowChecker, Spec

from . import corpus as c

TODAY = dt.date(2026, 3, 2)
SPECS = [
    Spec("sfzh", "公民身份号码", "C", 18, required=True, is_key=True, content_check=Check.ID_NUMBER),
    Spec("xm", "姓名", "C", 5, required=True),
    Spec("sjhm", "手机号码", "C", 11, content_check=Check.MOBILE),
    Spec("zczb", "注册资本", "N"),
    Spec("ysr", "月收入", "Y"),
    Spec("jtrs", "家庭人数", "I"),
    Spec("sfzc", "是否在册", "L"),
    Spec("csrq", "出生日期", "D"),
    Spec("gxsj", "更新时间", "T"),
    Spec("jd", "经度", "B"),
    Spec("wd", "纬度", "F"),
    Spec("bz", "备注", "M"),
    Spec("tyshxydm", "统一社会信用代码", "C", 18, content_check=Check.CREDIT_CODE),
]
POOLS = {
    "sfzh": [c.id_number(1), c.id_number(2), c.id_number(3)[:17] + "x", c.bad_check(c.id_number(4)), "2108021990010100", " "],
    "xm": ["张三", " 李四 ", "", "欧阳娜娜娜娜", "a\x00b", "王\t五", "张\n三"],
    "sjhm": ["13904170001", "", "1390417000", "23904170001", " 13904170002 "],
    "zczb": ["1", "1.5", "1,234.5", "", "abc", "1e3", "00012", "1.", "-0", "+5", "1" + "0" * 29, "0.12345678901"],
    "ysr": ["12.30", "1.235", "", "1" + "0" * 18, "-7", "１２", "1\n2"],
    "jtrs": ["1", "1.0", "1.5", "", "9223372036854775807", "9223372036854775808", "+3", "1,000", " 4 ", "1\n2"],
    "sfzc": ["是", "否", "Y", "n", "TRUE", "", "maybe", "1", "0", " 是"],
    "csrq": ["2024-01-02", "2024/1/2", "20240230", "", "2024年1月2日", "x", "2024-1-2"],
    "gxsj": ["2024-01-02 08:30:00", "2024-01-02 25:00:00", "", "2024-01-02", "2024/1/2 8:30", "2024-01-02 08:30:00.5"],
    "jd": ["1.5", "1e39", "nan", "inf", "", "1_000", "-0.0", "1e-50", "122.2352"],
    "wd": ["1.5", "1e39", "", "1e-50", "40.6671", "3.4e38"],
    "bz": ["备注", "", "多行\n文本", "反斜杠\\"],
    "tyshxydm": [c.credit_code(1), c.credit_code(2).lower(), c.credit_code(3)[:17] + "0", ""],
}
row = st.tuples(*(st.sampled_from(POOLS[spec.code]) for spec in SPECS)).map(list)


def copy_text_of(rows: list[tuple]) -> str:
    def cell(value):
        if value is None:
            return "\\N"
        return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")

    return "".join("\t".join(cell(v) for v in r) + "\n" for r in rows)


@pytest.mark.req("R-21.1")
@pytest.mark.parametrize("vendor", [validation.POSTGRESQL, validation.SQLITE])
@pytest.mark.parametrize("text_cells", [False, True])
@settings(max_examples=200, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=8), shuffle=st.randoms(use_true_random=False))
def test_column_checks_agree_with_cell_checks(vendor, text_cells, rows, shuffle):
    positions = list(range(len(SPECS)))
    shuffle.shuffle(positions)  # the file's column order is not the resource's
    cells = [[r[SPECS.index(spec)] for spec in sorted(SPECS, key=lambda s: positions[SPECS.index(s)])] for r in rows]
    checker = RowChecker(SPECS, positions, vendor, today=TODAY, text_cells=text_cells)
    numbers = list(range(2, 2 + len(rows)))
    expected, refused = [], False
    for number, line in zip(numbers, cells, strict=True):
        try:
            expected.append(checker.convert(number, line))
        except Invalid:
            refused = True
            assert checker.problems(line)
    if refused:
        with pytest.raises(Invalid):
            checker.convert_batch(numbers, cells)
        return
    assert checker.convert_batch(numbers, cells) == expected
    if vendor == validation.POSTGRESQL:
        assert checker.copy_text(numbers, cells) == copy_text_of(expected)


@pytest.mark.req("R-21.1")
def test_values_come_out_in_each_databases_form():
    line = [c.id_number(1), "张三", "", "1,234.5", "12.3", "7", "是", "2024年1月2日", "2024/1/2 8:30", "1.5", "2", "x", c.credit_code(1)]
    pg = RowChecker(SPECS, range(len(SPECS)), validation.POSTGRESQL, today=TODAY).convert(5, line)
    lite = RowChecker(SPECS, range(len(SPECS)), validation.SQLITE, today=TODAY).convert(5, line)
    assert pg == (5, c.id_number(1), "张三", None, "1234.5000000000", "12.3", "7", "t", "2024-01-02", "2024-01-02 08:30:00", "1.5", "2.0", "x", c.credit_code(1))
    assert lite == (5, c.id_number(1), "张三", None, "1234.5000000000", "12.3", 7, 1, "2024-01-02", "2024-01-02 08:30:00", 1.5, 2.0, "x", c.credit_code(1))


@pytest.mark.req("R-21.1")
def test_problems_name_every_bad_cell_of_a_row():
    checker = RowChecker(SPECS, range(len(SPECS)), validation.SQLITE, today=TODAY)
    line = [c.bad_check(c.id_number(1)), "", "110", "x", "1", "1.5", "也许", "2024-02-30", "noon", "a", "1e39", "", "X"]
    found = {(p.column, p.code) for p in checker.problems(line)}
    assert found == {
        ("sfzh", "content"),
        ("xm", "required"),
        ("sjhm", "content"),
        ("zczb", "type"),
        ("jtrs", "type"),
        ("sfzc", "type"),
        ("csrq", "type"),
        ("gxsj", "type"),
        ("jd", "type"),
        ("wd", "range"),
        ("tyshxydm", "content"),
    }
