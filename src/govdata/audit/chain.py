"""Hashing and verification of the audit chain.

Each event's hash is SM3 over a canonical JSON encoding of all its fields, including the
previous event's hash, so an edited, deleted or reordered event breaks the chain at a
sequence number that :func:`verify_chain` names.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from govdata.common.digests import sm3_hex

from .models import GENESIS_HASH, AuditEvent, ChainHead

HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_type",
    "actor_id",
    "actor_label",
    "application",
    "department_id",
    "region_id",
    "action",
    "object_type",
    "object_id",
    "purpose",
    "details",
    "row_count",
    "client_ip",
    "prev_hash",
)


def canonical_bytes(values: dict[str, Any]) -> bytes:
    encoded = {}
    for name in HASHED_FIELDS:
        value = values[name]
        if isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).isoformat(timespec="microseconds")
        encoded[name] = value
    return json.dumps(encoded, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def event_hash(values: dict[str, Any]) -> str:
    return sm3_hex(canonical_bytes(values))


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify_chain(chunk_size: int = 5000) -> VerifyResult:
    expected_seq = 1
    prev_hash = GENESIS_HASH
    count = 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size):
        values = {name: getattr(event, name) for name in HASHED_FIELDS}
        if event.seq != expected_seq:
            return VerifyResult(False, count, expected_seq, "missing")
        if event.prev_hash != prev_hash:
            return VerifyResult(False, count, event.seq, "out of order")
        if event_hash(values) != event.hash:
            return VerifyResult(False, count, event.seq, "altered")
        prev_hash = event.hash
        expected_seq += 1
        count += 1
    head = ChainHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != count or head.hash != prev_hash):
        # Events removed from the end leave the head pointing past the last one.
        return VerifyResult(False, count, count + 1, "missing")
    return VerifyResult(True, count)
