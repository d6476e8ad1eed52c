"""The CKAN-compatible Action API driven by the real ``ckanapi`` client against a live server:
only open datasets are listed, rows only of unconditionally open ones, CKAN's shapes."""

from __future__ import annotations

import csv
import io

import pytest
import requests
from ckanapi import RemoteCKAN
from ckanapi.errors import CKANAPIError, NotAuthorized, NotFound, ValidationError

from govdata.common import clock
from govdata.opendata.models import UsageStat

from .conftest import ROWS, person


@pytest.fixture
def ckan(live_server):
    with RemoteCKAN(live_server.url) as client:
        yield client


def credit(department) -> str:
    return department.credit_code.lower()


@pytest.mark.req("R-29.1")
@pytest.mark.req("R-31.1")
def test_package_search_finds_open_datasets_by_chinese_words_with_facets(ckan, opendata):
    result = ckan.call_action(
        "package_search", {"q": "营口市", "facet.field": ["organization", "tags", "groups", "open_type"], "rows": 10}
    )
    assert result["count"] == 3
    open_names = {opendata.dibao.name, opendata.traffic.name, opendata.payments.name}
    assert {p["name"] for p in result["results"]} == open_names
    assert result["facets"]["organization"] == {credit(opendata.civil): 2, credit(opendata.police): 1}
    assert result["facets"]["tags"] == {"social_security": 2, "transport": 1}
    assert result["facets"]["groups"] == {"202": 2, "206": 1}
    assert result["facets"]["open_type"] == {"unconditional": 2, "on_application": 1}
    organizations = result["search_facets"]["organization"]
    assert organizations["title"] == "organization"
    assert {(i["name"], i["display_name"], i["count"]) for i in organizations["items"]} == {
        (credit(opendata.civil), opendata.civil.name, 2),
        (credit(opendata.police), opendata.police.name, 1),
    }
    # CKAN lists facet items by display name, last first.
    names = [i["display_name"] for i in organizations["items"]]
    assert names == sorted(names, reverse=True)

    only = ckan.action.package_search(q="低保救助")
    assert [p["name"] for p in only["results"]] == [opendata.dibao.name]
    assert ckan.action.package_search(q="户籍")["count"] == 0  # not open: never listed

    police = ckan.action.package_search(fq=f"organization:{credit(opendata.police)}")
    assert [p["name"] for p in police["results"]] == [opendata.traffic.name]
    combined = ckan.action.package_search(fq="tags:social_security +open_type:unconditional")
    assert [p["name"] for p in combined["results"]] == [opendata.dibao.name]
    either = ckan.action.package_search(fq='groups:(202 OR 206) AND res_format:"database"')
    assert either["count"] == 3
    assert ckan.action.package_search(fq="open_type:not_open")["count"] == 0
    for nothing in ("organization:unknown", f"organization:{opendata.police.pk}", "region:999999", 'tags:"nope"'):
        assert ckan.action.package_search(fq=nothing)["count"] == 0

    titles = ckan.action.package_search(sort="title_string asc", rows=2, start=1)
    assert titles["count"] == 3 and titles["sort"] == "title_string asc"
    everything = sorted(d.title for d in (opendata.dibao, opendata.traffic, opendata.payments))
    assert [p["title"] for p in titles["results"]] == everything[1:]
    assert ckan.action.package_search(rows=5000)["count"] == 3  # rows is capped, as CKAN caps it


@pytest.mark.req("R-28.1")
@pytest.mark.req("R-30.1")
def test_on_application_dataset_shows_metadata_but_never_rows(ckan, opendata):
    package = ckan.action.package_show(id=opendata.payments.name)
    assert package["title"] == "营口市企业社保缴费明细"
    assert package["organization"]["name"] == credit(opendata.civil)
    assert package["license_id"] == "other-closed" and package["isopen"] is False
    extras = {e["key"]: e["value"] for e in package["extras"]}
    assert extras["open_type"] == "on_application"
    assert extras["open_basis"] == "涉及企业经营信息，依申请开放"
    assert extras["open_conditions"] == "用于学术研究，签署数据使用承诺"
    (resource,) = package["resources"]
    assert resource["id"] == opendata.payments.resource_id and resource["datastore_active"] is True
    assert ckan.action.resource_show(id=resource["id"])["package_id"] == package["id"]
    with pytest.raises(NotAuthorized):
        ckan.action.datastore_search(resource_id=resource["id"])
    with pytest.raises(NotAuthorized):
        RemoteCKAN(ckan.address, get_only=True).action.datastore_search(resource_id=resource["id"], limit=0)


@pytest.mark.req("R-28.1")
def test_not_open_dataset_is_not_found_by_any_action(ckan, opendata):
    hukou = opendata.hukou
    for ref in (hukou.name, hukou.code, str(hukou.pk)):
        with pytest.raises(NotFound):
            ckan.action.package_show(id=ref)
    with pytest.raises(NotFound):
        ckan.action.resource_show(id=hukou.resource_id)
    with pytest.raises(NotFound):
        ckan.action.datastore_search(resource_id=hukou.resource_id)
    assert sorted(ckan.action.package_list()) == sorted(
        d.name for d in (opendata.dibao, opendata.traffic, opendata.payments)
    )
    assert ckan.action.package_search(fq=f"organization:{credit(opendata.police)}")["count"] == 1


@pytest.mark.req("R-29.1")
def test_package_show_describes_an_open_dataset_as_ckan_does(ckan, opendata, live_server):
    dibao = opendata.dibao
    for ref in (dibao.name, dibao.code, str(dibao.pk)):
        assert ckan.action.package_show(id=ref)["id"] == str(dibao.pk)
    package = RemoteCKAN(live_server.url, get_only=True).action.package_show(id=dibao.name)
    assert package["name"] == dibao.name and package["title"] == "营口市城乡低保救助名单"
    assert package["notes"] == "全市城乡最低生活保障救助对象及救助金额"
    assert package["license_id"] == "cc-by" and package["isopen"] is True
    assert package["groups"][0]["name"] == "202" and package["groups"][0]["title"] == "社会保障"
    assert [t["name"] for t in package["tags"]] == ["social_security"]
    assert package["num_resources"] == 1 and package["num_tags"] == 1
    assert package["metadata_created"] and package["metadata_modified"]
    extras = {e["key"]: e["value"] for e in package["extras"]}
    assert extras["resource_code"] == dibao.code and extras["update_cycle"] == "monthly"
    assert extras["provider_credit_code"] == opendata.civil.credit_code
    (resource,) = package["resources"]
    assert resource["url"].startswith(live_server.url + "/api/3/action/datastore_search?resource_id=")
    assert requests.get(resource["url"], timeout=10).json()["result"]["total"] == ROWS


@pytest.mark.req("R-29.1")
def test_datastore_search_filters_searches_sorts_and_pages(ckan, opendata, live_server):
    resource_id = opendata.dibao.resource_id
    result = ckan.action.datastore_search(
        resource_id=resource_id, filters={"jzlb": "城市低保", "jtrs": [1, 2]}, sort="jzje desc", limit=5, offset=2
    )
    expected = [p for p in map(person, range(ROWS)) if p["救助类别"] == "城市低保" and p["家庭人数"] in ("1", "2")]
    expected.sort(key=lambda p: -float(p["救助金额"]))
    assert result["total"] == len(expected) and result["total_was_estimated"] is False
    assert [r["jzje"] for r in result["records"]] == [float(p["救助金额"]) for p in expected[2:7]]
    assert [f["id"] for f in result["fields"]] == ["sfzh", "xm", "sjhm", "jzlb", "jzje", "ffrq", "jtrs"]
    assert [f["type"] for f in result["fields"]] == ["text", "text", "text", "text", "numeric", "date", "int"]
    assert result["fields"][1]["info"]["label"] == "姓名"
    first = result["records"][0]
    source = expected[2]
    assert first["sfzh"] == source["公民身份号码"][:6] + "********" + source["公民身份号码"][-4:]
    surname = "欧阳" if source["姓名"].startswith("欧阳") else source["姓名"][0]
    assert first["xm"] == surname + "*" * (len(source["姓名"]) - len(surname))
    assert first["sjhm"] == "139****" + source["手机号码"][-4:]
    assert "jtzz" not in first  # personal and without a masking rule: never served
    assert first["ffrq"] == source["发放日期"] and first["jtrs"] == int(source["家庭人数"])

    words = ckan.action.datastore_search(resource_id=resource_id, q="城市", fields="jzlb,jtrs", limit=0)
    assert words["records"] == []
    assert words["total"] == sum(p["救助类别"] == "城市低保" for p in map(person, range(ROWS)))
    assert [f["id"] for f in words["fields"]] == ["jzlb", "jtrs"]

    lists = ckan.action.datastore_search(
        resource_id=resource_id, records_format="lists", fields=["jtrs", "jzlb"], sort="jtrs asc, jzje desc", limit=2
    )
    ones = sorted((p for p in map(person, range(ROWS)) if p["家庭人数"] == "1"), key=lambda p: -float(p["救助金额"]))
    assert lists["records"] == [[1, p["救助类别"]] for p in ones[:2]]
    table = ckan.action.datastore_search(
        resource_id=resource_id, records_format="csv", fields=["jzje", "ffrq", "jzlb"], limit=3, include_total=False
    )
    assert "total" not in table
    assert list(csv.reader(io.StringIO(table["records"]))) == [
        [person(i)["救助金额"], person(i)["发放日期"], person(i)["救助类别"]] for i in range(3)
    ]

    # _links.next pages through the whole table, past the engine's 1,000-row page, and ends
    # on an empty page.
    big = ckan.action.datastore_search(resource_id=resource_id, limit=1040, fields="jtrs", include_total=False)
    assert len(big["records"]) == 1040
    seen = len(big["records"])
    following = big["_links"]["next"]
    while True:
        page = requests.get(live_server.url + following, timeout=10).json()
        assert page["success"] is True
        if not page["result"]["records"]:
            break
        seen += len(page["result"]["records"])
        following = page["result"]["_links"]["next"]
    assert seen == ROWS
    start = big["_links"]["start"]
    assert "offset" not in start and "cursor" not in start and "limit=1040" in start

    offsets = ckan.action.datastore_search(resource_id=resource_id, limit=10, offset=ROWS - 5)
    assert len(offsets["records"]) == 5
    assert requests.get(live_server.url + offsets["_links"]["next"], timeout=10).json()["result"]["records"] == []
    everything = ckan.action.datastore_search(resource_id=resource_id, limit=50000, fields="jtrs")
    assert everything["limit"] == 32000 and len(everything["records"]) == ROWS  # capped as CKAN caps it


@pytest.mark.req("R-29.1")
def test_masked_columns_cannot_be_probed(ckan, opendata):
    resource_id = opendata.dibao.resource_id
    known = person(7)["公民身份号码"]
    for bad in (
        {"filters": {"sfzh": known}},  # would tell whether a person is in the data
        {"sort": "xm asc"},
        {"fields": ["jtzz"]},  # personal, unmasked: not a public column
        {"filters": {"jtzz": "营口市站前区渤海大街7号"}},
    ):
        with pytest.raises(ValidationError) as err:
            ckan.action.datastore_search(resource_id=resource_id, **bad)
        assert err.value.error_dict["__type"] == "Validation Error"
        assert set(err.value.error_dict) & {"filters", "sort", "fields"}
    assert ckan.action.datastore_search(resource_id=resource_id, q=known[:10])["total"] == 0


@pytest.mark.req("R-29.1")
def test_errors_have_ckan_shapes(ckan, opendata, live_server):
    with pytest.raises(CKANAPIError) as err:
        ckan.call_action("datastore_search_sql", {"sql": 'SELECT * FROM "ds_1"'})
    assert "datastore_search_sql" in str(err.value)
    response = requests.get(live_server.url + "/api/3/action/no_such_action", timeout=10)
    assert response.status_code == 400 and "no_such_action" in response.json()

    for action, data, key in (
        ("package_search", {"rows": "many"}, "rows"),
        ("package_search", {"start": -1}, "start"),
        ("package_search", {"sort": "random"}, "sort"),
        ("package_search", {"fq": "colour:red"}, "fq"),
        ("package_search", {"fq": "tags:()"}, "fq"),
        ("package_search", {"fq": "just words"}, "fq"),
        ("package_search", {"facet.field": ["colour"]}, "facet.field"),
        ("package_search", {"wt": "xml"}, "wt"),
        ("package_show", {}, "id"),
        ("datastore_search", {}, "resource_id"),
        ("datastore_search", {"resource_id": opendata.dibao.resource_id, "filters": {"nope": 1}}, "filters"),
        ("datastore_search", {"resource_id": opendata.dibao.resource_id, "jtrs": 1}, "jtrs"),
        ("datastore_search", {"resource_id": opendata.dibao.resource_id, "records_format": "xml"}, "records_format"),
        ("datastore_search", {"resource_id": opendata.dibao.resource_id, "offset": 20000}, "offset"),
    ):
        with pytest.raises(ValidationError) as err:
            ckan.call_action(action, data)
        assert key in err.value.error_dict, (action, data, err.value.error_dict)

    url = live_server.url + "/api/3/action/package_show"
    missing = requests.post(url, json={"id": "999999"}, timeout=10)
    body = missing.json()
    assert missing.status_code == 404 and body["success"] is False
    assert body["error"]["__type"] == "Not Found Error"
    assert body["help"] == live_server.url + "/api/3/action/help_show?name=package_show"
    broken = requests.post(url, data="{not json", headers={"Content-Type": "application/json"}, timeout=10)
    assert broken.status_code == 400 and "JSON" in broken.json()
    refused = requests.get(
        live_server.url + "/api/3/action/datastore_search",
        params={"resource_id": opendata.payments.resource_id},
        timeout=10,
    )
    assert refused.status_code == 403 and refused.json()["error"]["__type"] == "Authorization Error"


@pytest.mark.req("R-29.1")
def test_get_post_and_form_requests_agree(opendata, live_server):
    url = live_server.url + "/api/3/action/datastore_search"
    resource_id = opendata.dibao.resource_id
    query = {"resource_id": resource_id, "filters": '{"jzlb": "城市低保"}', "limit": "3", "sort": "jzje desc"}
    by_get = requests.get(url, params=query, timeout=10).json()
    by_form = requests.post(url, data=query, timeout=10).json()
    by_json = requests.post(url, json={**query, "filters": {"jzlb": "城市低保"}, "limit": 3}, timeout=10).json()
    assert by_get["success"] and len(by_get["result"]["records"]) == 3
    assert by_get["result"]["records"] == by_form["result"]["records"] == by_json["result"]["records"]
    assert requests.get(live_server.url + "/api/action/status_show", timeout=10).json()["result"]["ckan_version"]


@pytest.mark.req("R-31.1")
def test_organizations_groups_and_tags(ckan, opendata):
    by_title = sorted((opendata.civil, opendata.police), key=lambda d: d.name)
    assert ckan.action.organization_list() == [credit(d) for d in by_title]
    counted = ckan.action.organization_list(all_fields=True, sort="package_count desc")
    assert [(o["name"], o["title"], o["package_count"]) for o in counted] == [
        (credit(opendata.civil), opendata.civil.name, 2),
        (credit(opendata.police), opendata.police.name, 1),
    ]
    police = ckan.action.organization_show(id=credit(opendata.police), include_datasets=True)
    assert police["title"] == opendata.police.name and police["package_count"] == 1
    assert [p["name"] for p in police["packages"]] == [opendata.traffic.name]
    with pytest.raises(NotFound):
        ckan.action.organization_show(id=credit(opendata.quiet))  # provides no open dataset

    groups = ckan.action.group_list(all_fields=True)
    assert len(groups) == 14  # the themes of Art. 19
    counts = {g["name"]: g["package_count"] for g in groups}
    assert counts["202"] == 2 and counts["206"] == 1 and counts["201"] == 0
    assert sorted(ckan.action.tag_list()) == ["social_security", "transport"]
    (tag,) = ckan.action.tag_list(query="transport", all_fields=True)
    assert tag["display_name"]


@pytest.mark.req("R-29.1")
def test_api_calls_are_counted_per_dataset_and_day(ckan, opendata):
    ckan.action.package_show(id=opendata.traffic.name)
    ckan.action.package_show(id=opendata.traffic.code)
    ckan.action.datastore_search(resource_id=opendata.traffic.resource_id, limit=1)
    with pytest.raises(NotFound):
        ckan.action.datastore_search(resource_id=opendata.hukou.resource_id)
    with pytest.raises(NotAuthorized):
        ckan.action.datastore_search(resource_id=opendata.payments.resource_id)
    ckan.action.package_search(q="交通")  # a search is no use of one dataset
    stats = UsageStat.objects.all()
    assert [(s.entry_id, s.kind, s.day, s.count) for s in stats] == [
        (opendata.traffic.pk, UsageStat.Kind.API, clock.today(), 3)
    ]
