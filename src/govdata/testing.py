"""Test factories shared by every app's tests (real database rows, made through services
where a service exists)."""

from __future__ import annotations

import contextlib
import functools
import itertools
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
from django.contrib.auth.hashers import make_password
from django.db import connection as default_connection

from govdata.common.actor import Actor
from govdata.common.validators import uscc_check_char
from govdata.orgs.models import Department, DepartmentKind, Region, Role, RoleAssignment, User

_counter = itertools.count(1)
PASSWORD = "Yk-test-pass-2026"

REGIONS = [
    ("210800", "营口市", "city"),
    ("210802", "站前区", "county"),
    ("210803", "西市区", "county"),
    ("210804", "鲅鱼圈区", "county"),
    ("210811", "老边区", "county"),
    ("210881", "盖州市", "county"),
    ("210882", "大石桥市", "county"),
]


def credit_code(division: str = "210800", serial: int | None = None) -> str:
    """A valid unified social credit code for a government body (1 1 + division + org code)."""
    serial = next(_counter) if serial is None else serial
    first17 = f"11{division}" + f"{serial:09d}"
    return first17 + uscc_check_char(first17)


def regions() -> dict[str, Region]:
    city = Region.objects.get_or_create(code="210800", defaults={"name": "营口市", "level": "city"})[0]
    out = {"营口市": city}
    for code, name, level in REGIONS[1:]:
        out[name] = Region.objects.get_or_create(code=code, defaults={"name": name, "level": level, "parent": city})[0]
    return out


def department(name: str | None = None, region: Region | None = None, **extra) -> Department:
    region = region or regions()["营口市"]
    name = name or f"测试部门{next(_counter)}"
    return Department.objects.create(
        name=name,
        short_name=extra.pop("short_name", name[:6]),
        credit_code=extra.pop("credit_code", credit_code(region.code)),
        region=region,
        kind=extra.pop("kind", DepartmentKind.GOVERNMENT),
        **extra,
    )


@functools.lru_cache(maxsize=1)
def password_hash() -> str:
    """One real Argon2 hash of PASSWORD, reused: hashing per user would dominate test time."""
    return make_password(PASSWORD)


def user(role: str, department: Department | None = None, region: Region | None = None, **extra) -> User:
    u = User.objects.create(
        username=extra.pop("username", f"{role}-{next(_counter)}"),
        password=password_hash(),
        department=department,
        full_name=extra.pop("full_name", "测试用户"),
        **extra,
    )
    RoleAssignment.objects.create(user=u, role=role, region=region if role == Role.REGION_ADMIN else None)
    return u


def actor(u: User | None) -> Actor:
    return Actor(user=u, ip="127.0.0.1")


@dataclass
class Wire:
    """What crossed one PostgreSQL connection (``wire``): the text of each query the client
    sent, and the round trips — the server's ready-for-query answers, one per exchange."""

    queries: list[str] = field(default_factory=list)
    round_trips: int = 0


@contextlib.contextmanager
def wire(connection) -> Iterator[Wire]:
    """libpq's protocol trace of Django's ``connection`` (PostgreSQL) while the block runs:
    every exchange, including what Django's query log leaves out (the driver's BEGIN and
    COMMIT, the connection health check). The connection must be open."""
    seen = Wire()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile() as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            yield seen
        finally:
            pgconn.untrace()
            trace.seek(0)
            _read_trace(trace.read().decode("utf-8", errors="replace"), seen)


_MESSAGE = re.compile(r"^([FB])\t\d+\t(\w+)\t ?(.*)$")


def _read_trace(text: str, seen: Wire) -> None:
    """One message a line (``F|B, length, type, contents``); a query's text keeps its line
    breaks, so a line that starts no message goes on the one before."""
    query = None
    for line in text.splitlines():
        message = _MESSAGE.match(line)
        if message is None:
            if query is not None:
                query.append(line)
            continue
        if query is not None:
            seen.queries.append("\n".join(query).strip().removeprefix('"').removesuffix('"'))
            query = None
        sender, kind, contents = message.groups()
        if sender == "F" and kind == "Query":
            query = [contents]
        elif sender == "B" and kind == "ReadyForQuery":
            seen.round_trips += 1
    if query is not None:
        seen.queries.append("\n".join(query).strip().removeprefix('"').removesuffix('"'))


def end_session(backend_pid: int) -> None:
    """End a PostgreSQL session from another one (a thread of its own, so another connection),
    as a database restart would."""

    def terminate() -> None:
        try:
            with default_connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
        finally:
            default_connection.close()

    thread = threading.Thread(target=terminate)
    thread.start()
    thread.join()
