"""Organisation services: who may do what (R-5.1, R-6.1, R-6.2), what a department is
(R-3.2, R-39.1), contacts filed with history and staleness (R-7.1), information systems
(R-9.1), people, lockout and notifications. Every audited service writes exactly one event."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from govdata import testing as t
from govdata.audit.chain import verify_chain
from govdata.audit.models import AuditEvent
from govdata.common.clock import SHANGHAI
from govdata.common.validators import uscc_check_char
from govdata.notifications.models import Notification
from govdata.notifications.selectors import can_read, inbox_of
from govdata.notifications.services import notify
from govdata.orgs import selectors, services
from govdata.orgs.models import (
    Contact,
    ContactChange,
    ContactRole,
    Department,
    DepartmentKind,
    InformationSystem,
    Role,
    RoleAssignment,
    Sector,
    User,
)
from govdata.testing import PASSWORD, actor


def events(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


def only_event(action: str) -> AuditEvent:
    """The single event of ``action``: exactly one must exist."""
    matching = list(AuditEvent.objects.filter(action=action))
    assert len(matching) == 1, f"{action}: {len(matching)} events"
    return matching[0]


def counts() -> dict[str, int]:
    return {
        "contacts": Contact.objects.count(),
        "changes": ContactChange.objects.count(),
        "events": AuditEvent.objects.count(),
        "notifications": Notification.objects.count(),
        "departments": Department.objects.count(),
        "systems": InformationSystem.objects.count(),
        "users": User.objects.count(),
    }


def code(prefix: str, division: str, serial: str) -> str:
    """A valid credit code from the registration prefix (11 机关, 12 事业单位, 51 社会团体,
    91 企业), the division and a 9-character organisation code."""
    first17 = f"{prefix}{division}{serial}"
    return first17 + uscc_check_char(first17)


def contact_values(**extra) -> dict:
    values = {"role": ContactRole.LEADER, "name": "李强", "post": "副局长", "mobile": "13800000001"}
    return {**values, **extra}


def file(yk, department: Department, by=None, **extra) -> Contact:
    return services.file_contact(actor(by or yk.bureau), department, **contact_values(**extra))


# --- role scopes (R-5.1, R-6.1, R-6.2) -----------------------------------------------------

CREATE_DEPARTMENT = [
    ("bureau", "营口市", True),
    ("bureau", "盖州市", True),
    ("bureau", "大石桥市", True),
    ("gz_admin", "盖州市", True),
    ("gz_admin", "营口市", False),
    ("gz_admin", "大石桥市", False),
    ("police_admin", "营口市", False),
    ("police_staff", "营口市", False),
    ("police_security", "营口市", False),
    ("evaluator", "营口市", False),
    ("evaluator", "盖州市", False),
]


@pytest.mark.req("R-5.1")
@pytest.mark.req("R-6.1")
@pytest.mark.parametrize(("who", "region", "allowed"), CREATE_DEPARTMENT)
def test_create_department_scope(yk, clock, who, region, allowed):
    region = yk.regions[region]
    before = counts()
    values = {"name": f"{region.name}测试局", "credit_code": t.credit_code(region.code), "region": region}
    if not allowed:
        with pytest.raises(PermissionDenied):
            services.create_department(actor(getattr(yk, who)), **values)
        assert counts() == before
        return
    department = services.create_department(actor(getattr(yk, who)), **values)
    assert department.pk and department.region == region
    event = only_event("orgs.department.create")
    assert event.object_id == str(department.pk)
    assert event.department_id == department.pk and event.region_id == region.pk
    assert event.actor_label == getattr(yk, who).username


EDIT_DEPARTMENT = [
    ("bureau", "police", True),
    ("bureau", "gz_health", True),
    ("gz_admin", "gz_health", True),
    ("gz_admin", "police", False),
    ("police_admin", "police", False),
    ("police_admin", "civil", False),
    ("gz_health_admin", "gz_health", False),
    ("evaluator", "police", False),
    ("evaluator", "gz_health", False),
]


@pytest.mark.req("R-5.1")
@pytest.mark.req("R-6.1")
@pytest.mark.parametrize(("who", "department", "allowed"), EDIT_DEPARTMENT)
def test_edit_department_scope(yk, clock, who, department, allowed):
    department = getattr(yk, department)
    old_name, old_short_name = department.name, department.short_name
    if not allowed:
        with pytest.raises(PermissionDenied):
            services.update_department(actor(getattr(yk, who)), department, short_name="改名")
        department.refresh_from_db()
        assert department.short_name != "改名"
        assert events("orgs.department.update") == 0
        return
    services.update_department(actor(getattr(yk, who)), department, short_name="改名")
    department.refresh_from_db()
    assert department.short_name == "改名" and department.name == old_name
    event = only_event("orgs.department.update")
    assert event.details == {"short_name": {"old": old_short_name, "new": "改名"}}
    # Saving the same values again changes nothing and records nothing.
    services.update_department(actor(getattr(yk, who)), department, short_name="改名")
    assert events("orgs.department.update") == 1


@pytest.mark.req("R-5.1")
@pytest.mark.req("R-6.1")
def test_region_admin_cannot_move_a_department_out_of_their_region(yk, clock):
    with pytest.raises(PermissionDenied):
        services.update_department(actor(yk.gz_admin), yk.gz_health, region=yk.city)
    with pytest.raises(PermissionDenied):
        services.update_department(actor(yk.gz_admin), yk.gz_health, region=yk.regions["大石桥市"])
    yk.gz_health.refresh_from_db()
    assert yk.gz_health.region == yk.gaizhou
    assert events("orgs.department.update") == 0
    # Nor pull a city department into their region.
    with pytest.raises(PermissionDenied):
        services.update_department(actor(yk.gz_admin), yk.police, region=yk.gaizhou)
    # The bureau can move it.
    services.update_department(actor(yk.bureau), yk.gz_health, region=yk.regions["大石桥市"])
    yk.gz_health.refresh_from_db()
    event = only_event("orgs.department.update")
    assert yk.gz_health.region.name == "大石桥市"
    assert event.details == {"region": {"old": yk.gaizhou.pk, "new": yk.regions["大石桥市"].pk}}
    # ... after which the Gaizhou admin no longer oversees it.
    with pytest.raises(PermissionDenied):
        services.update_department(actor(yk.gz_admin), yk.gz_health, short_name="x")


# Contacts and systems: the department's own admin and its overseers; nobody else.
RECORDS = [
    ("police_admin", "police", True),
    ("police_admin", "civil", False),
    ("police_admin", "gz_health", False),
    ("police_staff", "police", False),
    ("police_security", "police", False),
    ("civil_admin", "police", False),
    ("gz_health_admin", "gz_health", True),
    ("gz_admin", "gz_health", True),
    ("gz_admin", "police", False),
    ("bureau", "police", True),
    ("bureau", "gz_health", True),
    ("evaluator", "police", False),
    ("evaluator", "gz_health", False),
]


@pytest.mark.req("R-6.2")
@pytest.mark.req("R-5.1")
@pytest.mark.req("R-7.1")
@pytest.mark.parametrize(("who", "department", "allowed"), RECORDS)
def test_contact_and_system_scope(yk, clock, who, department, allowed):
    user, department = getattr(yk, who), getattr(yk, department)
    a = actor(user)
    if not allowed:
        existing = file(yk, department, by=yk.bureau)
        system = services.register_system(
            actor(yk.bureau), department, name="既有系统", owner="信息科", status="existing"
        )
        before = counts()
        attempts = [
            lambda: services.file_contact(a, department, **contact_values(role=ContactRole.STAFF)),
            lambda: services.update_contact(a, existing, post="局长"),
            lambda: services.confirm_contact(a, existing),
            lambda: services.confirm_all_contacts(a, department),
            lambda: services.remove_contact(a, existing),
            lambda: services.register_system(a, department, name="新系统", owner="信息科", status="new"),
            lambda: services.update_system(a, system, connected=True),
        ]
        for attempt in attempts:
            with pytest.raises(PermissionDenied):
                attempt()
        assert counts() == before
        existing.refresh_from_db()
        assert existing.is_active and existing.post == "副局长"
        return

    contact = services.file_contact(a, department, **contact_values())
    assert only_event("orgs.contact.created").object_id == str(contact.pk)
    services.update_contact(a, contact, post="局长")
    assert only_event("orgs.contact.updated").details == {"old": {"post": "副局长"}, "new": {"post": "局长"}}
    services.confirm_contact(a, contact)
    only_event("orgs.contact.confirmed")
    services.remove_contact(a, contact)
    only_event("orgs.contact.removed")
    assert not Contact.objects.get(pk=contact.pk).is_active
    system = services.register_system(a, department, name="人口信息系统", owner="信息科", status="existing")
    only_event("orgs.system.register")
    services.update_system(a, system, connected=True)
    only_event("orgs.system.update")
    for event in AuditEvent.objects.filter(action__startswith="orgs."):
        assert event.department_id == department.pk and event.region_id == department.region_id
        assert event.actor_label == user.username
    assert verify_chain().ok


@pytest.mark.req("R-6.1")
def test_evaluator_cannot_write_anything(yk, clock):
    a = actor(yk.evaluator)
    contact = file(yk, yk.police)
    before = counts()
    attempts = [
        lambda: services.create_department(a, name="某局", credit_code=t.credit_code(), region=yk.city),
        lambda: services.update_department(a, yk.police, short_name="x"),
        lambda: services.file_contact(a, yk.police, **contact_values()),
        lambda: services.update_contact(a, contact, post="x"),
        lambda: services.confirm_contact(a, contact),
        lambda: services.remove_contact(a, contact),
        lambda: services.register_system(a, yk.police, name="系统", owner="科", status="new"),
        lambda: services.create_user(
            a, username="e1", password=PASSWORD, full_name="某", department=yk.police, role=Role.DEPARTMENT_STAFF
        ),
        lambda: services.grant_role(a, yk.police_staff, Role.DEPARTMENT_ADMIN),
        lambda: services.revoke_role(a, yk.police_staff, Role.DEPARTMENT_STAFF),
        lambda: services.set_user_active(a, yk.police_staff, False),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    assert counts() == before


# --- people and roles ----------------------------------------------------------------------

CREATE_USER = [
    # (who, role, department, region, allowed)
    ("police_admin", Role.DEPARTMENT_STAFF, "police", None, True),
    ("police_admin", Role.SECURITY_OFFICER, "police", None, True),
    ("police_admin", Role.DEPARTMENT_STAFF, "civil", None, False),
    ("police_admin", Role.DEPARTMENT_STAFF, "gz_health", None, False),
    ("police_admin", Role.REGION_ADMIN, None, "盖州市", False),
    ("police_admin", Role.REGION_ADMIN, "police", "营口市", False),
    ("police_admin", Role.BUREAU_ADMIN, "police", None, False),
    ("police_admin", Role.EVALUATOR, None, None, False),
    ("police_staff", Role.DEPARTMENT_STAFF, "police", None, False),
    ("police_security", Role.DEPARTMENT_STAFF, "police", None, False),
    ("gz_admin", Role.DEPARTMENT_STAFF, "gz_health", None, True),
    ("gz_admin", Role.DEPARTMENT_ADMIN, "gz_health", None, True),
    ("gz_admin", Role.DEPARTMENT_STAFF, "police", None, False),
    ("gz_admin", Role.REGION_ADMIN, None, "盖州市", False),
    ("gz_admin", Role.BUREAU_ADMIN, None, None, False),
    ("gz_health_admin", Role.DEPARTMENT_STAFF, "gz_health", None, True),
    ("bureau", Role.REGION_ADMIN, None, "大石桥市", True),
    ("bureau", Role.DEPARTMENT_ADMIN, "civil", None, True),
    ("bureau", Role.EVALUATOR, None, None, True),
    ("evaluator", Role.DEPARTMENT_STAFF, "police", None, False),
]


@pytest.mark.req("R-5.1")
@pytest.mark.req("R-6.1")
@pytest.mark.req("R-6.2")
@pytest.mark.parametrize(("who", "role", "department", "region", "allowed"), CREATE_USER)
def test_create_user_scope(yk, clock, who, role, department, region, allowed):
    department = getattr(yk, department) if department else None
    region = yk.regions[region] if region else None
    before = counts()
    call = lambda: services.create_user(  # noqa: E731
        actor(getattr(yk, who)),
        username="new-user",
        password=PASSWORD,
        full_name="新用户",
        department=department,
        role=role,
        region=region,
    )
    if not allowed:
        with pytest.raises(PermissionDenied):
            call()
        assert counts() == before
        return
    user = call()
    assert user.department == department and user.is_active
    assert user.password.startswith("argon2") and user.check_password(PASSWORD)
    assignment = RoleAssignment.objects.get(user=user)
    assert assignment.role == role
    assert assignment.region == (region if role == Role.REGION_ADMIN else None)
    event = only_event("orgs.user.create")
    assert event.details["role"] == role and event.details["username"] == "new-user"
    assert event.object_id == str(user.pk)


def test_create_user_checks_scope_password_and_unique_name(yk, clock):
    bureau = actor(yk.bureau)
    with pytest.raises(ValidationError) as exc:
        services.create_user(bureau, username="x1", password=PASSWORD, full_name="某", role=Role.DEPARTMENT_STAFF)
    assert "department" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.create_user(bureau, username="x2", password=PASSWORD, full_name="某", role=Role.REGION_ADMIN)
    assert "region" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.create_user(
            bureau, username="x3", password="12345", full_name="某", department=yk.police, role=Role.DEPARTMENT_STAFF
        )
    assert "password" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.create_user(
            bureau, username="police-staff", password=PASSWORD, full_name="某", department=yk.police,
            role=Role.DEPARTMENT_STAFF,
        )
    assert "username" in exc.value.message_dict
    assert events("orgs.user.create") == 0


SET_ACTIVE = [
    ("police_admin", "police_staff", True),
    ("police_admin", "police_security", True),
    ("police_admin", "police_admin", False),  # never oneself
    ("police_admin", "civil_admin", False),
    ("police_admin", "gz_admin", False),
    ("police_admin", "bureau", False),
    ("police_staff", "police_staff", False),
    ("police_staff", "police_admin", False),
    ("gz_admin", "gz_health_admin", True),
    ("gz_admin", "gz_admin", False),
    ("gz_admin", "police_staff", False),
    ("bureau", "police_admin", True),
    ("bureau", "gz_admin", True),
    ("bureau", "bureau", False),
    ("evaluator", "police_staff", False),
]


@pytest.mark.req("R-5.1")
@pytest.mark.req("R-6.1")
@pytest.mark.parametrize(("who", "target", "allowed"), SET_ACTIVE)
def test_set_user_active_scope(yk, clock, who, target, allowed):
    target = getattr(yk, target)
    if not allowed:
        with pytest.raises(PermissionDenied):
            services.set_user_active(actor(getattr(yk, who)), target, False)
        target.refresh_from_db()
        assert target.is_active and events("orgs.user.deactivate") == 0
        return
    services.set_user_active(actor(getattr(yk, who)), target, False)
    target.refresh_from_db()
    assert not target.is_active
    assert only_event("orgs.user.deactivate").object_id == str(target.pk)
    services.set_user_active(actor(getattr(yk, who)), target, True)
    target.refresh_from_db()
    assert target.is_active
    only_event("orgs.user.activate")


@pytest.mark.req("R-6.1")
def test_department_admin_cannot_reactivate_a_deactivated_higher_role_in_their_department(yk, clock):
    """A deactivated account has no effective roles, but it keeps its role assignments: the
    bureau admin seated in the police department must stay out of the police admin's reach."""
    chief = t.user(Role.BUREAU_ADMIN, yk.police, username="seconded-bureau-admin")
    region_admin = t.user(Role.REGION_ADMIN, yk.police, region=yk.gaizhou, username="seconded-region-admin")
    for target in (chief, region_admin):
        with pytest.raises(PermissionDenied):
            services.set_user_active(actor(yk.police_admin), target, False)
        services.set_user_active(actor(yk.bureau), target, False)
        target.refresh_from_db()
        with pytest.raises(PermissionDenied):
            services.set_user_active(actor(yk.police_admin), target, True)
        target.refresh_from_db()
        assert not target.is_active
    assert events("orgs.user.activate") == 0


def test_grant_and_revoke_roles_are_audited_and_scoped(yk, clock):
    services.grant_role(actor(yk.police_admin), yk.police_staff, Role.SECURITY_OFFICER)
    only_event("orgs.role.grant")
    # Granting what the user already holds records nothing.
    services.grant_role(actor(yk.police_admin), yk.police_staff, Role.SECURITY_OFFICER)
    assert events("orgs.role.grant") == 1
    with pytest.raises(PermissionDenied):
        services.grant_role(actor(yk.police_admin), yk.police_staff, Role.BUREAU_ADMIN)
    with pytest.raises(PermissionDenied):
        services.grant_role(actor(yk.civil_admin), yk.police_staff, Role.DEPARTMENT_ADMIN)
    services.revoke_role(actor(yk.police_admin), yk.police_staff, Role.SECURITY_OFFICER)
    only_event("orgs.role.revoke")
    assert list(yk.police_staff.roles.values_list("role", flat=True)) == [Role.DEPARTMENT_STAFF]
    with pytest.raises(PermissionDenied):
        services.revoke_role(actor(yk.police_admin), yk.gz_admin, Role.REGION_ADMIN)


# --- what a department is (R-3.2, R-39.1) --------------------------------------------------


@pytest.mark.req("R-3.2")
def test_invalid_credit_code_is_a_field_error_and_nothing_is_saved(yk, clock):
    good = t.credit_code()
    wrong = good[:17] + next(c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != good[17])
    before = counts()
    for bad in (wrong, good[:17], good[:16] + "I" + good[17]):
        with pytest.raises(ValidationError) as exc:
            services.create_department(actor(yk.bureau), name="营口市某局", credit_code=bad, region=yk.city)
        assert "credit_code" in exc.value.message_dict
    assert counts() == before
    # A duplicate code is refused too.
    with pytest.raises(ValidationError) as exc:
        services.create_department(actor(yk.bureau), name="营口市某局", credit_code=yk.police.credit_code, region=yk.city)
    assert "credit_code" in exc.value.message_dict
    # Lower case and spaces are normalised.
    department = services.create_department(
        actor(yk.bureau), name=" 营口市某局 ", credit_code=f" {good.lower()} ", region=yk.city
    )
    assert department.credit_code == good and department.name == "营口市某局"
    # The audit trail holds the code as saved, so it can be searched for.
    details = only_event("orgs.department.create").details
    assert details["credit_code"] == good and details["name"] == "营口市某局"
    with pytest.raises(ValidationError) as exc:
        services.update_department(actor(yk.bureau), department, credit_code=wrong)
    assert "credit_code" in exc.value.message_dict
    department.refresh_from_db()
    assert department.credit_code == good
    assert events("orgs.department.update") == 0


def test_department_needs_a_region_and_only_known_fields(yk, clock):
    with pytest.raises(ValidationError) as exc:
        services.create_department(actor(yk.bureau), name="某局", credit_code=t.credit_code())
    assert "region" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.update_department(actor(yk.bureau), yk.police, created_at=dt.datetime(2020, 1, 1, tzinfo=SHANGHAI))
    assert "created_at" in exc.value.message_dict


@pytest.mark.req("R-39.1")
@pytest.mark.req("R-3.2")
def test_public_enterprise_must_state_its_sector_and_nobody_else_has_one(yk, clock):
    values = {"name": "营口市自来水公司", "short_name": "市自来水", "region": yk.city}
    before = counts()
    with pytest.raises(ValidationError) as exc:
        services.create_department(
            actor(yk.bureau),
            credit_code=code("91", "210800", "MA0QWATER"),
            kind=DepartmentKind.PUBLIC_ENTERPRISE,
            **values,
        )
    assert "sector" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.create_department(
            actor(yk.bureau), name="营口市某局", credit_code=t.credit_code(), region=yk.city, sector=Sector.WATER
        )
    assert "sector" in exc.value.message_dict
    assert counts() == before

    water = services.create_department(
        actor(yk.bureau),
        credit_code=code("91", "210800", "MA0QWATER"),
        kind=DepartmentKind.PUBLIC_ENTERPRISE,
        sector=Sector.WATER,
        **values,
    )
    water.refresh_from_db()
    assert water.kind == DepartmentKind.PUBLIC_ENTERPRISE and water.sector == "water"
    assert str(water.get_sector_display()) in ("Water supply", "供水")
    assert only_event("orgs.department.create").details["sector"] == "water"
    # Turning it into a government department while it keeps the sector is refused.
    with pytest.raises(ValidationError) as exc:
        services.update_department(actor(yk.bureau), water, kind=DepartmentKind.GOVERNMENT)
    assert "sector" in exc.value.message_dict


@pytest.mark.req("R-39.1")
@pytest.mark.req("R-3.2")
@pytest.mark.parametrize(
    ("name", "short_name", "prefix", "serial", "kind"),
    [
        ("国家税务总局营口市税务局", "市税务局", "11", "00MB1234X", DepartmentKind.UPPER_LEVEL_UNIT),
        ("营口市公共资源交易中心", "市交易中心", "12", "00MB0012P", DepartmentKind.AUTHORISED_INSTITUTION),
        ("营口市消费者协会", "市消协", "51", "00MJ0001R", DepartmentKind.SOCIAL_ORGANISATION),
        ("营口市民政局婚姻登记处", "婚姻登记处", "11", "00MB0099K", DepartmentKind.GOVERNMENT),
    ],
)
def test_department_kinds_are_recorded(yk, clock, name, short_name, prefix, serial, kind):
    department = services.create_department(
        actor(yk.bureau),
        name=name,
        short_name=short_name,
        credit_code=code(prefix, "210800", serial),
        region=yk.city,
        kind=kind,
    )
    department.refresh_from_db()
    assert department.kind == kind and department.sector == ""
    assert only_event("orgs.department.create").details["kind"] == kind


# --- contacts (R-7.1) ----------------------------------------------------------------------


@pytest.mark.req("R-7.1")
def test_every_contact_change_is_filed_with_who_when_and_old_values(yk, clock):
    a = actor(yk.police_admin)
    contact = services.file_contact(a, yk.police, **contact_values(office_phone="0417-2800001"))
    created = contact.changes.get()
    assert created.kind == ContactChange.Kind.CREATED
    assert created.changed_by == yk.police_admin and created.changed_at == clock.now()
    assert created.old_values == {}
    assert created.new_values == {
        "role": "leader", "name": "李强", "post": "副局长", "mobile": "13800000001",
        "office_phone": "0417-2800001", "email": "",
    }

    clock.advance(days=10)
    services.update_contact(a, contact, mobile="13900000009", post=" 局长 ", name="李强")
    updated = contact.changes.filter(kind=ContactChange.Kind.UPDATED).get()
    assert updated.changed_by == yk.police_admin and updated.changed_at == clock.now()
    assert updated.old_values == {"mobile": "13800000001", "post": "副局长"}
    assert updated.new_values == {"mobile": "13900000009", "post": "局长"}
    contact.refresh_from_db()
    assert contact.mobile == "13900000009" and contact.post == "局长"
    assert contact.confirmed_at == clock.now()  # a filed change confirms the record
    event = only_event("orgs.contact.updated")
    assert event.details["old"] == {"mobile": "13800000001", "post": "副局长"}

    clock.advance(days=10)
    services.confirm_contact(actor(yk.bureau), contact)
    confirmed = contact.changes.filter(kind=ContactChange.Kind.CONFIRMED).get()
    assert confirmed.changed_by == yk.bureau and confirmed.changed_at == clock.now()

    clock.advance(days=10)
    services.remove_contact(a, contact)
    removed = contact.changes.filter(kind=ContactChange.Kind.REMOVED).get()
    assert removed.old_values["mobile"] == "13900000009" and removed.new_values == {}
    assert [c.kind for c in selectors.contact_history(contact)] == ["removed", "confirmed", "updated", "created"]
    for kind in ("created", "updated", "confirmed", "removed"):
        only_event(f"orgs.contact.{kind}")

    # A removed contact cannot be changed or confirmed again.
    before = counts()
    for attempt in (
        lambda: services.update_contact(a, contact, post="x"),
        lambda: services.confirm_contact(a, contact),
        lambda: services.remove_contact(a, contact),
    ):
        with pytest.raises(ValidationError):
            attempt()
    assert counts() == before


@pytest.mark.req("R-7.1")
def test_update_without_a_real_change_files_nothing(yk, clock):
    contact = file(yk, yk.police, by=yk.police_admin)
    confirmed_at = contact.confirmed_at
    before = counts()
    clock.advance(days=5)
    services.update_contact(actor(yk.police_admin), contact, name=" 李强 ", post="副局长", mobile="13800000001")
    services.update_contact(actor(yk.police_admin), contact)
    assert counts() == before
    contact.refresh_from_db()
    assert contact.confirmed_at == confirmed_at


@pytest.mark.req("R-7.1")
def test_bad_mobile_is_a_field_error_and_nothing_is_saved(yk, clock):
    before = counts()
    for bad in ("1380000000", "23800000001", "138-0000-0001", "１３８００００００01"):
        with pytest.raises(ValidationError) as exc:
            services.file_contact(actor(yk.police_admin), yk.police, **contact_values(mobile=bad))
        assert "mobile" in exc.value.message_dict
    assert counts() == before

    contact = file(yk, yk.police, by=yk.police_admin)
    before = counts()
    with pytest.raises(ValidationError) as exc:
        services.update_contact(actor(yk.police_admin), contact, mobile="12345", post="局长")
    assert "mobile" in exc.value.message_dict
    assert counts() == before
    contact.refresh_from_db()
    assert contact.mobile == "13800000001" and contact.post == "副局长"


@pytest.mark.req("R-7.1")
def test_contact_is_stale_after_more_than_one_quarter_and_confirming_resets(yk, clock):
    clock.set(dt.datetime(2026, 1, 15, 9, 30, tzinfo=SHANGHAI))
    contact = file(yk, yk.police, by=yk.police_admin)
    reloaded = Contact.objects.get(pk=contact.pk)
    for c in (contact, reloaded):  # the same answer fresh from the service or from the database
        assert not selectors.is_stale(c, dt.datetime(2026, 4, 15, 0, 0, tzinfo=SHANGHAI))
        assert not selectors.is_stale(c, dt.datetime(2026, 4, 15, 18, 0, tzinfo=SHANGHAI))
        assert not selectors.is_stale(c, dt.datetime(2026, 4, 15, 23, 59, 59, tzinfo=SHANGHAI))
        assert selectors.is_stale(c, dt.datetime(2026, 4, 16, 0, 0, 0, tzinfo=SHANGHAI))
        assert selectors.is_stale(c, dt.datetime(2026, 4, 16, 10, 0, tzinfo=SHANGHAI))
        assert selectors.stale_since(c).astimezone(SHANGHAI).date() == dt.date(2026, 4, 15)

    clock.set(dt.datetime(2026, 4, 15, 17, 0, tzinfo=SHANGHAI))
    assert not selectors.is_stale(reloaded)
    clock.set(dt.datetime(2026, 4, 16, 8, 0, tzinfo=SHANGHAI))
    assert selectors.is_stale(reloaded)
    services.confirm_contact(actor(yk.police_admin), reloaded)
    reloaded.refresh_from_db()
    assert not selectors.is_stale(reloaded)
    assert selectors.stale_since(reloaded).astimezone(SHANGHAI).date() == dt.date(2026, 7, 16)


@pytest.mark.req("R-7.1")
def test_staleness_counts_months_on_the_shanghai_calendar(yk, clock):
    # 07:00 on 1-31 in Shanghai is still 1-30 in UTC; one quarter later is 4-30 (the end of
    # April), not 5-1 as month arithmetic on the UTC value would give.
    clock.set(dt.datetime(2026, 1, 31, 7, 0, tzinfo=SHANGHAI))
    contact = Contact.objects.get(pk=file(yk, yk.police).pk)
    assert selectors.stale_since(contact).astimezone(SHANGHAI).date() == dt.date(2026, 4, 30)
    assert not selectors.is_stale(contact, dt.datetime(2026, 4, 30, 23, 0, tzinfo=SHANGHAI))
    assert selectors.is_stale(contact, dt.datetime(2026, 5, 1, 6, 0, tzinfo=SHANGHAI))


@pytest.mark.req("R-7.1")
@pytest.mark.req("R-5.1")
def test_contact_status_lists_missing_and_stale_contacts_in_scope(yk, clock):
    clock.set(dt.datetime(2026, 1, 15, 9, 0, tzinfo=SHANGHAI))
    file(yk, yk.bureau_dept, role=ContactRole.LEADER, name="王局")
    file(yk, yk.bureau_dept, role=ContactRole.STAFF, name="张三", mobile="13800000002")
    clock.set(dt.datetime(2026, 4, 20, 9, 0, tzinfo=SHANGHAI))
    file(yk, yk.police, role=ContactRole.LEADER, name="李强")
    file(yk, yk.police, role=ContactRole.STAFF, name="赵敏", mobile="13800000003")
    file(yk, yk.civil, role=ContactRole.LEADER, name="吴刚")
    file(yk, yk.civil, role=ContactRole.TEAM, name="郑丽", mobile="13800000004")  # a team member is not staff
    removed = file(yk, yk.gz_health, role=ContactRole.LEADER, name="冯军")
    services.remove_contact(actor(yk.bureau), removed)

    def by_name(user):
        return {s.department.name: s for s in selectors.contact_status(user)}

    status = by_name(yk.bureau)
    assert set(status) == {"营口市大数据管理局", "营口市公安局", "营口市民政局", "盖州市卫生健康局"}
    assert status["营口市公安局"].missing_roles == [] and status["营口市公安局"].stale == []
    assert not status["营口市公安局"].needs_attention
    assert status["营口市民政局"].missing_roles == [ContactRole.STAFF]
    assert status["盖州市卫生健康局"].missing_roles == [ContactRole.LEADER, ContactRole.STAFF]
    assert status["盖州市卫生健康局"].active_count == 0
    bureau_dept = status["营口市大数据管理局"]
    assert bureau_dept.missing_roles == [] and sorted(c.name for c in bureau_dept.stale) == ["张三", "王局"]
    assert bureau_dept.needs_attention
    assert set(by_name(yk.evaluator)) == set(status)
    # The Gaizhou admin sees Gaizhou only; a department admin their own department.
    assert set(by_name(yk.gz_admin)) == {"盖州市卫生健康局"}
    assert set(by_name(yk.police_admin)) == {"营口市公安局"}
    # Confirming everything clears the stale flags.
    assert services.confirm_all_contacts(actor(yk.bureau), yk.bureau_dept) == 2
    assert events("orgs.contact.confirmed") == 2
    assert not by_name(yk.bureau)["营口市大数据管理局"].needs_attention


# --- notifications -------------------------------------------------------------------------


def notified(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user, category="orgs.contact").values_list("subject", flat=True))


@pytest.mark.req("R-7.1")
@pytest.mark.req("R-6.1")
def test_filing_a_contact_notifies_the_overseers_but_not_the_actor(yk, clock):
    file(yk, yk.police, by=yk.police_admin)
    assert len(notified(yk.bureau)) == 1 and "营口市公安局" in notified(yk.bureau)[0]
    assert notified(yk.gz_admin) == [] and notified(yk.police_admin) == []

    Notification.objects.all().delete()
    file(yk, yk.gz_health, by=yk.gz_health_admin)
    assert len(notified(yk.bureau)) == 1 and len(notified(yk.gz_admin)) == 1
    assert notified(yk.gz_health_admin) == []

    Notification.objects.all().delete()
    contact = file(yk, yk.gz_health, by=yk.gz_admin)
    assert len(notified(yk.bureau)) == 1 and notified(yk.gz_admin) == []

    Notification.objects.all().delete()
    services.update_contact(actor(yk.bureau), contact, post="局长")
    assert notified(yk.bureau) == [] and len(notified(yk.gz_admin)) == 1

    # Confirming is not news; an inactive overseer is not told.
    Notification.objects.all().delete()
    services.confirm_contact(actor(yk.gz_health_admin), contact)
    assert not Notification.objects.exists()
    services.set_user_active(actor(yk.bureau), yk.gz_admin, False)
    services.remove_contact(actor(yk.gz_health_admin), contact)
    assert len(notified(yk.bureau)) == 1 and notified(yk.gz_admin) == []


def test_department_notifications_reach_only_that_departments_members(yk, clock):
    note = notify(subject="新的共享申请", category="test", departments=[yk.police])[0]
    personal = notify(subject="个人消息", category="test", users=[yk.civil_admin])[0]
    for member in (yk.police_admin, yk.police_staff, yk.police_security):
        assert list(inbox_of(member)) == [note]
        assert can_read(member, note)
    for outsider in (yk.civil_admin, yk.bureau, yk.gz_admin, yk.evaluator, yk.gz_health_admin):
        assert note not in inbox_of(outsider)
        assert not can_read(outsider, note)
    assert list(inbox_of(yk.civil_admin)) == [personal]
    assert not can_read(yk.police_admin, personal)
    # A member who is deactivated no longer reads the department's inbox.
    services.set_user_active(actor(yk.police_admin), yk.police_staff, False)
    yk.police_staff.refresh_from_db()
    assert note not in inbox_of(yk.police_staff)


# --- authentication ------------------------------------------------------------------------


@pytest.mark.req("R-34.3")
def test_lockout_after_max_failures_until_the_lock_expires(yk, clock):
    user = yk.police_staff
    assert user.password.startswith("argon2")
    start = clock.now()
    failures, lock_minutes = settings.LOGIN_MAX_FAILURES, settings.LOGIN_LOCK_MINUTES
    assert failures == 5

    def attempt(password: str) -> bool:
        before = AuditEvent.objects.count()
        try:
            services.authenticate("police-staff", password, ip="10.1.2.3")
            ok = True
        except services.LoginRefused:
            ok = False
        assert AuditEvent.objects.count() == before + 1  # every attempt is audited
        return ok

    for i in range(failures - 1):
        assert not attempt("wrong-password")
        user.refresh_from_db()
        assert user.failed_logins == i + 1 and user.locked_until is None
    assert events("auth.login.failed") == failures - 1
    assert not attempt("wrong-password")
    user.refresh_from_db()
    assert user.locked_until == start + dt.timedelta(minutes=lock_minutes)
    lockout = only_event("auth.lockout")
    assert lockout.object_id == str(user.pk) and lockout.client_ip == "10.1.2.3"

    # The right password is refused while locked ...
    assert not attempt(PASSWORD)
    clock.advance(minutes=lock_minutes - 1, seconds=59)
    assert not attempt(PASSWORD)
    assert events("auth.login.refused") == 2
    # ... and accepted once the lock has run out.
    clock.advance(seconds=1)
    assert attempt(PASSWORD)
    user.refresh_from_db()
    assert user.failed_logins == 0 and user.locked_until is None and user.last_login == clock.now()
    only_event("auth.login")
    assert verify_chain().ok


def test_successful_login_resets_the_failure_count(yk, clock):
    for _round in range(2):
        for _ in range(settings.LOGIN_MAX_FAILURES - 1):
            with pytest.raises(services.LoginRefused):
                services.authenticate("police-staff", "wrong-password")
        services.authenticate("police-staff", PASSWORD)
    assert events("auth.lockout") == 0 and events("auth.login") == 2


def test_only_failures_within_the_window_count_towards_a_lock(yk, clock):
    user = yk.police_staff
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        with pytest.raises(services.LoginRefused):
            services.authenticate("police-staff", "wrong-password")
    clock.advance(minutes=settings.LOGIN_LOCK_MINUTES, seconds=1)
    with pytest.raises(services.LoginRefused):
        services.authenticate("police-staff", "wrong-password")
    user.refresh_from_db()
    assert user.failed_logins == 1 and user.locked_until is None
    assert events("auth.lockout") == 0
    # Failures close together still lock.
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        clock.advance(minutes=1)
        with pytest.raises(services.LoginRefused):
            services.authenticate("police-staff", "wrong-password")
    only_event("auth.lockout")


def test_unknown_and_inactive_users_are_refused_and_audited(yk, clock):
    with pytest.raises(services.LoginRefused):
        services.authenticate("nobody", PASSWORD)
    event = only_event("auth.login.failed")
    assert event.actor_type == "anonymous" and event.details["username"] == "nobody"
    services.set_user_active(actor(yk.bureau), yk.civil_admin, False)
    with pytest.raises(services.LoginRefused):
        services.authenticate("civil-admin", PASSWORD)
    assert events("auth.login.failed") == 2 and events("auth.login") == 0


def test_passwords_are_argon2_hashes(yk, clock):
    user = services.create_user(
        actor(yk.bureau), username="hash-check", password="Another-pass-2026", full_name="某",
        department=yk.police, role=Role.DEPARTMENT_STAFF,
    )
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert "Another-pass-2026" not in user.password
    assert services.authenticate("hash-check", "Another-pass-2026") == user


# --- information systems (R-9.1) -----------------------------------------------------------


@pytest.mark.req("R-9.1")
def test_information_systems_are_registered_updated_and_audited(yk, clock):
    a = actor(yk.police_admin)
    system = services.register_system(
        a, yk.police, name=" 人口信息管理系统 ", owner="科技信息化支队", status=InformationSystem.Status.EXISTING
    )
    system.refresh_from_db()
    assert system.name == "人口信息管理系统" and system.department == yk.police and not system.connected
    event = only_event("orgs.system.register")
    assert event.object_id == str(system.pk) and event.details["name"] == "人口信息管理系统"

    services.update_system(a, system, connected=True, interface_notes="通过共享平台推送接口交换")
    event = only_event("orgs.system.update")
    assert event.details["connected"] == {"old": False, "new": True}
    services.update_system(a, system, connected=True)
    assert events("orgs.system.update") == 1  # no change, no event

    before = counts()
    with pytest.raises(ValidationError):
        services.register_system(a, yk.police, name="人口信息管理系统", owner="另一个科", status="new")
    with pytest.raises(ValidationError) as exc:
        services.register_system(a, yk.police, name="新系统", owner="科", status="planned")
    assert "status" in exc.value.message_dict
    assert counts() == before

    # The same name in another department is fine; renaming onto a taken name is not.
    other = services.register_system(actor(yk.civil_admin), yk.civil, name="人口信息管理系统", owner="信息科", status="new")
    assert other.pk != system.pk
    second = services.register_system(a, yk.police, name="警务综合平台", owner="指挥中心", status="new")
    with pytest.raises(ValidationError):
        services.update_system(a, second, name="人口信息管理系统")
    second.refresh_from_db()
    assert second.name == "警务综合平台"
    assert events("orgs.system.register") == 3 and events("orgs.system.update") == 1
    assert verify_chain().ok
