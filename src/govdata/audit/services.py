"""Appending to the audit trail: the one way every service function records what it did."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction

from govdata.common import clock
from govdata.common.actor import Actor

from .chain import event_hash
from .models import AuditEvent, ChainHead


def _locked_head() -> ChainHead:
    try:
        return ChainHead.objects.select_for_update().get(pk=1)
    except ChainHead.DoesNotExist:
        try:
            with transaction.atomic():
                ChainHead.objects.create(pk=1)
        except IntegrityError:
            pass  # another writer created it first
        return ChainHead.objects.select_for_update().get(pk=1)


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
    with transaction.atomic():
        head = _locked_head()
        values["seq"] = head.seq + 1
        values["prev_hash"] = head.hash
        values["hash"] = event_hash(values)
        event = AuditEvent.objects.create(**values)
        ChainHead.objects.filter(pk=1).update(seq=event.seq, hash=event.hash)
    return event
