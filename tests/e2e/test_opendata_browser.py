"""The public portal in a real browser (R-29.1): an anonymous citizen searches in Chinese,
opens a dataset, pages its masked preview with htmx and downloads the CSV; the statistics
page draws its ECharts charts. Nothing is loaded from outside (R-8.2)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from govdata.datastore import masking
from govdata.opendata.tests.conftest import ROWS, opendata, person  # noqa: F401 - the fixture


@pytest.mark.browser
@pytest.mark.req("R-29.1")
@pytest.mark.django_db(transaction=True)
def test_a_citizen_searches_previews_and_downloads_a_csv(page, opendata):  # noqa: F811
    dibao = opendata.dibao
    page.goto("/open/")
    expect(page.locator("header")).to_contain_text("营口市公共数据开放平台")
    page.locator("#home-search input[name=q]").fill("低保救助")
    page.locator("#home-search button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/open/datasets/\?q=.*"))
    expect(page.locator("#result-count")).to_contain_text("共找到 1 个数据集")
    page.locator("#results a", has_text="营口市城乡低保救助名单").click()
    page.wait_for_url(f"**/open/datasets/{dibao.name}/")
    expect(page.locator("#dataset-title")).to_contain_text("营口市城乡低保救助名单")

    preview = page.locator(f"#preview-{dibao.resource_id}")
    expect(preview.locator("tbody tr")).to_have_count(20)
    expect(preview.locator(".preview-position")).to_contain_text("第 1–20 行，共 1050 行")
    first_id = masking.keep_ends(person(0)["公民身份号码"], 6, 4)
    expect(preview.locator("tbody tr").first).to_contain_text(first_id)
    url_before = page.url
    preview.locator("a[rel=next]").click()
    # htmx swaps the panel in place: same address, the next twenty rows.
    expect(page.locator(f"#preview-{dibao.resource_id} .preview-position")).to_contain_text("第 21–40 行")
    expect(page.locator(f"#preview-{dibao.resource_id} tbody tr").first).to_contain_text(
        masking.keep_ends(person(20)["公民身份号码"], 6, 4)
    )
    assert page.url == url_before
    assert person(20)["公民身份号码"] not in page.content()

    with page.expect_download() as download_info:
        page.locator(f"#downloads-{dibao.resource_id} a", has_text="CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig") as file:
        content = file.read()
    rows = list(csv.reader(io.StringIO(content)))
    assert len(rows) == ROWS + 1 and "家庭住址" not in rows[0]
    assert rows[1][0] == first_id
    assert not any(person(i)["公民身份号码"] in content for i in range(ROWS))
    assert {row[0] for row in rows[1:]} == {masking.keep_ends(person(i)["公民身份号码"], 6, 4) for i in range(ROWS)}

    page.goto("/open/stats/")
    expect(page.locator("#usage-chart canvas")).to_be_visible()
    expect(page.locator("#top-chart canvas")).to_be_visible()
    expect(page.locator("#top-table")).to_contain_text("营口市城乡低保救助名单")
    assert page.requests.foreign() == []
