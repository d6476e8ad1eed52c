"""Audit trail pages: who sees which events, filters, detail, chain verification, admin."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.sites import site as admin_site
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse

from govdata.audit.models import AuditEvent
from govdata.audit.services import record
from govdata.common.actor import Actor
from govdata.common.clock import SHANGHAI
from govdata.testing import actor

URL = "/audit/"


@pytest.fixture
def trail(yk, clock):
    """One data access per department, at known times."""
    clock.set(dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI))
    police = record(
        Actor(user=yk.police_staff, application="police-app", ip="10.1.2.3"),
        "sharing.data.read",
        purpose="核查户籍信息",
        details={"resource": "户籍人口", "参数": {"身份证号": "2108..."}},
        rows=12,
    )
    clock.set(dt.datetime(2026, 3, 5, 14, 0, tzinfo=SHANGHAI))
    civil = record(actor(yk.civil_admin), "catalog.entry.submit", department=yk.civil, details={"entry": 7})
    clock.set(dt.datetime(2026, 3, 9, 8, 0, tzinfo=SHANGHAI))
    gaizhou = record(actor(yk.gz_health_admin), "sharing.data.read", purpose="疫苗接种统计", rows=300)
    return {"police": police, "civil": civil, "gaizhou": gaizhou}


def seqs_on_page(html: str) -> set[int]:
    out = set()
    for part in html.split('href="/audit/events/')[1:]:
        out.add(int(part.split("/", 1)[0]))
    return out


def test_url_names():
    assert reverse("audit:events") == URL
    assert reverse("audit:event", args=[3]) == "/audit/events/3/"


@pytest.mark.req("R-34.3")
@pytest.mark.req("R-22.1")
def test_bureau_sees_every_event_with_all_columns(client, yk, trail):
    client.force_login(yk.bureau)
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "审计日志" in html
    assert {e.seq for e in trail.values()} <= seqs_on_page(html)
    # time in Beijing time, actor, application, department name, purpose, rows, client address
    assert "2026-03-02 09:00:00" in html
    assert "police-staff" in html and "police-app" in html and "营口市公安局" in html
    assert "核查户籍信息" in html and ">12<" in html and "10.1.2.3" in html
    assert "盖州市卫生健康局" in html and "营口市民政局" in html


@pytest.mark.req("R-34.3")
@pytest.mark.req("R-5.1")
def test_security_officer_sees_only_own_department(client, yk, trail):
    client.force_login(yk.police_security)
    html = client.get(URL).content.decode()
    assert seqs_on_page(html) == {trail["police"].seq}
    assert "营口市民政局" not in html.split('id="audit-events"', 1)[1]
    assert client.get(reverse("audit:event", args=[trail["civil"].seq])).status_code == 404
    assert client.get(reverse("audit:event", args=[trail["police"].seq])).status_code == 200


@pytest.mark.req("R-34.3")
@pytest.mark.req("R-5.1")
def test_region_admin_sees_only_own_region(client, yk, trail):
    client.force_login(yk.gz_admin)
    html = client.get(URL).content.decode()
    assert seqs_on_page(html) == {trail["gaizhou"].seq}
    assert client.get(reverse("audit:event", args=[trail["police"].seq])).status_code == 404
    # Filtering by another department's id does not reveal anything either.
    html = client.get(URL, {"department": yk.police.pk}).content.decode()
    assert seqs_on_page(html) == set()


@pytest.mark.req("R-34.3")
@pytest.mark.parametrize("who", ["police_staff", "police_admin", "civil_admin"])
def test_others_are_refused(client, yk, trail, who):
    client.force_login(getattr(yk, who))
    assert client.get(URL).status_code == 403
    assert client.get(reverse("audit:event", args=[trail["police"].seq])).status_code == 403


def test_anonymous_goes_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.req("R-22.1")
def test_filters(client, yk, trail):
    client.force_login(yk.evaluator)

    def shown(**params):
        return seqs_on_page(client.get(URL, params).content.decode())

    assert shown(action="sharing.") == {trail["police"].seq, trail["gaizhou"].seq}
    assert shown(action="catalog") == {trail["civil"].seq}
    assert shown(actor="civil") == {trail["civil"].seq}
    assert shown(department=yk.gz_health.pk) == {trail["gaizhou"].seq}
    assert shown(date_from="2026-03-05", date_to="2026-03-05") == {trail["civil"].seq}
    assert shown(date_from="2026-03-03") == {trail["civil"].seq, trail["gaizhou"].seq}
    assert shown(date_to="2026-03-02") == {trail["police"].seq}
    user_events = AuditEvent.objects.filter(object_type="orgs.user")
    assert shown(object_type="orgs.user") == set(user_events.values_list("seq", flat=True))
    # A backwards range is an error on the form, not a crash.
    html = client.get(URL, {"date_from": "2026-03-09", "date_to": "2026-03-01"}).content.decode()
    assert "invalid-feedback" in html and seqs_on_page(html) == set()


def test_pagination_keeps_filters(client, yk, clock):
    for i in range(60):
        record(Actor.platform(), "test.bulk", details={"i": i})
    client.force_login(yk.bureau)
    html = client.get(URL, {"action": "test."}).content.decode()
    assert len(seqs_on_page(html)) == 50
    assert "?action=test.&amp;page=2" in html
    html = client.get(URL, {"action": "test.", "page": 2}).content.decode()
    assert len(seqs_on_page(html)) == 10


@pytest.mark.req("R-34.3")
def test_event_detail_shows_details_and_hashes(client, yk, trail):
    client.force_login(yk.bureau)
    event = trail["police"]
    html = client.get(reverse("audit:event", args=[event.seq])).content.decode()
    assert event.hash in html and event.prev_hash in html
    assert "户籍人口" in html and "身份证号" in html
    assert "police-app" in html


@pytest.mark.req("R-34.3")
def test_bureau_verifies_the_chain_and_the_verification_is_recorded(client, yk, trail):
    client.force_login(yk.bureau)
    before = AuditEvent.objects.count()
    response = client.post(reverse("audit:verify"), follow=True)
    html = response.content.decode()
    assert "审计链完整" in html and str(before) in html
    event = AuditEvent.objects.order_by("-seq").first()
    assert event.action == "audit.verify" and event.actor_label == "bureau"
    assert event.details == {"ok": True, "count": before, "first_bad_seq": None, "reason": ""}


@pytest.mark.req("R-34.3")
def test_verification_names_the_first_bad_sequence_number(client, yk, trail):
    target = trail["civil"].seq
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute("UPDATE audit_auditevent SET row_count = 99999 WHERE seq = %s", [target])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")
    client.force_login(yk.bureau)
    html = client.post(reverse("audit:verify"), follow=True).content.decode()
    assert f"序号 {target} 处断裂" in html
    assert AuditEvent.objects.order_by("-seq").first().details["first_bad_seq"] == target


@pytest.mark.req("R-34.3")
@pytest.mark.parametrize("who", ["evaluator", "gz_admin", "police_security", "police_staff"])
def test_only_the_bureau_verifies(client, yk, trail, who):
    client.force_login(getattr(yk, who))
    before = AuditEvent.objects.count()
    assert client.post(reverse("audit:verify")).status_code == 403
    assert AuditEvent.objects.count() == before
    if who != "police_staff":
        assert 'id="verify-chain"' not in client.get(URL).content.decode()


@pytest.mark.req("R-34.3")
def test_admin_cannot_add_change_or_delete_audit_events(yk):
    yk.bureau.is_superuser = yk.bureau.is_staff = True
    yk.bureau.save()
    request = RequestFactory().get("/django-admin/")
    request.user = yk.bureau
    model_admin = admin_site._registry[AuditEvent]
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


@pytest.mark.req("R-34.3")
def test_admin_list_and_detail_are_read_only(client, yk, trail):
    yk.bureau.is_superuser = yk.bureau.is_staff = True
    yk.bureau.save()
    client.force_login(yk.bureau)
    assert client.get("/django-admin/audit/auditevent/").status_code == 200
    event = trail["police"]
    page = client.get(f"/django-admin/audit/auditevent/{event.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(f"/django-admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/django-admin/audit/auditevent/add/").status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk, row_count=12).exists()
