"""The Yingkou demo (``govdata demo``): idempotent, realistic, valid, and usable for every role."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from django.apps import apps
from django.db import transaction

from govdata.audit.chain import verify_chain
from govdata.audit.models import AuditEvent
from govdata.common.validators import mobile_problem, uscc_problem
from govdata.demo import load_demo
from govdata.demo import orgs as demo
from govdata.orgs import permissions as perm
from govdata.orgs import services
from govdata.orgs.models import (
    Contact,
    ContactChange,
    ContactRole,
    Department,
    DepartmentKind,
    InformationSystem,
    Region,
    Role,
    RoleAssignment,
    Sector,
    User,
)
from govdata.orgs.selectors import contact_status, departments_in_scope

README = Path(__file__).resolve().parents[1] / "README.md"
ORGS_TOTALS = ("regions", "departments", "contacts", "stale contacts", "information systems", "accounts")


@pytest.fixture(scope="module")
def demo_once(django_db_setup, django_db_blocker):
    """Load the demo once for the module (hashing eight passwords and appending a few hundred
    audit events takes seconds) inside a transaction rolled back at the end; each test runs
    in its own savepoint on top (the ``db`` fixture), so tests cannot disturb each other."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield load_demo()
        transaction.set_rollback(True)


@pytest.fixture
def loaded(demo_once, db):
    return demo_once


def row_counts() -> dict[str, int]:
    """Rows in every table of the project: idempotence means none of them grows."""
    return {model._meta.label: model._base_manager.count() for model in apps.get_models()}


@pytest.mark.req("R-3.2")
@pytest.mark.req("R-39.1")
@pytest.mark.req("R-5.1")
def test_loading_twice_adds_nothing(loaded):
    assert loaded["created now"] > 0
    before = row_counts()
    again = load_demo()
    assert row_counts() == before
    assert again["created now"] == 0
    assert {k: again[k] for k in ORGS_TOTALS} == {k: loaded[k] for k in ORGS_TOTALS}


@pytest.mark.req("R-5.1")
def test_one_city_with_its_county_level_units(loaded):
    regions = dict(Region.objects.values_list("code", "name"))
    assert regions == {
        "210800": "营口市",
        "210802": "站前区",
        "210803": "西市区",
        "210804": "鲅鱼圈区",
        "210811": "老边区",
        "210881": "盖州市",
        "210882": "大石桥市",
    }
    city = Region.objects.get(code="210800")
    assert set(Region.objects.exclude(pk=city.pk).values_list("parent", flat=True)) == {city.pk}
    assert Department.objects.filter(region=city).count() >= 30
    counties = Region.objects.filter(level=Region.Level.COUNTY, departments__isnull=False).distinct()
    assert counties.count() >= 2
    # Each county-level unit with departments has its own data office.
    for county in counties:
        assert county.departments.filter(name__endswith="政务数据资源管理中心").exists(), county


@pytest.mark.req("R-5.1")
def test_region_admin_sees_only_their_region_and_the_bureau_sees_all(loaded):
    gz_admin = User.objects.get(username="gz-admin")
    bureau = User.objects.get(username="bureau")
    gaizhou = Region.objects.get(code="210881")
    assert set(departments_in_scope(gz_admin)) == set(Department.objects.filter(region=gaizhou))
    assert departments_in_scope(bureau).count() == Department.objects.count()


@pytest.mark.req("R-3.2")
def test_department_kinds_are_recorded(loaded):
    kinds = Counter(Department.objects.values_list("kind", flat=True))
    assert kinds[DepartmentKind.GOVERNMENT] >= 25
    assert Department.objects.get(name="营口市住房公积金管理中心").kind == DepartmentKind.AUTHORISED_INSTITUTION
    assert Department.objects.get(name="营口市红十字会").kind == DepartmentKind.SOCIAL_ORGANISATION
    bureau = Department.objects.get(short_name="市大数据管理局")
    assert bureau.name == "营口市大数据管理局" and bureau.kind == DepartmentKind.GOVERNMENT
    # City departments carry the city's name in full and a short 市… name.
    for department in Department.objects.filter(region__code="210800", kind=DepartmentKind.GOVERNMENT):
        assert department.name.startswith("营口市") and department.short_name.startswith("市"), department


@pytest.mark.req("R-39.1")
def test_upper_level_units_and_public_enterprises_take_part(loaded):
    upper = set(Department.objects.filter(kind=DepartmentKind.UPPER_LEVEL_UNIT).values_list("name", flat=True))
    assert {"国家税务总局营口市税务局", "营口市气象局", "营口海关"} <= upper
    enterprises = Department.objects.filter(kind=DepartmentKind.PUBLIC_ENTERPRISE)
    sectors = dict(enterprises.values_list("name", "sector"))
    assert sectors["营口市水务集团"] == Sector.WATER
    assert sectors["国网营口供电公司"] == Sector.POWER
    assert sectors["营口港华燃气"] == Sector.GAS
    assert sectors["营口市热电集团"] == Sector.HEATING
    assert sectors["营口公交集团"] == Sector.PUBLIC_TRANSPORT
    assert sectors["营口市中心医院"] == Sector.HEALTH
    # Same records as any department: contacts filed and systems registered.
    for enterprise in enterprises:
        assert enterprise.contacts.filter(role=ContactRole.LEADER).exists(), enterprise
    assert InformationSystem.objects.filter(department__kind=DepartmentKind.PUBLIC_ENTERPRISE).exists()
    assert InformationSystem.objects.filter(department__kind=DepartmentKind.UPPER_LEVEL_UNIT).exists()


def test_every_credit_code_is_valid_and_fits_the_department(loaded):
    prefix = {
        DepartmentKind.GOVERNMENT: "11",
        DepartmentKind.UPPER_LEVEL_UNIT: "11",
        DepartmentKind.AUTHORISED_INSTITUTION: "12",
        DepartmentKind.SOCIAL_ORGANISATION: "51",
        DepartmentKind.PUBLIC_ENTERPRISE: "91",
    }
    departments = list(Department.objects.select_related("region"))
    assert len(departments) == len(demo.DEPARTMENTS)
    for department in departments:
        code = department.credit_code
        assert uscc_problem(code) is None, (department.name, code)
        assert code[:2] == prefix[department.kind], department.name
        assert code[2:8] == department.region.code, department.name
    # Stable: the generator gives the same code on every run.
    assert demo.credit_code(DepartmentKind.GOVERNMENT, "210800", "营口市公安局") == (
        Department.objects.get(name="营口市公安局").credit_code
    )


@pytest.mark.req("R-7.1")
def test_contacts_are_plausible_and_the_report_has_content(loaded):
    contacts = list(Contact.objects.select_related("department"))
    assert len(contacts) >= 2 * len(demo.DEPARTMENTS)
    for contact in contacts:
        assert mobile_problem(contact.mobile) is None, contact.mobile
        assert re.fullmatch(r"0417-\d{7}", contact.office_phone), contact.office_phone
        assert contact.email.endswith("@yingkou.gov.cn"), contact.email
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,3}", contact.name), contact.name
        assert contact.changes.filter(kind=ContactChange.Kind.CREATED).exists()
    assert len({c.name for c in contacts}) == len(contacts)
    assert all(Contact.objects.filter(department=d, role=ContactRole.LEADER).exists() for d in Department.objects.all())

    statuses = contact_status(User.objects.get(username="bureau"))
    missing_staff = [s.department.name for s in statuses if ContactRole.STAFF in s.missing_roles]
    assert 2 <= len(missing_staff) <= 3
    assert 3 <= sum(len(s.stale) for s in statuses) <= 8


@pytest.mark.req("R-9.1")
def test_information_systems_are_registered_for_many_departments(loaded):
    systems = InformationSystem.objects.all()
    assert systems.values("department").distinct().count() >= 15
    assert {s.status for s in systems} == {InformationSystem.Status.NEW, InformationSystem.Status.EXISTING}
    assert {s.connected for s in systems} == {True, False}
    assert systems.filter(name="人口信息管理系统", department__name="营口市公安局").exists()


def test_every_role_has_an_account_that_signs_in(loaded):
    held = dict(RoleAssignment.objects.values_list("role", "user__username"))
    assert set(held) == set(Role.values)
    for role, username in held.items():
        user = services.authenticate(username, demo.DEMO_PASSWORD, ip="127.0.0.1")
        assert user.username == username and perm.has_role(user, role)
    bureau = User.objects.get(username="bureau")
    assert bureau.department.name == "营口市大数据管理局"
    assert perm.can_use_admin_site(bureau)
    assert not any(u.is_superuser for u in User.objects.exclude(pk=bureau.pk))
    gz_admin = User.objects.get(username="gz-admin")
    assert gz_admin.department.name == "盖州市政务数据资源管理中心"
    assert perm.region_ids_of(gz_admin) == {Region.objects.get(code="210881").pk}
    assert User.objects.get(username="police-security").department.name == "营口市公安局"
    assert User.objects.get(username="hrss-admin").department.name == "营口市人力资源和社会保障局"
    assert User.objects.get(username="evaluator").department is None
    assert User.objects.get(username="citizen").department is None


def test_everything_went_through_the_services_and_the_audit_chain_is_intact(loaded):
    result = verify_chain()
    assert result.ok, result
    assert result.count == AuditEvent.objects.count()
    actions = Counter(AuditEvent.objects.values_list("action", flat=True))
    assert actions["orgs.department.create"] == Department.objects.count()
    assert actions["orgs.contact.created"] == Contact.objects.count()
    assert actions["orgs.system.register"] == InformationSystem.objects.count()
    assert actions["orgs.user.create"] == User.objects.count()
    assert set(AuditEvent.objects.values_list("actor_type", flat=True)) == {AuditEvent.ActorType.SYSTEM}


def test_readme_documents_the_demo_accounts():
    text = README.read_text(encoding="utf-8")
    assert demo.DEMO_PASSWORD in text
    for account in demo.ACCOUNTS:
        assert f"`{account.username}`" in text, account.username
