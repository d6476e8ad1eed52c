"""The catalog pages: who sees what, the entry form's errors, review, search, import, maintenance."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from govdata import testing as t
from govdata.catalog import services
from govdata.catalog.models import CatalogEntry, CatalogImport, Classification, EntryVersion, LegalChange
from govdata.catalog.seed import seed_classification

from .test_import import good_entry, good_item, workbook
from .test_import_jobs import import_files  # noqa: F401 (fixture)
from .test_workflow import ITEMS, entry_values

Status = EntryVersion.Status
SH = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def cls(yk, clock):
    seed_classification(Classification)
    return {c.code: c for c in Classification.objects.all()}


def make(yk, cls, *, user=None, provider=None, code="202", themes=(), items=ITEMS, **values):
    data = entry_values(**values)
    data["themes"] = [cls[c] for c in themes]
    return services.create_entry(t.actor(user or yk.police_admin), provider or yk.police, cls[code], data, items)


def published(yk, cls, *, user=None, provider=None, **kw):
    entry = make(yk, cls, user=user, provider=provider, **kw)
    services.submit(t.actor(user or yk.police_admin), entry)
    services.publish(t.actor(yk.bureau), entry)
    return CatalogEntry.objects.get(pk=entry.pk)


def html(response) -> str:
    return response.content.decode()


def form_post(**overrides):
    """A complete entry form post with two data items."""
    data = {
        "classification": "",
        "name": "机动车驾驶人信息",
        "summary": "全市机动车驾驶人的驾驶证信息",
        "internal_division": "车辆管理所",
        "format_category": "database",
        "format_type": "oracle",
        "share_type": "conditional",
        "share_conditions": "仅用于交通违法处理",
        "share_method": "platform",
        "platform_mode": "api",
        "open_type": "not_open",
        "open_basis": "涉及个人信息",
        "update_cycle": "daily",
        "domains": ["transport"],
        "items-0-name": "公民身份号码",
        "items-0-code": "sfzh",
        "items-0-data_type": "C",
        "items-0-length": "18",
        "items-0-required": "1",
        "items-0-is_key": "1",
        "items-3-name": "准驾车型",
        "items-3-code": "zjcx",
        "items-3-data_type": "C",
        "items-3-length": "10",
        # a row left empty by the user is ignored
        "items-5-name": "",
        "items-5-code": "",
    }
    data.update(overrides)
    return data


# --- rendering and roles -------------------------------------------------------------------


@pytest.mark.req("R-16.1")
@pytest.mark.req("R-12.1")
@pytest.mark.parametrize(
    "who, allowed, refused",
    [
        ("police_admin", ["search", "mine", "new", "import", "maintenance"], ["review"]),
        ("police_staff", ["search", "mine", "new", "import"], ["review", "maintenance"]),
        ("bureau", ["search", "review", "maintenance"], ["mine", "new", "import"]),
        ("gz_admin", ["search", "review", "maintenance"], ["mine", "new"]),
        ("evaluator", ["search"], ["mine", "review", "maintenance", "new"]),
    ],
)
def test_pages_render_in_chinese_for_the_right_roles(client, yk, cls, who, allowed, refused):
    published(yk, cls)
    client.force_login(getattr(yk, who))
    for name in allowed:
        response = client.get(reverse(f"catalog:{name}"))
        assert response.status_code == 200, name
        text = html(response)
        assert '<html lang="zh-Hans">' in text
        assert re.search(r"<h1[^>]*>[^<]*[\u4e00-\u9fff]", text), name
    for name in refused:
        assert client.get(reverse(f"catalog:{name}")).status_code == 403, name


@pytest.mark.req("R-16.1")
def test_chinese_labels_and_navigation(client, yk, cls):
    entry = published(yk, cls, themes=["202"])
    client.force_login(yk.police_admin)
    text = html(client.get(reverse("catalog:mine")))
    assert "本部门目录" in text and "信息资源代码" in text and "信息资源名称" in text and "共享类型" in text
    assert "有条件共享" in text and "不予开放" in text and "每日" in text
    nav = text.split('class="navbar-nav', 1)[1].split("</ul>", 1)[0]
    assert "共享目录" in nav and "本部门目录" in nav and "目录维护" in nav and "目录审核" not in nav
    detail = html(client.get(reverse("catalog:entry", args=[entry.pk])))
    for label in ("信息资源摘要", "共享条件", "共享方式", "开放类型", "更新周期", "发布日期", "信息项", "C 字符型", "D 日期型"):
        assert label in detail, label
    client.force_login(yk.bureau)
    nav = html(client.get(reverse("catalog:search"))).split('class="navbar-nav', 1)[1].split("</ul>", 1)[0]
    assert "目录审核" in nav and "本部门目录" not in nav


# --- privacy of drafts ---------------------------------------------------------------------


@pytest.mark.req("R-16.1")
def test_another_departments_draft_is_hidden_everywhere(client, yk, cls):
    draft = make(yk, cls, name="临时管控人员草稿信息")
    published(yk, cls, name="居民户籍信息", code="101", share_type="unconditional", share_conditions="")
    client.force_login(yk.civil_admin)
    assert client.get(reverse("catalog:entry", args=[draft.pk])).status_code == 404
    assert client.get(reverse("catalog:edit", args=[draft.pk])).status_code == 404
    found = html(client.get(reverse("catalog:search"), {"q": "临时管控"}))
    assert "临时管控人员草稿信息" not in found and draft.code not in found
    assert "临时管控人员草稿信息" not in html(client.get(reverse("catalog:search")))
    mine = html(client.get(reverse("catalog:mine")))
    assert draft.code not in mine and "居民户籍信息" not in mine

    # The providing department sees its draft apart from the published results.
    client.force_login(yk.police_staff)
    own = html(client.get(reverse("catalog:search"), {"q": "临时管控"}))
    assert 'id="own-unpublished"' in own and "临时管控人员草稿信息" in own
    assert draft.code in html(client.get(reverse("catalog:mine")))
    assert client.get(reverse("catalog:entry", args=[draft.pk])).status_code == 200
    # Reviewers do not see plain drafts either.
    client.force_login(yk.bureau)
    assert client.get(reverse("catalog:entry", args=[draft.pk])).status_code == 404


# --- the entry form ------------------------------------------------------------------------


@pytest.mark.req("R-13.2")
@pytest.mark.req("R-12.1")
def test_form_creates_edits_and_submits_an_entry(client, yk, cls):
    client.force_login(yk.police_admin)
    assert "准驾车型" not in html(client.get(reverse("catalog:new")))
    response = client.post(reverse("catalog:new"), form_post(classification=cls["204"].pk))
    entry = CatalogEntry.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("catalog:entry", args=[entry.pk])
    version = entry.working
    assert entry.code == "204/000001" and version.status == Status.DRAFT
    assert [(i.position, i.code, i.length, i.is_key) for i in version.items.all()] == [
        (1, "sfzh", 18, True),
        (2, "zjcx", 10, False),
    ]
    assert version.domains == ["transport"] and version.platform_mode == "api"

    edit = html(client.get(reverse("catalog:edit", args=[entry.pk])))
    assert 'value="准驾车型"' in edit and 'name="items-1-code"' in edit and "机动车驾驶人信息" in edit
    response = client.post(
        reverse("catalog:edit", args=[entry.pk]),
        form_post(share_conditions="仅用于交通违法处理和事故处置", action="submit", themes=[cls["205"].pk]),
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.working.status == Status.SUBMITTED
    assert entry.working.share_conditions == "仅用于交通违法处理和事故处置"
    assert [t.code for t in entry.working.themes.all()] == ["205"]
    # Under review it cannot be edited: the edit page sends the user back with a message.
    response = client.get(reverse("catalog:edit", args=[entry.pk]), follow=True)
    assert "没有可修改的草稿" in html(response)


@pytest.mark.req("R-13.2")
def test_form_shows_errors_next_to_fields_and_item_rows_and_saves_nothing(client, yk, cls):
    client.force_login(yk.police_admin)
    response = client.post(
        reverse("catalog:new"),
        form_post(classification=cls["204"].pk, share_conditions="", **{"items-3-code": "1abc"}),
    )
    assert response.status_code == 200
    assert CatalogEntry.objects.count() == 0
    assert Classification.objects.get(code="204").last_serial == 0
    text = html(response)
    assert "未保存任何内容" in text
    # The conditions error sits with its field.
    field = text.split('data-field="share_conditions"', 1)[1].split('data-field="share_basis"', 1)[0]
    assert 'data-error-for="share_conditions"' in field and "有条件共享" in field
    # The code error sits on the second item row (the one the user filled in second).
    row = text.split('id="item-row-2"', 1)[1].split("</tr>", 1)[0]
    assert row.startswith(' class="item-row table-danger"')
    assert 'value="1abc"' in row and "字段代码" in text and "is-invalid" in row
    assert "信息项 2" in text
    first = text.split('id="item-row-1"', 1)[1].split("</tr>", 1)[0]
    assert "invalid-feedback" not in first
    # Values the user typed are kept.
    assert 'value="准驾车型"' in text and "机动车驾驶人信息" in text


@pytest.mark.req("R-13.2")
def test_form_requires_items_and_a_classification(client, yk, cls):
    client.force_login(yk.police_admin)
    data = {k: v for k, v in form_post(classification=cls["204"].pk).items() if not k.startswith("items-")}
    text = html(client.post(reverse("catalog:new"), data))
    assert "至少" in text and CatalogEntry.objects.count() == 0
    text = html(client.post(reverse("catalog:new"), form_post()))
    assert 'data-error-for="classification"' in text and CatalogEntry.objects.count() == 0


@pytest.mark.req("R-11.1")
def test_only_the_department_edits_and_only_its_admin_submits(client, yk, cls):
    entry = make(yk, cls, user=yk.police_staff)
    client.force_login(yk.police_staff)
    text = html(client.get(reverse("catalog:entry", args=[entry.pk])))
    assert reverse("catalog:edit", args=[entry.pk]) in text and reverse("catalog:submit", args=[entry.pk]) not in text
    assert client.post(reverse("catalog:submit", args=[entry.pk])).status_code == 403
    assert 'value="submit"' not in html(client.get(reverse("catalog:edit", args=[entry.pk])))
    services.submit(t.actor(yk.police_admin), entry)
    client.force_login(yk.bureau)
    assert client.get(reverse("catalog:edit", args=[entry.pk])).status_code == 403


# --- review ----------------------------------------------------------------------------------


@pytest.mark.req("R-12.1")
def test_review_queue_scope_of_a_region_admin(client, yk, cls):
    city = make(yk, cls, name="市级参保信息")
    county = make(yk, cls, user=yk.gz_health_admin, provider=yk.gz_health, code="201", name="盖州医疗机构名录")
    services.submit(t.actor(yk.police_admin), city)
    services.submit(t.actor(yk.gz_health_admin), county)

    client.force_login(yk.gz_admin)
    text = html(client.get(reverse("catalog:review")))
    assert "盖州医疗机构名录" in text and "市级参保信息" not in text
    assert client.get(reverse("catalog:review_entry", args=[county.pk])).status_code == 200
    assert client.get(reverse("catalog:review_entry", args=[city.pk])).status_code == 404
    assert client.post(reverse("catalog:publish", args=[city.pk])).status_code == 404

    client.force_login(yk.bureau)
    text = html(client.get(reverse("catalog:review")))
    assert "盖州医疗机构名录" in text and "市级参保信息" in text
    # Department users have no review queue, and cannot publish their own entries.
    client.force_login(yk.police_admin)
    assert client.get(reverse("catalog:review")).status_code == 403
    assert client.post(reverse("catalog:publish", args=[city.pk])).status_code == 403


@pytest.mark.req("R-12.1")
def test_return_requires_a_reason_and_the_department_sees_it(client, yk, cls):
    entry = make(yk, cls)
    services.submit(t.actor(yk.police_admin), entry)
    client.force_login(yk.bureau)
    page = html(client.get(reverse("catalog:review_entry", args=[entry.pk])))
    assert "批准并发布" in page and "退回" in page
    response = client.post(reverse("catalog:return", args=[entry.pk]), {"reason": "   "})
    assert response.status_code == 200
    assert 'data-error-for="reason"' in html(response)
    entry.refresh_from_db()
    assert entry.working.status == Status.SUBMITTED

    response = client.post(reverse("catalog:return", args=[entry.pk]), {"reason": "共享条件过宽，请明确使用范围"})
    assert response.status_code == 302 and response["Location"] == reverse("catalog:review")
    entry.refresh_from_db()
    assert entry.working.status == Status.RETURNED

    client.force_login(yk.police_admin)
    detail = html(client.get(reverse("catalog:entry", args=[entry.pk])))
    assert 'id="return-reason"' in detail and "共享条件过宽，请明确使用范围" in detail
    assert "共享条件过宽" in html(client.get(reverse("catalog:edit", args=[entry.pk])))


@pytest.mark.req("R-12.1")
def test_illegal_steps_are_messages_not_errors(client, yk, cls):
    entry = make(yk, cls)
    services.submit(t.actor(yk.police_admin), entry)
    client.force_login(yk.police_admin)
    response = client.post(reverse("catalog:submit", args=[entry.pk]), follow=True)
    assert response.status_code == 200 and "当前状态" in html(response)
    services.publish(t.actor(yk.bureau), entry)
    client.force_login(yk.bureau)
    response = client.post(reverse("catalog:publish", args=[entry.pk]), follow=True)
    assert response.status_code == 200 and "alert-danger" in html(response)
    # The notification link of a decided entry leads to the entry page.
    response = client.get(reverse("catalog:review_entry", args=[entry.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("catalog:entry", args=[entry.pk])


@pytest.mark.req("R-15.1")
@pytest.mark.req("R-12.1")
def test_revision_review_shows_the_diff_against_the_published_version(client, yk, cls):
    entry = published(yk, cls)
    client.force_login(yk.police_admin)
    response = client.post(reverse("catalog:revise", args=[entry.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("catalog:edit", args=[entry.pk])
    data = form_post(
        name="社会保险参保信息",
        summary=entry.published.summary,
        update_cycle="realtime",
        **{"items-3-name": "缴费状态", "items-3-code": "jfzt", "items-3-length": "2"},
    )
    assert client.post(reverse("catalog:edit", args=[entry.pk]), {**data, "action": "submit"}).status_code == 302

    # Others still see version 1 while version 2 is under review.
    client.force_login(yk.civil_admin)
    other = html(client.get(reverse("catalog:entry", args=[entry.pk])))
    # (the page's own markup, not a random CSRF token, must not name v2)
    assert "每日" in other and ">v2<" not in other and "?v=2" not in other and ">v1<" in other

    client.force_login(yk.bureau)
    review = html(client.get(reverse("catalog:review_entry", args=[entry.pk])))
    assert 'id="diff"' in review and "v1 → v2" in review
    diff = review.split('id="diff"', 1)[1].split("</section>", 1)[0]
    assert "更新周期" in diff and "每日" in diff and "实时" in diff
    assert "缴费状态" in diff and "新增" in diff and "删除" in diff  # jfzt added, xm/cbxz/cbrq removed
    assert client.post(reverse("catalog:publish", args=[entry.pk]), {"note": "同意"}).status_code == 302
    entry.refresh_from_db()
    assert entry.published.number == 2

    client.force_login(yk.civil_admin)
    detail = html(client.get(reverse("catalog:entry", args=[entry.pk])))
    assert "?v=1" in detail and "?v=2" in detail and "已被取代" in detail
    old = html(client.get(reverse("catalog:entry", args=[entry.pk]), {"v": 1}))
    assert "每日" in old
    assert client.get(reverse("catalog:entry", args=[entry.pk]), {"v": 9}).status_code == 404


# --- search ----------------------------------------------------------------------------------


@pytest.mark.req("R-16.1")
@pytest.mark.req("R-19.2")
def test_search_with_named_facets_sort_and_filters(client, yk, cls):
    hukou = published(
        yk, cls, code="101", name="居民户籍信息", share_type="unconditional", share_conditions="", themes=["210"],
        items=[{"name": "户籍地址", "code": "hjdz", "data_type": "C", "length": 200}],
    )
    dibao = published(
        yk, cls, user=yk.civil_admin, provider=yk.civil, name="城乡低保对象信息", themes=["202"],
        items=[{"name": "保障金额", "code": "bzje", "data_type": "Y"}],
    )
    client.force_login(yk.evaluator)
    text = html(client.get(reverse("catalog:search")))
    assert "2 条" in text or "共 2" in text or "2 个" in text
    for label in ("社会保障", "社区治理", "营口市公安局", "营口市民政局", "营口市", "无条件共享", "有条件共享", "数据库", "每日", "社保"):
        assert label in text, label
    facets = text.split("<aside", 1)[1].split("</aside>", 1)[0]
    assert f"text-truncate\">{yk.police.pk}<" not in facets and "text-truncate\">营口市公安局<" in facets

    response = client.get(reverse("catalog:search"), {"q": "保障金额"})
    assert [e.pk for e in response.context["results"]] == [dibao.pk]
    response = client.get(reverse("catalog:search"), {"theme": "210"})
    assert [e.pk for e in response.context["results"]] == [hukou.pk]
    assert "主题：社区治理" in html(response).replace("210 ", "")
    response = client.get(reverse("catalog:search"), {"provider": str(yk.civil.pk), "sort": "name"})
    assert [e.pk for e in response.context["results"]] == [dibao.pk]
    response = client.get(reverse("catalog:search"), {"sort": "name"})
    assert [e.pk for e in response.context["results"]] == [dibao.pk, hukou.pk]  # 城 < 居 by code point
    response = client.get(reverse("catalog:search"), {"q": '" OR 1=1 --', "page": "999"})
    assert response.status_code == 200


# --- import ----------------------------------------------------------------------------------


@pytest.mark.req("R-13.2")
def test_import_page_shows_the_errors_and_only_the_uploader_gets_the_marked_workbook(
    client, yk, cls, import_files, django_capture_on_commit_callbacks
):
    client.force_login(yk.police_admin)
    page = html(client.get(reverse("catalog:import")))
    assert "下载模板" in page and 'id="recent-imports"' in page and "尚未导入过工作簿" in page
    template = client.get(reverse("catalog:import_template"))
    assert template.status_code == 200
    assert load_workbook(io.BytesIO(template.content)).sheetnames == ["目录", "信息项", "填写说明"]

    bad = workbook([good_entry(1, contact=None), good_entry(2, contact=None, classification="999")], [good_item(1), good_item(2, code="1abc")])
    upload = io.BytesIO(bad)
    upload.name = "catalog.xlsx"
    # The upload is queued as a job (run here when the request's transaction commits) and the
    # browser goes to the import's own page.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("catalog:import"), {"file": upload})
    assert response.status_code == 302 and re.fullmatch(r"/catalog/import/\d+/", response["Location"])
    text = html(client.get(response["Location"]))
    assert "catalog.xlsx" in text and 'id="import-errors"' in text and "没有导入任何内容" in text
    table = text.split('id="import-errors"', 1)[1].split("</table>", 1)[0]
    assert "目录" in table and "分类代码" in table and "信息项" in table and "字段代码" in table and ">3<" in table
    assert CatalogEntry.objects.count() == 0
    link = re.search(r'id="marked-link" href="([^"]+)"', text).group(1)
    marked = client.get(link)
    assert marked.status_code == 200
    sheet = load_workbook(io.BytesIO(marked.content))["目录"]
    assert "错误原因" in [c.value for c in sheet[1]]

    client.force_login(yk.police_staff)
    assert client.get(link).status_code == 404
    assert client.get(response["Location"]).status_code == 404
    assert client.get("/catalog/import/marked/..%2F..%2Fsecret_key/").status_code == 404
    assert client.get(reverse("catalog:import_marked", args=[999_999])).status_code == 404

    good = io.BytesIO(workbook([good_entry(1, contact=None)], [good_item(1), good_item(1, 2)]))
    good.name = "ok.xlsx"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("catalog:import"), {"file": good})
    text = html(client.get(response["Location"]))
    assert 'id="import-created"' in text and "202/000001" in text and "hx-trigger" not in text
    assert CatalogEntry.objects.get().working.items.count() == 2
    # The import page lists what the user may see of the department's imports.
    page = html(client.get(reverse("catalog:import")))
    assert "ok.xlsx" in page and "catalog.xlsx" not in page
    client.force_login(yk.police_admin)
    page = html(client.get(reverse("catalog:import")))
    assert "ok.xlsx" in page and "catalog.xlsx" in page and "已导入" in page and "未通过" in page


@pytest.mark.req("R-13.2")
def test_import_refuses_big_and_foreign_files(client, yk, cls, settings, import_files):
    client.force_login(yk.police_admin)
    settings.CATALOG_IMPORT_MAX_BYTES = 1000
    upload = io.BytesIO(b"x" * 2000)
    upload.name = "big.xlsx"
    text = html(client.post(reverse("catalog:import"), {"file": upload}))
    assert 'data-error-for="file"' in text and "MB" in text
    settings.CATALOG_IMPORT_MAX_BYTES = 1_000_000
    upload = io.BytesIO("姓名,年龄\n".encode("gbk"))
    upload.name = "renamed.xlsx"
    text = html(client.post(reverse("catalog:import"), {"file": upload}))
    assert 'data-error-for="file"' in text and "xlsx" in text
    # Refused at once: nothing was queued or stored.
    assert not CatalogImport.objects.exists() and not import_files.exists()
    client.force_login(yk.bureau)
    assert client.get(reverse("catalog:import")).status_code == 403


# --- exports ---------------------------------------------------------------------------------


@pytest.mark.req("R-13.2")
def test_exports_of_the_department_catalog(client, yk, cls):
    make(yk, cls, name="=危险公式")
    published(yk, cls, name="居民户籍信息", code="101", share_type="unconditional", share_conditions="")
    make(yk, cls, user=yk.civil_admin, provider=yk.civil, name="他部门草稿")
    client.force_login(yk.police_admin)
    response = client.get(reverse("catalog:export"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("信息资源代码,信息资源名称")
    assert "'=危险公式" in text and "居民户籍信息" in text and "他部门草稿" not in text
    assert "公民身份号码(sfzh, C 字符型, 18)" in text
    data = json.loads(client.get(reverse("catalog:export"), {"format": "json"}).content)
    assert {e["name"] for e in data["entries"]} == {"=危险公式", "居民户籍信息"}
    assert [i["code"] for i in data["entries"][0]["items"]] == ["sfzh", "xm", "cbxz", "cbrq"]
    xlsx = client.get(reverse("catalog:export"))
    sheet = load_workbook(io.BytesIO(xlsx.content))["目录"]
    assert sheet.max_row == 3
    client.force_login(yk.evaluator)
    assert client.get(reverse("catalog:export")).status_code == 403


# --- maintenance -----------------------------------------------------------------------------


@pytest.mark.req("R-15.1")
def test_quarterly_confirmation_from_the_maintenance_page(client, yk, cls, clock):
    clock.set(dt.datetime(2026, 2, 10, 10, tzinfo=SH))
    first = published(yk, cls, name="资源甲")
    published(yk, cls, name="资源乙")
    client.force_login(yk.police_admin)
    text = html(client.get(reverse("catalog:maintenance")))
    assert "2026Q1" in text and "资源甲" in text and "待确认" in text
    response = client.post(reverse("catalog:confirm", args=[first.pk]), {"next": reverse("catalog:maintenance")})
    assert response.status_code == 302 and response["Location"] == reverse("catalog:maintenance")
    text = html(client.get(reverse("catalog:maintenance")))
    row = text.split(f'id="confirm-{first.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "✓" in row
    assert client.post(reverse("catalog:confirm", args=[first.pk]), {"next": "https://evil.example/"})["Location"] == reverse(
        "catalog:entry", args=[first.pk]
    )
    client.force_login(yk.police_staff)
    assert client.post(reverse("catalog:confirm", args=[first.pk])).status_code == 403

    # Next quarter, the bureau sees who did not confirm.
    clock.set(dt.datetime(2026, 4, 2, 9, tzinfo=SH))
    client.force_login(yk.bureau)
    text = html(client.get(reverse("catalog:maintenance")))
    status = text.split('id="quarterly-status"', 1)[1].split("</table>", 1)[0]
    assert "营口市公安局" in status and "text-bg-danger\">1<" in status


@pytest.mark.req("R-15.2")
def test_legal_change_is_recorded_and_tracked_with_its_deadline(client, yk, cls, clock):
    clock.set(dt.datetime(2026, 9, 28, 9, tzinfo=SH))
    entry = published(yk, cls)
    client.force_login(yk.bureau)
    response = client.post(reverse("catalog:legal_change"), {"title": "", "occurred_on": "2026-09-28", "entries": [entry.pk]})
    assert response.status_code == 200 and 'data-error-for="title"' in html(response)
    assert LegalChange.objects.count() == 0
    response = client.post(
        reverse("catalog:legal_change"),
        {"title": "《社会保险法》修正", "occurred_on": "2026-09-28", "entries": [entry.pk], "description": "参保范围调整"},
    )
    assert response.status_code == 302
    assert LegalChange.objects.get().entries.get() == entry

    client.force_login(yk.police_admin)
    text = html(client.get(reverse("catalog:maintenance")))
    obligations = text.split('id="obligations"', 1)[1].split("</table>", 1)[0]
    assert "《社会保险法》修正" in obligations and "2026-10-16" in obligations and "未完成" in obligations
    clock.set(dt.datetime(2026, 10, 17, 9, tzinfo=SH))
    text = html(client.get(reverse("catalog:maintenance")))
    obligations = text.split('id="obligations"', 1)[1].split("</table>", 1)[0]
    assert "已逾期" in obligations
    # A region admin follows the obligations but does not record changes.
    client.force_login(yk.gz_admin)
    text = html(client.get(reverse("catalog:maintenance")))
    assert 'id="legal-change"' not in text
    assert client.post(reverse("catalog:legal_change"), {"title": "x", "occurred_on": "2026-09-28", "entries": [entry.pk]}).status_code == 200
    assert LegalChange.objects.count() == 1
