"""Share requests, grants and the one access decision (R-20.1, R-20.2, R-22.1), role by role,
on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.common import clock as platform_clock
from govdata.common.fsm import IllegalTransition
from govdata.notifications.models import Notification
from govdata.orgs.models import InformationSystem
from govdata.sharing import permissions as perm
from govdata.sharing import selectors, tasks
from govdata.sharing.models import Grant, ShareRequest
from govdata.sharing.services import requests as sharing

from .conftest import ask, person_table

D = dt.date


@pytest.mark.req("R-20.2")
def test_receipt_starts_five_working_days_across_the_national_day_holiday(yk, conditional, civil_system, clock):
    clock.set(dt.datetime(2026, 9, 30, 16, 0, tzinfo=platform_clock.SHANGHAI))
    request = ask(yk, conditional, civil_system)
    # 1 Oct - 7 Oct off; 10 Oct (Saturday) is a make-up working day: 8, 9, 10, 12, 13 October
    assert request.due_at == dt.datetime(2026, 10, 13, 23, 59, 59, tzinfo=platform_clock.SHANGHAI)
    assert request.status == ShareRequest.Status.SUBMITTED and request.provider == yk.police
    inbox = Notification.objects.filter(department=yk.police, category="sharing.request")
    assert inbox.count() == 1 and "2026-10-13" in inbox.get().body


@pytest.mark.req("R-20.2")
def test_a_request_names_items_of_the_entry_a_purpose_and_an_own_system(yk, conditional, civil_system):
    with pytest.raises(ValidationError) as caught:
        ask(yk, conditional, None, purpose=" ", items=["sfzh", "nope"])
    assert set(caught.value.message_dict) == {"purpose", "system"}
    with pytest.raises(ValidationError) as caught:
        ask(yk, conditional, civil_system, items=["sfzh", "nope"])
    assert "nope" in caught.value.message_dict["items"][0]
    police_system = InformationSystem.objects.create(department=yk.police, name="人口库", owner="户政", status="existing")
    with pytest.raises(ValidationError) as caught:
        ask(yk, conditional, police_system)
    assert "system" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        ask(yk, conditional, civil_system, period_end=platform_clock.today() - dt.timedelta(days=1))
    assert "period_end" in caught.value.message_dict
    assert not ShareRequest.objects.exists()


@pytest.mark.req("R-20.1")
def test_unconditional_data_needs_no_request_and_not_shared_data_cannot_be_requested(yk, civil_system):
    open_one = person_table(yk, rows=0, name="户籍人口统计", share_type="unconditional", share_conditions="")
    closed = person_table(yk, rows=0, name="在逃人员信息", share_type="not_shared", share_conditions="", share_basis="《公安机关办理刑事案件程序规定》")
    with pytest.raises(ValidationError, match="no request is needed"):
        ask(yk, open_one, civil_system)
    with pytest.raises(ValidationError, match="not shared"):
        ask(yk, closed, civil_system)
    assert perm.decide(yk.civil, open_one) and perm.decide(yk.civil, open_one).items is None
    assert not perm.decide(yk.civil, closed)
    assert perm.decide(yk.police, closed)  # the provider itself


@pytest.mark.req("R-20.2")
def test_approval_grants_only_the_approved_items_once_the_undertaking_is_given(yk, conditional, civil_system):
    request = ask(yk, conditional, civil_system)
    assert not perm.decide(yk.civil, conditional)
    grant = sharing.approve(t.actor(yk.police_admin), request, items=["xm"])
    assert grant.items == ["xm"] and grant.system == civil_system
    assert not perm.decide(yk.civil, conditional)  # no undertaking yet
    with pytest.raises(PermissionDenied):
        sharing.accept_grant(t.actor(yk.police_admin), grant)
    sharing.accept_grant(t.actor(yk.civil_admin), grant)
    access = perm.decide(yk.civil, conditional)
    assert access and access.items == frozenset({"xm"}) and access.grant == grant
    assert not perm.decide(yk.gz_health, conditional)  # another department: still nothing
    event = AuditEvent.objects.get(action="sharing.grant.accept")
    assert "purpose" in event.details and event.details["undertaking"]


@pytest.mark.req("R-20.2")
def test_a_rejection_must_cite_its_legal_basis(yk, conditional, civil_system):
    request = ask(yk, conditional, civil_system)
    with pytest.raises(ValidationError) as caught:
        sharing.reject(t.actor(yk.police_admin), request, basis="  ")
    assert "basis" in caught.value.message_dict
    request.refresh_from_db()
    assert request.status == ShareRequest.Status.SUBMITTED
    sharing.reject(t.actor(yk.police_admin), request, basis="《中华人民共和国个人信息保护法》第十三条")
    request.refresh_from_db()
    assert request.status == ShareRequest.Status.REJECTED and request.decided_by == yk.police_admin
    assert Notification.objects.filter(department=yk.civil, category="sharing.reject").exists()
    with pytest.raises(IllegalTransition):
        sharing.approve(t.actor(yk.police_admin), request)


@pytest.mark.req("R-20.2")
def test_only_the_provider_answers_and_only_the_consumer_withdraws(yk, conditional, civil_system):
    request = ask(yk, conditional, civil_system)
    for user in (yk.civil_admin, yk.police_staff, yk.bureau, yk.gz_health_admin):
        with pytest.raises(PermissionDenied):
            sharing.approve(t.actor(user), request)
    with pytest.raises(PermissionDenied):
        sharing.withdraw(t.actor(yk.police_admin), request)
    sharing.withdraw(t.actor(yk.civil_admin), request)
    with pytest.raises(IllegalTransition):
        sharing.withdraw(t.actor(yk.civil_admin), request)
    with pytest.raises(PermissionDenied):  # a provider does not ask itself
        sharing.submit_request(
            t.actor(yk.police_admin), conditional.entry, system=None, items=[], purpose="", legal_duty="", scope="",
            period_start=None, period_end=None,
        )


@pytest.mark.req("R-20.2")
def test_a_grant_ends_with_its_last_day_and_revocation_takes_effect_at_once(yk, conditional, civil_system, clock):
    request = ask(yk, conditional, civil_system, period_end=platform_clock.today() + dt.timedelta(days=10))
    grant = sharing.approve(t.actor(yk.police_admin), request, valid_until=platform_clock.today() + dt.timedelta(days=5))
    sharing.accept_grant(t.actor(yk.civil_admin), grant)
    clock.advance(days=5)
    assert perm.decide(yk.civil, conditional)  # the last day counts
    clock.advance(days=1)
    assert not perm.decide(yk.civil, conditional)
    clock.advance(days=-6)
    with pytest.raises(ValidationError):
        sharing.revoke(t.actor(yk.police_admin), grant, reason="")
    with pytest.raises(PermissionDenied):
        sharing.revoke(t.actor(yk.civil_admin), grant, reason="不再需要")
    sharing.revoke(t.actor(yk.bureau), grant, reason="超范围使用")
    assert not perm.decide(yk.civil, conditional)
    assert Notification.objects.filter(department=yk.civil, category="sharing.revoke").exists()
    with pytest.raises(ValidationError):
        sharing.approve(t.actor(yk.police_admin), ask(yk, conditional, civil_system), valid_until=request.period_end + dt.timedelta(days=400))


@pytest.mark.req("R-20.2")
def test_renewal_asks_again_for_the_same_items_and_links_the_grant(yk, conditional, civil_system, clock):
    grant = sharing.approve(t.actor(yk.police_admin), ask(yk, conditional, civil_system))
    sharing.accept_grant(t.actor(yk.civil_admin), grant)
    renewal = sharing.renew(t.actor(yk.civil_admin), grant, period_end=grant.valid_until + dt.timedelta(days=365))
    assert renewal.renewal_of == grant and renewal.items == grant.items and renewal.status == "submitted"
    with pytest.raises(PermissionDenied):
        sharing.renew(t.actor(yk.gz_health_admin), grant, period_end=grant.valid_until)


@pytest.mark.req("R-20.2")
def test_reminders_the_day_before_on_the_day_and_when_overdue_once_each(yk, conditional, civil_system, clock):
    clock.set(dt.datetime(2026, 9, 30, 16, 0, tzinfo=platform_clock.SHANGHAI))
    request = ask(yk, conditional, civil_system)  # due 13 October
    assert sharing.remind_due_requests() == []
    clock.set(dt.datetime(2026, 10, 12, 9, 0, tzinfo=platform_clock.SHANGHAI))  # the working day before
    assert sharing.remind_due_requests() == [request]
    assert sharing.remind_due_requests() == []
    clock.set(dt.datetime(2026, 10, 13, 9, 0, tzinfo=platform_clock.SHANGHAI))
    assert sharing.remind_due_requests() == [request]
    clock.set(dt.datetime(2026, 10, 14, 0, 0, 1, tzinfo=platform_clock.SHANGHAI))
    assert sharing.remind_due_requests() == [request]
    categories = list(Notification.objects.filter(category__startswith="sharing.due").values_list("category", flat=True))
    assert sorted(categories) == ["sharing.due_today", "sharing.due_tomorrow"]
    overdue = Notification.objects.filter(category="sharing.overdue")
    assert {n.department_id for n in overdue if n.department_id} == {yk.police.pk, yk.civil.pk}
    assert overdue.filter(recipient=yk.bureau).exists()
    for user in (yk.police_admin, yk.civil_admin, yk.bureau):
        assert list(selectors.overdue_requests(user)) == [request], user
    assert list(selectors.overdue_requests(yk.gz_health_admin)) == []


@pytest.mark.req("R-20.2")
def test_requests_and_grants_are_visible_to_both_parties_and_the_bureau_only(yk, conditional, civil_system):
    grant = sharing.approve(t.actor(yk.police_admin), ask(yk, conditional, civil_system))
    for user in (yk.police_admin, yk.police_staff, yk.civil_admin, yk.bureau, yk.evaluator):
        assert selectors.requests_visible_to(user).count() == 1, user
        assert list(selectors.grants_visible_to(user)) == [grant], user
    for user in (yk.gz_health_admin, yk.gz_admin, None):
        assert selectors.requests_visible_to(user).count() == 0, user
        assert selectors.grants_visible_to(user).count() == 0, user
    assert list(selectors.requests_received(yk.police_admin)) == [grant.request]
    assert list(selectors.requests_made(yk.civil_admin)) == [grant.request]
    assert Grant.objects.count() == 1


@pytest.mark.req("R-20.2")
def test_the_hourly_job_sends_the_reminders(yk, conditional, civil_system, clock):
    clock.set(dt.datetime(2026, 9, 30, 16, 0, tzinfo=platform_clock.SHANGHAI))
    ask(yk, conditional, civil_system)
    clock.set(dt.datetime(2026, 10, 13, 9, 0, tzinfo=platform_clock.SHANGHAI))
    tasks.remind_due_requests.call_local()
    assert Notification.objects.filter(category="sharing.due_today", department=yk.police).count() == 1


@pytest.mark.req("R-20.2")
def test_the_refusal_says_why_no_grant_is_in_force_and_a_revoked_grant_is_not_renewed(yk, conditional, civil_system, clock):
    request = ask(yk, conditional, civil_system, period_end=platform_clock.today() + dt.timedelta(days=3))
    assert "grant in force" in perm.decide(yk.civil, conditional).reason
    grant = sharing.approve(t.actor(yk.police_admin), request)
    assert "undertaking" in perm.decide(yk.civil, conditional).reason
    sharing.accept_grant(t.actor(yk.civil_admin), grant)
    clock.advance(days=4)
    assert (grant.valid_until.isoformat()) in perm.decide(yk.civil, conditional).reason
    sharing.revoke(t.actor(yk.police_admin), grant, reason="数据已停止共享")
    assert "数据已停止共享" in perm.decide(yk.civil, conditional).reason
    with pytest.raises(ValidationError):
        sharing.renew(t.actor(yk.civil_admin), grant, period_end=platform_clock.today() + dt.timedelta(days=30))
