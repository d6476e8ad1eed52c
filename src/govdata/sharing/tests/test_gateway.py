"""The data gateway (issue #5, item 4): signed requests (window, nonces across servers), rate
limits, grant-limited and masked rows, files, upstream interfaces, purposes, and an audit event
for every call — over real HTTP with the documented client where it matters, through Django's
test client elsewhere. The Redis-backed paths run against the real Redis (``backend``)."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, quote, urlsplit

import limits.storage.memory
import pytest
import redis
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from govdata import testing as t
from govdata.audit.chain import verify_chain
from govdata.common import clock as platform_clock
from govdata.datastore import services as datastore
from govdata.datastore.masking import mask_value
from govdata.datastore.models import Mask
from govdata.datastore.services import apis
from govdata.datastore.tests import corpus as c
from govdata.datastore.tests.conftest import published_entry
from govdata.sharing import gateway as gateway_module
from govdata.sharing import nonces, ratelimit, signing
from govdata.sharing.client import GatewayClient
from govdata.sharing.models import UsedNonce
from govdata.sharing.services import applications
from govdata.sharing.services import requests as share_requests

from .conftest import (
    GRANT_PURPOSE,
    PDF,
    UNCONDITIONAL,
    Gateway,
    consumer_system,
    file_resource,
    gateway_events,
    make_grant,
    person_table,
    register,
)

SHANGHAI = platform_clock.SHANGHAI
ID1, ID2 = c.id_number(1), c.id_number(2)
TOKEN = "yk-weather-token-5b1e9d"


def records(resource) -> str:
    return f"/resources/{resource.pk}/records"


def by_key(resource) -> str:
    return f"/resources/{resource.pk}/records/by-key"


def refusal(response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body.get("header") or body.get("field") or body.get("parameter", "")


def platform_time() -> float:
    return platform_clock.now().timestamp()


# --- the protocol ------------------------------------------------------------------------------


@pytest.mark.req("R-9.1")
def test_the_canonical_request_is_the_documented_one():
    pairs = [("xm", "张 三"), ("a", "2"), ("a", "1"), ("q", "a+b~c/d"), ("empty", "")]
    assert signing.canonical_query(pairs) == "a=1&a=2&empty=&q=a%2Bb~c%2Fd&xm=%E5%BC%A0%20%E4%B8%89"
    canonical = signing.canonical_request("get", "/gateway/v1/resources/7/records", pairs, "1767225600", "n" * 32, b"")
    assert canonical.split("\n") == [
        "GET",
        "/gateway/v1/resources/7/records",
        "a=1&a=2&empty=&q=a%2Bb~c%2Fd&xm=%E5%BC%A0%20%E4%B8%89",
        "1767225600",
        "n" * 32,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ]
    # The example of docs/gateway.md, so other implementations can check themselves.
    key = signing.derive_key("example-secret")
    headers = signing.signed_headers(
        "app_0123456789abcdef", key, "GET", "/gateway/v1/resources/7/records/by-key",
        [("sfzh", "210802199001011234")], b"", timestamp=1767225600, nonce="0123456789abcdef0123456789abcdef",
    )  # fmt: skip
    assert headers[signing.SIGNATURE] == "36693c363df8d2ff4c94dda514875bf4446288f7578bab877a9a240b4d739939"


@pytest.mark.req("R-9.1")
@pytest.mark.req("R-20.2")
def test_a_signed_call_over_http_gets_the_granted_items_masked(yk, grant, app, live_server, table):
    application, secret = app
    client = GatewayClient(f"{live_server.url}/gateway/v1", application.app_id, secret, clock=platform_time)
    answer = client.get(records(table), {"limit": 5})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [f["code"] for f in body["fields"]] == ["sfzh", "xm"]  # approved: two of the three asked for
    assert all(f["masked"] for f in body["fields"])
    assert body["records"][0] == {"sfzh": mask_value(Mask.ID_NUMBER, ID1), "xm": "张*"}
    assert len(body["records"]) == 5 and body["next_cursor"]
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(answer.headers)
    # By key, with Chinese in a parameter: what the server reads is exactly what was signed.
    found = client.get(by_key(table), {"sfzh": ID2}, purpose=GRANT_PURPOSE)
    assert found.status_code == 200, found.text
    assert found.json()["record"] == {"sfzh": mask_value(Mask.ID_NUMBER, ID2), "xm": "张*"}
    # The next page, through the cursor.
    following = client.get(records(table), {"limit": 5, "cursor": body["next_cursor"]})
    assert following.status_code == 200
    assert following.json()["records"][0]["sfzh"] == mask_value(Mask.ID_NUMBER, c.id_number(6))


def _without(header):
    def tamper(prepared):
        del prepared.headers[header]

    return tamper


def _set(header, value):
    def tamper(prepared):
        prepared.headers[header] = value

    return tamper


def _flip_signature(prepared):
    signature = prepared.headers[signing.SIGNATURE]
    prepared.headers[signing.SIGNATURE] = ("0" if signature[0] != "0" else "1") + signature[1:]


def _other_query(prepared):
    prepared.url = prepared.url.replace("limit=2", "limit=3")


@pytest.mark.req("R-9.1")
@pytest.mark.parametrize(
    "tamper, code, header",
    [
        (_without(signing.APP_ID), "missing_header", signing.APP_ID),
        (_without(signing.TIMESTAMP), "missing_header", signing.TIMESTAMP),
        (_without(signing.NONCE), "missing_header", signing.NONCE),
        (_without(signing.SIGNATURE), "missing_header", signing.SIGNATURE),
        (_set(signing.TIMESTAMP, "2026-03-02"), "bad_timestamp", signing.TIMESTAMP),
        (_set(signing.NONCE, "short"), "bad_nonce", signing.NONCE),
        (_set(signing.SIGNATURE, "not hex"), "bad_signature", signing.SIGNATURE),
        (_flip_signature, "bad_signature", signing.SIGNATURE),
        (_other_query, "bad_signature", signing.SIGNATURE),
        (_set(signing.APP_ID, "app_doesnotexist00"), "unknown_app", signing.APP_ID),
    ],
)
def test_a_bad_request_is_refused_naming_the_header(yk, grant, gateway, table, tamper, code, header):
    prepared = gateway.api.prepare("GET", records(table), {"limit": 2})
    tamper(prepared)
    answer = gateway.send(prepared)
    assert refusal(answer) == (401, code, header)
    assert "records" not in answer.json() and "X-RateLimit-Limit" not in answer
    event = gateway_events().get()
    assert (event.action, event.actor_type, event.details["code"], event.details["header"]) == (
        "sharing.gateway.unauthenticated", "anonymous", code, header,
    )  # fmt: skip


@pytest.mark.req("R-9.1")
def test_a_wrong_secret_or_a_rotated_one_is_refused(yk, grant, gateway, client, table, app):
    application, secret = app
    assert gateway.get(records(table)).status_code == 200
    impostor = Gateway(client, application.app_id, secret + "x")
    assert refusal(impostor.get(records(table))) == (401, "bad_signature", signing.SIGNATURE)
    _application, new_secret = applications.rotate_secret(t.actor(yk.civil_admin), application)
    assert refusal(gateway.get(records(table))) == (401, "bad_signature", signing.SIGNATURE)
    assert Gateway(client, application.app_id, new_secret).get(records(table)).status_code == 200


@pytest.mark.req("R-9.1")
def test_the_timestamp_may_be_at_most_300_seconds_from_the_platforms_clock(yk, grant, gateway, table, clock):
    now = int(platform_time())
    for offset in (-300, 300):
        assert gateway.get(records(table), timestamp=now + offset).status_code == 200
    for offset in (-301, 301):
        assert refusal(gateway.get(records(table), timestamp=now + offset)) == (401, "stale_timestamp", signing.TIMESTAMP)
    signed_now = gateway.api.prepare("GET", records(table))
    clock.advance(seconds=301)  # the same request, arriving 301 s late
    assert refusal(gateway.send(signed_now)) == (401, "stale_timestamp", signing.TIMESTAMP)


@pytest.mark.req("R-9.1")
def test_a_disabled_application_or_system_is_refused_at_its_next_call(yk, grant, gateway, table, app, system):
    application, _secret = app
    assert gateway.get(records(table)).status_code == 200
    applications.disable(t.actor(yk.civil_admin), application)
    assert refusal(gateway.get(records(table))) == (401, "app_disabled", signing.APP_ID)
    other, secret = register(yk, system, name="第二个")
    system.is_active = False
    system.save()
    assert refusal(Gateway(gateway.django, other.app_id, secret).get(records(table))) == (
        401, "app_disabled", signing.APP_ID,
    )  # fmt: skip


@pytest.mark.req("R-9.1")
def test_a_replayed_nonce_is_refused(yk, grant, gateway, table, client, system, backend):
    prepared = gateway.api.prepare("GET", records(table), {"limit": 1})
    assert gateway.send(prepared).status_code == 200
    assert refusal(gateway.send(prepared)) == (401, "replayed_nonce", signing.NONCE)
    # The nonce is spent even for another request; another application has its own nonces.
    nonce = prepared.headers[signing.NONCE]
    assert refusal(gateway.get(records(table), {"limit": 2}, nonce=nonce)) == (401, "replayed_nonce", signing.NONCE)
    other, secret = register(yk, system, name="第二个")
    assert Gateway(client, other.app_id, secret).get(records(table), nonce=nonce).status_code == 200
    # A forged request does not use up a nonce.
    fresh = gateway.api.prepare("GET", records(table))
    _flip_signature(fresh)
    assert refusal(gateway.send(fresh)) == (401, "bad_signature", signing.SIGNATURE)
    assert gateway.get(records(table), nonce=fresh.headers[signing.NONCE]).status_code == 200


def _race(use) -> list[bool]:
    """``use()`` on two threads at once (two database connections, or two Redis clients)."""
    start = threading.Barrier(2)

    def one(index):
        start.wait()
        try:
            return use(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        return sorted(pool.map(one, range(2)))


@pytest.mark.req("R-9.1")
@pytest.mark.django_db(transaction=True)
def test_a_replay_is_refused_across_servers_sharing_the_database():
    now = platform_clock.now()
    for _ in range(5):
        nonce = secrets.token_hex(16)
        assert _race(lambda _index, nonce=nonce: nonces.DatabaseNonces().use("app_a", nonce, now)) == [False, True]
    assert UsedNonce.objects.count() == 5


@pytest.mark.req("R-9.1")
def test_a_replay_is_refused_across_servers_sharing_redis(redis_url):
    servers = [nonces.RedisNonces(redis.Redis.from_url(redis_url)) for _ in range(2)]
    for _ in range(5):
        nonce = secrets.token_hex(16)
        assert _race(lambda index, nonce=nonce: servers[index].use("app_a", nonce, platform_clock.now())) == [
            False, True,
        ]  # fmt: skip
        ttl = servers[0].client.ttl(f"{nonces.KEY_PREFIX}app_a:{nonce}")
        assert 0 < ttl <= 2 * 300


@pytest.mark.req("R-9.1")
def test_a_database_nonce_is_one_statement_and_a_replay_leaves_the_transaction_usable(db, clock):
    """A replay inserts nothing rather than failing, so there is no savepoint to pay for, and
    a caller's transaction goes on (on PostgreSQL a failed statement would abort it)."""
    store = nonces.DatabaseNonces()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert [store.use(app, "n" * 16, clock.now()) for app in ("app_a", "app_a", "app_b")] == [True, False, True]
        assert UsedNonce.objects.count() == 2
    statements = [q["sql"] for q in queries]
    assert sum(sql.startswith("INSERT") for sql in statements) == 3
    assert not any("SAVEPOINT" in sql for sql in statements)


@pytest.mark.req("R-9.1")
def test_the_database_forgets_nonces_after_twice_the_window(db, clock):
    store = nonces.DatabaseNonces()
    assert store.use("app_a", "n" * 16, clock.now())
    clock.advance(seconds=599)
    assert nonces.prune() == 0 and not store.use("app_a", "n" * 16, clock.now())
    clock.advance(seconds=2)
    assert nonces.prune() == 1  # by now its request's timestamp is out of the window
    assert store.use("app_a", "n" * 16, clock.now())


@pytest.mark.postgresql
@pytest.mark.req("R-9.1")
def test_the_nonce_table_and_its_indexes_are_unlogged_on_postgresql(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relpersistence FROM pg_class c WHERE c.oid = %s::regclass "
            "OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = %s::regclass)",
            [UsedNonce._meta.db_table] * 2,
        )
        persistence = dict(cursor.fetchall())
    assert len(persistence) >= 3 and set(persistence.values()) == {"u"}  # table, primary key, unique, seen_at


@pytest.mark.postgresql
@pytest.mark.req("R-9.1")
def test_on_postgresql_the_nonce_goes_in_with_the_reads_and_a_refused_signature_gives_it_back(
    yk, grant, gateway, table, app, client, settings
):
    settings.REDIS_URL = ""
    application, secret = app
    with CaptureQueriesContext(connection) as queries:
        answer = gateway.get(records(table), {"limit": 1})
    assert answer.status_code == 200
    # No statement of its own inserts the nonce (a prune, one call in PRUNE_ONE_IN, may delete).
    assert not any(q["sql"].startswith("INSERT") and "usednonce" in q["sql"] for q in queries)
    assert any(q["sql"].startswith("EXECUTE") for q in queries)
    assert UsedNonce.objects.count() == 1
    # Refused at the signature (forged, wrong application, disabled): the nonce is given back.
    forged = gateway.api.prepare("GET", records(table))
    _flip_signature(forged)
    assert refusal(gateway.send(forged)) == (401, "bad_signature", signing.SIGNATURE)
    nonce = forged.headers[signing.NONCE]
    assert refusal(Gateway(client, "app_unknown", secret).get(records(table), nonce=nonce))[:2] == (401, "unknown_app")
    assert UsedNonce.objects.count() == 1
    assert gateway.get(records(table), nonce=nonce).status_code == 200
    assert refusal(gateway.get(records(table), nonce=nonce)) == (401, "replayed_nonce", signing.NONCE)
    assert UsedNonce.objects.count() == 2
    applications.disable(t.actor(yk.civil_admin), application)
    assert refusal(gateway.get(records(table)))[:2] == (401, "app_disabled")
    assert UsedNonce.objects.count() == 2


@pytest.mark.req("R-9.1")
@pytest.mark.django_db(transaction=True)
def test_the_same_signed_request_sent_twice_at_once_is_answered_once(yk, grant, app, table, settings):
    settings.REDIS_URL = ""
    application, secret = app
    prepared = Gateway(None, application.app_id, secret).api.prepare("GET", by_key(table), {"sfzh": ID1})
    for _ in range(3):
        statuses = _race(lambda _index: Gateway(Client(), application.app_id, secret).send(prepared).status_code)
        assert statuses == [200, 401]
        prepared = Gateway(None, application.app_id, secret).api.prepare("GET", by_key(table), {"sfzh": ID1})


@pytest.mark.req("R-9.1")
def test_nonces_are_pruned_now_and_then_on_every_path(yk, grant, gateway, table, clock, monkeypatch, settings):
    settings.REDIS_URL = ""
    assert gateway.get(records(table), {"limit": 1}).status_code == 200
    clock.advance(seconds=601)
    monkeypatch.setattr(nonces, "PRUNE_ONE_IN", 1)
    assert gateway.get(records(table), {"limit": 1}).status_code == 200
    assert UsedNonce.objects.count() == 1  # the expired one was pruned


# --- rate limits -------------------------------------------------------------------------------


@pytest.mark.req("R-9.1")
def test_over_the_rate_limit_the_answer_is_429_with_the_headers(yk, grant, table, client, system, backend):
    application, secret = register(yk, system, rate_limit="3/minute")
    gateway = Gateway(client, application.app_id, secret)
    forged = gateway.api.prepare("GET", records(table))
    _flip_signature(forged)
    assert gateway.send(forged).status_code == 401  # not counted
    # Every signed call counts, refused ones too, and every answer to one carries the headers.
    answers = [gateway.get(records(table), {"limit": 1}), gateway.get("/resources/999999/records"), gateway.get(records(table))]
    assert [a.status_code for a in answers] == [200, 404, 200]
    assert [(a["X-RateLimit-Limit"], a["X-RateLimit-Remaining"]) for a in answers] == [("3", "2"), ("3", "1"), ("3", "0")]
    over = gateway.get(records(table), {"limit": 1})
    assert refusal(over)[:2] == (429, "rate_limited") and "records" not in over.json()
    assert (over["X-RateLimit-Limit"], over["X-RateLimit-Remaining"]) == ("3", "0")
    assert int(over["X-RateLimit-Reset"]) >= int(over["Retry-After"]) >= 0
    assert gateway_events(application=application.app_id).last().details["code"] == "rate_limited"


@pytest.mark.req("R-9.1")
def test_memory_counters_forget_ended_windows_as_they_count_without_timer_threads(monkeypatch):
    now = [1_000.0]
    clock_ = SimpleNamespace(time=lambda: now[0], monotonic=lambda: now[0])
    monkeypatch.setattr(limits.storage.memory, "time", clock_)
    monkeypatch.setattr(ratelimit, "time", clock_)
    storage = ratelimit.SweptMemoryStorage("memory://")
    timers = threading.active_count()
    assert [storage.incr("a", 60) for _ in range(3)] == [1, 2, 3]
    assert threading.active_count() <= timers  # counting starts no thread
    now[0] += 61  # a's window has ended
    assert storage.get("a") == 0 and storage.incr("b", 60) == 1
    assert "a" not in storage.storage and "a" not in storage.expirations  # forgotten, not only unread
    assert ratelimit.limiter("memory://").storage.__class__ is ratelimit.SweptMemoryStorage


# --- what a grant allows -------------------------------------------------------------------------


@pytest.mark.req("R-20.2")
def test_a_field_outside_the_grant_is_refused_naming_it(yk, grant, gateway, table):
    for params, parameter in (
        ({"fields": "xm,csrq"}, "fields"),
        ({"csrq__gte": "1990-01-01"}, "filters"),
        ({"sjhm": "13904170001"}, "filters"),
        ({"sort": "-csrq"}, "sort"),
    ):
        answer = gateway.get(records(table), params)
        body = answer.json()
        assert answer.status_code == 403, params
        assert (body["code"], body["parameter"]) == ("field_not_granted", parameter)
        assert body["field"] in ("csrq", "sjhm") and "records" not in body
    answer = gateway.get(by_key(table), {"sfzh": ID1, "fields": "xm,sjhm"})
    assert refusal(answer) == (403, "field_not_granted", "sjhm")
    # Not a column at all, or a query the engine refuses: 400 naming the parameter.
    assert refusal(gateway.get(records(table), {"nope": "1"}))[:2] == (400, "bad_query")
    assert refusal(gateway.get(records(table), {"xm__prefix": "张"})) == (400, "bad_query", "xm")  # masked
    assert refusal(gateway.get(records(table), {"limit": "many"})) == (400, "bad_query", "limit")


@pytest.mark.req("R-20.2")
def test_a_record_is_looked_up_by_its_key_items(yk, grant, gateway, table):
    answer = gateway.get(by_key(table), {"SFZH": ID1})
    assert answer.status_code == 200
    assert answer.json()["record"] == {"sfzh": mask_value(Mask.ID_NUMBER, ID1), "xm": "张*"}
    assert gateway.get(by_key(table), {"sfzh": ID1, "fields": "xm"}).json()["record"] == {"xm": "张*"}
    assert refusal(gateway.get(by_key(table), {"sfzh": c.id_number(999)}))[:2] == (404, "no_record")
    assert refusal(gateway.get(by_key(table))) == (400, "bad_query", "sfzh")
    assert refusal(gateway.get(by_key(table), {"sfzh": ID1, "xm": "张1"})) == (400, "bad_query", "xm")


@pytest.mark.req("R-20.2")
def test_a_calls_reads_are_one_statement_prepared_once_per_database_session(yk, grant, gateway, table):
    def reads_of(answer_calls: int) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            for _ in range(answer_calls):
                assert gateway.get(by_key(table), {"sfzh": ID1}).status_code == 200
        return [q["sql"] for q in queries.captured_queries if "govdata_gateway_reads" in q["sql"] or "JOIN" in q["sql"]]

    seen = reads_of(2)
    if connection.vendor == "postgresql":
        assert [sql.split()[0] for sql in seen] in (["PREPARE", "EXECUTE", "EXECUTE"], ["EXECUTE", "EXECUTE"])
        # A new session has none: the next call prepares it again.
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")
        gateway_module._prepared.clear()
        assert [sql.split()[0] for sql in reads_of(1)] == ["PREPARE", "EXECUTE"]
    else:
        assert len(seen) == 2 and all(sql.startswith("SELECT") for sql in seen)  # one statement a call


@pytest.mark.postgresql
@pytest.mark.req("R-20.2")
@pytest.mark.django_db(transaction=True)
def test_a_lookup_is_four_round_trips_on_postgresql(yk, grant, gateway, table, settings):
    """Reads with the nonce, the masked query, and the audit append's two (its BEGIN and
    COMMIT travel with its statements). The server adds no health check round trip
    (``common/postgresql``); Django's test client makes none either."""
    settings.REDIS_URL = ""
    assert gateway.get(by_key(table), {"sfzh": ID1}).status_code == 200  # prepares the reads, starts the chain
    with t.wire(connection) as wire:
        assert gateway.get(by_key(table), {"sfzh": ID2}).status_code == 200
    reads, lookup, lock, append = wire.queries
    assert reads.startswith("EXECUTE govdata_gateway_reads") and lookup.startswith("SELECT datastore.")
    assert lock.startswith("BEGIN; SELECT") and append.endswith("; COMMIT")
    assert wire.round_trips == 4
    assert UsedNonce.objects.count() == 2 and verify_chain().ok


@pytest.mark.req("R-20.2")
def test_a_grant_ends_with_its_last_day(yk, grant, gateway, table, clock):
    last = grant.valid_until
    clock.set(dt.datetime.combine(last, dt.time(23, 59, 30), tzinfo=SHANGHAI))
    assert gateway.get(by_key(table), {"sfzh": ID1}).status_code == 200
    clock.set(dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0, 0, 30), tzinfo=SHANGHAI))
    answer = gateway.get(by_key(table), {"sfzh": ID1})
    assert refusal(answer)[:2] == (403, "access_denied") and "record" not in answer.json()


@pytest.mark.req("R-20.2")
def test_revoking_a_grant_takes_effect_at_the_next_call(yk, grant, gateway, table):
    assert gateway.get(by_key(table), {"sfzh": ID1}).status_code == 200
    share_requests.revoke(t.actor(yk.police_admin), grant, reason="超范围使用")
    assert refusal(gateway.get(by_key(table), {"sfzh": ID1}))[:2] == (403, "access_denied")
    assert refusal(gateway.get(records(table)))[:2] == (403, "access_denied")


@pytest.mark.req("R-20.2")
@pytest.mark.req("R-22.1")
def test_under_a_grant_the_granted_purpose_is_recorded_and_no_other_accepted(yk, grant, gateway, table):
    assert gateway.get(by_key(table), {"sfzh": ID1}).status_code == 200
    assert gateway.get(by_key(table), {"sfzh": ID1}, purpose=GRANT_PURPOSE).status_code == 200
    answer = gateway.get(by_key(table), {"sfzh": ID1}, purpose="商业营销")
    assert refusal(answer) == (403, "purpose_not_granted", "purpose") and "record" not in answer.json()
    purposes = list(gateway_events().values_list("purpose", "details__outcome"))
    assert purposes == [(GRANT_PURPOSE, "allowed"), (GRANT_PURPOSE, "allowed"), ("商业营销", "refused")]


@pytest.mark.req("R-20.1")
@pytest.mark.req("R-20.2")
def test_not_shared_unpublished_or_ungranted_data_is_refused_and_unknown_is_404(yk, gateway, system, client):
    closed = person_table(yk, 3, share_type="not_shared", share_conditions="", share_basis="《居民身份证法》第十三条")
    conditional = person_table(yk, 3)
    for resource in (closed, conditional):
        answer = gateway.get(by_key(resource), {"sfzh": ID1}, purpose="核查")
        assert refusal(answer)[:2] == (403, "access_denied") and "record" not in answer.json()
    # A grant for another system of the same department does not cover this application.
    make_grant(yk, conditional.entry, consumer_system(yk.civil, "另一系统"))
    assert refusal(gateway.get(by_key(conditional), {"sfzh": ID1}))[:2] == (403, "access_denied")
    # Suspended by the bureau.
    make_grant(yk, conditional.entry, system)
    assert gateway.get(by_key(conditional), {"sfzh": ID1}).status_code == 200
    datastore.suspend(t.actor(yk.bureau), conditional, "数据质量问题")
    assert refusal(gateway.get(by_key(conditional), {"sfzh": ID1}))[:2] == (403, "access_denied")
    assert refusal(gateway.get("/resources/987654/records"))[:2] == (404, "not_found")
    files, _stored = file_resource(yk, **UNCONDITIONAL)
    assert refusal(gateway.get(records(files), purpose="核查"))[:2] == (400, "wrong_kind")


@pytest.mark.req("R-20.1")
@pytest.mark.req("R-22.1")
def test_unconditional_data_needs_no_grant_but_every_call_states_a_purpose(yk, gateway, client, app):
    shared = person_table(yk, 3, **UNCONDITIONAL)
    answer = gateway.get(by_key(shared), {"sfzh": ID1})
    assert refusal(answer) == (400, "purpose_required", "purpose") and "record" not in answer.json()
    answer = gateway.get(by_key(shared), {"sfzh": ID1}, purpose="低保审核比对")
    assert answer.status_code == 200
    record = answer.json()["record"]
    assert set(record) == {"sfzh", "xm", "sjhm", "csrq", "ysr", "jtrs", "sfzc"}  # every item, masked
    assert (record["xm"], record["sjhm"], record["ysr"]) == ("张*", "139****0001", "3500.00")
    # The header form (percent-encoded UTF-8); a conflicting pair is refused.
    prepared = gateway.api.prepare("GET", by_key(shared), {"sfzh": ID1})
    prepared.headers["X-Purpose"] = quote("救助资格复核")
    assert gateway.send(prepared).status_code == 200
    prepared = gateway.api.prepare("GET", by_key(shared), {"sfzh": ID1}, purpose="甲")
    prepared.headers["X-Purpose"] = quote("乙")
    assert refusal(gateway.send(prepared)) == (400, "purpose_conflict", "purpose")
    purposes = list(gateway_events().values_list("purpose", flat=True))
    assert purposes == ["", "低保审核比对", "救助资格复核", "甲"]


@pytest.mark.req("R-9.1")
@pytest.mark.req("R-20.1")
def test_the_providers_own_application_reads_every_item_unmasked(yk, table, client):
    police_system = consumer_system(yk.police, "人口管理系统")
    application, secret = applications.register_application(t.actor(yk.police_admin), police_system, name="自用")
    own = Gateway(client, application.app_id, secret)
    assert refusal(own.get(by_key(table), {"sfzh": ID1}))[:2] == (400, "purpose_required")
    answer = own.get(by_key(table), {"sfzh": ID1}, purpose="户籍管理")
    assert answer.json()["record"]["sfzh"] == ID1 and answer.json()["record"]["xm"] == "张1"
    assert not any(f["masked"] for f in answer.json()["fields"])


# --- the audit trail -----------------------------------------------------------------------------


@pytest.mark.req("R-22.1")
def test_every_call_is_audited_with_application_purpose_items_grant_and_rows(yk, grant, gateway, table, app):
    application, _secret = app
    gateway.get(records(table), {"limit": 4, "fields": "xm"})
    gateway.get(records(table), {"fields": "csrq"})
    gateway.get("/resources/424242/records", purpose="核查")
    allowed, refused, unknown = gateway_events()
    for event in (allowed, refused, unknown):
        assert (event.action, event.actor_type, event.application) == (
            "sharing.gateway.records", "application", application.app_id,
        )  # fmt: skip
        assert (event.department_id, event.client_ip) == (yk.civil.pk, "127.0.0.1")
    assert (allowed.object_id, allowed.purpose, allowed.row_count) == (str(table.pk), GRANT_PURPOSE, 4)
    assert allowed.details == {
        "outcome": "allowed", "status": 200, "code": "", "resource": table.pk, "grant": grant.pk,
        "items": ["xm"], "filters": {"limit": "4", "fields": "xm"},
    }  # fmt: skip
    assert (refused.details["outcome"], refused.details["status"], refused.details["code"]) == (
        "refused", 403, "field_not_granted",
    )  # fmt: skip
    assert refused.row_count is None and refused.details["items"] is None
    assert (unknown.object_id, unknown.details["status"], unknown.purpose) == ("", 404, "核查")
    assert verify_chain().ok


@pytest.mark.req("R-22.1")
def test_audit_events_equal_gateway_calls_under_concurrency(yk, grant, app, table, live_server):
    application, secret = app
    threads, calls = 8, 10
    base = f"{live_server.url}/gateway/v1"

    def worker(index):
        client = GatewayClient(base, application.app_id, secret, clock=platform_time)
        statuses = []
        for n in range(calls):
            if n % 5 == 4:  # one call in five asks for an item outside the grant
                statuses.append(client.get(records(table), {"fields": "csrq"}).status_code)
            else:
                statuses.append(client.get(by_key(table), {"sfzh": c.id_number(1 + (index + n) % 30)}).status_code)
        client.session.close()
        return statuses

    with ThreadPoolExecutor(threads) as pool:
        statuses = [s for batch in pool.map(worker, range(threads)) for s in batch]
    assert statuses.count(200) == threads * calls * 4 // 5 and statuses.count(403) == threads * calls // 5
    events = gateway_events(application=application.app_id)
    assert events.count() == threads * calls
    assert events.filter(details__outcome="allowed", row_count=1).count() == statuses.count(200)
    assert verify_chain().ok


# --- files and interfaces ----------------------------------------------------------------------


@pytest.mark.req("R-20.1")
@pytest.mark.req("R-20.2")
def test_files_are_served_verified_and_only_where_access_is_allowed(yk, gateway, system, evidence_media):
    shared, stored = file_resource(yk, **UNCONDITIONAL)
    path = f"/resources/{shared.pk}/files/{stored.pk}"
    answer = gateway.get(path, purpose="核对户籍证明")
    assert answer.status_code == 200 and b"".join(answer.streaming_content) == PDF
    assert answer["X-Content-SM3"] == stored.sm3 and answer["Content-Type"] == "application/pdf"
    assert "X-RateLimit-Remaining" in answer
    assert refusal(gateway.get(f"/resources/{shared.pk}/files/{stored.pk + 1000}", purpose="核对"))[:2] == (
        404, "no_file",
    )  # fmt: skip
    conditional, secret_file = file_resource(yk)
    assert refusal(gateway.get(f"/resources/{conditional.pk}/files/{secret_file.pk}"))[:2] == (403, "access_denied")
    make_grant(yk, conditional.entry, system)
    assert gateway.get(f"/resources/{conditional.pk}/files/{secret_file.pk}").status_code == 200
    with default_storage.open(stored.storage_name, "wb") as damaged:
        damaged.write(PDF.replace(b"Catalog", b"Katalog"))
    assert refusal(gateway.get(path, purpose="核对"))[:2] == (409, "file_damaged")
    event = gateway_events(action="sharing.gateway.file").first()
    assert (event.details["file"], event.details["name"], event.purpose) == (stored.pk, "户籍证明.pdf", "核对户籍证明")


class Upstream(BaseHTTPRequestHandler):
    """A weather interface: needs the X-Api-Key token; echoes what it was sent; /fail is 500."""

    def log_message(self, *args):
        pass

    def _answer(self, status, body):
        payload = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _handle(self, sent):
        self.server.seen.append((self.command, self.headers.get("X-Api-Key"), sent))
        if self.headers.get("X-Api-Key") != TOKEN:
            return self._answer(401, {"error": "bad token"})
        if urlsplit(self.path).path == "/fail":
            return self._answer(500, {"error": "down", "echo": TOKEN})
        return self._answer(200, {"forecast": "晴", "sent": sent})

    def do_GET(self):
        self._handle({k: v if len(v) > 1 else v[0] for k, v in parse_qs(urlsplit(self.path).query).items()})

    def do_POST(self):
        self._handle(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))


@pytest.fixture
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    server.daemon_threads = True
    server.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


SCHEMA = {
    "type": "object",
    "properties": {
        "ybqy": {"type": "string", "enum": ["营口市区", "盖州市"]},
        "days": {"type": "integer"},
        "detail": {"type": "boolean"},
    },
    "required": ["ybqy"],
}


def interface(yk, url, method="GET"):
    entry = published_entry(yk, platform_mode="api", **UNCONDITIONAL)
    resource = datastore.mount(t.actor(yk.police_admin), entry, kind="api", name="天气预报接口")
    apis.register_api(
        t.actor(yk.police_admin), resource, url=url, method=method, parameter_schema=SCHEMA,
        auth="header", auth_name="X-Api-Key", credentials=TOKEN, timeout_seconds=5,
    )  # fmt: skip
    return datastore.publish(t.actor(yk.bureau), datastore.submit(t.actor(yk.police_admin), resource))


@pytest.mark.req("R-20.1")
def test_an_interface_call_forwards_checked_parameters_with_the_stored_credential(yk, gateway, upstream):
    weather = interface(yk, upstream.url + "/forecast")
    path = f"/resources/{weather.pk}/call"
    answer = gateway.get(path, {"ybqy": "盖州市", "days": "3", "detail": "true"}, purpose="救灾预警")
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "status": 200, "content_type": "application/json; charset=utf-8",
        "body": {"forecast": "晴", "sent": {"ybqy": "盖州市", "days": "3", "detail": "true"}},
    }  # fmt: skip
    assert upstream.seen[-1][:2] == ("GET", TOKEN)
    posted = interface(yk, upstream.url + "/forecast", method="POST")
    answer = gateway.call("POST", f"/resources/{posted.pk}/call", json={"ybqy": "营口市区", "days": 2}, purpose="救灾预警")
    assert answer.json()["body"]["sent"] == {"ybqy": "营口市区", "days": 2}
    assert upstream.seen[-1][:2] == ("POST", TOKEN)
    for params, parameter in (
        ({}, "ybqy"),
        ({"ybqy": "北京"}, "ybqy"),
        ({"ybqy": "盖州市", "days": "三"}, "days"),
        ({"ybqy": "盖州市", "token": "mine"}, "token"),
    ):
        assert refusal(gateway.get(path, params, purpose="救灾预警")) == (400, "bad_parameter", parameter)
    assert refusal(gateway.call("POST", f"/resources/{posted.pk}/call", json={"ybqy": "盖州市", "days": "2"}, purpose="救灾预警")) == (
        400, "bad_parameter", "days",
    )  # fmt: skip
    # An upstream failure is a 502 envelope, scrubbed of the credential it echoed.
    failing = interface(yk, upstream.url + "/fail")
    answer = gateway.get(f"/resources/{failing.pk}/call", {"ybqy": "盖州市"}, purpose="救灾预警")
    assert answer.status_code == 502 and answer.json()["status"] == 500
    assert answer.json()["body"]["echo"] == "***"
    unreachable = interface(yk, "http://127.0.0.1:9/forecast")
    answer = gateway.get(f"/resources/{unreachable.pk}/call", {"ybqy": "盖州市"}, purpose="救灾预警")
    assert refusal(answer)[:2] == (502, "upstream_unreachable")
    # The credential appears in no answer and no audit event.
    events = gateway_events(action="sharing.gateway.call")
    assert events.count() == 9 and TOKEN not in json.dumps(list(events.values_list("details", flat=True)))
    assert events.first().details["upstream_status"] == 200
