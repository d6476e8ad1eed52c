"""The native open API (issue #6, item 3) at /api/open/v1/: anonymous calls, the same rules
as the portal and the CKAN API (rows masked, only of unconditionally open datasets unless the
caller's token belongs to an approved applicant), OpenAPI documented, rate limits per address
and per token user with X-RateLimit-* headers on every answer."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest

from govdata import testing as t
from govdata.catalog.models import CatalogEntry
from govdata.common.actor import Actor
from govdata.opendata import tokens
from govdata.opendata.models import UsageStat
from govdata.opendata.services import applications
from govdata.opendata.services.applications import UNDERTAKINGS
from govdata.orgs.models import Role

from .conftest import ROWS, person

pytestmark = pytest.mark.usefixtures("open_api_limits")
BASE = "/api/open/v1"
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def credit(department) -> str:
    return department.credit_code.lower()


def get(client, path: str, **headers):
    return client.get(BASE + path, headers=headers)


@pytest.fixture
def citizen(db):
    return t.user(Role.PUBLIC_USER, None, username="citizen")


@pytest.mark.req("R-29.1")
def test_the_openapi_document_lists_every_path_and_lets_anonymous_callers_in(client, db):
    spec = get(client, "/openapi.json").json()
    assert spec["info"]["title"] == "GovData Open API"
    assert set(spec["paths"]) == {
        f"{BASE}/datasets",
        f"{BASE}/datasets/{{name}}",
        f"{BASE}/datasets/{{name}}/usage",
        f"{BASE}/resources/{{resource_id}}/rows",
        f"{BASE}/themes",
        f"{BASE}/domains",
        f"{BASE}/departments",
    }
    assert {} in spec["security"]  # no credential needed
    assert set(spec["components"]["securitySchemes"]) == {"bearerToken", "apiTokenHeader"}
    search = spec["paths"][f"{BASE}/datasets"]["get"]
    assert {"q", "theme", "department", "page", "page_size"} <= {p["name"] for p in search["parameters"]}
    docs = client.get(BASE + "/docs")
    assert docs.status_code == 200
    # The documentation page loads its scripts from this server only (the extranet has no internet).
    assert not re.search(r'(src|href)="https?://', docs.content.decode())


@pytest.mark.req("R-29.1")
@pytest.mark.req("R-31.1")
def test_anonymous_dataset_search_with_filters_facets_and_pages(client, opendata):
    found = get(client, "/datasets?q=营口市").json()
    assert found["count"] == 3 and found["page"] == 1
    assert {d["name"] for d in found["results"]} == {opendata.dibao.name, opendata.traffic.name, opendata.payments.name}
    facets = {name: {v["value"]: v["count"] for v in values} for name, values in found["facets"].items()}
    assert facets["department"] == {credit(opendata.civil): 2, credit(opendata.police): 1}
    assert facets["domain"] == {"social_security": 2, "transport": 1}
    assert facets["open_type"] == {"unconditional": 2, "on_application": 1}
    labels = {v["value"]: v["label"] for v in found["facets"]["department"]}
    assert labels[credit(opendata.civil)] == opendata.civil.name

    police = get(client, f"/datasets?department={credit(opendata.police)}").json()
    assert [d["name"] for d in police["results"]] == [opendata.traffic.name]
    (traffic,) = police["results"]
    assert traffic["department"] == {"id": credit(opendata.police), "name": opendata.police.name}
    assert traffic["themes"] == [{"code": "206", "name": traffic["themes"][0]["name"]}]
    assert traffic["url"].endswith(f"/open/datasets/{opendata.traffic.name}/")
    both = get(client, "/datasets?domain=social_security&open_type=unconditional").json()
    assert [d["name"] for d in both["results"]] == [opendata.dibao.name]
    assert get(client, "/datasets?theme=202&theme=206").json()["count"] == 3
    assert get(client, "/datasets?q=户籍").json()["count"] == 0  # not open: never listed
    assert get(client, "/datasets?open_type=not_open").json()["count"] == 0
    assert get(client, "/datasets?department=nobody").json()["count"] == 0

    titles = sorted(d.title for d in (opendata.dibao, opendata.traffic, opendata.payments))
    second = get(client, "/datasets?sort=name&page=2&page_size=2&facets=false").json()
    assert [d["title"] for d in second["results"]] == titles[2:] and second["facets"] == {}
    assert get(client, "/datasets?page_size=1000").status_code == 422


@pytest.mark.req("R-29.1")
@pytest.mark.req("R-30.1")
def test_dataset_detail_describes_access_licence_and_public_columns(client, opendata, clock):
    dibao = get(client, f"/datasets/{opendata.dibao.name}").json()
    assert (dibao["code"], dibao["title"]) == (opendata.dibao.code, opendata.dibao.title)
    assert dibao["licence"]["id"] == "cc-by" and dibao["can_read_rows"] is True
    (resource,) = dibao["resources"]
    assert resource["id"] == int(opendata.dibao.resource_id) and resource["row_count"] == ROWS
    columns = {c["code"]: c for c in resource["columns"]}
    assert "jtzz" not in columns  # personal information without a masking rule is never served
    assert columns["sfzh"] == {"code": "sfzh", "name": "公民身份号码", "type": "string", "masked": True, "key": True}
    assert (columns["jzje"]["type"], columns["ffrq"]["type"], columns["jtrs"]["type"]) == ("number", "date", "integer")
    assert resource["rows_url"].endswith(f"{BASE}/resources/{resource['id']}/rows")
    assert resource["download_url"].endswith(f"/open/resources/{resource['id']}/download.csv")
    assert dibao["links"]["turtle"].endswith(f"/open/datasets/{opendata.dibao.name}.ttl")
    assert dibao["links"]["datapackage"].endswith(f"/open/datasets/{opendata.dibao.name}/datapackage.json")

    payments = get(client, f"/datasets/{opendata.payments.name}").json()
    assert payments["can_read_rows"] is False and payments["licence"]["id"] == "other-closed"
    assert payments["open_conditions"] == "用于学术研究，签署数据使用承诺"
    assert payments["open_basis"] == "涉及企业经营信息，依申请开放"

    for ref in (opendata.hukou.name, str(opendata.hukou.pk), "no-such-dataset"):
        missing = get(client, f"/datasets/{ref}")
        assert missing.status_code == 404 and list(missing.json()) == ["detail"]
    counted = UsageStat.objects.filter(kind=UsageStat.Kind.API, day=clock.now().date())
    assert dict(counted.values_list("entry_id", "count")) == {opendata.dibao.pk: 1, opendata.payments.pk: 1}


@pytest.mark.req("R-29.1")
@pytest.mark.req("R-28.1")
def test_rows_are_public_masked_filtered_and_paged_by_cursor(client, opendata):
    path = f"/resources/{opendata.dibao.resource_id}/rows"
    page = get(client, f"{path}?jzlb=城市低保&jtrs__in=1,2&sort=-jzje&limit=5&total=estimated").json()
    expected = [p for p in map(person, range(ROWS)) if p["救助类别"] == "城市低保" and p["家庭人数"] in ("1", "2")]
    expected.sort(key=lambda p: -float(p["救助金额"]))
    assert page["total"] == len(expected) and page["total_kind"] == "exact"
    assert [r["jzje"] for r in page["records"]] == [p["救助金额"] for p in expected[:5]]  # decimals exact, as text
    assert {f["code"] for f in page["fields"]} == {"sfzh", "xm", "sjhm", "jzlb", "jzje", "ffrq", "jtrs"}
    first = page["records"][0]
    original = next(p for p in expected if p["救助金额"] == first["jzje"])
    assert first["sfzh"] != original["公民身份号码"] and "*" in first["sfzh"]
    assert "jtzz" not in first

    seen, cursor = [], ""
    while True:
        page = get(client, f"{path}?fields=jtrs,ffrq&limit=400{cursor}").json()
        seen += page["records"]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert len(seen) == ROWS and set(seen[0]) == {"jtrs", "ffrq"}

    refused = get(client, f"{path}?sfzh={person(0)['公民身份号码']}")
    assert refused.status_code == 422 and "filters" in refused.json()["errors"]
    assert get(client, f"{path}?total=exact").status_code == 422
    assert get(client, f"{path}?nosuchcolumn=1").status_code == 422
    on_application = get(client, f"/resources/{opendata.payments.resource_id}/rows")
    assert on_application.status_code == 403 and "records" not in on_application.json()
    assert get(client, f"/resources/{opendata.hukou.resource_id}/rows").status_code == 404
    assert get(client, "/resources/999999/rows").status_code == 404


@pytest.mark.req("R-29.1")
def test_every_refusal_is_told_in_the_callers_language(client, opendata):
    """zh-hans by default, English on request; the schema's refusals in the platform's shape."""
    dibao, payments = opendata.dibao, opendata.payments
    unknown = get(client, "/datasets/no-such-dataset")
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "未找到。"})
    assert get(client, "/resources/999999/rows").json() == {"detail": "未找到。"}
    refused = get(client, f"/resources/{payments.resource_id}/rows")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "依申请开放数据集的数据仅在批准期限内提供给申请已获批准的申请人。"}
    invalid = get(client, f"/resources/{dibao.resource_id}/rows?nosuchcolumn=1")
    assert invalid.json() == {"detail": "输入内容无效。", "errors": {"filters": ["“nosuchcolumn”不是该数据资源的字段。"]}}
    schema = {
        "/datasets?page=0": {"page": ["取值不能小于 1。"]},
        "/datasets?page_size=1000": {"page_size": ["取值不能大于 100。"]},
        "/datasets?sort=popular": {"sort": ["请使用以下取值之一：'relevance', 'newest', 'name'。"]},
        "/datasets?facets=maybe": {"facets": ["请给出 true 或 false。"]},
        f"/resources/{dibao.resource_id}/rows?limit=ten": {"limit": ["请填写整数。"]},
        f"/datasets/{dibao.name}/usage?days=0": {"days": ["取值不能小于 1。"]},
    }
    for path, errors in schema.items():
        answer = get(client, path)
        assert (answer.status_code, answer.json()) == (422, {"detail": "输入内容无效。", "errors": errors}), path

    english = {"Accept-Language": "en"}
    assert get(client, "/datasets/no-such-dataset", **english).json() == {"detail": "Not found."}
    assert get(client, "/datasets?page=0", **english).json() == {
        "detail": "The input is not valid.",
        "errors": {"page": ["Give a value of at least 1."]},
    }
    assert get(client, f"/resources/{payments.resource_id}/rows", **english).json()["detail"].startswith(
        "The rows of a dataset opened on application"
    )


@pytest.mark.req("R-31.1")
def test_themes_domains_and_departments_with_their_dataset_counts(client, opendata):
    themes = {t["code"]: t["datasets"] for t in get(client, "/themes").json()}
    assert themes["202"] == 2 and themes["206"] == 1 and sum(themes.values()) == 3
    domains = {d["code"]: d for d in get(client, "/domains").json()}
    assert domains["social_security"]["datasets"] == 2 and domains["credit"]["datasets"] == 0
    assert domains["transport"]["name"] == "交通"
    departments = get(client, "/departments").json()
    expected = [(credit(opendata.civil), 2), (credit(opendata.police), 1)]
    assert [(d["id"], d["datasets"]) for d in departments] == expected
    assert departments[0]["region"] == {"code": "210800", "name": "营口市"}


def test_usage_of_a_dataset_per_day(client, opendata, clock):
    today = clock.now().date()
    get(client, f"/datasets/{opendata.dibao.name}")
    get(client, f"/resources/{opendata.dibao.resource_id}/rows?limit=1")
    client.get(f"/open/datasets/{opendata.dibao.name}/")  # a page view
    usage = get(client, f"/datasets/{opendata.dibao.name}/usage?days=7").json()
    assert usage["days"] == 7 and len(usage["daily"]) == 7
    assert usage["daily"][-1] == {"day": today.isoformat(), "view": 1, "download": 0, "api": 2}
    assert usage["totals"] == {"view": 1, "download": 0, "api": 2}
    assert get(client, f"/datasets/{opendata.hukou.name}/usage").status_code == 404
    assert get(client, f"/datasets/{opendata.dibao.name}/usage?days=0").status_code == 422


# --- rate limits and tokens ---------------------------------------------------------------------


@pytest.mark.req("R-29.1")
def test_the_61st_anonymous_call_is_refused_with_429_and_a_token_user_has_a_bucket_of_its_own(
    client, opendata, citizen, open_api_limits
):
    open_api_limits.OPEN_API_ANON_RATE = "60/day"  # a day's window: no test run straddles it
    open_api_limits.OPEN_API_TOKEN_RATE = "100/day"
    answers = [get(client, "/domains") for _ in range(60)]
    assert all(a.status_code == 200 for a in answers)
    assert all(set(RATE_HEADERS) <= set(a.headers) for a in answers)
    assert [a["X-RateLimit-Remaining"] for a in answers[:3]] == ["59", "58", "57"]
    assert answers[-1]["X-RateLimit-Limit"] == "60" and answers[-1]["X-RateLimit-Remaining"] == "0"

    over = get(client, f"/datasets/{opendata.dibao.name}")
    assert over.status_code == 429 and over["Content-Type"].startswith("application/json")
    assert "detail" in over.json() and "title" not in over.json()
    assert (over["X-RateLimit-Limit"], over["X-RateLimit-Remaining"]) == ("60", "0")
    assert int(over["X-RateLimit-Reset"]) - int(time.time()) >= int(over["Retry-After"]) >= 0
    assert not UsageStat.objects.exists()  # a refused call is no use of the dataset

    # Another address counts apart; so does the token's user, with the higher limit.
    assert client.get(BASE + "/domains", REMOTE_ADDR="10.1.2.3")["X-RateLimit-Remaining"] == "59"
    _token, secret = tokens.issue_token(Actor(user=citizen), "script")
    with_token = get(client, "/domains", Authorization=f"Bearer {secret}")
    assert with_token.status_code == 200
    assert (with_token["X-RateLimit-Limit"], with_token["X-RateLimit-Remaining"]) == ("100", "99")
    assert get(client, "/domains", X_Api_Token=secret)["X-RateLimit-Remaining"] == "98"


def test_a_bad_or_revoked_token_is_refused_with_401(client, opendata, citizen):
    token, secret = tokens.issue_token(Actor(user=citizen))
    assert get(client, "/themes", Authorization=f"Bearer {secret}").status_code == 200
    bad = ({"Authorization": "Bearer gdo_not-a-token"}, {"X_Api_Token": "nonsense"}, {"Authorization": "Bearer "})
    for headers in bad:
        refused = get(client, "/themes", **headers)
        assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Bearer"
        assert set(RATE_HEADERS) <= set(refused.headers)  # counted against the address
    tokens.revoke_token(Actor(user=citizen), token)
    assert get(client, "/themes", Authorization=f"Bearer {secret}").status_code == 401
    # The session does not stand in for a token: a signed-in caller without one is anonymous.
    client.force_login(citizen)
    assert get(client, "/themes").status_code == 200


@pytest.mark.req("R-29.2")
def test_a_token_carries_its_users_approved_applications(client, opendata, citizen, yk, clock):
    _token, secret = tokens.issue_token(Actor(user=citizen))
    path = f"/resources/{opendata.payments.resource_id}/rows?limit=3"
    assert get(client, path, Authorization=f"Bearer {secret}").status_code == 403
    entry = opendata.payments
    application = applications.apply(
        Actor(user=citizen),
        CatalogEntry.objects.get(pk=entry.pk),
        purpose="研究企业社保缴费结构",
        scenario="学术论文",
        period_start=clock.now().date(),
        period_end=clock.now().date() + dt.timedelta(days=60),
        undertakings=list(UNDERTAKINGS),
    )
    applications.approve(t.actor(yk.civil_admin), application)
    answer = get(client, path, Authorization=f"Bearer {secret}")
    assert answer.status_code == 200 and len(answer.json()["records"]) == 3
    detail = get(client, f"/datasets/{entry.name}", Authorization=f"Bearer {secret}").json()
    assert detail["can_read_rows"] is True
    assert get(client, path).status_code == 403  # still refused to everyone else
