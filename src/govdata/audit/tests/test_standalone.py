"""Events that go with no change of their own (``record_standalone``, e.g. gateway reads):
committed before the call returns, the events of threads appending at the same moment in one
transaction, the chain unbroken; inside a transaction the event joins it."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction

from govdata import testing as t
from govdata.audit import services
from govdata.audit.chain import verify_chain
from govdata.audit.models import AuditEvent
from govdata.common.actor import Actor

THREADS = 6


def append_together(count: int) -> tuple[dict[int, AuditEvent], dict[int, BaseException]]:
    """``count`` threads append an event each while the writer is held, so that all of them
    are waiting when it is released; each thread's event or error, by thread."""
    events: dict[int, AuditEvent] = {}
    errors: dict[int, BaseException] = {}

    def append(index: int) -> None:
        try:
            events[index] = services.record_standalone(
                Actor(application=f"app-{index}"), "test.read", details={"i": index}, rows=index
            )
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(i,)) for i in range(count)]
    with services._writer:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(services._queue) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(services._queue) == count
    for thread in threads:
        thread.join()
    return events, errors


@pytest.mark.req("R-34.3")
@pytest.mark.django_db(transaction=True)
def test_events_appended_at_the_same_moment_share_one_transaction_and_keep_the_chain(monkeypatch):
    batches = []
    append = services._append_committed
    monkeypatch.setattr(services, "_append_committed", lambda batch: batches.append(len(batch)) or append(batch))
    events, errors = append_together(THREADS)
    assert errors == {} and batches == [THREADS]
    stored = {e.pk: e for e in AuditEvent.objects.all()}
    assert sorted(e.seq for e in stored.values()) == list(range(1, THREADS + 1))
    for index, event in events.items():
        # Each caller gets its own event, as the database holds it.
        row = stored[event.pk]
        assert (row.seq, row.hash, row.application, row.details, row.row_count) == (
            event.seq, event.hash, f"app-{index}", {"i": index}, index,
        )  # fmt: skip
    result = verify_chain()
    assert result.ok and result.count == THREADS
    # Alone, an event is its own batch, and follows on.
    assert services.record_standalone(Actor.platform(), "test.read").seq == THREADS + 1
    assert batches == [THREADS, 1] and verify_chain().ok


@pytest.mark.req("R-34.3")
@pytest.mark.django_db(transaction=True)
def test_the_event_is_committed_when_the_call_returns():
    event = services.record_standalone(Actor.platform(), "test.read")
    seen = []

    def look() -> None:  # another connection
        try:
            seen.append(AuditEvent.objects.filter(pk=event.pk).exists())
        finally:
            connection.close()

    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    assert seen == [True]


@pytest.mark.req("R-34.3")
@pytest.mark.django_db(transaction=True)
def test_a_failed_batch_fails_every_call_in_it_and_appends_nothing(monkeypatch):
    class Broken(Exception):
        pass

    def broken(batch):
        raise Broken

    monkeypatch.setattr(services, "_append_committed", broken)
    events, errors = append_together(3)
    assert events == {} and sorted(errors) == [0, 1, 2]
    assert all(isinstance(error, Broken) for error in errors.values())
    assert services._queue == [] and not AuditEvent.objects.exists()
    monkeypatch.undo()
    assert services.record_standalone(Actor.platform(), "test.read").seq == 1
    assert verify_chain().ok


@pytest.mark.req("R-34.3")
def test_inside_a_transaction_the_event_joins_it(db):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.record_standalone(Actor.platform(), "test.read")
        assert AuditEvent.objects.count() == 1
        raise RuntimeError
    assert not AuditEvent.objects.exists()
    assert services._queue == []
    assert services.record_standalone(Actor.platform(), "test.read").seq == 1
    assert verify_chain().ok




@pytest.mark.postgresql
@pytest.mark.req("R-34.3")
@pytest.mark.django_db(transaction=True)
def test_an_append_of_its_own_is_two_round_trips_begin_and_commit_travelling_with_the_statements():
    services.record_standalone(Actor.platform(), "test.read")  # the chain's head exists, the connection is open
    for append in (services.record_standalone, services.record):
        with t.wire(connection) as wire:
            append(Actor.platform(), "test.read")
        assert wire.round_trips == 2
        lock, insert = wire.queries
        assert lock.startswith("BEGIN; SELECT seq, hash FROM") and lock.endswith("FOR UPDATE")
        assert insert.startswith("WITH advanced AS (UPDATE") and insert.endswith("; COMMIT")
        assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    # Inside a service's transaction: the driver's BEGIN, the lock, the insert; no savepoint.
    with transaction.atomic():
        with t.wire(connection) as wire:
            services.record(Actor.platform(), "test.write")
        assert wire.queries[0] == "BEGIN" and wire.round_trips == 3
    assert not any("SAVEPOINT" in query for query in wire.queries)
    assert AuditEvent.objects.count() == 4 and verify_chain().ok


def appended_by_another_connection() -> bool:
    """Whether another thread (so another connection) appends within 20 s: not when this
    one still holds the chain's head."""
    done = []

    def append() -> None:
        try:
            done.append(services.record_standalone(Actor.platform(), "test.elsewhere"))
        finally:
            connection.close()

    thread = threading.Thread(target=append, daemon=True)
    thread.start()
    thread.join(timeout=20)
    return bool(done)


class Boom(Exception):
    pass


@pytest.mark.req("R-34.3")
@pytest.mark.django_db(transaction=True)
def test_a_failure_between_the_heads_lock_and_the_commit_rolls_back_and_frees_the_head(monkeypatch):
    services.record_standalone(Actor.platform(), "test.read")

    def boom(values):
        raise Boom

    chained = services._chained
    failures = {
        Boom: lambda: monkeypatch.setattr(services, "event_hash", boom),  # in Python, the head locked
        DatabaseError: lambda: monkeypatch.setattr(  # in the database, in the insert's round trip
            services, "_chained", lambda batch, head: (chained(batch, head)[0], "SELECT * FROM no_such_table", [])
        ),
    }
    for error, make_it_fail in failures.items():
        make_it_fail()
        with pytest.raises(error):
            services.record_standalone(Actor.platform(), "test.read")
        monkeypatch.undo()
        assert not connection.in_atomic_block
        if connection.vendor == "postgresql":
            assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert appended_by_another_connection()
    assert AuditEvent.objects.filter(action="test.read").count() == 1
    assert AuditEvent.objects.filter(action="test.elsewhere").count() == 2 and verify_chain().ok


@pytest.mark.postgresql
@pytest.mark.req("R-34.3")
@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_before_its_commit_is_closed_and_the_next_append_reconnects(monkeypatch):
    services.record_standalone(Actor.platform(), "test.read")
    backend = connection.connection.info.backend_pid
    hash_of = services.event_hash

    def terminate_then_hash(values):
        t.end_session(backend)  # while this session holds the head
        return hash_of(values)

    monkeypatch.setattr(services, "event_hash", terminate_then_hash)
    with pytest.raises((OperationalError, InterfaceError)):
        services.record_standalone(Actor.platform(), "test.lost")
    monkeypatch.undo()
    assert connection.connection is None  # closed rather than left broken inside a transaction
    assert services.record_standalone(Actor.platform(), "test.read").seq == 2
    assert not AuditEvent.objects.filter(action="test.lost").exists() and verify_chain().ok


@pytest.mark.postgresql
@pytest.mark.req("R-34.3")
@pytest.mark.django_db(transaction=True)
def test_with_autocommit_turned_off_an_append_joins_the_callers_transaction():
    """The append that sends its own BEGIN and COMMIT does not when the caller has turned
    autocommit off: its COMMIT would commit the caller's work too."""
    transaction.set_autocommit(False)
    try:
        services.record(Actor.platform(), "test.read")
        services.record_standalone(Actor.platform(), "test.read")
        assert AuditEvent.objects.count() == 2
        transaction.rollback()
    finally:
        transaction.set_autocommit(True)
    assert not AuditEvent.objects.exists()
