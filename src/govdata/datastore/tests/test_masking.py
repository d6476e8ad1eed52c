"""Masking rules and their use by the query engine (issue #4, item 5; R-22.1)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from govdata.datastore import masking, query
from govdata.datastore.models import Mask
from govdata.datastore.query import ALL, Query, QueryError

from .test_query import insert_rows, mount_table, people, table  # noqa: F401 - fixture


@pytest.mark.req("R-22.1")
@pytest.mark.parametrize(
    ("mask", "value", "masked"),
    [
        (Mask.ID_NUMBER, "21080219900101123X", "210802********123X"),
        (Mask.ID_NUMBER, "210802900101123", "210802*****1123"),  # 15-digit first-generation card
        (Mask.ID_NUMBER, "21080219900", "210802*9900"),
        (Mask.ID_NUMBER, "2108021990", "**********"),  # too short to keep both ends
        (Mask.ID_NUMBER, "123", "***"),
        (Mask.MOBILE, "13812345678", "138****5678"),
        (Mask.MOBILE, "+8613812345678", "+86*******5678"),
        (Mask.MOBILE, "1381234", "*******"),
        (Mask.MOBILE, "0417-2812345", "041*****2345"),
        (Mask.BANK_CARD, "6222021234567890123", "622202*********0123"),
        (Mask.BANK_CARD, "6222021234567890", "622202******7890"),
        (Mask.BANK_CARD, "62220212", "********"),
        (Mask.NAME, "张三", "张*"),
        (Mask.NAME, "王秀英", "王**"),
        (Mask.NAME, "张", "张"),
        (Mask.NAME, "阿卜杜拉·买买提", "阿*******"),
        (Mask.NAME, "John Smith", "J*********"),
        (Mask.NAME, "欧阳", "欧*"),  # the surname alone is 欧 and the given name 阳
        (Mask.NAME, "单于洋", "单**"),  # 单 is the common surname; 单于 is not kept
        (Mask.ID_NUMBER, "", ""),
        (Mask.NAME, "", ""),
        (Mask.ID_NUMBER, None, None),
        (Mask.NAME, None, None),
        (Mask.NONE, "21080219900101123X", "21080219900101123X"),
        (Mask.MOBILE, 13812345678, "138****5678"),  # a number is masked as its text
    ],
)
def test_masking_rules(mask, value, masked):
    assert masking.mask_value(mask, value) == masked
    if isinstance(value, str) and value:
        assert len(masking.mask_value(mask, value)) == len(value)


@pytest.mark.req("R-22.1")
@pytest.mark.parametrize(
    "surname",
    ["欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "令狐", "夏侯"],
)
def test_compound_surnames_keep_two_characters(surname):
    assert masking.mask_value(Mask.NAME, surname + "明") == surname + "*"
    assert masking.mask_value(Mask.NAME, surname + "晓明") == surname + "**"
    assert masking.mask_value(Mask.NAME, surname) == surname[0] + "*"


@pytest.mark.req("R-22.1")
def test_masked_output_hides_and_unmasked_output_shows(table):  # noqa: F811
    rows = {r["sfzh"]: r for r in table.rows}
    masked = query.run(table, Query(projection=ALL, masked=True, limit=1000))
    assert [f.code for f in masked.fields if f.masked] == ["sfzh", "xm", "sjhm", "yhkh"]
    plain = query.run(table, Query(projection=ALL, masked=False, limit=1000))
    assert not any(f.masked for f in plain.fields)
    for hidden, shown in zip(masked.rows, plain.rows, strict=True):
        original = rows[shown["sfzh"]]
        assert shown == original
        assert hidden["sfzh"] == original["sfzh"][:6] + "********" + original["sfzh"][-4:]
        assert hidden["sjhm"] == (
            None if original["sjhm"] is None else original["sjhm"][:3] + "****" + original["sjhm"][-4:]
        )
        assert hidden["yhkh"] == original["yhkh"][:6] + "*" * 9 + original["yhkh"][-4:]
        surname = 2 if original["xm"][:2] in ("欧阳", "司马", "诸葛") and len(original["xm"]) > 2 else 1
        assert hidden["xm"] == original["xm"][:surname] + "*" * (len(original["xm"]) - surname)
        for code in ("dz", "csrq", "ysr", "jtrs"):  # columns without a rule are as they are
            assert hidden[code] == original[code]


@pytest.mark.req("R-22.1")
def test_a_masked_column_is_filtered_by_its_real_value_but_output_stays_masked(table):  # noqa: F811
    someone = table.rows[17]
    result = query.run(
        table,
        Query(projection=["sfzh", "xm", "csrq"], masked=True, filters=[("sfzh", "eq", someone["sfzh"])], total="exact"),
    )
    assert result.total == 1
    assert result.rows == [
        {
            "sfzh": masking.mask_value(Mask.ID_NUMBER, someone["sfzh"]),
            "xm": masking.mask_value(Mask.NAME, someone["xm"]),
            "csrq": someone["csrq"],
        }
    ]
    several = query.run(
        table,
        Query(
            projection=["sfzh", "xm"],
            masked=True,
            fields=["xm"],
            filters=[("sfzh", "in", [r["sfzh"] for r in table.rows[:3]])],
        ),
    )
    assert len(several.rows) == 3 and all("*" in r["xm"] for r in several.rows)
    no_mobile = query.run(
        table, Query(projection=["sfzh", "sjhm"], masked=True, filters=[("sjhm", "null")], limit=1000)
    )
    assert len(no_mobile.rows) == sum(1 for r in table.rows if r["sjhm"] is None)


@pytest.mark.req("R-22.1")
@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"filters": [("sfzh", "prefix", "210802")]}, "filters"),
        ({"filters": [("sfzh", "gt", "210802")]}, "filters"),
        ({"filters": [("sjhm", "lte", "138")]}, "filters"),
        ({"sort": ["sfzh"]}, "sort"),
        ({"sort": ["-xm"]}, "sort"),
    ],
)
def test_masked_columns_cannot_be_probed_character_by_character(table, kwargs, parameter):  # noqa: F811
    with pytest.raises(QueryError) as err:
        query.run(table, Query(projection=ALL, masked=True, **kwargs))
    assert err.value.parameter == parameter
    assert "masked" in err.value.message_dict[parameter][0]
    query.run(table, Query(projection=ALL, masked=False, **kwargs))  # the provider may


@pytest.mark.req("R-22.1")
def test_q_does_not_search_inside_masked_values(table):  # noqa: F811
    someone = table.rows[5]
    birth_digits = someone["sfzh"][6:14]  # the hidden middle of the ID number
    plain = query.run(table, Query(projection=ALL, masked=False, q=birth_digits, fields=["dz"], limit=1000))
    assert plain.rows
    masked = query.run(table, Query(projection=ALL, masked=True, q=birth_digits, fields=["dz"], limit=1000))
    assert masked.rows == []
    # Unmasked text columns are still searched with masking on.
    assert query.run(table, Query(projection=ALL, masked=True, q="站前区", limit=1000)).rows


@pytest.mark.req("R-22.1")
def test_masks_apply_to_non_text_columns_as_their_text(yk):
    items = [
        {
            "name": "公民身份号码",
            "code": "sfzh",
            "data_type": "C",
            "length": 18,
            "required": True,
            "is_key": True,
            "sensitive": True,
        },
        {"name": "卡号", "code": "kh", "data_type": "I", "sensitive": True},
        {"name": "开户日期", "code": "khrq", "data_type": "D"},
    ]
    resource = mount_table(yk, items=items, name="卡")
    column = resource.columns.get(code="kh")
    column.mask = Mask.BANK_CARD
    column.save()
    khrq = resource.columns.get(code="khrq")
    khrq.mask = Mask.MOBILE
    khrq.save()
    insert_rows(resource, [{"sfzh": "1", "kh": 6222021234567890123, "khrq": dt.date(2024, 1, 2)}, {"sfzh": "2"}])
    rows = query.run(resource, Query(projection=ALL, masked=True, fields=["kh", "khrq"])).rows
    assert rows == [{"kh": "622202*********0123", "khrq": "202***1-02"}, {"kh": None, "khrq": None}]
    assert masking.mask_value(Mask.MOBILE, Decimal("13812345678")) == "138****5678"


@pytest.mark.req("R-22.1")
def test_projection_and_masking_together(table):  # noqa: F811
    """The sharing gateway's case: a grant of some columns, masked."""
    reader = Query(projection=["xm", "dz", "csrq"], masked=True, sort=["csrq"], limit=1000, total="exact")
    result = query.run(table, reader)
    assert result.codes == ["xm", "dz", "csrq"]
    assert result.total == len(table.rows)
    assert all(set(r) == {"xm", "dz", "csrq"} for r in result.rows)
    assert all(r["xm"].endswith("*") for r in result.rows)
    with pytest.raises(QueryError):
        query.run(table, Query(projection=["xm", "dz", "csrq"], masked=True, fields=["sfzh"]))


def test_people_fixture_has_compound_surnames():
    assert any(r["xm"][:2] in masking.COMPOUND_SURNAMES for r in people(120))
