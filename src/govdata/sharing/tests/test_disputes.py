"""Disputes (R-27.1): either party escalates a rejection or a verification answer to the
bureau, which decides — upheld, granted on its authority, or a correction ordered — role by
role, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.common import clock as platform_clock
from govdata.common.fsm import IllegalTransition
from govdata.datastore import query
from govdata.datastore.tests import corpus as c
from govdata.notifications.models import Notification
from govdata.sharing import permissions as perm
from govdata.sharing import selectors
from govdata.sharing.models import Dispute, Grant
from govdata.sharing.services import disputes
from govdata.sharing.services import requests as sharing
from govdata.sharing.services import verification as verify

from .conftest import ask


pytestmark = pytest.mark.req("R-27.1")

SHANGHAI = platform_clock.SHANGHAI
BASIS = "《中华人民共和国个人信息保护法》第十三条"


@pytest.fixture
def rejected(yk, verification_table, system, clock):
    request = ask(yk, verification_table, system)
    return sharing.reject(t.actor(yk.police_admin), request, basis=BASIS)


@pytest.fixture
def confirmed(yk, verification_table, verification_grant):
    v = verify.file_verification(
        t.actor(yk.civil_admin), verification_table, key={"sfzh": c.id_number(1)}, item="xm", claimed_value="汪芳"
    )
    return verify.confirm_correct(t.actor(yk.police_admin), v, "记录无误")


def escalate(user, **subject):
    return disputes.open_dispute(t.actor(user), reason="拒绝理由不成立：申请用途属法定职责", **subject)


def test_the_consumer_escalates_a_rejection_and_the_bureau_and_the_provider_are_told(yk, rejected, clock):
    dispute = escalate(yk.civil_admin, share_request=rejected)
    assert (dispute.status, dispute.raised_by, dispute.other_party, dispute.opened_by, dispute.opened_at) == (
        "open",
        yk.civil,
        yk.police,
        yk.civil_admin,
        clock.now(),
    )
    assert Notification.objects.filter(recipient=yk.bureau, category="sharing.dispute").count() == 1
    assert Notification.objects.filter(department=yk.police, category="sharing.dispute").count() == 1
    assert not Notification.objects.filter(department=yk.civil, category="sharing.dispute").exists()
    event = AuditEvent.objects.get(action="sharing.dispute.open", object_id=str(dispute.pk))
    assert event.department_id == yk.civil.pk and event.details["share_request"] == rejected.pk
    # one open dispute per subject, whoever raises it
    for user in (yk.civil_admin, yk.police_admin):
        with pytest.raises(ValidationError) as caught:
            escalate(user, share_request=rejected)
        assert list(caught.value.message_dict) == ["share_request"]
    assert list(selectors.disputes_to_mediate(yk.bureau)) == [dispute]


def test_the_provider_escalates_a_verification_answer(yk, confirmed):
    dispute = escalate(yk.police_admin, verification=confirmed)
    assert (dispute.raised_by, dispute.other_party, dispute.verification) == (yk.police, yk.civil, confirmed)
    assert Notification.objects.filter(department=yk.civil, category="sharing.dispute").exists()


def test_only_a_rejection_or_an_answered_verification_is_escalated(yk, verification_table, verification_grant, system):
    waiting = ask(yk, verification_table, system)
    with pytest.raises(ValidationError) as caught:
        escalate(yk.civil_admin, share_request=waiting)
    assert list(caught.value.message_dict) == ["share_request"]
    sharing.approve(t.actor(yk.police_admin), waiting)
    with pytest.raises(ValidationError):
        escalate(yk.civil_admin, share_request=waiting)
    unanswered = verify.file_verification(
        t.actor(yk.civil_admin), verification_table, key={"sfzh": c.id_number(2)}, item="xm", claimed_value="李娜"
    )
    with pytest.raises(ValidationError) as caught:
        escalate(yk.civil_admin, verification=unanswered)
    assert list(caught.value.message_dict) == ["verification"]
    for subject in ({}, {"share_request": waiting, "verification": unanswered}):
        with pytest.raises(ValidationError):
            escalate(yk.civil_admin, **subject)
    verify.confirm_correct(t.actor(yk.police_admin), unanswered, "记录无误")
    with pytest.raises(ValidationError) as caught:
        disputes.open_dispute(t.actor(yk.civil_admin), verification=unanswered, reason=" ")
    assert list(caught.value.message_dict) == ["reason"]
    assert not Dispute.objects.exists()


def test_only_the_parties_administrators_escalate_and_only_the_bureau_decides(yk, rejected):
    for user in (yk.police_staff, yk.gz_health_admin, yk.bureau, yk.evaluator, yk.gz_admin):
        with pytest.raises(PermissionDenied):
            escalate(user, share_request=rejected)
    dispute = escalate(yk.civil_admin, share_request=rejected)
    for user in (yk.police_admin, yk.civil_admin, yk.evaluator, yk.gz_admin, yk.gz_health_admin):
        with pytest.raises(PermissionDenied):
            disputes.decide_dispute(t.actor(user), dispute, outcome="grant", decision="准予共享")
        with pytest.raises(PermissionDenied):
            sharing.grant_by_decision(t.actor(user), rejected, "准予共享")
    assert not perm.can_mediate(yk.police_admin) and perm.can_mediate(yk.bureau)


def test_a_grant_by_the_bureaus_decision(yk, rejected, clock):
    dispute = escalate(yk.civil_admin, share_request=rejected)
    clock.advance(days=3)
    dispute = disputes.decide_dispute(
        t.actor(yk.bureau), dispute, outcome="grant", decision="用途属法定职责，应予共享：准予全部申请项。"
    )
    assert (dispute.status, dispute.outcome, dispute.decided_by, dispute.decided_at) == ("decided", "grant", yk.bureau, clock.now())
    rejected.refresh_from_db()
    assert (rejected.status, rejected.decided_by, rejected.approved_items, rejected.rejection_basis) == (
        "approved",
        yk.bureau,
        ["sfzh", "xm"],
        BASIS,
    )
    grant = Grant.objects.get(request=rejected)
    assert (grant.consumer, grant.items, grant.valid_from, grant.valid_until, grant.accepted_at) == (
        yk.civil,
        ["sfzh", "xm"],
        platform_clock.today(),
        rejected.period_end,
        None,
    )
    assert AuditEvent.objects.filter(action="sharing.request.grant_by_decision", object_id=str(rejected.pk)).exists()
    assert AuditEvent.objects.get(action="sharing.dispute.decide").details == {"outcome": "grant", "decision": dispute.decision}
    decided = Notification.objects.filter(category="sharing.dispute.decide")
    assert {n.department_id for n in decided} == {yk.civil.pk, yk.police.pk}
    assert Notification.objects.filter(department=yk.civil, category="sharing.approve").exists()
    with pytest.raises(IllegalTransition):
        disputes.decide_dispute(t.actor(yk.bureau), dispute, outcome="upheld", decision="再议")
    with pytest.raises(IllegalTransition):
        sharing.grant_by_decision(t.actor(yk.bureau), rejected, "再次准予")
    # the consumer uses it like any grant once it gives the undertaking
    sharing.accept_grant(t.actor(yk.civil_admin), grant)
    assert perm.decide(yk.civil, rejected.entry.resources.get()).items == {"sfzh", "xm"}


def test_a_rejection_upheld_stays_rejected_and_a_new_dispute_may_follow(yk, rejected):
    dispute = escalate(yk.civil_admin, share_request=rejected)
    disputes.decide_dispute(t.actor(yk.bureau), dispute, outcome="upheld", decision="拒绝依据充分。")
    rejected.refresh_from_db()
    assert rejected.status == "rejected" and not Grant.objects.exists()
    assert escalate(yk.civil_admin, share_request=rejected).status == "open"  # the first one is closed


def test_the_outcome_fits_the_subject_and_the_decision_is_recorded(yk, rejected, confirmed):
    on_request = escalate(yk.civil_admin, share_request=rejected)
    on_verification = escalate(yk.civil_admin, verification=confirmed)
    for dispute, outcome in ((on_request, "correct"), (on_verification, "grant"), (on_request, "maybe")):
        with pytest.raises(ValidationError) as caught:
            disputes.decide_dispute(t.actor(yk.bureau), dispute, outcome=outcome, decision="决定")
        assert list(caught.value.message_dict) == ["outcome"], outcome
    with pytest.raises(ValidationError) as caught:
        disputes.decide_dispute(t.actor(yk.bureau), on_request, outcome="upheld", decision=" ")
    assert list(caught.value.message_dict) == ["decision"]
    assert set(Dispute.objects.values_list("status", flat=True)) == {"open"}


def test_a_correction_ordered_by_the_bureau_is_made_by_the_provider(yk, verification_table, confirmed, clock):
    dispute = escalate(yk.civil_admin, verification=confirmed)
    clock.set(dt.datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI))
    disputes.decide_dispute(t.actor(yk.bureau), dispute, outcome="correct", decision="据户籍底册，姓名应为“汪芳”，责令更正。")
    confirmed.refresh_from_db()
    assert confirmed.status == "ordered"
    assert confirmed.due_at == dt.datetime(2026, 10, 13, 23, 59, 59, tzinfo=SHANGHAI)  # 5 working days from the order
    order = Notification.objects.get(department=yk.police, category="sharing.verification.order")
    assert "责令更正" in order.body and "2026-10-13" in order.body
    assert {n.department_id for n in Notification.objects.filter(category="sharing.dispute.decide")} == {yk.civil.pk, yk.police.pk}
    # the provider cannot confirm again; it corrects
    with pytest.raises(IllegalTransition):
        verify.confirm_correct(t.actor(yk.police_admin), confirmed, "仍然无误")
    clock.set(dt.datetime(2026, 10, 12, 9, 0, tzinfo=SHANGHAI))
    assert verify.remind_due_verifications() == [confirmed]
    corrected = verify.correct(t.actor(yk.police_admin), confirmed, "已按协调决定更正。")
    assert corrected.status == "corrected" and corrected.correction.status == "done"
    person = query.run(verification_table, query.Query(projection=query.ALL, masked=False, filters=[("sfzh", "eq", c.id_number(1))]))
    assert person.rows[0]["xm"] == "汪芳"
    # a corrected value may be disputed again, and ordered corrected again
    again = escalate(yk.civil_admin, verification=corrected)
    disputes.decide_dispute(t.actor(yk.bureau), again, outcome="correct", decision="更正值仍有误。")
    corrected.refresh_from_db()
    assert corrected.status == "ordered"


def test_a_correction_is_ordered_only_after_an_answer(yk, verification_table, verification_grant):
    waiting = verify.file_verification(
        t.actor(yk.civil_admin), verification_table, key={"sfzh": c.id_number(2)}, item="xm", claimed_value="李娜"
    )
    with pytest.raises(IllegalTransition):
        verify.order_correction(t.actor(yk.bureau), waiting, order="责令更正")
    with pytest.raises(PermissionDenied):
        verify.order_correction(t.actor(yk.civil_admin), waiting, order="责令更正")


def test_disputes_are_visible_to_both_parties_and_the_bureau_only(yk, rejected):
    dispute = escalate(yk.civil_admin, share_request=rejected)
    for user in (yk.civil_admin, yk.police_admin, yk.police_staff, yk.bureau, yk.evaluator):
        assert selectors.get_dispute(user, dispute.pk) == dispute and perm.can_see_dispute(user, dispute), user
    for user in (yk.gz_health_admin, yk.gz_admin, None):
        assert not perm.can_see_dispute(user, dispute)
        with pytest.raises(Http404):
            selectors.get_dispute(user, dispute.pk)
    assert list(selectors.disputes_to_mediate(yk.police_admin)) == []
