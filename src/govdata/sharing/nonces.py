"""Replay protection for signed gateway requests, shared by every app server.

A nonce is remembered per application for twice the signature window: a request passes the
timestamp check for at most ``window`` seconds after its timestamp, and its timestamp may lie
up to ``window`` seconds after the moment the nonce was first seen, so a replay is possible for
``2 × window`` seconds after that moment and no longer.

- With ``REDIS_URL`` set: ``SET key 1 NX EX 2×window`` — atomic, expires by itself.
- Otherwise the database: one ``INSERT … ON CONFLICT DO NOTHING`` into ``UsedNonce``, whose
  unique constraint (application, nonce) makes the second insert of a nonce insert nothing on
  whichever server tries it (PostgreSQL waits for a concurrent insert of the same nonce to
  commit or roll back; SQLite has one writer at a time). One statement, so no savepoint and no
  error to catch, and it behaves the same inside a caller's transaction. Expired rows are
  deleted now and then (about one call in ``PRUNE_ONE_IN``). On PostgreSQL the table is
  UNLOGGED (migration ``0003``): nonces matter for minutes, not across a crash.

The gateway on PostgreSQL inserts the nonce in its reads statement (``insert_sql``), before
the signature can be checked, to save a round trip; a request then refused at its signature
gives the nonce back (``forget``), so forgeries still use up no nonce.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets

import redis
from django.conf import settings
from django.db import connection

from govdata.common import clock

from .models import UsedNonce

KEY_PREFIX = "govdata:gateway:nonce:"
PRUNE_ONE_IN = 500


def lifetime() -> int:
    """Seconds a nonce must be remembered."""
    return 2 * settings.GATEWAY_SIGNATURE_WINDOW


class RedisNonces:
    def __init__(self, client: redis.Redis):
        self.client = client

    def use(self, app_id: str, nonce: str, now: dt.datetime) -> bool:
        return bool(self.client.set(f"{KEY_PREFIX}{app_id}:{nonce}", 1, nx=True, ex=lifetime()))


def insert_sql(rows: str = "VALUES (%s, %s, %s)") -> str:
    """The insert of ``rows`` (app id, nonce, seen at: a VALUES list or a SELECT) that inserts
    nothing for a nonce already there. Both PostgreSQL and SQLite (3.24+) know this form; the
    row count says whether it inserted."""
    meta, quote = UsedNonce._meta, connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in ("app_id", "nonce", "seen_at"))
    return f"INSERT INTO {quote(meta.db_table)} ({columns}) {rows} ON CONFLICT DO NOTHING"


def seen_at(now: dt.datetime) -> object:
    """``now`` as the nonce table's column takes it."""
    return UsedNonce._meta.get_field("seen_at").get_db_prep_save(now, connection)


class DatabaseNonces:
    def use(self, app_id: str, nonce: str, now: dt.datetime) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(insert_sql(), [app_id, nonce, seen_at(now)])
            if cursor.rowcount != 1:
                return False
        inserted(now)
        return True


def inserted(now: dt.datetime) -> None:
    """After a new nonce went into the database, now and then forget the expired ones."""
    if secrets.randbelow(PRUNE_ONE_IN) == 0:
        prune(now)


def forget(app_id: str, nonce: str) -> None:
    """Give back a database nonce that was inserted before its request proved not to be
    correctly signed (the gateway's reads on PostgreSQL)."""
    UsedNonce.objects.filter(app_id=app_id, nonce=nonce).delete()


def prune(now: dt.datetime | None = None) -> int:
    """Forget the database's nonces that can no longer be replayed; returns how many."""
    now = now or clock.now()
    deleted, _per_model = UsedNonce.objects.filter(seen_at__lt=now - dt.timedelta(seconds=lifetime())).delete()
    return deleted


@functools.lru_cache(maxsize=4)
def redis_client(url: str) -> redis.Redis:
    """One client (with its connection pool, which is thread-safe) per URL and process."""
    return redis.Redis.from_url(url)


def store() -> RedisNonces | DatabaseNonces:
    return RedisNonces(redis_client(settings.REDIS_URL)) if settings.REDIS_URL else DatabaseNonces()


def in_database() -> bool:
    return not settings.REDIS_URL


def use(app_id: str, nonce: str) -> bool:
    """Remember ``nonce`` for ``app_id``: True when it is new, False for a replay."""
    return store().use(app_id, nonce, clock.now())
