"""Test factories shared by every app's tests (real database rows, made through services
where a service exists)."""

from __future__ import annotations

import functools
import itertools

from django.contrib.auth.hashers import make_password

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
