"""API resources: registration with encrypted credentials and the health probe, against an
upstream server started by the test (R-3.1)."""

import base64
import json
import os
import socket
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import connection

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.common.actor import Actor
from govdata.datastore import crypto, probes
from govdata.datastore.models import ApiEndpoint
from govdata.datastore.services import apis, mount

pytestmark = pytest.mark.req("R-3.1")

TOKEN = "yk-upstream-token-9f3c2a"
USER, PASSWORD = "yk-gateway", "s3cret-Pa55-营口"
SCHEMA = {
    "type": "object",
    "properties": {"sfzh": {"type": "string"}, "page": {"type": "integer"}},
    "required": ["sfzh"],
}


class Upstream(BaseHTTPRequestHandler):
    """/header, /basic, /query check their credential and answer JSON; /fail answers 500;
    /slow answers after 3 s; /post-only refuses HEAD like many real interfaces."""

    seen: list

    def log_message(self, *args):
        pass

    def _answer(self, status, body=None):
        payload = json.dumps(body or {}, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _authorised(self, path, query):
        if path == "/header":
            return self.headers.get("X-Api-Key") == TOKEN
        if path == "/basic":
            expected = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            return self.headers.get("Authorization") == f"Basic {expected}"
        if path == "/query":
            return query.get("token") == [TOKEN]
        return True

    def do_GET(self):
        parts = urlsplit(self.path)
        self.server.seen.append((self.command, parts.path, dict(self.headers)))
        if parts.path == "/fail":
            return self._answer(500, {"error": "database down"})
        if parts.path == "/slow":
            time.sleep(3)
            return self._answer(200, {"ok": True})
        if parts.path == "/post-only" and self.command == "HEAD":
            return self._answer(405)
        if parts.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "http://elsewhere.invalid/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if not self._authorised(parts.path, parse_qs(parts.query)):
            return self._answer(401, {"error": "bad credentials"})
        return self._answer(200, {"ok": True, "data": [{"xm": "张三"}]})

    do_HEAD = do_GET


@pytest.fixture
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    server.daemon_threads = True
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def keys(settings, tmp_path, monkeypatch):
    """An isolated data folder (the generated key goes there) and no key in the environment."""
    monkeypatch.delenv(crypto.KEY_ENV, raising=False)
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def resource(yk, entry, keys):
    return mount(t.actor(yk.police_admin), entry, kind="api", name="人口信息核验接口")


def register(yk, resource, url, **kwargs):
    values = {
        "method": "GET",
        "parameter_schema": SCHEMA,
        "auth": "none",
        "auth_name": "",
        "credentials": None,
        "timeout_seconds": 5,
    }
    values.update(kwargs)
    return apis.register_api(t.actor(yk.police_staff), resource, url=url, **values)


def raw_credentials(endpoint):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT credentials FROM {ApiEndpoint._meta.db_table} WHERE id = %s", [endpoint.pk])
        return cursor.fetchone()[0]


def test_register_encrypts_the_credential_and_the_probe_uses_it(yk, resource, upstream, keys):
    endpoint = register(yk, resource, upstream.url + "/header", auth="header", auth_name="X-Api-Key", credentials=TOKEN)
    stored = raw_credentials(endpoint)
    assert stored.startswith("v1:") and TOKEN not in stored
    assert TOKEN not in base64.b64decode(stored.split(":", 2)[2]).decode("latin-1")
    assert not any(TOKEN in json.dumps(e.details, ensure_ascii=False) for e in AuditEvent.objects.all())
    shown = apis.describe(endpoint)
    assert shown["credentials_set"] is True and "credentials" not in shown
    key_file = keys / "keys" / "datastore.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(key_file.parent).st_mode) == 0o700

    result = apis.probe(t.actor(yk.police_admin), resource)
    assert (result.ok, result.status, result.error) == (True, 200, "")
    endpoint.refresh_from_db()
    assert endpoint.last_probe_ok is True and endpoint.last_probe_status == 200
    assert endpoint.last_probe_at is not None and endpoint.last_probe_ms is not None
    assert upstream.seen[-1][0:2] == ("GET", "/header")
    assert upstream.seen[-1][2]["X-Api-Key"] == TOKEN
    event = AuditEvent.objects.get(action="datastore.api.probe")
    assert event.details["ok"] is True and event.object_id == str(resource.pk)
    assert AuditEvent.objects.filter(action="datastore.api.register").count() == 1


def test_basic_and_query_credentials(yk, entry, upstream, keys):
    basic = mount(t.actor(yk.police_admin), entry, kind="api", name="basic")
    register(yk, basic, upstream.url + "/basic", auth="basic", credentials={"username": USER, "password": PASSWORD})
    assert apis.probe(Actor.platform(), basic).ok
    query = mount(t.actor(yk.police_admin), entry, kind="api", name="query")
    endpoint = register(yk, query, upstream.url + "/query", auth="query", auth_name="token", credentials=TOKEN)
    assert apis.probe(Actor.platform(), query).ok
    assert PASSWORD not in raw_credentials(basic.endpoint) and TOKEN not in raw_credentials(endpoint)
    # A wrong credential is recorded as such, and a token sent in the URL never reaches the record.
    apis.update_api(t.actor(yk.police_admin), query, credentials="wrong-token-000")
    failed = apis.probe(Actor.platform(), query)
    assert (failed.ok, failed.status) == (False, 401)
    endpoint.refresh_from_db()
    assert "credentials" in endpoint.last_probe_error and "wrong-token" not in endpoint.last_probe_error
    assert endpoint.last_probe_ok is False and endpoint.last_probe_status == 401


def test_failing_upstreams_are_recorded(yk, entry, upstream, keys):
    cases = {
        "fail": ("/fail", 5, 500, "500"),
        "slow": ("/slow", 1, None, "timeout"),
        "moved": ("/moved", 5, 302, "redirect"),
    }
    for name, (path, timeout, status, words) in cases.items():
        resource = mount(t.actor(yk.police_admin), entry, kind="api", name=name)
        register(yk, resource, upstream.url + path, timeout_seconds=timeout)
        result = apis.probe(t.actor(yk.bureau), resource)
        assert (result.ok, result.status) == (False, status), name
        assert words in result.error, (name, result.error)
        endpoint = ApiEndpoint.objects.get(resource=resource)
        assert (endpoint.last_probe_ok, endpoint.last_probe_status, endpoint.last_probe_error) == (
            False,
            status,
            result.error,
        )

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    refused = mount(t.actor(yk.police_admin), entry, kind="api", name="refused")
    register(yk, refused, f"http://127.0.0.1:{closed_port}/x", auth="header", auth_name="X-Api-Key", credentials=TOKEN)
    result = apis.probe(Actor.platform(), refused)
    assert (result.ok, result.status) == (False, None)
    assert "refused" in result.error and TOKEN not in result.error
    assert AuditEvent.objects.filter(action="datastore.api.probe", details__ok=False).count() == 4


def test_a_post_interface_is_probed_with_head(yk, resource, upstream):
    register(yk, resource, upstream.url + "/post-only", method="POST")
    result = apis.probe(t.actor(yk.police_admin), resource)
    assert result.ok and result.status == 405 and "HEAD" in result.error
    assert upstream.seen[-1][0] == "HEAD"


def test_registration_is_validated_field_by_field(yk, entry, resource, upstream):
    bad = [
        ({"url": "ftp://10.1.1.1/data"}, {"url"}),
        ({"url": "not a url"}, {"url"}),
        ({"method": "DELETE"}, {"method"}),
        ({"parameter_schema": {"type": "array"}}, {"parameter_schema"}),
        ({"parameter_schema": {"type": "object", "properties": {"a": {"type": "text"}}}}, {"parameter_schema"}),
        ({"parameter_schema": {"type": "object", "properties": {}, "required": ["a"]}}, {"parameter_schema"}),
        ({"parameter_schema": "{not json"}, {"parameter_schema"}),
        ({"auth": "header", "credentials": TOKEN}, {"auth_name"}),
        ({"auth": "header", "auth_name": "X Api Key", "credentials": TOKEN}, {"auth_name"}),
        ({"auth": "header", "auth_name": "X-Api-Key", "credentials": "a\r\nX-Injected: 1"}, {"credentials"}),
        ({"auth": "header", "auth_name": "X-Api-Key", "credentials": "营口令牌"}, {"credentials"}),
        ({"auth": "basic", "credentials": "no-colon"}, {"credentials"}),
        ({"auth": "none", "credentials": TOKEN}, {"credentials"}),
        ({"auth": "cookie"}, {"auth"}),
        ({"timeout_seconds": 0}, {"timeout_seconds"}),
        ({"url": "gopher://x", "timeout_seconds": "soon"}, {"url", "timeout_seconds"}),
    ]
    for changes, fields in bad:
        url = changes.pop("url", upstream.url + "/header")
        with pytest.raises(ValidationError) as err:
            register(yk, resource, url, **changes)
        assert set(err.value.message_dict) == fields, changes
    assert not ApiEndpoint.objects.exists()
    with pytest.raises(PermissionDenied):
        apis.register_api(t.actor(yk.civil_admin), resource, url=upstream.url)
    table = mount(t.actor(yk.police_admin), entry, kind="table", name="表")
    with pytest.raises(ValidationError) as err:
        register(yk, table, upstream.url)
    assert "resource" in err.value.message_dict
    endpoint = register(yk, resource, upstream.url + "/basic", auth="basic", credentials=f"{USER}:{PASSWORD}")
    assert endpoint.parameter_schema == SCHEMA
    with pytest.raises(ValidationError):
        register(yk, resource, upstream.url)
    with pytest.raises(PermissionDenied):
        apis.probe(t.actor(yk.civil_admin), resource)


def test_update_keeps_the_credential_unless_the_authentication_changes(yk, resource, upstream):
    register(yk, resource, upstream.url + "/header?v=1", auth="header", auth_name="X-Api-Key", credentials=TOKEN)
    assert apis.probe(t.actor(yk.police_admin), resource).ok
    endpoint = apis.update_api(t.actor(yk.police_admin), resource, url=upstream.url + "/header", timeout_seconds=3)
    assert endpoint.last_probe_at is None  # a new address: the old probe says nothing about it
    assert apis.probe(t.actor(yk.police_admin), resource).ok
    with pytest.raises(ValidationError) as err:
        apis.update_api(t.actor(yk.police_admin), resource, auth="query", auth_name="token")
    assert set(err.value.message_dict) == {"credentials"}
    with pytest.raises(ValidationError):
        apis.update_api(t.actor(yk.police_admin), resource, colour="red")
    apis.update_api(
        t.actor(yk.police_admin),
        resource,
        url=upstream.url + "/query",
        auth="query",
        auth_name="token",
        credentials=TOKEN,
    )
    assert apis.probe(t.actor(yk.police_admin), resource).ok
    event = AuditEvent.objects.filter(action="datastore.api.update").last()
    assert "credentials" in event.details["changed"] and TOKEN not in json.dumps(event.details)
    endpoint = apis.update_api(t.actor(yk.police_admin), resource, url=upstream.url + "/open", auth="none")
    assert endpoint.credentials == "" and apis.probe(t.actor(yk.police_admin), resource).ok


def test_the_key_comes_from_the_environment_when_set(yk, entry, resource, upstream, keys, monkeypatch):
    monkeypatch.setenv(crypto.KEY_ENV, "k" * 40)
    register(yk, resource, upstream.url + "/header", auth="header", auth_name="X-Api-Key", credentials=TOKEN)
    assert not (keys / "keys" / "datastore.key").exists()
    assert apis.probe(t.actor(yk.police_admin), resource).ok
    # Another key: a clear error, recorded as the probe's failure instead of a crash.
    monkeypatch.setenv(crypto.KEY_ENV, "z" * 40)
    result = apis.probe(t.actor(yk.police_admin), resource)
    assert not result.ok and "another platform key" in result.error
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(ApiEndpoint.objects.get(resource=resource).credentials, context="x")
    monkeypatch.setenv(crypto.KEY_ENV, "too-short")
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt("x", context="x")


def test_a_ciphertext_moved_to_another_resource_does_not_decrypt(yk, entry, resource, upstream):
    endpoint = register(yk, resource, upstream.url + "/header", auth="header", auth_name="X-Api-Key", credentials=TOKEN)
    other = mount(t.actor(yk.police_admin), entry, kind="api", name="other")
    copied = register(
        yk, other, upstream.url + "/header", auth="header", auth_name="X-Api-Key", credentials="other-token"
    )
    ApiEndpoint.objects.filter(pk=copied.pk).update(credentials=endpoint.credentials)
    result = apis.probe(t.actor(yk.police_admin), other)
    assert not result.ok and "altered or belongs to another record" in result.error
    assert probes.credentials(ApiEndpoint.objects.get(pk=endpoint.pk)) == TOKEN
    assert len(upstream.seen) == 0  # nothing was sent with a credential that did not decrypt
