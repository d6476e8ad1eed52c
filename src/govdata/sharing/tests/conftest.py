"""Shared fixtures of the sharing tests: published resources of the police department loaded
through the real services, the civil affairs department's consuming system, applications and
grants (request → approve → accept), signed gateway calls, and the gateway's back ends."""

from __future__ import annotations

import datetime as dt
import io
import os

import pytest
import redis
from django.utils import translation

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.common import clock as platform_clock
from govdata.datastore import services as datastore
from govdata.datastore.services import files, loads
from govdata.datastore.tests import corpus as c
from govdata.datastore.tests.conftest import published_entry
from govdata.orgs.models import InformationSystem
from govdata.sharing.client import GatewayClient
from govdata.sharing.services import applications
from govdata.sharing.services import requests as share_requests

@pytest.fixture(autouse=True)
def english_messages():
    """Service messages in their English source text, which the tests quote; pages still
    render in Chinese (the locale middleware picks the language of every request)."""
    with translation.override("en"):
        yield


GRANT_PURPOSE = "核查最低生活保障申请人的户籍信息"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def publish(yk, resource):
    datastore.submit(t.actor(yk.police_admin), resource)
    return datastore.publish(t.actor(yk.bureau), resource)


def person_table(yk, rows: int = 3, **entry_values):
    """A published table resource of the police (conditional unless ``entry_values`` say
    otherwise) holding the ingest corpus's residents 1‥rows (张1 …), loaded from a CSV; with
    ``rows=0`` nothing is loaded."""
    entry = published_entry(yk, **entry_values)
    resource = datastore.mount(t.actor(yk.police_admin), entry, kind="table", name=entry_values.get("name", "居民信息表"))
    if rows:
        data = c.csv_bytes(c.PERSON_HEADER, [c.person(i) for i in range(1, rows + 1)])
        loads.load_table(t.actor(yk.police_staff), resource, io.BytesIO(data), filename="p.csv", mode="replace")
    return publish(yk, resource)


def file_resource(yk, **entry_values):
    """A published file resource of the police holding one PDF; (resource, file)."""
    entry = published_entry(yk, platform_mode="file", **entry_values)
    resource = datastore.mount(t.actor(yk.police_admin), entry, kind="file", name="户籍证明文件")
    stored = files.upload_file(t.actor(yk.police_staff), resource, io.BytesIO(PDF), name="户籍证明.pdf")
    return publish(yk, resource), stored


UNCONDITIONAL = {"share_type": "unconditional", "share_conditions": ""}


def consumer_system(department, name: str = "社会救助系统") -> InformationSystem:
    return InformationSystem.objects.create(
        department=department, name=name, owner="救助科", status=InformationSystem.Status.EXISTING
    )


@pytest.fixture
def civil_system(yk):
    return consumer_system(yk.civil)


@pytest.fixture
def conditional(yk):
    """A published conditional table of the police, still empty."""
    return person_table(yk, rows=0)


@pytest.fixture
def people(yk):
    """A published conditional table of the police with five residents."""
    return person_table(yk, rows=5)


def ask(yk, resource, system, **overrides):
    """Civil affairs' request for ``sfzh`` and ``xm`` of ``resource`` (fields overridable)."""
    today = platform_clock.today()
    values = {
        "system": system,
        "items": ["sfzh", "xm"],
        "purpose": "低保资格审核",
        "legal_duty": "《社会救助暂行办法》第十一条",
        "scope": "低保审核科室",
        "period_start": today,
        "period_end": today + dt.timedelta(days=180),
        **overrides,
    }
    return share_requests.submit_request(t.actor(yk.civil_admin), resource.entry, **values)


def make_grant(yk, entry, system, *, items=("sfzh", "xm", "csrq"), approved=None, days=30):
    """Civil affairs asks for ``items``, the police approve ``approved`` (all by default) and
    civil affairs gives the undertaking: a grant in force from today for ``days`` days."""
    today = platform_clock.today()
    request = share_requests.submit_request(
        t.actor(yk.civil_admin),
        entry,
        system=system,
        items=list(items),
        purpose=GRANT_PURPOSE,
        legal_duty="《社会救助暂行办法》第十一条",
        scope="本局低保审核",
        period_start=today,
        period_end=today + dt.timedelta(days=days),
    )
    grant = share_requests.approve(t.actor(yk.police_admin), request, items=list(approved or items))
    return share_requests.accept_grant(t.actor(yk.civil_admin), grant)


@pytest.fixture
def evidence_media(settings, tmp_path):
    """Django's default storage in a folder of this test's own."""
    root = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": root}},
    }
    return root


# --- verification ----------------------------------------------------------------------------


@pytest.fixture
def verification_table(yk):
    return person_table(yk, 3)


@pytest.fixture
def verification_grant(yk, verification_table, clock):
    """Civil affairs' year-long grant of every item but the mobile number."""
    items = ("sfzh", "xm", "csrq", "ysr", "jtrs", "sfzc")
    return make_grant(yk, verification_table.entry, consumer_system(yk.civil), items=items, days=365)


# --- consumer applications and the gateway ---------------------------------------------------


@pytest.fixture
def table(yk, clock):
    """A conditional table of 30 residents."""
    return person_table(yk, 30)


@pytest.fixture
def system(yk):
    return consumer_system(yk.civil, "最低生活保障审核系统")


def register(yk, system, **values):
    """(application, secret) registered by civil affairs' administrator."""
    values = {"name": "低保审核", "rate_limit": "600/minute", **values}
    return applications.register_application(t.actor(yk.civil_admin), system, **values)


@pytest.fixture
def app(yk, system):
    return register(yk, system)


@pytest.fixture
def grant(yk, table, system):
    """Civil affairs asked for ID number, name and birth date; the police approved two."""
    return make_grant(yk, table.entry, system, approved=("sfzh", "xm"))


class Gateway:
    """Signed calls through Django's test client (no server): the real client's request, sent
    with ``client.generic``."""

    def __init__(self, django_client, app_id: str, secret: str):
        self.django = django_client
        self.api = GatewayClient(
            "http://testserver/gateway/v1", app_id, secret, clock=lambda: platform_clock.now().timestamp()
        )

    def send(self, prepared):
        headers = {name: value for name, value in prepared.headers.items() if name.startswith("X-")}
        content_type = prepared.headers.get("Content-Type", "application/octet-stream")
        return self.django.generic(
            prepared.method, prepared.path_url, data=prepared.body or b"", content_type=content_type, headers=headers
        )

    def call(self, method: str, path: str, params=None, **options):
        return self.send(self.api.prepare(method, path, params, **options))

    def get(self, path: str, params=None, **options):
        return self.call("GET", path, params, **options)


@pytest.fixture
def gateway(client, app):
    application, secret = app
    return Gateway(client, application.app_id, secret)


def gateway_events(**filters):
    return AuditEvent.objects.filter(action__startswith="sharing.gateway.", **filters).order_by("seq")


@pytest.fixture(scope="session")
def redis_url():
    """The real Redis on 127.0.0.1:6379. Skipped when it does not answer, unless
    GOVDATA_TEST_REDIS=required (CI), where that fails the test."""
    url = os.environ.get("GOVDATA_TEST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/5"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("GOVDATA_TEST_REDIS", "").lower() == "required":
            pytest.fail(f"Redis is required (GOVDATA_TEST_REDIS=required) but {url} does not answer: {exc}")
        pytest.skip(f"Redis not reachable at {url}")
    return url


@pytest.fixture(params=["database", "redis"])
def backend(request, settings):
    """The gateway's nonces and rate-limit counters in the database and process memory, or in
    Redis: a test using this runs on both."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        settings.REDIS_URL = url
        settings.GATEWAY_RATE_LIMIT_STORAGE = url
    else:
        settings.REDIS_URL = ""
        settings.GATEWAY_RATE_LIMIT_STORAGE = "memory://"
    return request.param
