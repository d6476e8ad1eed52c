"""Loading table resources (R-21.1, R-9.1 push, R-3.1 tables): the three modes, values as
departments write them, the encodings, workbooks and JSON lines, quarantine, data versions,
the report, permissions, the background job, and freshness. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from django.core.exceptions import PermissionDenied, ValidationError

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.common import clock as platform_clock
from govdata.common.digests import sm3_hex
from govdata.common.actor import Actor
from govdata.datastore import freshness, services, tables, tasks
from govdata.datastore.models import DataVersion, QuarantinedRow, Resource
from govdata.datastore.services import loads
from govdata.datastore.tests.conftest import published_entry
from govdata.notifications.models import Notification
from govdata.orgs.models import InformationSystem

from . import corpus as c

H = c.PERSON_HEADER
CH = c.COMPANY_HEADER
DONE, REJECTED = DataVersion.Status.DONE, DataVersion.Status.REJECTED


def rows_of(resource: Resource) -> list[dict]:
    """The table's rows as comparable Python values, in row id order."""
    columns = list(resource.columns.all())
    table = tables.table_for(resource.table_name, columns)
    out = []
    for raw in tables.execute(sa.select(table).order_by(table.c[tables.ROW_ID])):
        row = {}
        for column, value in zip(columns, raw[1:], strict=True):
            if value is not None:
                if column.data_type in ("N", "Y"):
                    value = Decimal(str(value)).normalize()
                elif column.data_type == "L":
                    value = bool(value)
                elif column.data_type == "D" and isinstance(value, str):
                    value = dt.date.fromisoformat(value)
                elif column.data_type == "T" and isinstance(value, str):
                    value = dt.datetime.fromisoformat(value)
                elif column.data_type in ("B", "F"):
                    value = round(float(value), 4)
            row[column.code] = value
        out.append(row)
    return out


@pytest.fixture
def person(yk, entry):
    return services.mount(t.actor(yk.police_admin), entry, kind="table", name="居民信息表")


@pytest.fixture
def company(yk):
    entry = published_entry(yk, items=c.COMPANY_ITEMS, name="法人登记信息", summary="测试用法人信息")
    return services.mount(t.actor(yk.police_admin), entry, kind="table", name="法人登记表")


def load(yk, resource, data, filename="数据.csv", mode="replace", **kwargs):
    return loads.load_table(t.actor(yk.police_staff), resource, data, filename=filename, mode=mode, **kwargs)


# --- the modes ------------------------------------------------------------------------------


@pytest.mark.req("R-21.1", "R-3.1")
def test_replace_swaps_the_whole_table_and_records_a_data_version(yk, person, clock):
    data = c.csv_bytes(H, [c.person(1), c.person(2), c.person(3)])
    first = load(yk, person, data, filename="居民2026.csv")
    assert first.status == DONE, first.report
    assert (first.number, first.mode, first.rows_read, first.rows_loaded, first.rows_rejected) == (1, "replace", 3, 3, 0)
    assert first.checksum == sm3_hex(data) and len(first.checksum) == 64
    assert first.source == "居民2026.csv" and first.loaded_by == yk.police_staff
    assert first.started_at == clock.now() and first.finished_at == clock.now()
    person.refresh_from_db()
    assert (person.current_version, person.row_count, person.last_loaded_at) == (first, 3, clock.now())
    assert [r["sfzh"] for r in rows_of(person)] == [c.id_number(i) for i in (1, 2, 3)]
    event = AuditEvent.objects.get(action="datastore.load", object_id=str(person.pk))
    assert event.row_count == 3 and event.details["version"] == 1 and event.details["sm3"] == first.checksum

    clock.advance(days=1)
    second = load(yk, person, c.csv_bytes(H, [c.person(4), c.person(2, "李二")]))
    assert second.status == DONE and second.number == 2
    assert [(r["sfzh"], r["xm"]) for r in rows_of(person)] == [(c.id_number(4), "张4"), (c.id_number(2), "李二")]
    person.refresh_from_db()
    assert (person.current_version, person.row_count, person.last_loaded_at) == (second, 2, clock.now())
    # the swapped-in table is complete: its key index has the table's name, nothing is left over
    assert not tables.exists(f"{person.table_name}_new")
    third = load(yk, person, c.csv_bytes(H, [c.person(5)]), mode="append")
    assert third.status == DONE and person.versions.count() == 3
    assert load(yk, person, c.csv_bytes(H, [c.person(5)]), mode="append").report[0]["code"] == "exists"


@pytest.mark.req("R-21.1", "R-3.1")
def test_append_adds_rows_and_refuses_keys_already_loaded(yk, person):
    assert load(yk, person, c.csv_bytes(H, [c.person(1), c.person(2)])).status == DONE
    appended = load(yk, person, c.csv_bytes(H, [c.person(3)]), mode="append")
    assert appended.status == DONE and appended.rows_loaded == 1
    assert [r["sfzh"] for r in rows_of(person)] == [c.id_number(i) for i in (1, 2, 3)]
    person.refresh_from_db()
    assert person.row_count == 3 and person.current_version == appended

    refused = load(yk, person, c.csv_bytes(H, [c.person(4), c.person(2, "重复")]), mode="append")
    assert refused.status == REJECTED
    assert [(e["row"], e["column"], e["code"]) for e in refused.report] == [(3, "sfzh", "exists")]
    assert len(rows_of(person)) == 3


@pytest.mark.req("R-21.1", "R-3.1")
def test_upsert_updates_rows_by_key_and_inserts_new_ones(yk, person):
    load(yk, person, c.csv_bytes(H, [c.person(1), c.person(2)]))
    version = load(yk, person, c.csv_bytes(H, [c.person(2, "李二", 月收入="4,800.5"), c.person(3)]), mode="upsert")
    assert version.status == DONE and version.rows_loaded == 2
    assert "1" in version.message  # one existing row updated
    rows = {r["sfzh"]: r for r in rows_of(person)}
    assert set(rows) == {c.id_number(i) for i in (1, 2, 3)}
    assert (rows[c.id_number(2)]["xm"], rows[c.id_number(2)]["ysr"]) == ("李二", Decimal("4800.5"))
    person.refresh_from_db()
    assert person.row_count == 3


@pytest.mark.req("R-21.1")
def test_upsert_needs_key_columns_and_only_tables_take_rows(yk):
    entry = published_entry(yk, items=[{"name": "名称", "code": "mc", "data_type": "C", "length": 20}], name="无主键表")
    keyless = services.mount(t.actor(yk.police_admin), entry, kind="table", name="无主键")
    with pytest.raises(ValidationError) as err:
        load(yk, keyless, c.csv_bytes(["名称"], [["a"]]), mode="upsert")
    assert "mode" in err.value.message_dict
    with pytest.raises(ValidationError):
        load(yk, keyless, c.csv_bytes(["名称"], [["a"]]), mode="merge")
    files = services.mount(t.actor(yk.police_admin), entry, kind="file", name="附件")
    with pytest.raises(ValidationError):
        load(yk, files, c.csv_bytes(["名称"], [["a"]]))
    # without keys, append and replace work and duplicates are allowed
    assert load(yk, keyless, c.csv_bytes(["名称"], [["a"], ["a"]])).status == DONE
    assert load(yk, keyless, c.csv_bytes(["mc"], [["a"]]), mode="append").status == DONE
    assert [r["mc"] for r in rows_of(keyless)] == ["a", "a", "a"]


@pytest.mark.req("R-21.1")
def test_a_left_over_new_table_is_dropped_by_the_next_replace(yk, person):
    load(yk, person, c.csv_bytes(H, [c.person(1)]))
    tables.create(tables.table_for(f"{person.table_name}_new", person.columns.all()))  # as a crash could leave it
    version = load(yk, person, c.csv_bytes(H, [c.person(2)]))
    assert version.status == DONE
    assert [r["sfzh"] for r in rows_of(person)] == [c.id_number(2)]
    assert not tables.exists(f"{person.table_name}_new")


@pytest.mark.req("R-21.1")
def test_an_unexpected_failure_changes_nothing_and_is_recorded(yk, person, monkeypatch):
    first = load(yk, person, c.csv_bytes(H, [c.person(1)]))
    before = rows_of(person)

    def broken_swap(self):
        raise OSError("no space left on device")

    monkeypatch.setattr(loads._Load, "swap", broken_swap)
    version = load(yk, person, c.csv_bytes(H, [c.person(2)]))
    assert version.status == DataVersion.Status.FAILED and "no space left" in version.message
    assert version.rows_loaded == 0
    assert rows_of(person) == before
    assert (person.current_version, person.row_count) == (first, 1)
    assert not AuditEvent.objects.filter(action="datastore.load", details__version=2).exists()
    assert AuditEvent.objects.filter(action="datastore.load.failed", object_id=str(person.pk)).count() == 1


# --- values as departments write them ------------------------------------------------------


@pytest.mark.req("R-21.1", "R-3.1")
@pytest.mark.parametrize("encoding,bom", [("utf-8", False), ("utf-8", True), ("gbk", False), ("gb18030", False)])
def test_csv_in_every_encoding_departments_use(yk, person, encoding, bom):
    names = ["王五", "欧阳娜娜", "李䶮" if encoding == "gb18030" else "李丽"]
    data = c.csv_bytes(H, [c.person(i, name) for i, name in enumerate(names, start=1)], encoding=encoding, bom=bom)
    version = load(yk, person, data)
    assert version.status == DONE, version.report
    assert [r["xm"] for r in rows_of(person)] == names


@pytest.mark.req("R-21.1")
def test_an_ascii_start_does_not_decide_the_encoding(yk, person):
    """The first 64 KB are plain ASCII (codes as headers, digits); GBK names come later."""
    header = ["sfzh", "xm", "sjhm", "csrq", "ysr", "jtrs", "sfzc"]
    rows = [c.person(i, f"N{i}", 是否在册="1") for i in range(1, 1500)] + [c.person(1500, "赵钱孙", 是否在册="0")]
    version = load(yk, person, c.csv_bytes(header, rows, encoding="gbk"))
    assert version.status == DONE, version.report
    assert rows_of(person)[-1]["xm"] == "赵钱孙"


@pytest.mark.req("R-21.1")
def test_dates_numbers_and_booleans_as_departments_write_them(yk, company):
    forms = ["2024-01-02", "2024/1/2", "2024年1月2日", "20240102", "2024.1.2"]
    rows = [
        c.company(i, 成立日期=form, 注册资本=capital, 是否有效=flag, 更新时间=moment)
        for i, (form, capital, flag, moment) in enumerate(
            zip(
                forms,
                ["1,234,567.89", "1234567.89", "１２３４", "-0.5", "1.5E+3"],
                ["是", "否", "Y", "true", "0"],
                ["2024-01-02 08:30", "2024/1/2 8:30:05", "2024年1月2日 8时30分", "2024-01-02T08:30:00+08:00", "2024-01-02"],
                strict=True,
            ),
            start=1,
        )
    ]
    version = load(yk, company, c.csv_bytes(CH, rows))
    assert version.status == DONE, version.report
    got = rows_of(company)
    assert {r["clrq"] for r in got} == {dt.date(2024, 1, 2)}
    assert [r["zczb"] for r in got] == [Decimal("1234567.89"), Decimal("1234567.89"), Decimal(1234), Decimal("-0.5"), Decimal(1500)]
    assert [r["sfyx"] for r in got] == [True, False, True, True, False]
    assert [r["gxsj"] for r in got] == [
        dt.datetime(2024, 1, 2, 8, 30),
        dt.datetime(2024, 1, 2, 8, 30, 5),
        dt.datetime(2024, 1, 2, 8, 30),
        dt.datetime(2024, 1, 2, 8, 30),
        dt.datetime(2024, 1, 2, 0, 0),
    ]
    assert got[0]["jd"] == 122.2352 and got[0]["wd"] == 40.6671


@pytest.mark.req("R-21.1")
def test_empty_optional_cells_are_null_and_blank_rows_are_skipped(yk, person):
    rows = [c.person(1, 手机号码="", 出生日期="", 月收入=" ", 家庭人数="", 是否在册=""), ["", "", "", "", "", "", ""], c.person(2)]
    version = load(yk, person, c.csv_bytes(H, rows) + b",,,,,,\r\n\r\n")
    assert version.status == DONE, version.report
    assert version.rows_read == 2
    first = rows_of(person)[0]
    assert [first[k] for k in ("sjhm", "csrq", "ysr", "jtrs", "sfzc")] == [None] * 5


@pytest.mark.req("R-21.1")
def test_columns_are_matched_by_code_or_item_name_in_any_order(yk, person):
    header = ["XM", "公民身份号码", "csrq"]  # optional columns left out
    version = load(yk, person, c.csv_bytes(header, [["王五", c.id_number(1), "1990/3/4"]]))
    assert version.status == DONE, version.report
    assert rows_of(person) == [
        {"sfzh": c.id_number(1), "xm": "王五", "sjhm": None, "csrq": dt.date(1990, 3, 4), "ysr": None, "jtrs": None, "sfzc": None}
    ]


@pytest.mark.req("R-21.1", "R-3.1")
def test_workbooks_are_read_streaming_with_dates_and_numbers_as_cells(yk, person, company):
    data = c.xlsx_bytes(H, [c.person(1), [c.id_number(2), "李四", 13904170002, dt.datetime(1985, 6, 7), 4200.5, 2, "否"]])
    version = load(yk, person, data, filename="居民.xlsx")
    assert version.status == DONE, version.report
    assert version.checksum == sm3_hex(data)
    second = rows_of(person)[1]
    assert (second["sjhm"], second["csrq"], second["ysr"], second["jtrs"], second["sfzc"]) == (
        "13904170002", dt.date(1985, 6, 7), Decimal("4200.5"), 2, False
    )
    # blank rows are skipped; date cells are dates
    data = c.xlsx_bytes(CH, [c.company(1), [None] * 9, c.company(2, 成立日期=dt.date(2001, 2, 3))])
    version = load(yk, company, data, filename="法人.xlsx")
    assert version.status == DONE, version.report
    assert [r["clrq"] for r in rows_of(company)] == [dt.date(2010, 5, 4), dt.date(2001, 2, 3)]


@pytest.mark.req("R-21.1", "R-3.1")
def test_json_lines_by_code_or_name_with_typed_values(yk, company):
    objects = [
        {"tyshxydm": c.credit_code(1), "dwmc": "营口港务集团", "zczb": 1000000, "clrq": "2003-04-05", "sfyx": True, "jd": 122.1},
        {"统一社会信用代码": c.credit_code(2), "单位名称": "营口银行", "注册资本": "2,000", "是否有效": "否", "更新时间": "2025-01-01 09:00:00"},
    ]
    version = load(yk, company, c.jsonl_bytes(objects), filename="法人.jsonl")
    assert version.status == DONE, version.report
    got = rows_of(company)
    assert (got[0]["zczb"], got[0]["sfyx"], got[0]["jd"]) == (Decimal(1000000), True, 122.1)
    assert (got[1]["dwmc"], got[1]["zczb"], got[1]["gxsj"]) == ("营口银行", Decimal(2000), dt.datetime(2025, 1, 1, 9))


@pytest.mark.req("R-21.1")
def test_text_with_quotes_tabs_newlines_and_backslashes_is_kept(yk, company):
    remark = '他说："备注\t一\\二"\n第二行'
    version = load(yk, company, c.csv_bytes(CH, [c.company(1, 备注=remark)]))
    assert version.status == DONE, version.report
    assert rows_of(company)[0]["bz"] == remark


# --- policy: reject everything, or quarantine ---------------------------------------------


@pytest.mark.req("R-21.1")
def test_any_problem_rejects_the_load_and_the_report_names_row_column_value_and_reason(yk, person):
    load(yk, person, c.csv_bytes(H, [c.person(1)]))
    before = rows_of(person)
    rows = [c.person(2), c.person(3, 公民身份号码=c.bad_check(c.id_number(3)), 出生日期="2024-02-30"), c.person(4, 家庭人数="两")]
    version = load(yk, person, c.csv_bytes(H, rows))
    assert version.status == REJECTED
    assert (version.rows_read, version.rows_loaded, version.rows_rejected) == (3, 0, 2)
    assert [(e["row"], e["column"], e["value"], e["code"]) for e in version.report] == [
        (3, "sfzh", c.bad_check(c.id_number(3)), "content"),
        (3, "csrq", "2024-02-30", "type"),
        (4, "jtrs", "两", "type"),
    ]
    assert all(e["reason"] for e in version.report)
    assert "3" in version.message and "2" in version.message
    assert rows_of(person) == before
    assert AuditEvent.objects.filter(action="datastore.load.rejected", object_id=str(person.pk)).count() == 1
    report = loads.report_csv(version)
    assert report.startswith("\ufeff") and "2024-02-30" in report and len(report.splitlines()) == 4


@pytest.mark.req("R-21.1")
def test_the_stored_report_is_capped_but_every_problem_is_counted(yk, person):
    rows = [c.person(i, 家庭人数="x") for i in range(1, 1501)]
    version = load(yk, person, c.csv_bytes(H, rows))
    assert version.status == REJECTED
    assert len(version.report) == loads.REPORT_LIMIT
    assert version.rows_rejected == 1500 and "1500" in version.message


@pytest.mark.req("R-21.1")
def test_quarantine_loads_the_valid_rows_and_keeps_the_others_with_their_reasons(yk, person):
    load(yk, person, c.csv_bytes(H, [c.person(1)]))
    rows = [
        c.person(2),
        c.person(3, 手机号码="110"),
        c.person(4)[:4],
        c.person(5),
        c.person(2, "重复的"),
        c.person(1, "已有的"),
    ]
    version = load(yk, person, c.csv_bytes(H, rows), mode="append", quarantine=True)
    assert version.status == DONE, version.message
    assert (version.rows_read, version.rows_loaded, version.rows_rejected, version.quarantine) == (6, 2, 4, True)
    assert [r["sfzh"] for r in rows_of(person)] == [c.id_number(i) for i in (1, 2, 5)]
    kept = {q.row_number: q for q in QuarantinedRow.objects.filter(version=version)}
    assert sorted(kept) == [3, 4, 6, 7]
    assert kept[3].values["手机号码"] == "110" and kept[3].reasons[0]["column"] == "sjhm"
    assert kept[4].reasons[0]["code"] == "ragged"
    assert kept[6].reasons[0]["code"] == "duplicate" and kept[6].values["xm"] == "重复的"
    assert kept[7].reasons[0]["code"] == "exists"
    person.refresh_from_db()
    assert person.row_count == 3 and person.current_version == version


@pytest.mark.req("R-21.1")
def test_quarantine_with_replace_and_duplicates_keeps_the_first_row_of_each_key(yk, person):
    rows = [c.person(1), c.person(2), c.person(1, "第二个"), c.person(1, "第三个")]
    version = load(yk, person, c.csv_bytes(H, rows), quarantine=True)
    assert version.status == DONE
    assert [(r["sfzh"], r["xm"]) for r in rows_of(person)] == [(c.id_number(1), "张1"), (c.id_number(2), "张2")]
    assert sorted(QuarantinedRow.objects.filter(version=version).values_list("row_number", flat=True)) == [4, 5]
    # the key index is in place: a later append of the same key is refused
    assert load(yk, person, c.csv_bytes(H, [c.person(2)]), mode="append").status == REJECTED


@pytest.mark.req("R-21.1")
def test_quarantine_with_no_valid_row_loads_nothing(yk, person):
    load(yk, person, c.csv_bytes(H, [c.person(1)]))
    version = load(yk, person, c.csv_bytes(H, [c.person(2, 家庭人数="x")]), quarantine=True)
    assert version.status == REJECTED
    assert [r["sfzh"] for r in rows_of(person)] == [c.id_number(1)]


# --- push interface (R-9.1) ----------------------------------------------------------------


@pytest.mark.req("R-9.1", "R-21.1")
def test_a_registered_system_pushes_rows_checked_like_a_file(yk, person):
    system = InformationSystem.objects.create(department=yk.police, name="人口管理系统", owner="户政科", status="existing")
    rows = [dict(zip(["sfzh", "xm", "csrq"], [c.id_number(1), "王五", "1990/2/3"], strict=True)), {"公民身份号码": c.id_number(2), "姓名": "李四"}]
    version = loads.push_rows(t.actor(yk.police_admin), person, rows, mode="upsert", system=system)
    assert version.status == DONE, version.report
    assert (version.application, version.source, version.rows_loaded) == (f"system:{system.pk}", "push: 人口管理系统", 2)
    assert len(version.checksum) == 64
    assert [r["xm"] for r in rows_of(person)] == ["王五", "李四"]

    refused = loads.push_rows(t.actor(yk.police_admin), person, [{"sfzh": c.id_number(3)}, {"sfzh": "1", "xm": "x", "wrong": 1}], mode="append")
    assert refused.status == REJECTED
    assert [(e["row"], e["code"]) for e in refused.report] == [(1, "required"), (2, "unknown_column")]
    assert loads.push_rows(t.actor(yk.police_admin), person, [], mode="append").report[0]["code"] == "no_rows"

    other = InformationSystem.objects.create(department=yk.civil, name="民政系统", owner="x", status="existing")
    with pytest.raises(ValidationError):
        loads.push_rows(t.actor(yk.police_admin), person, rows, mode="upsert", system=other)
    with pytest.raises(ValidationError):
        loads.push_rows(t.actor(yk.police_admin), person, "not rows", mode="upsert")
    with pytest.raises(PermissionDenied):
        loads.push_rows(t.actor(yk.civil_admin), person, rows, mode="upsert")


# --- permissions ----------------------------------------------------------------------------


@pytest.mark.req("R-21.1", "R-18.1")
def test_only_the_providing_department_loads(yk, person):
    data = c.csv_bytes(H, [c.person(1)])
    for outsider in (yk.civil_admin, yk.bureau, yk.gz_admin, yk.evaluator, yk.police_security, None):
        with pytest.raises(PermissionDenied):
            loads.load_table(t.actor(outsider), person, data, filename="a.csv", mode="replace")
    assert not DataVersion.objects.filter(resource=person).exists()
    assert load(yk, person, data).status == DONE  # staff of the provider
    assert loads.load_table(Actor.platform(), person, data, filename="a.csv", mode="replace").status == DONE


# --- background job ---------------------------------------------------------------------------


@pytest.mark.req("R-21.1")
def test_a_large_upload_is_kept_and_loaded_by_a_background_job(yk, person, django_capture_on_commit_callbacks, tmp_path):
    path = tmp_path / "居民.csv"
    path.write_bytes(c.csv_bytes(H, [c.person(i) for i in range(1, 51)]))
    with django_capture_on_commit_callbacks(execute=True), open(path, "rb") as upload:
        token = loads.queue_load(t.actor(yk.police_staff), person, upload, filename="居民.csv", mode="replace")
    progress = loads.load_progress(token)
    assert progress["phase"] == "finished" and progress["status"] == DONE and progress["done"] == 50
    version = DataVersion.objects.get(pk=progress["version"])
    assert version.loaded_by == yk.police_staff and version.rows_loaded == 50
    with pytest.raises(PermissionDenied), open(path, "rb") as upload:
        loads.queue_load(t.actor(yk.civil_admin), person, upload, filename="居民.csv", mode="replace")


@pytest.mark.req("R-21.1")
def test_an_upload_over_the_limit_is_refused_and_not_kept(yk, person, settings, tmp_path):
    settings.DATASTORE_UPLOAD_MAX_BYTES = 1000
    path = tmp_path / "居民.csv"
    path.write_bytes(c.csv_bytes(H, [c.person(i) for i in range(1, 51)]))
    kept = loads._upload_storage()
    with pytest.raises(ValidationError) as caught, open(path, "rb") as upload:  # a plain stream: size unknown
        loads.queue_load(t.actor(yk.police_staff), person, upload, filename="居民.csv", mode="replace")
    assert "file" in caught.value.message_dict
    assert not kept.exists(f"datastore/{person.pk}") or kept.listdir(f"datastore/{person.pk}")[1] == []
    assert not DataVersion.objects.filter(resource=person).exists()


@pytest.mark.req("R-21.1")
def test_progress_is_reported_while_reading(yk, person):
    seen = []
    rows = [c.person(i) for i in range(1, 25_001)]
    version = load(yk, person, c.csv_bytes(H, rows), progress=lambda phase, done, total: seen.append((phase, done, total)))
    assert version.status == DONE
    phases = [phase for phase, _, _ in seen]
    assert phases[0] == "reading" and "checking" in phases and "saving" in phases and phases[-1] == "finished"
    reading = [(done, total) for phase, done, total in seen if phase == "reading"]
    assert len(reading) >= 3 and all(0 <= done <= total for done, total in reading)


# --- freshness (R-21.1) -----------------------------------------------------------------------


def _publish(yk, resource):
    services.submit(t.actor(yk.police_admin), resource)
    services.publish(t.actor(yk.bureau), resource)
    resource.refresh_from_db()
    return resource


@pytest.mark.req("R-21.1")
def test_next_load_is_due_one_update_cycle_after_the_last(yk, person, clock):
    start = clock.set(dt.datetime(2026, 1, 31, 10, 0, tzinfo=platform_clock.SHANGHAI))
    load(yk, person, c.csv_bytes(H, [c.person(1)]))
    person.refresh_from_db()
    expected = {
        "daily": dt.datetime(2026, 2, 1, 23, 59, 59),
        "weekly": dt.datetime(2026, 2, 7, 23, 59, 59),
        "monthly": dt.datetime(2026, 2, 28, 23, 59, 59),
        "quarterly": dt.datetime(2026, 4, 30, 23, 59, 59),
        "half_yearly": dt.datetime(2026, 7, 31, 23, 59, 59),
        "yearly": dt.datetime(2027, 1, 31, 23, 59, 59),
    }
    for cycle, due in expected.items():
        assert freshness.due_after(cycle, start) == due.replace(tzinfo=platform_clock.SHANGHAI), cycle
    assert freshness.due_after("realtime", start) == start + dt.timedelta(days=1)
    assert freshness.due_after("other", start) is None
    # the entry's published cycle is daily
    assert freshness.next_due(person) == expected["daily"].replace(tzinfo=platform_clock.SHANGHAI)
    assert not freshness.is_stale(person)
    clock.set(dt.datetime(2026, 2, 1, 23, 59, 59, tzinfo=platform_clock.SHANGHAI))
    assert not freshness.is_stale(person)
    clock.advance(seconds=1)
    assert freshness.is_stale(person)
    state = freshness.freshness(person)
    assert state.stale and state.cycle == "daily" and state.overdue == dt.timedelta(seconds=1)
    load(yk, person, c.csv_bytes(H, [c.person(2)]))  # a new load makes it fresh again
    person.refresh_from_db()
    assert not freshness.is_stale(person)


@pytest.mark.req("R-21.1")
def test_stale_resources_are_listed_for_their_provider_and_the_bureau(yk, person, clock):
    load(yk, person, c.csv_bytes(H, [c.person(1)]))
    _publish(yk, person)
    monthly = published_entry(yk, name="月度统计", update_cycle="monthly")
    fresh = _publish(yk, services.mount(t.actor(yk.police_admin), monthly, kind="table", name="月度表"))
    load(yk, fresh, c.csv_bytes(H, [c.person(1)]))
    draft = services.mount(t.actor(yk.police_admin), published_entry(yk, name="未发布"), kind="table", name="草稿表")
    assert freshness.stale_resources(yk.police_admin) == []
    clock.advance(days=3)
    for user in (yk.police_admin, yk.police_staff, yk.bureau, yk.evaluator):
        assert [f.resource for f in freshness.stale_resources(user)] == [person], user
    for user in (yk.civil_admin, yk.gz_admin, None):
        assert freshness.stale_resources(user) == []
    assert draft not in [f.resource for f in freshness.stale_resources(yk.bureau)]
    clock.advance(days=40)
    assert [f.resource for f in freshness.stale_resources(yk.bureau)] == [person, fresh]


@pytest.mark.req("R-21.1")
def test_the_provider_is_told_once_per_missed_load_and_the_job_does_it(yk, person, clock):
    load(yk, person, c.csv_bytes(H, [c.person(1)]))
    _publish(yk, person)
    stale_notices = Notification.objects.filter(category="datastore.stale", department=yk.police)
    assert services.flag_stale_resources() == []
    clock.advance(days=3)
    tasks.flag_stale_resources.call_local()
    assert stale_notices.count() == 1
    assert person.name in stale_notices.get().subject
    assert services.flag_stale_resources() == []  # the same missed load: no second notice
    assert AuditEvent.objects.filter(action="datastore.resource.stale", object_id=str(person.pk)).count() == 1
    load(yk, person, c.csv_bytes(H, [c.person(2)]))
    clock.advance(days=3)  # the next load is missed too: a new notice
    assert services.flag_stale_resources() == [person]
    assert stale_notices.count() == 2
    assert not Notification.objects.filter(category="datastore.stale").exclude(department=yk.police).exists()
