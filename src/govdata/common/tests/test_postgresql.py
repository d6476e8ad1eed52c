"""The PostgreSQL backend's health check (``common/postgresql``): a reused connection is
checked before a request's first query without a round trip, and one the server has ended
is replaced instead of failing the request."""

from __future__ import annotations

import select

import pytest
from django.db import connection

from govdata import testing as t

pytestmark = pytest.mark.postgresql


def a_request_begins() -> None:
    """What Django does when a request starts (``close_old_connections``)."""
    connection.close_if_unusable_or_obsolete()


def first_query_of_a_request() -> int:
    a_request_begins()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_reused_connection_is_checked_without_a_round_trip():
    assert connection.health_check_enabled
    first_query_of_a_request()
    with t.wire(connection) as wire:
        first_query_of_a_request()
    assert wire.queries == ["SELECT pg_backend_pid()"] and wire.round_trips == 1


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_ended_is_replaced_before_the_requests_first_query():
    ended = first_query_of_a_request()
    t.end_session(ended)
    poller = select.poll()
    poller.register(connection.connection.pgconn.socket, select.POLLIN)
    assert poller.poll(10_000)  # the server's goodbye has arrived
    assert first_query_of_a_request() != ended
