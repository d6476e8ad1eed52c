import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from openpyxl import Workbook, load_workbook

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.catalog import services
from govdata.catalog.models import CatalogEntry, Classification
from govdata.catalog.seed import seed_classification
from govdata.catalog.spreadsheet import ENTRY_COLUMNS, ENTRY_SHEET, ITEM_COLUMNS, ITEM_SHEET, build_workbook
from govdata.orgs import services as org_services


@pytest.fixture
def setup(yk):
    seed_classification(Classification)
    org_services.file_contact(t.actor(yk.police_admin), yk.police, role="staff", name="赵刚", post="科长", mobile="13904170001")
    return yk


def names():
    with translation.override("zh-hans"):
        return str(ENTRY_SHEET), str(ITEM_SHEET), [str(c.header) for c in ENTRY_COLUMNS], [str(c.header) for c in ITEM_COLUMNS]


def good_entry(ref, **over):
    row = {
        "ref": ref,
        "classification": "202",
        "name": f"社会保险参保信息{ref}",
        "summary": "参保登记与缴费状态",
        "internal_division": "信息科",
        "format_category": "database",
        "format_type": "oracle",
        "format_description": None,
        "share_type": "conditional",
        "share_conditions": "仅用于待遇资格核验",
        "share_basis": None,
        "share_method": "platform",
        "platform_mode": "api",
        "open_type": "not_open",
        "open_conditions": None,
        "open_basis": "涉及个人信息",
        "update_cycle": "daily",
        "update_cycle_note": None,
        "publish_date": "2026年1月5日",
        "related_codes": None,
        "themes": "202",
        "domains": "social_security",
        "contact": "赵刚",
        "is_classified": "否",
    }
    row.update(over)
    return row


def good_item(ref, n=1, **over):
    row = {
        "ref": ref,
        "name": f"信息项{n}",
        "code": f"item{n}",
        "data_type": "C",
        "length": 20,
        "required": "是",
        "is_key": "否",
        "sensitive": "否",
        "description": "",
    }
    row.update(over)
    return row


def workbook(entries, items):
    data = build_workbook()
    wb = load_workbook(io.BytesIO(data))
    entry_sheet, item_sheet, _eh, _ih = names()
    for row in entries:
        wb[entry_sheet].append([row.get(c.key) for c in ENTRY_COLUMNS])
    for row in items:
        wb[item_sheet].append([row.get(c.key) for c in ITEM_COLUMNS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.req("R-13.2")
def test_template_has_dropdowns_and_notes(setup):
    wb = load_workbook(io.BytesIO(build_workbook()))
    entry_sheet, item_sheet, entry_headers, _ = names()
    assert wb.sheetnames[:2] == [entry_sheet, item_sheet] and len(wb.sheetnames) == 3
    validated_columns = {str(rng).split(":")[0].rstrip("0123456789") for dv in wb[entry_sheet].data_validations.dataValidation for rng in dv.sqref.ranges}
    # Every vocabulary column (format category, sharing type/method, platform mode, opening type,
    # update cycle, classified) has a dropdown.
    assert len(validated_columns) == 7
    assert [c.value for c in wb[entry_sheet][1]] == entry_headers


@pytest.mark.req("R-13.2")
def test_valid_import_creates_every_entry_with_items(setup):
    data = workbook([good_entry(1), good_entry(2, classification="101", share_type="unconditional", share_conditions="")],
                    [good_item(1, 1), good_item(1, 2, data_type="D", length=None), good_item(2, 1)])
    result = services.import_workbook(t.actor(setup.police_staff), setup.police, data)
    assert result.ok, result.errors
    assert [e.code for e in result.created] == ["202/000001", "101/000001"]
    first = CatalogEntry.objects.get(code="202/000001").working
    assert [i.code for i in first.items.all()] == ["item1", "item2"]
    assert first.contact.name == "赵刚" and first.publish_date.isoformat() == "2026-01-05"
    assert [t.code for t in first.themes.all()] == ["202"] and first.domains == ["social_security"]
    assert AuditEvent.objects.filter(action="catalog.import", row_count=2).count() == 1


BAD_ROWS = [
    # (entry overrides, item overrides or None for default, expected column key)
    ({"classification": "999"}, None, "classification"),
    ({"classification": "1"}, None, "classification"),
    ({"name": None}, None, "name"),
    ({"summary": "   "}, None, "summary"),
    ({"format_category": "视频"}, None, "format_category"),
    ({"format_type": "mysql"}, None, "format_type"),
    ({"format_category": "self_describing", "format_type": None}, None, "format_description"),
    ({"share_type": "部分共享"}, None, "share_type"),
    ({"share_conditions": None}, None, "share_conditions"),
    ({"share_type": "not_shared", "share_conditions": None}, None, "share_basis"),
    ({"classification": "102"}, None, "share_type"),
    ({"platform_mode": None}, None, "platform_mode"),
    ({"open_basis": None}, None, "open_basis"),
    ({"open_type": "on_application"}, None, "open_conditions"),
    ({"update_cycle": "每小时"}, None, "update_cycle"),
    ({"update_cycle": "other"}, None, "update_cycle_note"),
    ({"publish_date": "2026-02-30"}, None, "publish_date"),
    ({"publish_date": "明天"}, None, "publish_date"),
    ({"themes": "旅游"}, None, "themes"),
    ({"domains": "tourism"}, None, "domains"),
    ({"contact": "不存在的人"}, None, "contact"),
    ({"is_classified": "是"}, None, "is_classified"),
    ({"is_classified": "也许"}, None, "is_classified"),
    ({"name": "=HYPERLINK(\"http://x\")"}, None, "name"),
    ({"related_codes": "999/000009"}, None, "related_codes"),
    ({}, {"data_type": "X"}, "data_type"),
    ({}, {"code": "1abc"}, "code"),
    ({}, {"length": "十"}, "length"),
    ({}, {"length": None}, "length"),
    ({}, {"is_key": "是", "required": "否"}, "required"),
    ({}, {"name": None}, "name"),
]


@pytest.mark.req("R-13.2")
def test_bad_rows_import_nothing_and_every_error_is_reported(setup):
    entries, items = [good_entry(1)], [good_item(1)]
    for n, (entry_over, item_over, _column) in enumerate(BAD_ROWS, start=2):
        entries.append(good_entry(n, **entry_over))
        items.append(good_item(n, **(item_over or {})))
    items.append(good_item(999))  # an item pointing at no entry
    entries.append(good_entry(2))  # a duplicate row number
    before_entries, before_serial = CatalogEntry.objects.count(), Classification.objects.get(code="202").last_serial

    result = services.import_workbook(t.actor(setup.police_admin), setup.police, workbook(entries, items))

    assert not result.ok and result.created == []
    assert CatalogEntry.objects.count() == before_entries
    assert Classification.objects.get(code="202").last_serial == before_serial
    entry_sheet, item_sheet, entry_headers, item_headers = names()
    header_of = {**{c.key: h for c, h in zip(ENTRY_COLUMNS, entry_headers)}}
    item_header_of = {c.key: h for c, h in zip(ITEM_COLUMNS, item_headers)}
    reported = {(e.sheet, e.row, e.column) for e in result.errors}
    for n, (_entry_over, item_over, column) in enumerate(BAD_ROWS, start=2):
        row = n + 1  # header row + 1-based data rows: entry n sits on sheet row n + 1
        if item_over is None:
            assert (entry_sheet, row, header_of[column]) in reported, (column, [e for e in result.errors if e.row == row])
        else:
            assert (item_sheet, row, item_header_of[column]) in reported, (column, [e for e in result.errors if e.row == row])
    assert any(e.sheet == item_sheet and "999" in e.reason for e in result.errors)
    assert any(e.sheet == entry_sheet and e.row == len(entries) + 1 for e in result.errors)
    assert all(e.row != 2 for e in result.errors)  # the good first row is not blamed

    marked = load_workbook(io.BytesIO(result.marked_workbook))
    sheet = marked[entry_sheet]
    reason_col = [c.value for c in sheet[1]].index("错误原因") + 1 if "错误原因" in [c.value for c in sheet[1]] else sheet.max_column
    assert sheet.cell(row=3, column=reason_col).value  # row of the first bad entry has its reason
    bad_cell = sheet.cell(row=3, column=entry_headers.index(header_of["classification"]) + 1)
    assert bad_cell.comment is not None and bad_cell.fill.fgColor.rgb.endswith("FFC7CE")
    assert AuditEvent.objects.filter(action="catalog.import.rejected").count() == 1


@pytest.mark.req("R-13.2")
@pytest.mark.parametrize(
    "payload, fragment",
    [
        (b"", "xlsx"),
        (b"name,summary\n\xc8\xcb\xbf\xda,x\n", "xlsx"),  # a GBK CSV renamed to .xlsx
        ("not-a-zip", "xlsx"),
    ],
)
def test_unreadable_files_are_refused_with_a_message(setup, payload, fragment):
    data = payload.encode() if isinstance(payload, str) else payload
    with pytest.raises(ValidationError) as err:
        services.import_workbook(t.actor(setup.police_admin), setup.police, data)
    assert fragment in " ".join(err.value.message_dict["file"])


@pytest.mark.req("R-13.2")
def test_zip_bomb_and_foreign_workbook_are_refused(setup, settings):
    settings.CATALOG_IMPORT_MAX_BYTES = 100_000
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", "0" * 5_000_000)
    with pytest.raises(ValidationError) as err:
        services.import_workbook(t.actor(setup.police_admin), setup.police, bomb.getvalue())
    assert "file" in err.value.message_dict
    other = io.BytesIO()
    Workbook().save(other)
    with pytest.raises(ValidationError) as err:
        services.import_workbook(t.actor(setup.police_admin), setup.police, other.getvalue())
    assert names()[0] in err.value.message_dict["file"][0]


@pytest.mark.req("R-13.2")
def test_thousand_row_import(setup):
    entries = [good_entry(n, contact=None) for n in range(1, 1001)]
    items = [good_item(n, k) for n in range(1, 1001) for k in (1, 2)]
    result = services.import_workbook(t.actor(setup.police_admin), setup.police, workbook(entries, items))
    assert result.ok
    assert CatalogEntry.objects.filter(provider=setup.police).count() == 1000
    assert CatalogEntry.objects.order_by("-code").first().code == "202/001000"


@pytest.mark.req("R-13.2")
def test_export_reimports_identically(setup):
    data = workbook([good_entry(1)], [good_item(1, 1), good_item(1, 2)])
    services.import_workbook(t.actor(setup.police_admin), setup.police, data)
    version = CatalogEntry.objects.get().working
    exported = build_workbook([version])
    result = services.import_workbook(t.actor(setup.police_admin), setup.police, exported)
    assert result.ok, result.errors
    copy = result.created[0].working
    from govdata.catalog.diff import diff_versions

    assert [c.field for c in diff_versions(version, copy).fields] == []
    assert diff_versions(version, copy).items == []
