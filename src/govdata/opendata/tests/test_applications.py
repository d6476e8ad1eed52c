"""Open on application (Art. 29, R-29.2): a public applicant applies for an on-application
dataset with purpose, scenario, period and undertakings; the providing department answers on
the spot or within 10 working days of receipt (counted over holidays and make-up days); a
refusal states reasons; overdue applications are flagged to the department, the bureau and
the applicant; approval lets that applicant alone read the rows — by download and by the
CKAN API — for the approved period only; the answer times are public."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.signals import request_finished
from django.db import close_old_connections
from django.test import RequestFactory

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.catalog.models import CatalogEntry
from govdata.common import clock as platform_clock
from govdata.common.actor import Actor
from govdata.common.fsm import IllegalTransition
from govdata.datastore.tests.corpus import id_number
from govdata.notifications.models import Notification
from govdata.opendata import permissions as perm
from govdata.opendata import selectors, tasks, tokens, views
from govdata.opendata.models import OpenApplication
from govdata.opendata.services import accounts, applications
from govdata.orgs.models import Role

SHANGHAI = platform_clock.SHANGHAI
Status = OpenApplication.Status


def citizen(serial: int, username: str = ""):
    return accounts.register(
        Actor(ip="10.0.0.9"),
        kind="natural",
        username=username or f"citizen{serial}",
        password="Liaohe-river-2026",
        full_name=f"市民{serial}",
        mobile=f"1390417{serial:04d}",
        id_number=id_number(serial, "19900101"),
    )


@pytest.fixture
def world(opendata, clock):
    clock.set(dt.datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI))
    opendata.entry = CatalogEntry.objects.get(pk=opendata.payments.pk)
    opendata.applicant = citizen(1)
    opendata.other = citizen(2)
    return opendata


def apply(world, user=None, entry=None, **overrides) -> OpenApplication:
    values = {
        "purpose": "研究营口市企业社保缴费结构",
        "scenario": "东北大学社会保障课题组，仅用于学术论文",
        "period_start": dt.date(2026, 10, 1),
        "period_end": dt.date(2027, 3, 31),
        "undertakings": list(applications.UNDERTAKINGS),
        **overrides,
    }
    return applications.apply(t.actor(user or world.applicant), entry or world.entry, **values)


def refused(call, *args, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return caught.value.message_dict


# --- applying --------------------------------------------------------------------------------


@pytest.mark.req("R-29.2")
def test_the_deadline_is_ten_working_days_after_receipt_across_national_day(world, yk):
    """Received Wed 30 Sep 2026: 1-7 Oct are off, Sat 10 Oct is a make-up working day, so the
    10th working day is Tue 20 Oct (8, 9, 10, 12-16, 19, 20)."""
    application = apply(world)
    assert application.status == Status.SUBMITTED
    assert application.due_at == dt.datetime(2026, 10, 20, 23, 59, 59, tzinfo=SHANGHAI)
    assert application.provider == world.civil and application.applicant == world.applicant
    assert application.undertaking.count("\n") == len(applications.UNDERTAKINGS) - 1
    # The providing department hears of it in its inbox; the act is audited.
    note = Notification.objects.get(department=world.civil, category="opendata.application")
    assert "营口市企业社保缴费明细" in note.subject and "2026-10-20" in note.body
    assert note.link == f"/open/applications/{application.pk}/"
    assert AuditEvent.objects.filter(action="opendata.application.submit", object_id=str(application.pk)).exists()


@pytest.mark.req("R-29.2")
def test_what_an_application_needs_is_named(world):
    missing = refused(apply, world, purpose=" ", scenario="", undertakings=["stated_use"])
    assert set(missing) == {"purpose", "scenario", "undertakings"}
    assert set(refused(apply, world, period_end=dt.date(2026, 9, 1))) == {"period_end"}
    assert set(refused(apply, world, period_start=None)) == {"period_start"}
    assert not OpenApplication.objects.exists()
    apply(world)
    assert refused(apply, world) == {"entry": ["您此前对该数据集的申请尚待答复。"]}


@pytest.mark.req("R-29.2")
@pytest.mark.req("R-28.1")
def test_only_public_users_apply_and_only_for_on_application_datasets(world, yk):
    unconditional = CatalogEntry.objects.get(pk=world.dibao.pk)
    assert set(refused(apply, world, entry=unconditional)) == {"entry"}  # no application needed
    not_open = CatalogEntry.objects.get(pk=world.hukou.pk)
    for entry, user in ((not_open, world.applicant), (world.entry, yk.police_admin), (world.entry, None)):
        with pytest.raises(PermissionDenied):
            applications.apply(
                t.actor(user), entry, purpose="x", scenario="y", period_start=None, period_end=None, undertakings=[]
            )


# --- answering -------------------------------------------------------------------------------


@pytest.mark.req("R-29.2")
def test_a_refusal_without_reasons_is_refused_and_with_reasons_reaches_the_applicant(world, yk):
    application = apply(world)
    assert refused(applications.reject, t.actor(yk.civil_admin), application, reasons="  ") == {
        "reasons": ["不予开放的，应当说明理由。"]
    }
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED and application.decided_at is None
    reasons = "申请用途超出开放条件所列的学术研究范围"
    applications.reject(t.actor(yk.civil_admin), application, reasons=reasons)
    application.refresh_from_db()
    assert (application.status, application.reasons, application.decided_by) == (Status.REJECTED, reasons, yk.civil_admin)
    told = Notification.objects.get(recipient=world.applicant, category="opendata.answer")
    assert told.body == reasons
    with pytest.raises(IllegalTransition):
        applications.approve(t.actor(yk.civil_admin), application)
    assert not perm.holds_approval(world.applicant, world.entry)


@pytest.mark.req("R-29.2")
def test_only_the_providing_departments_admin_answers(world, yk):
    application = apply(world)
    civil_staff = t.user(Role.DEPARTMENT_STAFF, yk.civil)
    for user in (yk.police_admin, civil_staff, yk.bureau, world.applicant, world.other):
        with pytest.raises(PermissionDenied):
            applications.approve(t.actor(user), application)
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED


@pytest.mark.req("R-29.2")
def test_on_the_spot_approval_opens_the_rows_to_that_applicant_only_within_the_period(world, yk, client):
    application = apply(world, period_start=dt.date(2026, 9, 30), period_end=dt.date(2026, 12, 31))
    resource = world.payments.resource_id
    search = f"/api/3/action/datastore_search?resource_id={resource}&limit=3"
    download = f"/open/resources/{resource}/download.csv"
    client.force_login(world.applicant)
    assert client.get(search).status_code == 403  # not before the answer
    assert client.get(download).status_code == 403

    assert refused(
        applications.approve, t.actor(yk.civil_admin), application, approved_until=dt.date(2027, 1, 31)
    ) == {"approved_until": ["开放期限应在申请的使用期限之内。"]}
    applications.approve(t.actor(yk.civil_admin), application, approved_until=dt.date(2026, 11, 30), note="请注明数据来源")
    application.refresh_from_db()
    assert application.status == Status.APPROVED
    assert (application.approved_from, application.approved_until) == (dt.date(2026, 9, 30), dt.date(2026, 11, 30))
    assert Notification.objects.get(recipient=world.applicant, category="opendata.answer").subject.endswith(
        "营口市企业社保缴费明细"
    )
    with pytest.raises(IllegalTransition):
        applications.reject(t.actor(yk.civil_admin), application, reasons="改变主意")

    # The applicant reads the rows through every route: the CKAN API and the download.
    answer = client.get(search).json()
    assert answer["success"] and len(answer["result"]["records"]) == 3
    assert client.get(download).status_code == 200
    # No one else does: another public user, the anonymous public, another department's user.
    for user in (world.other, None, yk.police_admin):
        client.logout()
        if user is not None:
            client.force_login(user)
        assert client.get(search).status_code == 403
        assert client.get(download).status_code == 403
        assert not perm.can_read_rows(user, world.entry)

    # The approval ends with its period.
    entry = world.entry
    assert perm.holds_approval(world.applicant, entry, on=dt.date(2026, 11, 30))
    assert not perm.holds_approval(world.applicant, entry, on=dt.date(2026, 12, 1))
    platform_clock.set_now(dt.datetime(2026, 12, 1, 0, 0, 1, tzinfo=SHANGHAI))
    client.force_login(world.applicant)
    assert client.get(search).status_code == 403
    assert client.get(download).status_code == 403

    stats = selectors.application_stats()
    assert (stats.total, stats.on_the_spot, stats.average_working_days) == (1, 1, 0)


# --- deadlines -------------------------------------------------------------------------------


@pytest.mark.req("R-29.2")
def test_overdue_applications_are_flagged_to_the_department_the_bureau_and_the_applicant(world, yk, clock):
    application = apply(world)
    clock.set(dt.datetime(2026, 10, 16, 9, 0, tzinfo=SHANGHAI))
    assert applications.remind_due_applications() == []
    clock.set(dt.datetime(2026, 10, 19, 9, 0, tzinfo=SHANGHAI))  # the working day before
    assert applications.remind_due_applications() == [application]
    assert applications.remind_due_applications() == []  # once
    clock.set(dt.datetime(2026, 10, 20, 23, 59, 59, tzinfo=SHANGHAI))
    tasks.remind_due_applications.call_local()  # the periodic job: due today
    assert not selectors.is_overdue(OpenApplication.objects.get())
    clock.set(dt.datetime(2026, 10, 21, 0, 0, 0, tzinfo=SHANGHAI))
    assert applications.remind_due_applications() == [application]
    application.refresh_from_db()
    assert application.reminded == ["due_tomorrow", "due_today", "overdue"]
    assert selectors.is_overdue(application)

    overdue = Notification.objects.filter(category="opendata.application.overdue")
    assert {n.department for n in overdue if n.department} == {yk.civil}
    assert {n.recipient for n in overdue if n.recipient} == {yk.bureau, world.applicant}
    assert Notification.objects.filter(category__startswith="opendata.application.due_", department=yk.civil).count() == 2
    assert selectors.application_stats().overdue == 1

    # Answered late, it counts 11 working days (8-10, 12-16, 19-21 Oct).
    applications.approve(t.actor(yk.civil_admin), application)
    stats = selectors.application_stats()
    assert (stats.overdue, stats.on_the_spot, stats.average_working_days) == (0, 0, 11)
    assert [(p.provider, p.received, p.answered) for p in stats.providers] == [(yk.civil, 1, 1)]


@pytest.mark.req("R-29.2")
def test_the_public_statistics_count_by_status_and_average_the_answer_times(world, yk, client, clock):
    first = apply(world)
    second = apply(world, world.other, purpose="开发社保查询小程序", scenario="商业应用")
    clock.set(dt.datetime(2026, 10, 9, 15, 0, tzinfo=SHANGHAI))  # the 2nd working day after receipt
    applications.approve(t.actor(yk.civil_admin), first)
    applications.reject(t.actor(yk.civil_admin), second, reasons="商业用途不在开放条件之内")
    apply(world, world.other)  # pending again

    stats = selectors.application_stats()
    counts = {s.status: s.count for s in stats.by_status}
    assert counts == {"submitted": 1, "approved": 1, "rejected": 1} and stats.total == 3
    assert stats.average_working_days == 2 and stats.on_the_spot == 0

    page = client.get("/open/applications/stats/")
    text = page.content.decode()
    assert page.status_code == 200 and "开放申请与答复时效" in text
    assert 'id="stat-total">3<' in text and 'id="stat-average">2.0<' in text and yk.civil.name in text


# --- pages -----------------------------------------------------------------------------------


@pytest.mark.req("R-29.2")
def test_the_pages_of_an_application_from_applying_to_the_download(world, yk, client):
    apply_url = f"/open/datasets/{world.payments.name}/apply/"
    assert client.get(apply_url)["Location"].startswith("/open/account/login/?next=")
    client.force_login(yk.police_admin)
    assert client.get(apply_url).status_code == 403  # departments use the sharing platform
    assert client.get(f"/open/datasets/{world.dibao.name}/apply/")["Location"] == f"/open/datasets/{world.dibao.name.lower()}/"

    client.force_login(world.applicant)
    form = client.get(apply_url)
    assert form.status_code == 200 and "用于学术研究，签署数据使用承诺" in form.content.decode()  # the conditions
    missing = client.post(apply_url, {"purpose": "研究", "scenario": "论文"})
    assert missing.status_code == 200 and missing.context["form"].errors["undertakings"]
    values = {"purpose": "研究", "scenario": "论文", "period_start": "2026-09-30", "period_end": "2026-12-31"}
    sent = client.post(apply_url, {**values, "undertakings": list(applications.UNDERTAKINGS)})
    application = OpenApplication.objects.get()
    assert sent["Location"] == f"/open/applications/{application.pk}/"
    mine = client.get(sent["Location"]).content.decode()
    assert "2026-10-20" in mine and 'id="approve-form"' not in mine
    assert client.get("/open/account/applications/").context["rows"][0].application == application

    for outsider in (world.other, yk.police_admin):
        client.force_login(outsider)
        assert client.get(f"/open/applications/{application.pk}/").status_code == 404

    client.force_login(yk.civil_admin)
    inbox = client.get("/open/manage/applications/")
    assert [row.application for row in inbox.context["waiting"]] == [application]
    page = client.get(f"/open/applications/{application.pk}/").content.decode()
    assert 'id="approve-form"' in page and "市民1" in page
    no_reasons = client.post(f"/open/applications/{application.pk}/reject/", {"reject-reasons": ""})
    assert no_reasons.status_code == 200 and no_reasons.context["reject_form"].errors["reasons"]
    approved = client.post(f"/open/applications/{application.pk}/approve/", {"approve-approved_until": ""})
    assert approved["Location"] == f"/open/applications/{application.pk}/"
    again = client.post(f"/open/applications/{application.pk}/approve/", {})
    assert again.status_code == 302  # already answered: told so, nothing changes

    client.force_login(world.applicant)
    done = client.get(f"/open/applications/{application.pk}/").content.decode()
    download = f"/open/resources/{world.payments.resource_id}/download.csv"
    assert 'id="approval"' in done and download in done
    assert client.get(download).status_code == 200


# --- audit of the reads (R-29.2: the rows are the approved applicant's alone) ----------------


def stop_early(user, resource_id: str) -> None:
    """A download of the whole table as CSV that the client leaves after its first chunk: the
    server then closes the response. (Called on the view itself: closing the response sends
    request_finished, whose handler would close the test's database connection, and the test
    client's wrapper reconnects it.)"""
    request = RequestFactory().get(f"/open/resources/{resource_id}/download.csv")
    request.user = user
    response = views.download(request, int(resource_id), "csv")
    next(iter(response.streaming_content))
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def reads_audited():
    return list(AuditEvent.objects.filter(action__in=("opendata.read", "opendata.export")).order_by("seq"))


@pytest.mark.req("R-29.2")
def test_an_approved_applicants_every_read_is_audited_with_the_applications_purpose(
    world, yk, client, open_api_limits
):
    application = apply(world, period_start=dt.date(2026, 9, 30), period_end=dt.date(2026, 12, 31))
    applications.approve(t.actor(yk.civil_admin), application)
    resource = world.payments.resource_id
    download = f"/open/resources/{resource}/download.csv"

    # Unconditionally open data is anyone's without asking: counted in the statistics, not
    # audited row by row — for the anonymous public and for the applicant alike.
    for user in (None, world.applicant):
        if user is not None:
            client.force_login(user)
        assert client.get(f"/open/datasets/{world.dibao.name}/").status_code == 200
        assert b"".join(client.get(f"/open/resources/{world.dibao.resource_id}/download.csv").streaming_content)
        assert client.get(f"/api/3/action/datastore_search?resource_id={world.dibao.resource_id}").status_code == 200
    assert reads_audited() == []

    # The applicant reads the on-application rows by every route; each read is audited.
    assert client.get(f"/open/datasets/{world.payments.name}/").status_code == 200  # its preview
    whole = b"".join(client.get(download).streaming_content).decode("utf-8-sig")
    search = client.get(
        "/api/3/action/datastore_search", {"resource_id": resource, "filters": '{"jzlb": "城市低保"}', "limit": 3}
    )
    assert len(search.json()["result"]["records"]) == 3
    client.logout()  # the open API knows its callers by their tokens
    _token, secret = tokens.issue_token(Actor(user=world.applicant))
    rows = client.get(f"/api/open/v1/resources/{resource}/rows?limit=5", headers={"Authorization": f"Bearer {secret}"})
    assert len(rows.json()["records"]) == 5
    # A download stopped before its end is audited too, with the rows read until then.
    client.force_login(world.applicant)
    stop_early(world.applicant, resource)

    events = reads_audited()
    assert [(e.action, e.details["route"], e.row_count) for e in events] == [
        ("opendata.read", "portal", 20),
        ("opendata.export", "portal", len(whole.splitlines()) - 1),
        ("opendata.read", "ckan", 3),
        ("opendata.read", "open_api", 5),
        ("opendata.export", "portal", events[-1].row_count),
    ]
    assert [e.details.get("complete") for e in events] == [None, True, None, None, False]
    for event in events:
        assert (event.actor_type, event.actor_id, event.actor_label) == ("user", str(world.applicant.pk), "citizen1")
        assert (event.object_type, event.object_id) == ("datastore.resource", resource)
        assert event.purpose == application.purpose == "研究营口市企业社保缴费结构"
        assert event.details["application"] == application.pk
        assert event.department_id == yk.civil.pk  # the provider's security officer sees it
        assert event.client_ip == "127.0.0.1"
        assert "sfzh" in event.details["items"] and "jtzz" not in event.details["items"]  # what was given
    assert events[2].details["filters"] == [{"field": "jzlb", "op": "eq", "value": "城市低保"}]
    assert events[1].details["format"] == "csv"

    # The provider reviews them with every other use of the resource.
    client.force_login(yk.civil_admin)
    log = client.get(f"/sharing/resources/{resource}/log/").content.decode()
    for event in events:
        row = log.split(f'id="event-{event.seq}"', 1)[1].split("</tr>", 1)[0]
        label = "依申请开放读取" if event.action == "opendata.read" else "依申请开放下载"
        assert label in row and "citizen1" in row and application.purpose in row, row
        assert f">{event.row_count}<" in row and "sfzh" in row and yk.civil.name not in row

    # Refused reads leave no read behind: another user, or the applicant after the period.
    client.force_login(world.other)
    assert client.get(download).status_code == 403
    platform_clock.set_now(dt.datetime(2027, 1, 1, 0, 0, 1, tzinfo=SHANGHAI))
    client.force_login(world.applicant)
    assert client.get(download).status_code == 403
    assert len(reads_audited()) == 5
