"""The audit trail is tamper-evident (R-34.3): any edit, deletion or reordering made behind
the platform's back is found by ``verify_chain`` at the exact first bad sequence number; the
ORM refuses changes outright, and on PostgreSQL so does the database itself."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
from django.db import DatabaseError, connection, transaction

from govdata.audit.chain import verify_chain
from govdata.audit.models import AppendOnlyError, AuditEvent, ChainHead
from govdata.audit.services import record
from govdata.common.actor import Actor
from govdata.testing import actor

TABLE = "audit_auditevent"
TRIGGER = "audit_event_append_only"


@contextmanager
def tampering():
    """Raw SQL that bypasses the append-only guard, as an attacker with table access would."""
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
        try:
            yield cursor
        finally:
            if postgres:
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}")


def five_events(yk=None) -> list[AuditEvent]:
    who = actor(yk.police_admin) if yk else Actor.platform()
    return [
        record(
            who,
            "test.access",
            purpose=f"办理第{i}件户籍业务",
            details={"i": i, "字段": ["姓名", "身份证号"]},
            rows=10 * i,
        )
        for i in range(1, 6)
    ]


@pytest.mark.req("R-34.3")
def test_intact_chain_verifies(yk, clock):
    five_events(yk)
    result = verify_chain()
    assert result.ok and result.count == 5 and result.first_bad_seq is None
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == [1, 2, 3, 4, 5]
    head = ChainHead.objects.get(pk=1)
    assert head.seq == 5 and head.hash == AuditEvent.objects.get(seq=5).hash
    # Verification in small chunks gives the same answer.
    assert verify_chain(chunk_size=2) == result


@pytest.mark.req("R-34.3")
@pytest.mark.parametrize(
    "ip",
    ["10.0.0.1", "2001:DB8::1", "2001:db8:0:0:0:0:0:1", "::ffff:10.0.0.1", "fe80::1%eth0", "::1", "not-an-ip", None],
)
def test_client_address_is_hashed_as_stored(db, clock, ip):
    """An IPv4 client of a dual-stack server arrives as ::ffff:a.b.c.d; the chain must verify
    with what the database gives back, whatever the address form."""
    event = record(Actor(ip=ip, system=True), "test.ip")
    assert AuditEvent.objects.get(pk=event.pk).client_ip == event.client_ip
    assert verify_chain().ok


@pytest.mark.req("R-34.3")
def test_numbers_in_details_verify_after_the_database_round_trip(db, clock):
    values = [0, -1, 2**62, 0.1, 2.0, -0.0, 1e-05, 1.5e-07, 123.456, 9007199254740993.0, 1e16, 1.2345678901234568e17]
    for value in values:
        record(Actor.platform(), "test.number", details={"v": value, "nested": [{"v": value}]})
    result = verify_chain()
    assert result.ok and result.count == len(values)
    stored = [e.details["v"] for e in AuditEvent.objects.filter(action="test.number")]
    assert stored == pytest.approx(values)


@pytest.mark.req("R-34.3")
@pytest.mark.parametrize(
    ("column", "value"),
    [("purpose", "随便看看"), ("row_count", 999999), ("action", "test.other"), ("actor_label", "someone-else")],
)
def test_edited_event_is_found_at_its_seq(yk, clock, column, value):
    five_events(yk)
    with tampering() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET {column} = %s WHERE seq = %s", [value, 3])
    assert getattr(AuditEvent.objects.get(seq=3), column) == value
    result = verify_chain()
    assert not result.ok
    assert result.first_bad_seq == 3 and result.count == 2 and result.reason == "altered"


@pytest.mark.req("R-34.3")
def test_edited_first_event_is_found(db, clock):
    five_events()
    with tampering() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET client_ip = %s WHERE seq = %s", ["10.0.0.9", 1])
    assert verify_chain().first_bad_seq == 1


@pytest.mark.req("R-34.3")
def test_edit_that_also_recomputes_the_hash_breaks_the_next_link(db, clock):
    from govdata.audit.chain import HASHED_FIELDS, event_hash

    five_events()
    event = AuditEvent.objects.get(seq=3)
    values = {name: getattr(event, name) for name in HASHED_FIELDS}
    values["purpose"] = "改写后的用途"
    forged = event_hash(values)
    with tampering() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET purpose = %s, hash = %s WHERE seq = 3", [values["purpose"], forged])
    result = verify_chain()
    assert not result.ok and result.first_bad_seq == 4 and result.reason == "out of order"


@pytest.mark.req("R-34.3")
def test_deleted_middle_event_is_found(db, clock):
    five_events()
    with tampering() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE seq = %s", [3])
    result = verify_chain()
    assert not result.ok and result.first_bad_seq == 3 and result.reason == "missing" and result.count == 2


@pytest.mark.req("R-34.3")
def test_deleted_last_event_is_found(db, clock):
    five_events()
    with tampering() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE seq = %s", [5])
    result = verify_chain()
    assert not result.ok and result.first_bad_seq == 5 and result.reason == "missing" and result.count == 4
    # Appending afterwards does not heal the gap.
    record(Actor.platform(), "test.after")
    assert verify_chain().first_bad_seq == 5


@pytest.mark.req("R-34.3")
def test_deleted_tail_of_several_events_is_found(db, clock):
    five_events()
    with tampering() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE seq >= %s", [4])
    assert verify_chain().first_bad_seq == 4


@pytest.mark.req("R-34.3")
def test_two_events_reordered_are_found_at_the_first(db, clock):
    """Swap the sequence numbers of events 3 and 4 (as if 4 had happened first)."""
    five_events()
    with tampering() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET seq = -3 WHERE seq = 3")
        cursor.execute(f"UPDATE {TABLE} SET seq = 3 WHERE seq = 4")
        cursor.execute(f"UPDATE {TABLE} SET seq = 4 WHERE seq = -3")
    assert AuditEvent.objects.get(seq=3).details["i"] == 4
    result = verify_chain()
    assert not result.ok and result.first_bad_seq == 3 and result.count == 2


@pytest.mark.req("R-34.3")
def test_two_events_with_swapped_contents_are_found_at_the_first(db, clock):
    """Swap what events 2 and 4 say (purpose, rows, details) but keep their chain columns."""
    five_events()
    two, four = AuditEvent.objects.get(seq=2), AuditEvent.objects.get(seq=4)
    with tampering() as cursor:
        for target, source in ((two, four), (four, two)):
            cursor.execute(
                f"UPDATE {TABLE} SET purpose = %s, row_count = %s WHERE seq = %s",
                [source.purpose, source.row_count, target.seq],
            )
    assert AuditEvent.objects.get(seq=2).row_count == 40
    result = verify_chain()
    assert not result.ok and result.first_bad_seq == 2 and result.reason == "altered"


@pytest.mark.req("R-34.3")
def test_orm_refuses_to_update_or_delete_events(db, clock):
    five_events()
    event = AuditEvent.objects.get(seq=2)
    event.purpose = "x"
    attempts = [
        lambda: AuditEvent.objects.filter(seq=2).update(purpose="x"),
        lambda: AuditEvent.objects.all().delete(),
        lambda: AuditEvent.objects.filter(seq=5).delete(),
        event.save,
        event.delete,
        lambda: AuditEvent.objects.bulk_update([event], ["purpose"]),
        lambda: AuditEvent.objects.update_or_create(seq=2, defaults={"purpose": "x"}),
    ]
    for attempt in attempts:
        # Each in its own savepoint: some of these run inside atomic(savepoint=False).
        with pytest.raises(AppendOnlyError), transaction.atomic():
            attempt()
    assert AuditEvent.objects.count() == 5
    assert AuditEvent.objects.get(seq=2).purpose == "办理第2件户籍业务"
    assert verify_chain().ok


@pytest.mark.req("R-34.3")
def test_database_refuses_raw_update_and_delete_on_postgresql(db, clock):
    five_events()
    if connection.vendor != "postgresql":
        # SQLite has no trigger; the ORM guard and the hash chain are the protection there.
        with tampering() as cursor:
            cursor.execute(f"UPDATE {TABLE} SET purpose = 'x' WHERE seq = 1")
        assert verify_chain().first_bad_seq == 1
        return
    for sql in (f"UPDATE {TABLE} SET purpose = 'x' WHERE seq = 1", f"DELETE FROM {TABLE} WHERE seq = 5"):
        with pytest.raises(DatabaseError) as exc, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
        assert "append-only" in str(exc.value)
        assert "%%" not in str(exc.value)
    assert AuditEvent.objects.count() == 5
    assert verify_chain().ok


@pytest.mark.req("R-34.3")
def test_event_recorded_in_a_rolled_back_transaction_leaves_no_trace(db, clock):
    five_events()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        record(Actor.platform(), "test.rolled_back")
        assert AuditEvent.objects.count() == 6
        raise Boom
    assert not AuditEvent.objects.filter(action="test.rolled_back").exists()
    assert AuditEvent.objects.count() == 5
    assert ChainHead.objects.get(pk=1).seq == 5
    assert verify_chain().ok
    # The next event takes the number the rolled-back one had.
    assert record(Actor.platform(), "test.next").seq == 6
    assert verify_chain().ok and verify_chain().count == 6


@pytest.mark.req("R-34.3")
@pytest.mark.django_db(transaction=True)
def test_rolled_back_service_transaction_with_real_commits(clock):
    record(Actor.platform(), "test.committed")
    with pytest.raises(RuntimeError), transaction.atomic():
        record(Actor.platform(), "test.rolled_back")
        raise RuntimeError
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["test.committed"]
    assert verify_chain().ok and verify_chain().count == 1


THREADS = 8
PER_THREAD = 25


@pytest.mark.req("R-34.3")
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_unbroken_chain():
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def append(worker: int) -> None:
        try:
            start.wait()
            for i in range(PER_THREAD):
                record(Actor(application=f"app-{worker}"), "test.concurrent", details={"worker": worker, "i": i})
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    total = THREADS * PER_THREAD
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, total + 1))
    result = verify_chain()
    assert result.ok and result.count == total
    # Every worker's events are all there, in the order that worker wrote them.
    for worker in range(THREADS):
        written = [
            e.details["i"] for e in AuditEvent.objects.filter(application=f"app-{worker}").order_by("seq")
        ]
        assert written == list(range(PER_THREAD))
