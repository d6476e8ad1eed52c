"""The datastore demo (issue #4 item 8): table resources whose generated rows went in through
the real loads and passed validation, genuine files with e-licence metadata, an interface whose
stand-in upstream answers the probe, and a second load that adds nothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import requests
from django.apps import apps
from django.db import connection, transaction
from django.test import override_settings
from pytest_django.live_server_helper import LiveServer

from govdata.audit.models import AuditEvent
from govdata.common.actor import Actor
from govdata.common.validators import id_number_problem, mobile_problem, uscc_problem
from govdata.datastore import sniffing, tables
from govdata.datastore.models import (
    ApiEndpoint,
    Check,
    DataVersion,
    FileObject,
    Resource,
)
from govdata.datastore.services import apis, files, suggest_column
from govdata.datastore.validation import Invalid, RowChecker
from govdata.demo import datastore as demo
from govdata.demo import load_demo, upstream
from govdata.demo.catalog import SPECS, parse_items

CONTENT_PROBLEMS = {Check.ID_NUMBER: id_number_problem, Check.CREDIT_CODE: uscc_problem, Check.MOBILE: mobile_problem}


@pytest.fixture(scope="module")
def upstream_server():
    """The platform served on a free port (pytest-django's live server, used directly so the
    module's demo can stay in one rolled-back transaction instead of a flushed database)."""
    server = LiveServer("localhost")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def demo_once(django_db_setup, django_db_blocker, upstream_server):
    """The whole demo, loaded once for the module with the stand-in upstream switched on at the
    live server's address, inside a transaction rolled back at the end."""
    with (
        override_settings(DEMO_UPSTREAM=True, DEMO_UPSTREAM_URL=upstream_server.url),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        yield load_demo()
        transaction.set_rollback(True)


@pytest.fixture
def loaded(demo_once, db):
    return demo_once


def demo_resources(kind: str):
    return Resource.objects.filter(kind=kind, description__contains=demo.FICTION).select_related("entry__published")


def stored_rows(resource: Resource) -> list[dict]:
    with connection.cursor() as cursor:
        qualified = f"{tables.schema()}.{resource.table_name}" if tables.schema() else resource.table_name
        cursor.execute(f"SELECT * FROM {qualified} ORDER BY {tables.ROW_ID}")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def table_of(entry_name: str) -> Resource:
    return demo_resources(Resource.Kind.TABLE).get(entry__published__name=entry_name)


@pytest.mark.req("R-18.1")
def test_tables_are_published_and_every_load_passed_validation(loaded):
    resources = list(demo_resources(Resource.Kind.TABLE))
    assert len(resources) >= 15
    assert loaded["datastore tables"] == len(resources)
    assert loaded["datastore rows"] == sum(r.row_count for r in resources)
    for resource in resources:
        assert resource.status == Resource.Status.PUBLISHED, resource
        assert resource.entry.published is not None
        version = resource.current_version
        assert version.status == DataVersion.Status.DONE, (resource, version.message)
        assert version.rows_rejected == 0 and version.report == []
        assert 0 < version.rows_loaded == resource.row_count == len(stored_rows(resource))
        assert version.checksum and version.source.endswith(".csv")
        actions = set(AuditEvent.objects.filter(object_id=str(resource.pk)).values_list("action", flat=True))
        assert {f"datastore.resource.{a}" for a in ("mount", "submit", "publish")} | {"datastore.load"} <= actions


@pytest.mark.req("R-18.1")
def test_identifiers_are_valid_and_keys_unique(loaded):
    checked = set()
    for resource in demo_resources(Resource.Kind.TABLE):
        rows = stored_rows(resource)
        columns = list(resource.columns.all())
        for column in columns:
            problem = CONTENT_PROBLEMS.get(column.content_check)
            if problem is not None:
                bad = [r[column.code] for r in rows if r[column.code] is not None and problem(r[column.code])]
                assert bad == [], (resource, column.code, bad[:3])
                checked.add(column.content_check)
            if column.data_type == "C" and column.length:
                assert all(r[column.code] is None or len(r[column.code]) <= column.length for r in rows)
        keys = [c.code for c in columns if c.is_key]
        assert len({tuple(r[k] for k in keys) for r in rows}) == len(rows), resource
    assert checked == {Check.ID_NUMBER, Check.CREDIT_CODE}


@pytest.mark.req("R-18.1")
def test_rows_agree_within_and_across_tables(loaded):
    people = stored_rows(table_of("人口基础信息"))
    for person in people:
        number = person["sfzh"]
        assert number[:4] == "2108" and number[6:14] == person["csrq"].strftime("%Y%m%d")
        assert person["xb"] == ("1" if int(number[16]) % 2 else "2")
    register = {row["tyshxydm"] for row in stored_rows(table_of("法人单位基本信息"))}
    for entry in ("行政许可信息", "行政处罚信息", "食品经营许可信息", "纳税信用A级纳税人名单"):
        assert {row["tyshxydm"] for row in stored_rows(table_of(entry))} <= register, entry
    marriages = stored_rows(table_of("婚姻登记信息"))
    assert all(int(m["nfsfzh"][16]) % 2 == 1 and int(m["vfsfzh"][16]) % 2 == 0 for m in marriages)


@pytest.mark.req("R-18.1")
def test_generation_is_deterministic(loaded):
    resource = table_of("人口基础信息")
    columns = list(resource.columns.order_by("position"))
    table = next(t for t in demo.TABLES if t.entry == "人口基础信息")
    again = list(demo.Generator(table, columns).rows())
    stored = [[str(r[c.code]) for c in columns] for r in stored_rows(resource)]
    assert again == stored


@pytest.mark.req("R-18.1")
def test_every_catalog_entry_can_be_filled_with_valid_rows():
    """Beyond the loaded tables: the generators fill the items of every demo catalog entry with
    values the load's checks accept, so a table mounted under any of them can be filled."""
    for spec in SPECS:
        columns = [
            SimpleNamespace(**item, content_check=suggest_column(SimpleNamespace(**item))[0])
            for item in parse_items(spec.items)
        ]
        rows = list(demo.Generator(demo.Table(spec.name, rows=200), columns).rows())
        assert len(rows) == 200, spec.name
        for vendor in ("sqlite", "postgresql"):
            checker = RowChecker(columns, list(range(len(columns))), vendor)
            for number, row in enumerate(rows, 1):
                try:
                    checker.convert(number, row)
                except Invalid:
                    pytest.fail(f"{spec.name} row {number}: {checker.problems(row)}")


@pytest.mark.req("R-3.1")
def test_file_resources_hold_genuine_files_with_licence_metadata(loaded):
    resources = list(demo_resources(Resource.Kind.FILE))
    assert len(resources) >= 5
    assert loaded["datastore files"] == FileObject.objects.filter(resource__in=resources, is_active=True).count()
    kinds = set()
    for resource in resources:
        assert resource.status == Resource.Status.PUBLISHED
        stored = list(resource.files.filter(is_active=True))
        assert stored, resource
        for file_object in stored:
            with files.open_verified(file_object) as content:
                found = sniffing.identify(content.file)
            assert found.content_type == file_object.content_type and found.category == file_object.category
            assert sniffing.extension_matches(file_object.name, found), file_object.name
            kinds.add(found.code)
    assert {"pdf", "docx", "xlsx", "png", "zip"} <= kinds
    licences = FileObject.objects.filter(resource__in=resources).exclude(holder_id="")
    assert {len(f.holder_id) for f in licences} == {18}
    assert any(id_number_problem(f.holder_id) is None for f in licences)  # held by a person
    assert any(uscc_problem(f.holder_id) is None for f in licences)  # held by an organisation
    for licence in licences:
        assert licence.licence_number and licence.issuer and licence.valid_from
        assert licence in files.files_by_holder(licence.holder_id, valid_on=licence.valid_from)


@pytest.mark.req("R-18.1")
def test_interface_probe_reaches_the_stand_in_upstream(loaded, upstream_server):
    (resource,) = demo_resources(Resource.Kind.API)
    assert resource.status == Resource.Status.PUBLISHED and loaded["datastore interfaces"] == 1
    endpoint = ApiEndpoint.objects.get(resource=resource)
    assert endpoint.url == f"{upstream_server.url}/demo-upstream/weather/"
    assert endpoint.auth == ApiEndpoint.Auth.HEADER and upstream.token() not in endpoint.credentials
    with override_settings(DEMO_UPSTREAM=True):
        result = apis.probe(Actor.platform(), resource)
        assert result.ok, result
        token = {upstream.TOKEN_HEADER: upstream.token()}
        refused = requests.get(endpoint.url, timeout=10)
        answer = requests.get(endpoint.url, params={"ybqy": "盖州市"}, headers=token, timeout=10)
    assert refused.status_code == 401
    forecasts = answer.json()["data"]
    assert len(forecasts) == upstream.FORECAST_DAYS and {f["ybqy"] for f in forecasts} == {"盖州市"}
    assert all(f["zdqw"] < f["zgqw"] for f in forecasts)
    with override_settings(DEMO_UPSTREAM=False):
        assert requests.get(endpoint.url, headers=token, timeout=10).status_code == 404


@pytest.mark.req("R-18.1")
def test_loading_twice_adds_nothing(loaded, upstream_server):
    assert loaded["datastore resources created now"] >= 15 + 5 + 1

    def counts() -> dict:
        models = {m._meta.label: m._base_manager.count() for m in apps.get_models()}
        rows = {r.table_name: len(stored_rows(r)) for r in demo_resources(Resource.Kind.TABLE)}
        return models | rows

    before = counts()
    with override_settings(DEMO_UPSTREAM=True, DEMO_UPSTREAM_URL=upstream_server.url):
        again = load_demo()
    assert counts() == before
    assert again["datastore resources created now"] == 0
    assert {k: v for k, v in again.items() if k.startswith("datastore") and "created" not in k} == {
        k: v for k, v in loaded.items() if k.startswith("datastore") and "created" not in k
    }


@pytest.mark.req("R-18.1")
def test_interface_follows_the_platform_to_another_port(loaded, upstream_server):
    (resource,) = demo_resources(Resource.Kind.API)
    with override_settings(DEMO_UPSTREAM=True, DEMO_UPSTREAM_URL="http://127.0.0.1:9123"):
        again = load_demo()
    assert again["datastore resources created now"] == 0
    assert ApiEndpoint.objects.get(resource=resource).url == "http://127.0.0.1:9123/demo-upstream/weather/"
    assert AuditEvent.objects.filter(action="datastore.api.update", object_id=str(resource.pk)).count() == 1
