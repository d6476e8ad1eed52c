"""Data demands (R-4.1): a consumer registers a need, the bureau routes it, the provider
answers with a catalog entry of its own or declines with a reason; the board is open to every
government user — role by role, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.common.fsm import IllegalTransition
from govdata.datastore.tests.conftest import published_entry
from govdata.notifications.models import Notification
from govdata.orgs.models import Role
from govdata.sharing import permissions as perm
from govdata.sharing import selectors
from govdata.sharing.models import Demand
from govdata.sharing.services import demands

pytestmark = pytest.mark.req("R-4.1")

NEED = {"title": "居民户籍信息", "description": "低保审核需核对申请人户籍和家庭成员", "purpose": "最低生活保障资格审核"}


def need(user, **overrides):
    return demands.raise_demand(t.actor(user), **{**NEED, **overrides})


@pytest.fixture
def routed(yk):
    return demands.route_demand(t.actor(yk.bureau), need(yk.civil_admin), yk.police)


def test_a_department_user_raises_a_demand_and_the_bureau_is_told(yk, clock):
    demand = need(yk.civil_admin)
    assert (demand.status, demand.consumer, demand.raised_by, demand.raised_at) == ("open", yk.civil, yk.civil_admin, clock.now())
    assert Notification.objects.filter(recipient=yk.bureau, category="sharing.demand").count() == 1
    assert AuditEvent.objects.get(action="sharing.demand.raise").department_id == yk.civil.pk
    staff = t.user(Role.DEPARTMENT_STAFF, yk.civil, username="civil-staff")
    assert need(staff, title="婚姻登记信息").consumer == yk.civil


def test_a_demand_says_what_is_needed_and_why(yk):
    with pytest.raises(ValidationError) as caught:
        need(yk.civil_admin, title=" ", description="", purpose=" ")
    assert set(caught.value.message_dict) == {"title", "description", "purpose"}
    with pytest.raises(ValidationError) as caught:
        need(yk.civil_admin, title="数" * 201)
    assert list(caught.value.message_dict) == ["title"]
    for user in (yk.bureau, yk.gz_admin, yk.evaluator, yk.police_security):
        with pytest.raises(PermissionDenied):
            need(user)
    assert not Demand.objects.exists()


def test_the_bureau_routes_a_demand_to_another_active_department(yk, clock):
    demand = need(yk.civil_admin)
    for user in (yk.police_admin, yk.civil_admin, yk.gz_admin, yk.evaluator):
        with pytest.raises(PermissionDenied):
            demands.route_demand(t.actor(user), demand, yk.police)
    for provider in (None, yk.civil):
        with pytest.raises(ValidationError) as caught:
            demands.route_demand(t.actor(yk.bureau), demand, provider)
        assert list(caught.value.message_dict) == ["provider"]
    yk.gz_health.is_active = False
    yk.gz_health.save()
    with pytest.raises(ValidationError):
        demands.route_demand(t.actor(yk.bureau), demand, yk.gz_health)
    demand = demands.route_demand(t.actor(yk.bureau), demand, yk.police)
    assert (demand.status, demand.provider, demand.routed_by, demand.routed_at) == ("routed", yk.police, yk.bureau, clock.now())
    assert Notification.objects.filter(department=yk.police, category="sharing.demand.route").count() == 1
    assert Notification.objects.filter(department=yk.civil, category="sharing.demand.route").count() == 1
    assert list(selectors.demands_to_answer(yk.police_admin)) == [demand]
    with pytest.raises(IllegalTransition):
        demands.route_demand(t.actor(yk.bureau), demand, yk.gz_health)


def test_the_provider_answers_with_a_catalog_entry_of_its_own(yk, routed):
    entry = published_entry(yk)
    for user in (yk.police_staff, yk.civil_admin, yk.bureau, yk.gz_health_admin):
        with pytest.raises(PermissionDenied):
            demands.answer_demand(t.actor(user), routed, entry=entry)
    demand = demands.answer_demand(t.actor(yk.police_admin), routed, entry=entry, reason="可通过共享申请使用")
    assert (demand.status, demand.entry, demand.answer, demand.answered_by) == ("answered", entry, "可通过共享申请使用", yk.police_admin)
    told = Notification.objects.get(department=yk.civil, category="sharing.demand.answered")
    assert entry.code in told.subject
    assert AuditEvent.objects.get(action="sharing.demand.answer").details == {"entry": entry.code, "reason": "可通过共享申请使用"}
    assert list(selectors.demands_to_answer(yk.police_admin)) == []
    with pytest.raises(IllegalTransition):
        demands.answer_demand(t.actor(yk.police_admin), demand, reason="重复答复")


def test_another_departments_entry_does_not_answer_and_a_refusal_needs_a_reason(yk):
    police_entry = published_entry(yk)
    demand = demands.route_demand(t.actor(yk.bureau), need(yk.gz_health_admin), yk.civil)
    with pytest.raises(ValidationError) as caught:
        demands.answer_demand(t.actor(yk.civil_admin), demand, entry=police_entry)
    assert list(caught.value.message_dict) == ["entry"]
    with pytest.raises(ValidationError) as caught:
        demands.answer_demand(t.actor(yk.civil_admin), demand, reason=" ")
    assert list(caught.value.message_dict) == ["reason"]
    demand.refresh_from_db()
    assert demand.status == "routed"
    demand = demands.answer_demand(t.actor(yk.civil_admin), demand, reason="本部门不掌握该数据，建议向卫健部门提出")
    assert (demand.status, demand.entry) == ("declined", None)
    assert Notification.objects.filter(department=yk.gz_health, category="sharing.demand.declined").exists()
    assert AuditEvent.objects.filter(action="sharing.demand.decline", object_id=str(demand.pk)).exists()
    with pytest.raises(IllegalTransition):
        demands.answer_demand(t.actor(yk.civil_admin), demand, reason="再次拒绝")


def test_an_unrouted_demand_has_nobody_to_answer_it(yk):
    demand = need(yk.civil_admin)
    for user in (yk.police_admin, yk.civil_admin, yk.bureau):
        with pytest.raises(PermissionDenied):
            demands.answer_demand(t.actor(user), demand, reason="无")


def test_the_demand_board_is_open_to_every_government_user(yk, routed):
    other = need(yk.gz_health_admin, title="出生医学证明信息")
    public = t.user(Role.PUBLIC_USER, None, username="citizen")
    for user in (yk.bureau, yk.evaluator, yk.gz_admin, yk.police_admin, yk.police_staff, yk.civil_admin, yk.gz_health_admin, yk.police_security):
        assert set(selectors.demand_board(user)) == {routed, other}, user
        assert perm.can_see_demands(user)
    for user in (public, None):
        assert selectors.demand_board(user).count() == 0
        assert not perm.can_see_demands(user)
    assert list(selectors.demands_to_answer(yk.civil_admin)) == []
