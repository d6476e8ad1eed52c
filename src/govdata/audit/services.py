"""Appending to the audit trail: the one way every service function records what it did."""

from __future__ import annotations

import functools
import ipaddress
import json
import threading
from typing import Any

import psycopg
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction

from govdata.common import clock
from govdata.common.actor import Actor

from .chain import event_hash
from .models import GENESIS_HASH, AuditEvent, ChainHead


# --- the chain -------------------------------------------------------------------------------
# Plain statements, not the ORM's: every gateway call appends an event, and building the ORM's
# queries costs several times more than running them.

MAX_BATCH = 64  # events one transaction appends at most (``record_standalone``)


# The statements' text depends on the database only (and the insert's on how many rows), so
# each is written once per process.


def _head_sql() -> str:
    """The head's number and hash, locked until the transaction ends (SQLite has no row
    locks: its write transaction, begun IMMEDIATE, is the lock)."""
    return _head_sql_for(connection.vendor)


@functools.lru_cache(maxsize=4)
def _head_sql_for(vendor: str) -> str:
    table = connection.ops.quote_name(ChainHead._meta.db_table)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    return f"SELECT seq, hash FROM {table} WHERE id = 1{lock}"


def _locked_head(cursor: Any, head: tuple[int, str] | None) -> tuple[int, str]:
    """The locked head, given what its first read found (``head``)."""
    if head is None:
        # The first append ever; whichever writer inserts the head first, the others insert nothing.
        table = connection.ops.quote_name(ChainHead._meta.db_table)
        cursor.execute(f"INSERT INTO {table} (id, seq, hash) VALUES (1, 0, %s) ON CONFLICT DO NOTHING", [GENESIS_HASH])
        cursor.execute(_head_sql())
        head = cursor.fetchone()
    return head


def _chained(batch: list[dict[str, Any]], head: tuple[int, str]) -> tuple[list[AuditEvent], str, list[Any]]:
    """The events of ``batch`` (their fields but ``seq``, ``prev_hash`` and ``hash``) chained
    after ``head``, and the statement that inserts them (and advances the head): one
    multi-row insert, prepared by each field as ``AuditEvent.objects.create`` would, returning
    each event's id and number."""
    fields = _inserted_fields()
    seq, prev_hash = head
    events = []
    for values in batch:
        seq += 1
        values = {**values, "seq": seq, "prev_hash": prev_hash}
        values["hash"] = prev_hash = event_hash(values)
        events.append(AuditEvent(**values))
    values = [f.get_db_prep_save(f.pre_save(event, True), connection) for event in events for f in fields]
    insert = _insert_sql_for(connection.vendor, len(events))
    if connection.vendor == "postgresql":
        return events, insert, [seq, prev_hash, *values]
    return events, insert, values


def _inserted_fields() -> list[models.Field]:
    return [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]


@functools.lru_cache(maxsize=4 * MAX_BATCH)
def _insert_sql_for(vendor: str, rows: int) -> str:
    quote = connection.ops.quote_name
    meta = AuditEvent._meta
    fields = _inserted_fields()
    row = f"({', '.join(['%s'] * len(fields))})"
    insert = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {', '.join([row] * rows)} RETURNING {quote(meta.pk.column)}, seq"
    )
    # PostgreSQL runs a data-modifying WITH whether or not the insert refers to it: one
    # statement, so a round trip less on every gateway call. SQLite has no such WITH: there
    # ``_inserted`` advances the head.
    return f"WITH advanced AS ({_advance_sql()}) {insert}" if vendor == "postgresql" else insert


def _advance_sql() -> str:
    return f"UPDATE {connection.ops.quote_name(ChainHead._meta.db_table)} SET seq = %s, hash = %s WHERE id = 1"


def _inserted(cursor: Any, events: list[AuditEvent]) -> list[AuditEvent]:
    """``events`` as the insert's returned rows say they are stored; on SQLite the head
    advanced after them."""
    ids = {number: pk for pk, number in cursor.fetchall()}  # RETURNING promises no order
    if connection.vendor != "postgresql":
        cursor.execute(_advance_sql(), [events[-1].seq, events[-1].hash])
    for event in events:
        event.pk = ids[event.seq]
        event._state.adding, event._state.db = False, connection.alias
    return events


def _append(batch: list[dict[str, Any]]) -> list[AuditEvent]:
    """Chain and insert events (their fields but ``seq``, ``prev_hash`` and ``hash``), in
    order, with the head locked once. Call it inside a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(_head_sql())
        events, insert, values = _chained(batch, _locked_head(cursor, cursor.fetchone()))
        cursor.execute(insert, values)
        return _inserted(cursor, events)


def _sends_statements_together(cursor: Any) -> bool:
    """Whether one ``execute`` may carry several statements: PostgreSQL through psycopg's
    client-side binding cursor, Django's default (the simple query protocol takes a string of
    statements; a server-side binding cursor takes one)."""
    return connection.vendor == "postgresql" and isinstance(cursor.cursor, psycopg.ClientCursor)


def _append_committed(batch: list[dict[str, Any]]) -> list[AuditEvent]:
    """``_append`` in a transaction of its own, committed when this returns; outside any.

    On PostgreSQL in two round trips instead of four: ``BEGIN`` travels with the head's lock
    and ``COMMIT`` with the insert, where psycopg would send each alone — and the head, held
    from its lock to the commit, is no longer held over a round trip for the commit alone.
    Django's connection stays in autocommit mode meanwhile; whatever fails between the two,
    the transaction is rolled back before the error goes on."""
    with connection.cursor() as cursor:
        # Not when the caller turned autocommit off: its transaction is open, and atomic joins it.
        if not _sends_statements_together(cursor) or not connection.get_autocommit():
            with transaction.atomic():
                return _append(batch)
        try:
            cursor.execute(f"BEGIN; {_head_sql()}")
            cursor.nextset()  # past BEGIN's result to the head's row
            events, insert, values = _chained(batch, _locked_head(cursor, cursor.fetchone()))
            cursor.execute(f"{insert}; COMMIT", values)  # the insert's rows are the first result
            return _inserted(cursor, events)
        except BaseException:
            _roll_back(cursor)
            raise


def _roll_back(cursor: Any) -> None:
    """End the transaction ``_append_committed`` began, if it is still open. A connection
    that cannot roll back is closed: left inside a transaction, it would make every later
    statement of this thread part of one that never commits."""
    if connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        return
    try:
        cursor.execute("ROLLBACK")
    except BaseException:
        connection.close()


class _Pending:
    """An event waiting in ``record_standalone``'s queue; filled in by whichever thread writes it."""

    __slots__ = ("values", "event", "error")

    def __init__(self, values: dict[str, Any]):
        self.values = values
        self.event: AuditEvent | None = None
        self.error: BaseException | None = None


_queue: list[_Pending] = []
_queue_lock = threading.Lock()
_writer = threading.Lock()


@functools.lru_cache(maxsize=4096)  # a server sees the same few addresses again and again
def _normal_ip(ip: str | None) -> str | None:
    """The address exactly as the column stores it (IPv4-mapped IPv6 as ``::ffff:a.b.c.d``,
    no zone id): what is hashed must be what is read back."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return AuditEvent._meta.get_field("client_ip").get_prep_value(str(address))


def _stable_json(value: Any) -> Any:
    """``value`` as PostgreSQL's jsonb gives it back (no negative zero; large numbers without
    an exponent, which JSON then reads as integers), so the hash verifies on every database."""
    if isinstance(value, float):
        if value == 0:
            return 0.0
        return int(value) if value.is_integer() and "e" in repr(value) else value
    if isinstance(value, dict):
        return {key: _stable_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_stable_json(item) for item in value]
    return value


def _department_and_region(actor: Actor, department: Any) -> tuple[int | None, int | None]:
    if department is None and actor.user is not None:
        department = actor.user.department
    if department is None:
        return None, None
    if isinstance(department, int):
        from govdata.orgs.models import Department

        region_id = Department.objects.filter(pk=department).values_list("region_id", flat=True).first()
        return department, region_id
    return department.pk, department.region_id


def _values(
    actor: Actor, action: str, obj: models.Model | None, department: Any, purpose: str, details: Any, rows: int | None
) -> dict[str, Any]:
    department_id, region_id = _department_and_region(actor, department)
    return {
        "occurred_at": clock.now(),
        "actor_type": actor.kind,
        "actor_id": str(actor.user.pk) if actor.user is not None else actor.application,
        "actor_label": actor.label,
        "application": actor.application,
        "department_id": department_id,
        "region_id": region_id,
        "action": action,
        "object_type": obj._meta.label_lower if obj is not None else "",
        "object_id": str(obj.pk) if obj is not None else "",
        "purpose": purpose,
        # Round-trip through JSON so what is hashed is exactly what the database gives back.
        "details": _stable_json(json.loads(json.dumps(details or {}, cls=DjangoJSONEncoder))),
        "row_count": rows,
        "client_ip": _normal_ip(actor.ip),
    }


def record(
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    *,
    department: Any = None,
    purpose: str = "",
    details: dict[str, Any] | None = None,
    rows: int | None = None,
) -> AuditEvent:
    """Append one event. Call it inside the service's transaction so the event and the change
    it describes commit (or roll back) together."""
    values = _values(actor, action, obj, department, purpose, details, rows)
    if not connection.in_atomic_block:
        return _append_committed([values])[0]
    # No savepoint (two round trips more): should the append fail, the service's transaction
    # can only roll back, so no change commits without its event.
    with transaction.atomic(savepoint=False):
        return _append([values])[0]


def record_standalone(
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    *,
    department: Any = None,
    purpose: str = "",
    details: dict[str, Any] | None = None,
    rows: int | None = None,
) -> AuditEvent:
    """``record`` for an event that goes with no change of its own, such as a read at the
    gateway. Outside a transaction the event is committed when this returns — in one
    transaction with the events other threads of this process are appending at the same
    moment (group commit). Every append holds the chain's head from its lock to its commit,
    so appending one at a time is what limits how many audited calls a server answers; a
    batch holds it once. Inside a transaction the event joins it, exactly as with ``record``."""
    if connection.in_atomic_block:
        return record(actor, action, obj, department=department, purpose=purpose, details=details, rows=rows)
    pending = _Pending(_values(actor, action, obj, department, purpose, details, rows))
    with _queue_lock:
        _queue.append(pending)
    with _writer:
        # Another thread may have written this event while this one waited for the writer;
        # else it is among the first MAX_BATCH waiting, or will be after one batch more.
        while pending.event is None and pending.error is None:
            with _queue_lock:
                batch = _queue[:MAX_BATCH]
                del _queue[:MAX_BATCH]
            try:
                events = _append_committed([p.values for p in batch])
            except BaseException as exc:
                for p in batch:
                    p.error = exc
            else:
                for p, event in zip(batch, events, strict=True):
                    p.event = event
    if pending.error is not None:
        raise pending.error
    return pending.event
