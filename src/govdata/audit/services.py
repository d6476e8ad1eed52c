"""Appending to the audit trail: the one way every service function records what it did."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction

from govdata.common import clock
from govdata.common.actor import Actor

from .chain import event_hash
from .models import GENESIS_HASH, AuditEvent, ChainHead


# The append is three plain statements, not the ORM's: every gateway call appends one event,
# and building the ORM's queries cost several times more than running them.


def _locked_head(cursor: Any) -> tuple[int, str]:
    """The head's number and hash, locked until the transaction ends (SQLite has no row
    locks: its write transaction, begun IMMEDIATE, is the lock)."""
    table = connection.ops.quote_name(ChainHead._meta.db_table)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    select = f"SELECT seq, hash FROM {table} WHERE id = 1{lock}"
    cursor.execute(select)
    head = cursor.fetchone()
    if head is None:
        # The first append ever; whichever writer inserts the head first, the others insert nothing.
        cursor.execute(f"INSERT INTO {table} (id, seq, hash) VALUES (1, 0, %s) ON CONFLICT DO NOTHING", [GENESIS_HASH])
        cursor.execute(select)
        head = cursor.fetchone()
    return head


def _insert(cursor: Any, event: AuditEvent) -> None:
    """What ``AuditEvent.objects.create`` does, values prepared by each field as it would."""
    quote = connection.ops.quote_name
    meta = AuditEvent._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    cursor.execute(
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(meta.pk.column)}",
        [f.get_db_prep_save(f.pre_save(event, True), connection) for f in fields],
    )
    event.pk = cursor.fetchone()[0]
    event._state.adding, event._state.db = False, connection.alias


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
    department_id, region_id = _department_and_region(actor, department)
    values: dict[str, Any] = {
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
    with transaction.atomic(), connection.cursor() as cursor:
        seq, prev_hash = _locked_head(cursor)
        values["seq"] = seq + 1
        values["prev_hash"] = prev_hash
        values["hash"] = event_hash(values)
        event = AuditEvent(**values)
        _insert(cursor, event)
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(ChainHead._meta.db_table)} SET seq = %s, hash = %s WHERE id = 1",
            [event.seq, event.hash],
        )
    return event
