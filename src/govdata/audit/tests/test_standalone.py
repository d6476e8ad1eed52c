"""Events that go with no change of their own (``record_standalone``, e.g. gateway reads):
committed before the call returns, the events of threads appending at the same moment in one
transaction, the chain unbroken; inside a transaction the event joins it."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

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
    append = services._append
    monkeypatch.setattr(services, "_append", lambda batch: batches.append(len(batch)) or append(batch))
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

    monkeypatch.setattr(services, "_append", broken)
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
