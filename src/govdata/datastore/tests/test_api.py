"""The datastore's JSON API (/api/v1/datastore/): the services, selectors and permissions
behind HTTP, with real uploads, background loads (huey runs immediately in tests), streamed
exports and file downloads."""

from __future__ import annotations

import csv
import io
import json
import os
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.common.validators import id_check_char
from govdata.datastore import services
from govdata.datastore.models import FileObject, Resource
from govdata.orgs.models import InformationSystem

from . import corpus as c

BASE = "/api/v1/datastore"
H = c.PERSON_HEADER
TOKEN = "yk-upstream-token-7d41"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def api(client):
    """``api(user, method, path, payload)``: JSON in, the response out; GET payloads are query
    parameters. A path under BASE is taken as it is (the addresses the API hands out)."""

    def call(user, method, path, payload=None):
        client.force_login(user)
        url = path if path.startswith(BASE) else BASE + path
        if method == "get":
            return client.get(url, payload or {})
        return getattr(client, method)(url, payload, content_type="application/json")

    return call


@pytest.fixture
def send(client, django_capture_on_commit_callbacks):
    """A multipart POST; a load queued by it runs when its transaction commits."""

    def post(user, path, data):
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(BASE + path, data)

    return post


@pytest.fixture
def media(settings, tmp_path):
    root = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": root}},
    }
    return root


@pytest.fixture
def person(yk, entry):
    return services.mount(t.actor(yk.police_admin), entry, kind="table", name="居民信息表")


def publish(yk, resource):
    resource.refresh_from_db()  # the services save the whole instance: it must be current
    services.submit(t.actor(yk.police_admin), resource)
    services.publish(t.actor(yk.bureau), resource)


def upload(name: str, data: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()]


def load(yk, api, send, resource, data, name="居民.csv", mode="replace", **form):
    """Upload a file through the API and follow the load to its end; the progress."""
    queued = send(yk.police_staff, f"/resources/{resource.pk}/loads", {"file": upload(name, data), "mode": mode, **form})
    assert queued.status_code == 202, queued.content
    progress = api(yk.police_staff, "get", queued.json()["progress"])
    assert progress.status_code == 200 and progress.json()["phase"] == "finished", progress.content
    return progress.json()


def holder() -> str:
    first17 = "21080219900307123"
    return first17 + id_check_char(first17)


# --- mounting and re-review (R-18.1) -------------------------------------------------------------


@pytest.mark.req("R-18.1")
def test_only_the_provider_mounts_and_others_do_not_see_the_draft(yk, entry, api):
    mounted = api(yk.police_staff, "post", "/resources", {"entry_id": entry.pk, "kind": "table", "name": "居民信息表"})
    assert mounted.status_code == 201, mounted.content
    body = mounted.json()
    assert (body["status"], body["entry_code"], body["provider_id"]) == ("draft", entry.code, yk.police.pk)
    columns = {col["code"]: col for col in body["columns"]}
    assert list(columns) == ["sfzh", "xm", "sjhm", "csrq", "ysr", "jtrs", "sfzc"]
    assert (columns["sfzh"]["content_check"], columns["sfzh"]["mask"]) == ("id_number", "id_number")
    assert body["freshness"]["cycle"] == "daily" and body["endpoint"] is None and body["feed"] is None
    for outsider in (yk.civil_admin, yk.bureau):
        refused = api(outsider, "post", "/resources", {"entry_id": entry.pk, "kind": "table", "name": "x"})
        assert refused.status_code == 403
    bad = api(yk.police_admin, "post", "/resources", {"entry_id": entry.pk, "kind": "database", "name": " "})
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"kind", "name"}
    resource_id = body["id"]
    assert api(yk.civil_admin, "get", f"/resources/{resource_id}").status_code == 404
    assert api(yk.civil_admin, "get", "/resources").json() == []
    assert ids(api(yk.police_staff, "get", "/resources", {"mine": "true", "kind": "table"})) == [resource_id]
    assert api(yk.police_staff, "get", "/resources", {"entry": entry.pk, "status": "published"}).json() == []
    assert ids(api(yk.bureau, "get", "/resources")) == [resource_id]


@pytest.mark.req("R-18.1")
def test_submit_re_review_suspend_and_resume(yk, person, api):
    path = f"/resources/{person.pk}"
    assert api(yk.police_staff, "post", f"{path}/submit").status_code == 403
    assert api(yk.police_admin, "post", f"{path}/submit").json()["status"] == "submitted"
    assert api(yk.police_admin, "post", f"{path}/submit").status_code == 409
    assert ids(api(yk.bureau, "get", "/review-queue")) == [person.pk]
    assert api(yk.police_admin, "get", "/review-queue").json() == []
    assert api(yk.police_admin, "post", f"{path}/publish").status_code == 403
    refused = api(yk.bureau, "post", f"{path}/return", {"reason": "  "})
    assert refused.status_code == 422 and "reason" in refused.json()["errors"]
    assert api(yk.bureau, "post", f"{path}/return", {}).status_code == 422
    returned = api(yk.bureau, "post", f"{path}/return", {"reason": "缺少数据说明"}).json()
    assert (returned["status"], returned["return_reason"]) == ("returned", "缺少数据说明")
    api(yk.police_admin, "post", f"{path}/submit")
    assert api(yk.bureau, "post", f"{path}/publish").json()["status"] == "published"
    assert api(yk.bureau, "post", f"{path}/publish").status_code == 409
    assert api(yk.civil_admin, "get", path).json()["status"] == "published"
    assert api(yk.bureau, "post", f"{path}/suspend", {"reason": ""}).status_code == 422
    suspended = api(yk.bureau, "post", f"{path}/suspend", {"reason": "数据泄露风险排查"}).json()
    assert (suspended["status"], suspended["suspend_reason"]) == ("suspended", "数据泄露风险排查")
    assert api(yk.civil_admin, "get", path).status_code == 404
    assert api(yk.police_admin, "post", f"{path}/resume").status_code == 403
    assert api(yk.bureau, "post", f"{path}/resume").json()["status"] == "published"


@pytest.mark.req("R-18.1")
def test_column_rules_are_changed_by_the_provider(yk, person, api):
    path = f"/resources/{person.pk}/columns"
    changed = api(yk.police_staff, "patch", f"{path}/XM", {"mask": ""})
    assert changed.status_code == 200 and (changed.json()["mask"], changed.json()["content_check"]) == ("", "")
    sfzh = api(yk.police_staff, "patch", f"{path}/sfzh", {"content_check": ""}).json()
    assert (sfzh["content_check"], sfzh["mask"]) == ("", "id_number")
    bad = api(yk.police_staff, "patch", f"{path}/sjhm", {"content_check": "colour", "mask": "blur"})
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"content_check", "mask"}
    assert api(yk.police_staff, "patch", f"{path}/nosuch", {"mask": ""}).status_code == 404
    publish(yk, person)
    assert api(yk.civil_admin, "patch", f"{path}/xm", {"mask": ""}).status_code == 403


# --- loads, versions, freshness (R-21.1) ---------------------------------------------------------


@pytest.mark.req("R-21.1")
@pytest.mark.req("R-3.1")
def test_uploads_in_utf8_and_gbk_become_data_versions_and_freshness(yk, person, api, send, clock):
    path = f"/resources/{person.pk}"
    first = load(yk, api, send, person, c.csv_bytes(H, [c.person(1), c.person(2)]))
    assert (first["status"], first["version"], first["done"], first["total"]) == ("done", 1, 2, 2)
    rows = [c.person(1, "王五"), c.person(2, "欧阳娜娜"), c.person(3)]
    second = load(yk, api, send, person, c.csv_bytes(H, rows, encoding="gbk"), name="居民-GBK.csv")
    assert (second["status"], second["version"]) == ("done", 2)
    versions = api(yk.police_staff, "get", f"{path}/versions").json()
    assert [(v["number"], v["status"], v["rows_loaded"], v["source"]) for v in versions] == [
        (2, "done", 3, "居民-GBK.csv"),
        (1, "done", 2, "居民.csv"),
    ]
    detail = api(yk.police_staff, "get", f"{path}/versions/2").json()
    assert (detail["loaded_by"], detail["report"], len(detail["checksum"])) == (yk.police_staff.username, [], 64)
    records = api(yk.police_staff, "get", f"{path}/rows", {"masked": "false"}).json()["records"]
    assert [r["xm"] for r in records] == ["王五", "欧阳娜娜", "张3"]
    resource = api(yk.police_staff, "get", path).json()
    assert (resource["current_version"], resource["row_count"], resource["freshness"]["stale"]) == (2, 3, False)
    assert resource["freshness"]["next_due"].startswith("2026-03-03T23:59:59")
    clock.advance(days=2)
    assert api(yk.police_staff, "get", path).json()["freshness"]["stale"] is True
    bad_mode = send(yk.police_staff, f"{path}/loads", {"file": upload("a.csv", b"x"), "mode": "merge"})
    assert bad_mode.status_code == 422 and "mode" in bad_mode.json()["errors"]
    assert api(yk.police_staff, "get", f"{path}/loads/{'0' * 32}").status_code == 404


@pytest.mark.req("R-21.1")
def test_a_rejected_load_reports_rows_and_columns_and_changes_nothing(yk, person, api, send):
    path = f"/resources/{person.pk}"
    load(yk, api, send, person, c.csv_bytes(H, [c.person(1)]))
    rows = [c.person(2), c.person(3, 公民身份号码=c.bad_check(c.id_number(3))), c.person(4, 家庭人数="两")]
    progress = load(yk, api, send, person, c.csv_bytes(H, rows), name="有错.csv")
    assert (progress["status"], progress["version"], progress["done"]) == ("rejected", 2, 0)
    version = api(yk.police_staff, "get", f"{path}/versions/2").json()
    assert [(e["row"], e["column"], e["code"]) for e in version["report"]] == [(3, "sfzh", "content"), (4, "jtrs", "type")]
    report = api(yk.police_staff, "get", f"{path}/versions/2/report.csv")
    assert report["Content-Type"].startswith("text/csv") and "attachment" in report["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert [line[:3] for line in lines[1:]] == [["3", "sfzh", c.bad_check(c.id_number(3))], ["4", "jtrs", "两"]]
    assert api(yk.police_staff, "get", path).json()["current_version"] == 1
    quarantined = load(yk, api, send, person, c.csv_bytes(H, rows), name="隔离.csv", quarantine="true")
    assert (quarantined["status"], quarantined["done"]) == ("done", 1)
    kept = api(yk.police_staff, "get", f"{path}/versions/3/quarantined").json()
    assert [(r["row_number"], r["reasons"][0]["column"]) for r in kept] == [(3, "sfzh"), (4, "jtrs")]
    assert api(yk.police_staff, "get", f"{path}/versions/9").status_code == 404


# --- push interface (R-9.1) ----------------------------------------------------------------------


@pytest.mark.req("R-9.1")
@pytest.mark.req("R-21.1")
def test_a_registered_system_pushes_rows(yk, person, api):
    system = InformationSystem.objects.create(department=yk.police, name="人口管理系统", owner="户政科", status="existing")
    rows = [{"sfzh": c.id_number(1), "xm": "王五", "csrq": "1990/2/3"}, {"公民身份号码": c.id_number(2), "姓名": "李四"}]
    path = f"/resources/{person.pk}/rows"
    pushed = api(yk.police_admin, "post", path, {"mode": "upsert", "rows": rows, "system_id": system.pk})
    assert pushed.status_code == 201, pushed.content
    body = pushed.json()
    assert (body["rows_loaded"], body["application"], body["source"]) == (2, f"system:{system.pk}", "push: 人口管理系统")
    refused = api(yk.police_admin, "post", path, {"mode": "append", "rows": [{"sfzh": c.id_number(3)}]})
    assert refused.status_code == 422 and refused.json()["status"] == "rejected"
    assert [(e["row"], e["column"], e["code"]) for e in refused.json()["report"]] == [(1, "xm", "required")]
    bad_mode = api(yk.police_admin, "post", path, {"mode": "merge", "rows": rows})
    assert bad_mode.status_code == 422 and "mode" in bad_mode.json()["errors"]
    other = InformationSystem.objects.create(department=yk.civil, name="民政系统", owner="x", status="existing")
    foreign = api(yk.police_admin, "post", path, {"mode": "upsert", "rows": rows, "system_id": other.pk})
    assert foreign.status_code == 404
    publish(yk, person)
    assert api(yk.civil_admin, "post", path, {"mode": "upsert", "rows": rows}).status_code == 403
    assert api(yk.police_admin, "get", f"/resources/{person.pk}").json()["row_count"] == 2


# --- reading rows (R-16.1, R-22.1) ---------------------------------------------------------------


@pytest.mark.req("R-16.1")
@pytest.mark.req("R-22.1")
def test_rows_are_queried_filtered_masked_and_paged(yk, person, api, send):
    load(yk, api, send, person, c.csv_bytes(H, [c.person(i, 出生日期=f"19{80 + i}-01-01") for i in range(1, 6)]))
    path = f"/resources/{person.pk}/rows"
    params = {"csrq__gte": "1983-01-01", "sort": "-csrq", "fields": "sfzh,xm,csrq", "total": "exact"}
    page = api(yk.police_staff, "get", path, params)
    assert page.status_code == 200, page.content
    body = page.json()
    assert [(f["code"], f["masked"]) for f in body["fields"]] == [("sfzh", True), ("xm", True), ("csrq", False)]
    assert [r["csrq"] for r in body["records"]] == ["1985-01-01", "1984-01-01", "1983-01-01"]
    number = c.id_number(5)
    assert (body["records"][0]["xm"], body["records"][0]["sfzh"]) == ("张*", number[:6] + "*" * 8 + number[-4:])
    assert (body["total"], body["total_kind"], body["next_cursor"]) == (3, "exact", None)
    plain = api(yk.police_staff, "get", path, {"xm": "张2", "masked": "false"}).json()["records"]
    assert [(r["xm"], r["sfzh"], r["ysr"]) for r in plain] == [("张2", c.id_number(2), "3500.00")]
    # Only the provider's own loaders may see the values whole; the bureau reads them masked.
    reviewed = api(yk.bureau, "get", path, {"xm": "张2", "masked": "false", "fields": "xm"}).json()
    assert (reviewed["records"], reviewed["fields"][0]["masked"]) == ([{"xm": "张*"}], True)
    first = api(yk.police_staff, "get", path, {"limit": 2, "sort": "csrq"}).json()
    second = api(yk.police_staff, "get", path, {"limit": 2, "sort": "csrq", "cursor": first["next_cursor"]}).json()
    assert [r["csrq"][:4] for r in first["records"] + second["records"]] == ["1981", "1982", "1983", "1984"]
    for params, parameter, named in (
        ({"nosuch": "1"}, "filters", "nosuch"),
        ({"sort": "nosuch"}, "sort", "nosuch"),
        ({"xm__like": "张"}, "filters", "like"),
        ({"limit": "many"}, "limit", "many"),
        ({"csrq__gte": "someday"}, "filters", "someday"),
    ):
        refused = api(yk.police_staff, "get", path, params)
        assert refused.status_code == 422, params
        assert list(refused.json()["errors"]) == [parameter] and named in refused.json()["errors"][parameter][0]
    # A masked column cannot be range-filtered (that would reveal it), unless masking is off.
    assert api(yk.police_staff, "get", path, {"xm__gt": "张"}).status_code == 422
    assert api(yk.police_staff, "get", path, {"xm__gt": "张", "masked": "false"}).status_code == 200


@pytest.mark.req("R-16.1")
@pytest.mark.req("R-18.1")
def test_another_department_sees_published_metadata_but_not_rows(yk, person, api, send):
    load(yk, api, send, person, c.csv_bytes(H, [c.person(1)]))
    path = f"/resources/{person.pk}"
    for url in (path, f"{path}/rows", f"{path}/versions"):
        assert api(yk.civil_admin, "get", url).status_code == 404, url
    publish(yk, person)
    seen = api(yk.civil_admin, "get", path).json()
    assert (seen["current_version"], seen["row_count"], seen["freshness"]["stale"]) == (1, 1, False)
    for url in (f"{path}/rows", f"{path}/export", f"{path}/files", f"{path}/versions"):
        assert api(yk.civil_admin, "get", url).status_code == 403, url
    for url in (f"{path}/versions/1", f"{path}/versions/1/report.csv"):
        assert api(yk.civil_admin, "get", url).status_code == 404, url
    assert api(yk.bureau, "get", f"{path}/rows").status_code == 200


@pytest.mark.req("R-16.1")
@pytest.mark.req("R-22.1")
def test_export_streams_the_filtered_rows_masked_and_is_audited(yk, person, api, send, clock):
    load(yk, api, send, person, c.csv_bytes(H, [c.person(1), c.person(2, 姓名="=HYPERLINK()")]))
    path = f"/resources/{person.pk}/export"
    response = api(yk.police_staff, "get", path, {"format": "csv", "fields": "xm,jtrs", "limit": "1"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment") and "20260302.csv" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    assert list(csv.reader(io.StringIO(text))) == [["姓名", "家庭人数"], ["张*", "3"], ["'=***********", "3"]]
    data = api(yk.police_staff, "get", path, {"format": "json", "masked": "false", "xm": "张1"})
    assert data["Content-Type"].startswith("application/json")
    assert [r["xm"] for r in json.loads(b"".join(data.streaming_content))] == ["张1"]
    exported = AuditEvent.objects.filter(action="datastore.export", object_id=str(person.pk)).order_by("pk")
    summary = [(e.row_count, e.details["format"], e.details["masked"]) for e in exported]
    assert summary == [(2, "csv", True), (1, "json", False)]
    assert exported.last().details["parameters"] == {"format": ["json"], "masked": ["false"], "xm": ["张1"]}
    refused = api(yk.police_staff, "get", path, {"format": "pdf"})
    assert refused.status_code == 422 and "format" in refused.json()["errors"]


# --- files (R-3.1, R-24.1, R-25.1) ----------------------------------------------------------------


@pytest.mark.req("R-3.1")
@pytest.mark.req("R-24.1")
@pytest.mark.req("R-25.1")
def test_files_are_uploaded_downloaded_verified_and_found_by_holder(yk, entry, api, send, media):
    resource = services.mount(t.actor(yk.police_admin), entry, kind="file", name="居民证照")
    path = f"/resources/{resource.pk}/files"
    licence = {"holder_id": holder().lower(), "holder_name": "张三", "licence_number": "A-1", "valid_from": "2024年1月1日"}
    created = send(yk.police_staff, path, {"file": upload("户口本.pdf"), **licence})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["name"], body["content_type"]) == ("户口本.pdf", "application/pdf")
    assert (body["holder_id"], body["valid_from"]) == (holder(), "2024-01-01")
    bad = send(yk.police_staff, path, {"file": upload("a.pdf"), "holder_name": "李四", "valid_until": "someday"})
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"holder_id", "valid_until"}
    refused = send(yk.police_staff, path, {"file": upload("a.exe", b"MZ\x90\x00" + b"\x00" * 100)})
    assert refused.status_code == 422 and "file" in refused.json()["errors"]
    assert ids(api(yk.police_staff, "get", path)) == [body["id"]]
    download = api(yk.police_staff, "get", f"{path}/{body['id']}/download")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    # Found by holder once published, by those who may read the files.
    assert api(yk.police_staff, "get", "/files", {"holder": holder()}).json() == []
    publish(yk, resource)
    assert ids(api(yk.police_staff, "get", "/files", {"holder": holder().lower()})) == [body["id"]]
    assert ids(api(yk.bureau, "get", "/files", {"holder": holder(), "valid_on": "2025-06-01"})) == [body["id"]]
    assert api(yk.civil_admin, "get", "/files", {"holder": holder()}).json() == []
    assert api(yk.civil_admin, "get", f"{path}/{body['id']}/download").status_code == 403
    assert api(yk.police_staff, "get", "/files", {"holder": " "}).status_code == 422
    # A stored file that no longer matches its SM3 digest is not served.
    stored = media / FileObject.objects.get(pk=body["id"]).storage_name
    stored.write_bytes(PDF.replace(b"Catalog", b"Catalgo"))
    tampered = api(yk.police_staff, "get", f"{path}/{body['id']}/download")
    assert tampered.status_code == 409 and "SM3" in tampered.json()["detail"]


@pytest.mark.req("R-3.1")
def test_files_are_replaced_and_withdrawn(yk, entry, api, send, media):
    resource = services.mount(t.actor(yk.police_admin), entry, kind="file", name="居民证照")
    path = f"/resources/{resource.pk}/files"
    first = send(yk.police_staff, path, {"file": upload("证明.pdf"), "holder_id": holder(), "licence_number": "A-1"}).json()
    replaced = send(yk.police_staff, f"{path}/{first['id']}/replace", {"file": upload("证明-新.pdf", PDF + b"\n")})
    assert replaced.status_code == 201, replaced.content
    second = replaced.json()
    assert (second["name"], second["holder_id"], second["licence_number"]) == ("证明-新.pdf", holder(), "A-1")
    # The replaced file is no longer among the resource's files.
    assert send(yk.police_staff, f"{path}/{first['id']}/replace", {"file": upload("x.pdf")}).status_code == 404
    assert ids(api(yk.police_staff, "get", path)) == [second["id"]]
    assert api(yk.police_security, "post", f"{path}/{second['id']}/withdraw", {}).status_code == 403
    withdrawn = api(yk.police_admin, "post", f"{path}/{second['id']}/withdraw", {"reason": "证照注销"})
    assert withdrawn.status_code == 200 and withdrawn.json()["is_active"] is False
    assert api(yk.police_admin, "post", f"{path}/{second['id']}/withdraw", {}).status_code == 404
    assert api(yk.police_staff, "get", path).json() == []
    assert api(yk.civil_admin, "post", f"{path}/{second['id']}/withdraw", {}).status_code == 404
    table = services.mount(t.actor(yk.police_admin), entry, kind="table", name="表")
    wrong = send(yk.police_staff, f"/resources/{table.pk}/files", {"file": upload("a.pdf")})
    assert wrong.status_code == 422 and "resource" in wrong.json()["errors"]


# --- interfaces (R-3.1) ------------------------------------------------------------------------


@pytest.mark.req("R-3.1")
def test_an_interface_is_registered_and_its_credential_never_returned(yk, entry, api):
    resource = services.mount(t.actor(yk.police_admin), entry, kind="api", name="人口核验接口")
    path = f"/resources/{resource.pk}"
    not_yet = api(yk.police_admin, "post", f"{path}/probe")
    assert not_yet.status_code == 422 and "endpoint" in not_yet.json()["errors"]
    # Port 9 (discard) on the loopback: nothing listens, so the probe fails fast and offline.
    registration = {"url": "http://127.0.0.1:9/people", "auth": "header", "auth_name": "X-Api-Key", "credentials": TOKEN}
    created = api(yk.police_staff, "put", f"{path}/endpoint", registration)
    assert created.status_code == 201, created.content
    assert created.json()["credentials_set"] is True and "credentials" not in created.json()
    assert TOKEN not in created.content.decode()
    changed = api(yk.police_staff, "put", f"{path}/endpoint", {"timeout_seconds": 5, "method": "post"}).json()
    assert (changed["method"], changed["timeout_seconds"], changed["credentials_set"]) == ("POST", 5, True)
    bad = api(yk.police_staff, "put", f"{path}/endpoint", {"url": "ftp://x", "auth": "query"})
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"url", "credentials"}
    detail = api(yk.police_staff, "get", path)
    assert detail.json()["endpoint"]["url"] == "http://127.0.0.1:9/people" and TOKEN not in detail.content.decode()
    probed = api(yk.police_staff, "post", f"{path}/probe")
    assert probed.status_code == 200 and probed.json()["ok"] is False and probed.json()["error"]
    publish(yk, resource)
    assert api(yk.civil_admin, "get", path).json()["endpoint"] is None
    assert api(yk.civil_admin, "put", f"{path}/endpoint", registration).status_code == 403
    assert api(yk.civil_admin, "post", f"{path}/probe").status_code == 403
    assert api(yk.bureau, "post", f"{path}/probe").status_code == 200


# --- upper-level feeds (R-26.1) ------------------------------------------------------------------


@pytest.mark.req("R-26.1")
def test_a_feed_is_configured_and_run(yk, person, api, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    folder = tmp_path / "upstream" / "province"
    folder.mkdir(parents=True)
    path = f"/resources/{person.pk}/feed"
    assert api(yk.police_admin, "post", f"{path}/run").status_code == 422
    assert api(yk.police_staff, "put", path, {"kind": "folder", "location": "province"}).status_code == 403
    bad = api(yk.police_admin, "put", path, {"kind": "folder", "location": "../etc", "origin": "county"})
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"location", "origin"}
    feed = api(yk.police_admin, "put", path, {"kind": "folder", "location": "province", "origin": "national"})
    assert feed.status_code == 200 and (feed.json()["location"], feed.json()["mode"]) == ("province", "replace")
    nothing = api(yk.police_admin, "post", f"{path}/run").json()
    assert nothing["version"] is None and nothing["feed"]["last_checked_at"]
    export = folder / "居民.csv"
    export.write_bytes(c.csv_bytes(H, [c.person(1), c.person(2)]))
    settled = time.time() - 60  # the feed skips files that may still be being written
    os.utime(export, (settled, settled))
    ran = api(yk.bureau, "post", f"{path}/run").json()
    assert (ran["version"]["number"], ran["version"]["status"], ran["version"]["rows_loaded"]) == (1, "done", 2)
    assert ran["feed"]["last_success_at"] and ran["feed"]["last_error"] == ""
    assert api(yk.police_staff, "post", f"{path}/run").status_code == 403
    assert api(yk.police_admin, "get", f"/resources/{person.pk}").json()["feed"]["origin"] == "national"
    assert Resource.objects.get(pk=person.pk).row_count == 2
