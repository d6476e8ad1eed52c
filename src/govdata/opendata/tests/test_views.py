"""The public portal's pages for an anonymous citizen: everything renders in Chinese from the
local server alone, search finds datasets by Chinese words and facets, previews and
downloads serve masked public columns only and are counted, and no route ever gives rows
of on-application or not-open data (Arts. 28-31)."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from openpyxl import load_workbook
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS

from govdata.catalog.models import CatalogEntry
from govdata.datastore import masking
from govdata.opendata.models import UsageStat
from govdata.opendata.services.usage import record_usage

from .conftest import ITEMS, ROWS, person

SITE = "营口市公共数据开放平台"
# Resources a page loads (scripts, stylesheets, images, fonts, frames), as opposed to links.
LOADED = re.compile(r"<(?:script|link|img|iframe|source|embed|object)\b[^>]*?\b(?:src|href|data)=\"([^\"]*)\"", re.I)
STATIC_DIR = Path(__file__).resolve().parents[1] / "static" / "opendata"


def masked(i: int) -> dict[str, str]:
    """Row ``i`` as the public sees it: ID number, name and mobile masked, address left out."""
    row = person(i)
    return {
        "公民身份号码": masking.keep_ends(row["公民身份号码"], 6, 4),
        "姓名": masking.surname_only(row["姓名"]),
        "手机号码": masking.keep_ends(row["手机号码"], 3, 4),
    }


def secrets(i: int) -> list[str]:
    """Values of row ``i`` the public must never receive whole."""
    row = person(i)
    return [row["公民身份号码"], row["姓名"], row["手机号码"], row["家庭住址"]]


def uses(dataset, kind: str) -> int:
    return sum(UsageStat.objects.filter(entry_id=dataset.pk, kind=kind).values_list("count", flat=True))


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def loaded_from_elsewhere(page: str) -> list[str]:
    return [url for url in LOADED.findall(page) if urlsplit(url).netloc not in ("", "testserver")]


def dataset_url(dataset) -> str:
    return f"/open/datasets/{dataset.name}/"


def streamed(response) -> bytes:
    assert response.status_code == 200, response.status_code
    assert response.streaming
    return b"".join(response.streaming_content)


@pytest.mark.req("R-29.1")
@pytest.mark.req("R-31.1")
def test_every_page_renders_in_chinese_for_anonymous_users_from_the_local_server(client, opendata):
    pages = [
        "/open/",
        "/open/datasets/",
        "/open/datasets/?q=低保",
        dataset_url(opendata.dibao),
        dataset_url(opendata.payments),
        f"/open/resources/{opendata.dibao.resource_id}/preview/?page=2",
        "/open/departments/",
        f"/open/departments/{opendata.civil.pk}/",
        f"/open/departments/{opendata.quiet.pk}/",
        "/open/notices/",
        "/open/notices/?type=on_application",
        "/open/domains/",
        "/open/stats/",
    ]
    for url in pages:
        page = html(client.get(url))
        assert '<html lang="zh-Hans">' in page, url
        assert f"· {SITE}</title>" in page and "数据目录" in page and "重点领域" in page, url
        assert loaded_from_elsewhere(page) == [], url
        assert "/static/vendor/bootstrap/" in page and "/static/opendata/portal.css" in page, url
    english = html(client.get(pages[0], headers={"Accept-Language": "en"}))
    assert '<html lang="en">' in english and "Priority domains" in english
    stats = html(client.get("/open/stats/"))
    assert "/static/vendor/echarts/echarts.min.js" in stats and "/static/opendata/stats.js" in stats
    for path in STATIC_DIR.iterdir():  # the portal's own assets call no other host either
        assert not re.search(r"https?://", path.read_text()), path


@pytest.mark.req("R-29.1")
@pytest.mark.req("R-31.1")
def test_home_page_counts_themes_domains_departments_and_newest(client, opendata):
    page = html(client.get("/open/"))
    assert re.search(r'id="count-datasets">3<', page)  # the not-open entry is no dataset
    assert re.search(r'id="count-departments">2<', page)
    assert re.search(r'id="count-resources">3<', page)
    assert re.search(rf'id="count-rows">{ROWS + 20}<', page)  # rows anyone may download
    assert re.search(r'href="/open/datasets/\?theme=202"><span>社会保障</span><span[^>]*>2<', page)
    assert re.search(r'href="/open/datasets/\?domain=social_security"><span>社保</span><span[^>]*>2<', page)
    assert re.search(r'href="/open/datasets/\?domain=transport"><span>交通</span><span[^>]*>1<', page)
    top = page[page.index('id="top-departments"') :]
    assert top.index(opendata.civil.name) < top.index(opendata.police.name)
    assert opendata.quiet.name not in page
    newest = page[page.index('id="newest"') :]
    for dataset in (opendata.dibao, opendata.traffic, opendata.payments):
        assert dataset.title in newest
    assert "营口市居民户籍信息" not in page


@pytest.mark.req("R-29.1")
@pytest.mark.req("R-31.1")
def test_search_finds_datasets_by_chinese_words_and_facets(client, opendata):
    def titles(query: str) -> list[str]:
        page = html(client.get("/open/datasets/" + query))
        results = page[page.index('id="results"') :]
        return sorted(d.title for d in (opendata.dibao, opendata.traffic, opendata.payments, opendata.hukou) if d.title in results)

    assert titles("?q=低保救助") == ["营口市城乡低保救助名单"]
    assert titles("?q=营口市") == sorted(["营口市城乡低保救助名单", "营口市交通违法处理网点", "营口市企业社保缴费明细"])
    assert titles(f"?q=营口市&provider={opendata.civil.pk}") == ["营口市企业社保缴费明细", "营口市城乡低保救助名单"]
    assert titles("?domain=transport") == ["营口市交通违法处理网点"]
    assert titles("?domain=social_security&open_type=unconditional") == ["营口市城乡低保救助名单"]
    assert titles("?q=户籍") == []
    assert titles("?open_type=not_open") == []  # filters only narrow the open datasets

    page = html(client.get("/open/datasets/?q=营口市"))
    assert "共找到 3 个数据集" in page
    facets = {key: page[page.index(f'data-facet="{key}"') :][:2000] for key in ("provider", "domain", "open_type")}
    assert opendata.civil.name in facets["provider"] and opendata.police.name in facets["provider"]
    assert "社保" in facets["domain"] and "交通" in facets["domain"]
    assert "不予开放" not in facets["open_type"]
    assert 'data-facet="share_type"' not in page  # the government side's facet


@pytest.mark.req("R-29.1")
def test_dataset_page_shows_public_metadata_schema_and_a_masked_preview(client, opendata):
    dibao = opendata.dibao
    page = html(client.get(dataset_url(dibao)))
    assert "营口市城乡低保救助名单" in page and "全市城乡最低生活保障救助对象及救助金额" in page
    assert opendata.civil.name in page and dibao.code in page
    assert re.search(r'id="update-cycle">每月', page)
    assert re.search(r'id="last-update">\d{4}-\d\d-\d\d \d\d:\d\d<', page)
    assert 'rel="license">知识共享署名 4.0</a>' in page
    assert re.search(r'id="dataset-domains"><span[^>]*>社保</span>', page)
    # The schema: every data item, personal ones marked as masked or withheld.
    schema = page[page.index('id="schema-table"') : page.index("</table>", page.index('id="schema-table"'))]
    for item in ITEMS:
        assert item["name"] in schema
    assert re.search(r'id="item-sfzh">.*?data-exposure="masked"', schema, re.S)
    assert re.search(r'id="item-jtzz">.*?data-exposure="withheld">个人信息，不公开', schema, re.S)
    assert re.search(r'id="item-jzlb">.*?data-exposure="public"', schema, re.S)
    # The preview: the first 20 rows, masked, without the withheld address.
    preview = page[page.index(f'id="preview-{dibao.resource_id}"') :]
    header = preview[: preview.index("</thead>")]
    assert "家庭住址" not in header and "救助金额" in header
    for i in range(20):
        for value in masked(i).values():
            assert value in preview
    for i in range(ROWS):
        for secret in secrets(i):
            assert secret not in page
    assert "第 1–20 行，共 1050 行" in preview
    assert "第 1 页，共 53 页" in preview
    # Downloads and the API example.
    for fmt in ("csv", "json", "xlsx"):
        assert f'href="/open/resources/{dibao.resource_id}/download.{fmt}"' in page
    assert f"http://testserver/api/3/action/datastore_search?resource_id={dibao.resource_id}&amp;limit=5" in page
    assert f'datastore_search(resource_id="{dibao.resource_id}", limit=5)' in page
    assert f"http://testserver/api/3/action/package_show?id={dibao.name}" in page
    # Related: the same theme or provider, never the not-open entry.
    related = page[page.index('id="related"') :]
    assert "营口市企业社保缴费明细" in related and "营口市居民户籍信息" not in related
    assert f'hx-get="{dataset_url(dibao)}feedback/" hx-trigger="load"' in page  # the public's comments
    assert uses(dibao, UsageStat.Kind.VIEW) == 1

    moved = client.get(f"/open/datasets/{dibao.pk}/")  # the id leads to the page's one address
    assert moved.status_code == 301 and moved.headers["Location"] == dataset_url(dibao)


@pytest.mark.req("R-29.1")
def test_preview_pages_through_the_table_with_htmx(client, opendata):
    dibao = opendata.dibao
    url = f"/open/resources/{dibao.resource_id}/preview/"
    panel = html(client.get(url + "?page=2", headers={"HX-Request": "true"}))
    assert panel.startswith(f'<div class="od-preview" id="preview-{dibao.resource_id}">') and "<html" not in panel
    assert "第 21–40 行，共 1050 行" in panel
    assert masked(20)["公民身份号码"] in panel and masked(39)["公民身份号码"] in panel
    assert masked(19)["公民身份号码"] not in panel and masked(40)["公民身份号码"] not in panel
    assert f'hx-get="{url}?page=3"' in panel and f'hx-get="{url}?page=1"' in panel
    last = html(client.get(url + "?page=999", headers={"HX-Request": "true"}))
    assert "第 1041–1050 行，共 1050 行" in last and "page=54" not in last
    whole = html(client.get(url + "?page=2"))  # without htmx: a page of its own
    assert "<html" in whole and "第 21–40 行" in whole and dataset_url(dibao) in whole
    for i in range(20, 40):
        assert not any(secret in panel for secret in secrets(i))
    assert uses(dibao, UsageStat.Kind.VIEW) == 0


@pytest.mark.req("R-29.1")
def test_downloads_stream_the_whole_table_masked_and_are_counted(client, opendata):
    dibao = opendata.dibao
    base = f"/open/resources/{dibao.resource_id}/download"
    public = [item["name"] for item in ITEMS if item["code"] != "jtzz"]

    response = client.get(base + ".csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(streamed(response).decode("utf-8-sig"))))
    assert rows[0] == public and len(rows) == ROWS + 1
    assert dict(zip(public, rows[1], strict=True)) | masked(0) == dict(zip(public, rows[1], strict=True))
    assert {tuple(r[:1]) for r in rows[1:]} == {(masked(i)["公民身份号码"],) for i in range(ROWS)}

    records = json.loads(streamed(client.get(base + ".json")))
    assert len(records) == ROWS and set(records[0]) == {item["code"] for item in ITEMS} - {"jtzz"}
    assert {r["xm"] for r in records} == {masked(i)["姓名"] for i in range(ROWS)}

    book = load_workbook(io.BytesIO(streamed(client.get(base + ".xlsx"))), read_only=True)
    sheet_rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert list(sheet_rows[0]) == public and len(sheet_rows) == ROWS + 1

    everything = json.dumps(records, ensure_ascii=False) + "\n".join(",".join(r) for r in rows)
    for i in range(ROWS):
        assert not any(secret in everything for secret in secrets(i))
    assert uses(dibao, UsageStat.Kind.DOWNLOAD) == 3
    assert client.get(base + ".sql").status_code == 404


@pytest.mark.req("R-28.1")
@pytest.mark.req("R-29.1")
@pytest.mark.req("R-30.1")
def test_on_application_dataset_shows_how_to_apply_and_never_rows(client, opendata):
    payments = opendata.payments
    page = html(client.get(dataset_url(payments)))
    assert "营口市企业社保缴费明细" in page and "依申请开放" in page
    assert re.search(r'id="open-conditions">用于学术研究，签署数据使用承诺<', page)
    assert re.search(r'id="open-basis">涉及企业经营信息，依申请开放<', page)
    assert f'href="{dataset_url(payments)}apply/" id="apply-link"' in page
    assert "od-preview" not in page and "download." not in page and "datastore_search" not in page
    for i in range(20):
        assert not any(secret in page or value in page for secret, value in zip(secrets(i), masked(i).values()))
    resource = payments.resource_id
    assert client.get(f"/open/resources/{resource}/preview/").status_code == 403
    assert client.get(f"/open/resources/{resource}/preview/", headers={"HX-Request": "true"}).status_code == 403
    for fmt in ("csv", "json", "xlsx"):
        assert client.get(f"/open/resources/{resource}/download.{fmt}").status_code == 403
    assert uses(payments, UsageStat.Kind.DOWNLOAD) == 0


@pytest.mark.req("R-28.1")
@pytest.mark.req("R-30.1")
def test_not_open_dataset_is_only_a_notice_with_its_basis(client, opendata):
    hukou = opendata.hukou
    for ref in (hukou.name, hukou.code.replace("/", "-"), str(hukou.pk)):
        assert client.get(f"/open/datasets/{ref}/").status_code == 404
    for url in ("preview/", "download.csv", "download.json", "download.xlsx"):
        assert client.get(f"/open/resources/{hukou.resource_id}/{url}").status_code == 404
    assert UsageStat.objects.filter(entry_id=hukou.pk).count() == 0

    page = html(client.get("/open/notices/"))
    row = page[page.index(f'id="notice-{hukou.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "营口市居民户籍信息" in row and opendata.police.name in row and hukou.code in row
    assert "涉及个人信息，依据《个人信息保护法》不予开放" in row and "<a " not in row
    assert "营口市企业社保缴费明细" not in page and "营口市城乡低保救助名单" not in page
    restricted = html(client.get("/open/notices/?type=on_application"))
    assert f'id="notice-{opendata.payments.pk}"' in restricted and "涉及企业经营信息，依申请开放" in restricted
    assert "用于学术研究，签署数据使用承诺" in restricted and "营口市居民户籍信息" not in restricted


@pytest.mark.req("R-31.1")
def test_priority_domains_page_shows_opening_progress(client, opendata):
    page = html(client.get("/open/domains/"))

    def domain(code: str) -> str:
        part = page[page.index(f'id="domain-{code}"') :]
        return part[: part.index("</li>")]

    social = domain("social_security")  # one entry of each opening type
    assert "社保" in social and "共 3 项编目资源" in social
    for kind in ("unconditional", "on_application", "not_open"):
        assert re.search(rf'data-count="{kind}">[^<]* 1<', social)
    assert "66.7% 已开放" in social and 'style="width: 33.3%"' in social
    transport = domain("transport")
    assert re.search(r'data-count="unconditional">[^<]* 1<', transport) and "100% 已开放" in transport
    credit = domain("credit")
    assert "共 0 项编目资源" in credit and "尚无编目数据" in credit


@pytest.mark.req("R-29.1")
def test_departments_pages_list_providers_and_their_datasets(client, opendata):
    page = html(client.get("/open/departments/"))
    assert re.search(rf'id="department-{opendata.civil.pk}".*?<strong[^>]*>2</strong>', page, re.S)
    assert re.search(rf'id="department-{opendata.police.pk}".*?<strong[^>]*>1</strong>', page, re.S)
    assert opendata.quiet.name not in page
    civil = html(client.get(f"/open/departments/{opendata.civil.pk}/"))
    assert "营口市城乡低保救助名单" in civil and "营口市企业社保缴费明细" in civil and "共 2 个数据集" in civil
    police = html(client.get(f"/open/departments/{opendata.police.pk}/"))
    assert "营口市交通违法处理网点" in police and "营口市居民户籍信息" not in police
    assert "尚未开放任何数据" in html(client.get(f"/open/departments/{opendata.quiet.pk}/"))
    assert client.get("/open/departments/999999/").status_code == 404


def test_statistics_count_views_downloads_and_api_calls_of_open_datasets_only(client, opendata):
    client.get(dataset_url(opendata.dibao))
    client.get(dataset_url(opendata.dibao))
    streamed(client.get(f"/open/resources/{opendata.dibao.resource_id}/download.csv"))
    client.get("/api/3/action/datastore_search", {"resource_id": opendata.traffic.resource_id})
    client.get(dataset_url(opendata.payments))
    client.get(dataset_url(opendata.payments))
    record_usage(CatalogEntry.objects.get(pk=opendata.hukou.pk), UsageStat.Kind.VIEW)

    data = client.get("/open/stats.json").json()
    assert len(data["days"]) == 30
    series = {s["kind"]: s for s in data["series"]}
    assert [s["name"] for s in data["series"]] == ["浏览量", "下载量", "接口调用量"]
    assert series["view"]["data"][-1] == 4 and sum(series["view"]["data"]) == 4  # not the not-open entry's
    assert series["download"]["data"][-1] == 1 and series["api"]["data"][-1] == 1
    top = data["top"]
    assert [t["name"] for t in top] == [opendata.dibao.name, opendata.payments.name, opendata.traffic.name]
    assert top[0] == {
        "name": opendata.dibao.name,
        "title": "营口市城乡低保救助名单",
        "url": dataset_url(opendata.dibao),
        "view": 2,
        "download": 1,
        "api": 0,
        "total": 3,
    }
    page = html(client.get("/open/stats/"))
    assert 'id="usage-chart" data-source="/open/stats.json"' in page
    assert "营口市居民户籍信息" not in page and "营口市城乡低保救助名单" in page
    home = html(client.get("/open/"))
    most_used = home[home.index('id="most-used"') :]
    assert most_used.index("营口市城乡低保救助名单") < most_used.index("营口市企业社保缴费明细")
    assert "营口市居民户籍信息" not in most_used


@pytest.mark.req("R-29.1")
def test_sitemap_lists_the_portal_pages_and_exactly_the_open_datasets(client, opendata):
    namespace = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}

    def locations(url: str, path: str) -> list[str]:
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
        return [loc.text for loc in ET.fromstring(response.content).findall(path, namespace)]

    sections = locations("/open/sitemap.xml", "s:sitemap/s:loc")
    assert {urlsplit(s).path for s in sections} == {f"/open/sitemap-{name}.xml" for name in ("portal", "datasets", "departments")}
    urls = [url for section in sections for url in locations(section.removeprefix("http://testserver"), "s:url/s:loc")]
    paths = [urlsplit(url).path for url in urls]
    datasets = {p for p in paths if p.startswith("/open/datasets/") and p != "/open/datasets/"}
    assert datasets == {dataset_url(d) for d in (opendata.dibao, opendata.traffic, opendata.payments)}
    for page in ("/open/", "/open/datasets/", "/open/notices/", "/open/domains/", "/open/stats/", "/open/departments/"):
        assert page in paths
    assert {p for p in paths if re.fullmatch(r"/open/departments/\d+/", p)} == {
        f"/open/departments/{opendata.civil.pk}/",
        f"/open/departments/{opendata.police.pk}/",
    }
    for path in paths:
        assert client.get(path).status_code == 200, path


def platform_names(client, **headers) -> dict[str, str]:
    """What every public route calls the open platform."""
    page = html(client.get("/open/", headers=headers))
    catalog = Graph().parse(data=client.get("/open/catalog.ttl", headers=headers).content, format="turtle")
    spec = client.get("/api/open/v1/openapi.json", headers=headers).json()
    return {
        "title": re.search(r"· ([^<]*)</title>", page).group(1),
        "header": re.search(r'class="od-title">([^<]*)<', page).group(1),
        "status_show": client.get("/api/3/action/status_show", headers=headers).json()["result"]["site_title"],
        "dcat": str(catalog.value(URIRef("http://testserver/open/catalog"), DCTERMS.title)),
        "open_api": re.search(r"The open data of (.*?): ", spec["info"]["description"]).group(1),
    }


@pytest.mark.req("R-8.1")
def test_the_open_platform_has_one_name_on_every_route(client, opendata, settings):
    assert set(platform_names(client).values()) == {SITE}
    # English pages name it in English; the DCAT catalog speaks Chinese to every reader.
    english = platform_names(client, **{"Accept-Language": "en"})
    assert english.pop("dcat") == SITE
    assert set(english.values()) == {"Yingkou Public Data Open Platform"}
    # A deployment names its platform once (GOVDATA_OPEN_PORTAL_NAME), in every language.
    settings.OPEN_PORTAL_NAME = "营口市政务数据资源开放平台"
    for language in ("zh-hans", "en"):
        names = platform_names(client, **{"Accept-Language": language})
        assert set(names.values()) == {"营口市政务数据资源开放平台"}, language
