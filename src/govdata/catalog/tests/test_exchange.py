import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from openpyxl import load_workbook

from govdata import testing as t
from govdata.catalog import search, services
from govdata.catalog.exchange import NATIONAL_COLUMNS, SHEET, export_national
from govdata.catalog.models import CatalogEntry, Classification, EntryVersion
from govdata.catalog.seed import seed_classification

from .test_workflow import ITEMS, entry_values


@pytest.fixture
def published(yk):
    seed_classification(Classification)
    entry = services.create_entry(
        t.actor(yk.police_admin), yk.police, Classification.objects.get(code="202"), entry_values(), ITEMS
    )
    services.submit(t.actor(yk.police_admin), entry)
    services.publish(t.actor(yk.bureau), entry)
    entry.refresh_from_db()
    return entry


def national_file(rows):
    wb = load_workbook(io.BytesIO(export_national([])))
    for row in rows:
        wb[SHEET].append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upper_row(code="A01/000123", name="全国企业信用信息", share="无条件共享", fmt="数据库/oracle"):
    return [
        "104", name, code, "国家市场监督管理总局", "11100000000013127X", "全国企业信用公示信息", fmt,
        "统一社会信用代码(tyshxydm:C:18)；企业名称(qymc:C:200)", share, "", "共享平台方式/接口", "是", "", "每日", "2026-01-01", "",
    ]


@pytest.mark.req("R-11.2")
def test_export_uses_the_national_layout(published):
    wb = load_workbook(io.BytesIO(export_national([published.published])))
    sheet = wb[SHEET]
    assert tuple(c.value for c in sheet[1]) == NATIONAL_COLUMNS
    row = [c.value for c in sheet[2]]
    assert row[2] == published.code and row[4] == published.provider.credit_code
    assert row[7].startswith("公民身份号码(sfzh:C:18)；姓名(xm:C:50)")


@pytest.mark.req("R-11.2")
def test_upper_level_import_creates_read_only_entries(yk, published):
    seed_classification(Classification)
    with pytest.raises(PermissionDenied):
        services.import_upper_level(t.actor(yk.police_admin), national_file([upper_row()]), "national")
    result = services.import_upper_level(t.actor(yk.bureau), national_file([upper_row()]), "national")
    assert (result.created, result.updated) == (1, 0), result.errors
    entry = CatalogEntry.objects.get(code="A01/000123")
    assert entry.origin == "national" and entry.read_only and entry.origin_provider == "国家市场监督管理总局"
    assert entry.published.status == EntryVersion.Status.PUBLISHED
    assert [i.code for i in entry.published.items.all()] == ["tyshxydm", "qymc"]
    assert search.search("企业信用").total == 1
    holder_admin = t.user("department_admin", yk.bureau_dept)
    with pytest.raises(ValidationError):
        services.start_revision(t.actor(holder_admin), entry)  # maintained upstream, not here
    # Same file again: nothing changes; a changed name: a new published version.
    again = services.import_upper_level(t.actor(yk.bureau), national_file([upper_row()]), "national")
    assert (again.created, again.updated) == (0, 0)
    changed = services.import_upper_level(t.actor(yk.bureau), national_file([upper_row(name="全国企业信用信息公示")]), "national")
    assert changed.updated == 1
    entry.refresh_from_db()
    assert entry.published.number == 2 and entry.versions.get(number=1).status == EntryVersion.Status.SUPERSEDED


@pytest.mark.req("R-11.2")
def test_upper_level_errors_import_nothing(yk, published):
    rows = [upper_row(), upper_row(code=published.code), upper_row(code="B/1", share="部分共享"), upper_row(code="C/1", fmt="光盘")]
    result = services.import_upper_level(t.actor(yk.bureau), national_file(rows), "provincial")
    columns = {(e.row, e.column) for e in result.errors}
    assert {(3, "信息资源代码"), (4, "共享类型"), (5, "信息资源格式")} <= columns
    assert not CatalogEntry.objects.filter(origin="provincial").exists()
    with pytest.raises(ValidationError):
        services.import_upper_level(t.actor(yk.bureau), b"junk", "national")


@pytest.mark.req("R-11.2")
@pytest.mark.req("R-16.1")
def test_sharing_catalog_export_in_every_format(yk, published, client):
    draft = services.create_entry(
        t.actor(yk.civil_admin), yk.civil, Classification.objects.get(code="202"), entry_values(name="草稿资源"), ITEMS
    )
    client.force_login(yk.civil_admin)
    csv = client.get("/catalog/export/?format=csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    text = csv.content.decode("utf-8-sig")
    assert published.code in text and draft.code not in text
    national = load_workbook(io.BytesIO(client.get("/catalog/export/?format=national&q=参保").content))
    assert [c.value for c in national[SHEET][2]][2] == published.code
    assert client.get("/catalog/export/?format=json&q=不存在的词").json() == {"entries": []}
    client.force_login(t.user("public_user"))
    assert client.get("/catalog/export/?format=csv").status_code == 403
