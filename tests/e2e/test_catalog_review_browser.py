"""A catalog entry goes through review in a real browser (R-12.1) and is then found by another
department through the sharing catalog (R-16.1); nothing is loaded from outside (R-8.2)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import login


def shoot(page, name: str) -> None:
    shots = os.environ.get("GOVDATA_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1440, "height": 1000})
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def logout(page) -> None:
    page.locator("nav form button").click()
    page.wait_for_url(re.compile(r".*/login/$"))


def fill_item(page, index: int, name: str, code: str, data_type: str, length: str) -> None:
    page.fill(f"input[name=items-{index}-name]", name)
    page.fill(f"input[name=items-{index}-code]", code)
    page.select_option(f"select[name=items-{index}-data_type]", data_type)
    page.fill(f"input[name=items-{index}-length]", length)


@pytest.mark.browser
@pytest.mark.req("R-12.1")
@pytest.mark.req("R-16.1")
@pytest.mark.django_db(transaction=True)
def test_entry_is_returned_fixed_published_and_found_by_another_department(page, yk):
    from govdata.catalog.models import CatalogEntry, Classification, EntryVersion
    from govdata.catalog.seed import seed_classification

    seed_classification(Classification)  # transactional tests flush the migration's rows

    # The police department's admin compiles a new entry with two data items and submits it.
    login(page, "police-admin")
    page.click("nav a[href='/catalog/mine/']")
    expect(page.locator("h1")).to_have_text("本部门目录")
    page.get_by_role("link", name="新建目录").first.click()
    page.wait_for_url("**/catalog/entries/new/")
    expect(page.locator("h1")).to_have_text("新建目录")
    page.select_option("#id_classification", label="204 安全生产")
    page.get_by_label("信息资源名称").fill("机动车驾驶人信息")
    page.get_by_label("信息资源摘要").fill("全市机动车驾驶人及其驾驶证状态信息")
    page.select_option("#id_format_category", "database")
    page.select_option("#id_format_type", "oracle")
    page.select_option("#id_share_type", "conditional")
    # The form marks the conditions as required once conditional sharing is chosen.
    expect(page.locator("[data-field=share_conditions]")).to_have_class(re.compile(r"\bis-required\b"))
    page.get_by_label("共享条件").fill("用于交通管理相关业务")
    page.select_option("#id_share_method", "platform")
    page.select_option("#id_platform_mode", "api")
    page.select_option("#id_open_type", "not_open")
    page.get_by_label("不予开放或限制开放依据").fill("涉及个人信息，依法不予开放")
    page.select_option("#id_update_cycle", "daily")
    page.get_by_label("交通").check()
    fill_item(page, 0, "公民身份号码", "sfzh", "C", "18")
    page.get_by_role("button", name="添加一行").click()
    fill_item(page, 1, "准驾车型", "zjcx", "C", "10")
    page.locator("input[name=items-0-required]").check()
    page.locator("input[name=items-0-is_key]").check()
    shoot(page, "catalog-form")
    page.get_by_role("button", name="保存并提交审核").click()
    page.wait_for_url(re.compile(r".*/catalog/entries/\d+/$"))
    expect(page.locator(".alert-success")).to_contain_text("已保存并提交审核")
    expect(page.locator(".status-submitted").first).to_have_text("待审核")
    entry_url = page.url
    entry = CatalogEntry.objects.get()
    assert [i.code for i in entry.working.items.all()] == ["sfzh", "zjcx"]
    logout(page)

    # The bureau returns it with a reason.
    login(page, "bureau")
    page.click("nav a[href='/catalog/review/']")
    row = page.locator(f"#review-{entry.pk}")
    expect(row).to_contain_text("机动车驾驶人信息")
    row.get_by_role("link", name="审核").click()
    page.wait_for_url(f"**/catalog/review/{entry.pk}/")
    page.get_by_role("button", name="退回修改").click()  # without a reason: refused
    expect(page.locator("[data-error-for=reason]")).to_be_visible()
    page.get_by_label("退回原因").fill("共享条件过宽，请写明具体使用部门和用途")
    page.get_by_role("button", name="退回修改").click()
    page.wait_for_url("**/catalog/review/")
    expect(page.locator(".alert-success")).to_contain_text("已连同退回原因退回")
    logout(page)

    # The officer sees the reason, fixes the conditions and submits again.
    login(page, "police-admin")
    page.goto(entry_url)
    expect(page.locator("#return-reason")).to_contain_text("共享条件过宽，请写明具体使用部门和用途")
    page.get_by_role("link", name="修改草稿").click()
    page.wait_for_url(f"**/catalog/entries/{entry.pk}/edit/")
    expect(page.locator("input[name=items-1-name]")).to_have_value("准驾车型")
    page.get_by_label("共享条件").fill("仅限交通运输、应急管理部门用于交通违法处理和事故处置")
    page.get_by_role("button", name="保存并提交审核").click()
    page.wait_for_url(entry_url)
    expect(page.locator(".alert-success")).to_contain_text("已保存并提交审核")
    logout(page)

    # The bureau publishes it.
    login(page, "bureau")
    page.goto(f"/catalog/review/{entry.pk}/")
    expect(page.locator("body")).to_contain_text("仅限交通运输、应急管理部门用于交通违法处理和事故处置")
    page.get_by_role("button", name="批准并发布").click()
    page.wait_for_url("**/catalog/review/")
    expect(page.locator(".alert-success")).to_contain_text(entry.code)
    entry.refresh_from_db()
    assert entry.published.status == EntryVersion.Status.PUBLISHED and entry.working is None
    logout(page)

    # Another department finds it by a word that is only in a data item's name.
    login(page, "civil-admin")
    page.click("nav a[href='/catalog/']")
    expect(page.locator("h1")).to_have_text("共享目录")
    page.get_by_role("searchbox").fill("准驾车型")
    page.get_by_role("button", name="检索").click()
    page.wait_for_url(re.compile(r".*/catalog/\?q=.*"))
    expect(page.locator("#result-count")).to_contain_text("共 1 条")
    result = page.locator(f"#result-{entry.pk}")
    expect(result).to_contain_text("机动车驾驶人信息")
    expect(result).to_contain_text("营口市公安局")
    shoot(page, "catalog-search")
    result.get_by_role("link", name="机动车驾驶人信息").click()
    page.wait_for_url(entry_url)
    expect(page.locator("#items")).to_contain_text("准驾车型")
    expect(page.locator("#entry-actions")).not_to_contain_text("修改")

    assert page.requests.foreign() == []
