"""The sharing pages, role by role (R-17.1, R-20.1, R-20.2, R-22.1): the request form from a
catalog entry, the provider's inbox and answer, the consumer's grants and undertaking, using
data through the one read path, the access log and the bureau's overview."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.urls import reverse

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.common import clock as platform_clock
from govdata.datastore.services import loads
from govdata.datastore.tests import corpus as c
from govdata.datastore.tests.test_views import has_error_on, html
from govdata.orgs.models import InformationSystem
from govdata.sharing.models import Grant, ShareRequest
from govdata.sharing.services import requests as sharing
from govdata.workdays.calendar import local_date

from .conftest import ask, person_table

SHANGHAI = platform_clock.SHANGHAI


def url(name: str, *args) -> str:
    return reverse(f"sharing:{name}", args=args)


def granted(yk, resource, system, items=("sfzh", "xm")) -> Grant:
    grant = sharing.approve(t.actor(yk.police_admin), ask(yk, resource, system), items=list(items))
    return sharing.accept_grant(t.actor(yk.civil_admin), grant)


def columns(text: str) -> list[str]:
    """The item codes heading the data table."""
    return re.findall(r'<th[^>]*data-code="([^"]+)"', text)


def no_rows(text: str) -> bool:
    """Nothing of the table's rows: no data table, no ID number (whole or masked), no name."""
    return 'id="data-table"' not in text and "210802" not in text and "张" not in text


def row_of(text: str, pk: int, kind: str = "request") -> str:
    match = re.search(rf'<tr id="{kind}-{pk}".*?</tr>', text, re.S)
    return match.group(0) if match else ""


# --- the request form (R-20.2, R-17.1, R-20.1) -------------------------------------------------


@pytest.mark.req("R-20.2")
def test_a_department_requests_a_conditional_entry_from_its_page(client, yk, people, civil_system):
    entry = people.entry
    other = InformationSystem.objects.create(department=yk.police, name="人口库", owner="户政", status="existing")
    retired = InformationSystem.objects.create(
        department=yk.civil, name="旧系统", owner="办公室", status="existing", is_active=False
    )
    for who in (yk.police_admin, yk.bureau, yk.evaluator):  # the provider does not ask itself
        client.force_login(who)
        assert client.get(url("request_new", entry.pk)).status_code == 403
    client.force_login(yk.police_admin)
    assert 'id="request-button"' not in html(client.get(reverse("catalog:entry", args=[entry.pk])))

    client.force_login(yk.civil_admin)
    assert url("request_new", entry.pk) in html(client.get(reverse("catalog:entry", args=[entry.pk])))
    form = html(client.get(url("request_new", entry.pk)))
    for code in ("sfzh", "xm", "sjhm", "csrq"):
        assert f'value="{code}"' in form
    sensitive = re.search(r'value="sjhm".*?</label>', form, re.S).group(0)
    assert "badge" in sensitive and "badge" not in re.search(r'value="csrq".*?</label>', form, re.S).group(0)
    assert f'value="{civil_system.pk}"' in form
    assert f'value="{other.pk}"' not in form and f'value="{retired.pk}"' not in form

    today = platform_clock.today()
    refused = client.post(url("request_new", entry.pk), {"purpose": " ", "period_start": today, "period_end": today})
    text = html(refused)
    assert refused.status_code == 200 and has_error_on(text, "purpose") and has_error_on(text, "system")
    assert not ShareRequest.objects.exists()

    values = {
        "items": ["sfzh", "xm", "sjhm"],
        "purpose": "低保资格审核",
        "legal_duty": "《社会救助暂行办法》第十一条",
        "scope": "低保审核科室",
        "period_start": today.isoformat(),
        "period_end": (today + dt.timedelta(days=180)).isoformat(),
        "system": civil_system.pk,
    }
    response = client.post(url("request_new", entry.pk), values)
    share_request = ShareRequest.objects.get()
    assert response.status_code == 302 and response.url == url("request", share_request.pk)
    assert share_request.items == ["sfzh", "xm", "sjhm"] and share_request.consumer == yk.civil
    detail = html(client.get(response.url))
    assert local_date(share_request.due_at).isoformat() in detail and 'id="withdraw-button"' in detail
    assert 'id="approve-form"' not in detail  # the consumer does not answer
    assert f'id="request-{share_request.pk}"' in html(client.get(url("requests")))


@pytest.mark.req("R-17.1")
@pytest.mark.req("R-20.1")
def test_unconditional_and_not_shared_entries_explain_instead_of_asking(client, yk):
    open_one = person_table(yk, rows=0, name="户籍人口统计", share_type="unconditional", share_conditions="")
    basis = "《公安机关办理刑事案件程序规定》第四十七条"
    closed = person_table(yk, rows=0, name="在逃人员信息", share_type="not_shared", share_conditions="", share_basis=basis)
    client.force_login(yk.civil_admin)
    assert 'id="request-button"' not in html(client.get(reverse("catalog:entry", args=[open_one.entry.pk])))
    page = html(client.get(url("request_new", open_one.entry.pk)))
    assert 'id="no-request-needed"' in page and url("data", open_one.pk) in page and 'id="request-form"' not in page
    page = html(client.get(url("request_new", closed.entry.pk)))
    assert 'id="not-shared"' in page and basis in page and 'id="request-form"' not in page
    client.post(url("request_new", open_one.entry.pk), {"purpose": "x"})
    assert not ShareRequest.objects.exists()
    refused = client.get(url("data", closed.pk), {"purpose": "核查"})
    assert refused.status_code == 403 and 'id="refusal-reason"' in html(refused)


# --- answering (R-20.2) --------------------------------------------------------------------


@pytest.mark.req("R-20.2")
@pytest.mark.req("R-22.1")
def test_the_provider_approves_two_of_three_items_and_the_consumer_sees_those_two_masked(client, yk, people, civil_system):
    share_request = ask(yk, people, civil_system, items=["sfzh", "xm", "sjhm"])
    client.force_login(yk.police_admin)
    inbox = html(client.get(url("inbox")))
    waiting = inbox.split('id="waiting-table"', 1)[1].split('id="answered-table"', 1)[0]
    assert row_of(waiting, share_request.pk)
    detail = html(client.get(url("request", share_request.pk)))
    for code in ("sfzh", "xm", "sjhm"):  # everything asked for is offered, checked
        assert re.search(rf'<input[^>]*name="approve-items"[^>]*value="{code}"[^>]*checked', detail)
    client.force_login(yk.police_staff)  # sees the request, does not answer it
    assert 'id="approve-form"' not in html(client.get(url("request", share_request.pk)))
    assert client.post(url("approve", share_request.pk), {"approve-items": ["sfzh"]}).status_code == 403

    client.force_login(yk.police_admin)
    response = client.post(url("approve", share_request.pk), {"approve-items": ["sfzh", "xm"], "approve-note": "仅限姓名和身份证号"})
    assert response.status_code == 302 and response.url == url("request", share_request.pk)
    grant = Grant.objects.get()
    assert grant.items == ["sfzh", "xm"] and grant.accepted_at is None
    assert f'id="request-{share_request.pk}"' in html(client.get(url("inbox"))).split('id="answered-table"', 1)[1]

    client.force_login(yk.civil_admin)
    assert 'grant-awaiting' in html(client.get(url("grants")))
    page = html(client.get(url("grant", grant.pk)))
    assert str(sharing.UNDERTAKING)[:20] in page and 'id="accept-button"' in page
    waiting = client.get(url("data", people.pk))
    assert waiting.status_code == 403 and no_rows(html(waiting))
    assert client.post(url("accept", grant.pk)).status_code == 302
    grant.refresh_from_db()
    assert grant.accepted_by == yk.civil_admin
    assert "grant-active" in html(client.get(url("grant", grant.pk)))

    data = client.get(url("data", people.pk))
    text = html(data)
    assert data.status_code == 200 and columns(text) == ["sfzh", "xm"]
    assert "张*" in text and "张1" not in text
    assert c.id_number(1)[:6] + "********" in text and c.id_number(1) not in text
    assert "1390417" not in text  # the mobile number was not granted
    event = AuditEvent.objects.filter(action="sharing.read").latest("seq")
    assert event.purpose == grant.purpose and event.row_count == 5 and event.details["items"] == ["sfzh", "xm"]

    one = html(client.get(url("data", people.pk), {"field": "xm", "value": "张3"}))
    assert one.count("<tr>") == 1 + 1  # the header and one row
    forged = client.get(url("data", people.pk), {"field": "sjhm", "value": "13904170001"})
    assert has_error_on(html(forged), "field") and no_rows(html(forged))

    export = client.get(url("export", people.pk), {"format": "csv"})
    assert export.status_code == 200
    table = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert table[0] == ["公民身份号码", "姓名"] and len(table) == 6 and table[1][1].endswith("*")
    assert AuditEvent.objects.get(action="sharing.export").row_count == 5


@pytest.mark.req("R-20.2")
def test_a_rejection_without_a_legal_basis_is_refused_next_to_the_field(client, yk, people, civil_system):
    share_request = ask(yk, people, civil_system)
    client.force_login(yk.police_admin)
    refused = client.post(url("reject", share_request.pk), {"reject-basis": "  ", "reject-note": "不符合条件"})
    assert refused.status_code == 200 and has_error_on(html(refused), "reject-basis")
    share_request.refresh_from_db()
    assert share_request.status == ShareRequest.Status.SUBMITTED
    basis = "《中华人民共和国个人信息保护法》第十三条"
    assert client.post(url("reject", share_request.pk), {"reject-basis": basis}).status_code == 302
    share_request.refresh_from_db()
    assert share_request.status == ShareRequest.Status.REJECTED
    # A second answer is refused with a message, not an error page.
    again = client.post(url("approve", share_request.pk), {"approve-items": ["sfzh"]}, follow=True)
    assert again.status_code == 200 and not Grant.objects.exists()
    client.force_login(yk.civil_admin)
    detail = html(client.get(url("request", share_request.pk)))
    assert 'id="rejection"' in detail and basis in detail and 'id="withdraw-button"' not in detail


@pytest.mark.req("R-20.2")
def test_the_consumer_withdraws_and_renews_and_the_provider_revokes_with_a_reason(client, yk, people, civil_system):
    pending = ask(yk, people, civil_system)
    client.force_login(yk.police_admin)
    assert client.post(url("withdraw", pending.pk)).status_code == 403
    client.force_login(yk.civil_admin)
    assert client.post(url("withdraw", pending.pk)).status_code == 302
    pending.refresh_from_db()
    assert pending.status == ShareRequest.Status.WITHDRAWN

    grant = granted(yk, people, civil_system)
    page = html(client.get(url("grant", grant.pk)))
    assert 'id="renew-form"' in page and 'id="revoke-form"' not in page
    assert client.post(url("revoke", grant.pk), {"reason": "不再需要"}).status_code == 403
    response = client.post(url("renew", grant.pk), {"period_end": (grant.valid_until + dt.timedelta(days=365)).isoformat()})
    renewal = ShareRequest.objects.get(renewal_of=grant)
    assert response.status_code == 302 and response.url == url("request", renewal.pk)
    assert renewal.purpose == grant.purpose and renewal.items == grant.items

    client.force_login(yk.police_admin)
    refused = client.post(url("revoke", grant.pk), {"reason": " "})
    assert refused.status_code == 200 and has_error_on(html(refused), "reason")
    assert client.post(url("revoke", grant.pk), {"reason": "超范围使用"}).status_code == 302
    client.force_login(yk.civil_admin)
    page = html(client.get(url("grant", grant.pk)))
    assert "grant-revoked" in page and "超范围使用" in page and 'id="renew-form"' not in page
    after = client.get(url("data", people.pk))
    assert after.status_code == 403 and no_rows(html(after)) and 'id="refusal-reason"' in html(after)


@pytest.mark.req("R-20.2")
@pytest.mark.req("R-22.1")
def test_a_grant_shows_whether_it_awaits_the_undertaking_is_active_or_has_expired(client, yk, people, civil_system, clock):
    today = platform_clock.today()
    share_request = ask(yk, people, civil_system, period_end=today + dt.timedelta(days=10))
    grant = sharing.approve(t.actor(yk.police_admin), share_request, valid_until=today + dt.timedelta(days=5))

    def state() -> str:
        return re.search(r"grant-([a-z]+)", row_of(html(client.get(url("grants"))), grant.pk, "grant")).group(1)

    client.force_login(yk.civil_admin)
    assert state() == "awaiting"
    client.force_login(yk.police_staff)  # only the consumer's administrator gives the undertaking
    assert 'id="accept-button"' not in html(client.get(url("grant", grant.pk)))
    assert client.post(url("accept", grant.pk)).status_code == 403
    client.force_login(yk.civil_admin)
    client.post(url("accept", grant.pk))
    assert state() == "active"
    clock.advance(days=5)  # the last day counts
    assert state() == "active"
    clock.advance(days=1)
    assert state() == "expired" and 'id="use-data-' not in html(client.get(url("grant", grant.pk)))
    assert client.get(url("data", people.pk)).status_code == 403
    client.force_login(yk.police_admin)
    assert f'id="grant-{grant.pk}"' in html(client.get(url("grants"), {"side": "given"}))


# --- who sees what (R-20.2) ----------------------------------------------------------------


@pytest.mark.req("R-20.2")
def test_another_department_gets_404_on_requests_and_grants_and_403_without_rows_on_data(client, yk, people, civil_system):
    grant = granted(yk, people, civil_system)
    share_request = grant.request
    client.force_login(yk.gz_health_admin)
    for name in ("request", "approve", "reject", "withdraw"):
        method = client.get if name == "request" else client.post
        assert method(url(name, share_request.pk)).status_code == 404, name
    for name in ("grant", "accept", "renew", "revoke"):
        method = client.get if name == "grant" else client.post
        assert method(url(name, grant.pk)).status_code == 404, name
    assert f'id="request-{share_request.pk}"' not in html(client.get(url("inbox")))
    assert f'id="grant-{grant.pk}"' not in html(client.get(url("grants")))
    for params in ({}, {"purpose": "核查"}, {"field": "xm", "value": "张1"}):
        refused = client.get(url("data", people.pk), params)
        assert refused.status_code == 403 and no_rows(html(refused)) and 'id="refusal-reason"' in html(refused)
    export = client.get(url("export", people.pk), {"format": "csv", "purpose": "核查"})
    assert export.status_code == 403 and no_rows(html(export))
    refusals = AuditEvent.objects.filter(action__in=["sharing.read", "sharing.export"], details__outcome="refused")
    assert refusals.count() == 4 and set(refusals.values_list("department_id", flat=True)) == {yk.gz_health.pk}
    assert not AuditEvent.objects.filter(department_id=yk.gz_health.pk, details__outcome="allowed").exists()
    assert client.get(url("overview")).status_code == 403
    client.force_login(yk.evaluator)
    assert client.get(url("inbox")).status_code == 403 and client.get(url("overview")).status_code == 200
    assert client.get(url("request", share_request.pk)).status_code == 200  # evaluators read everything
    assert 'id="approve-form"' not in html(client.get(url("request", share_request.pk)))


@pytest.mark.req("R-20.2")
def test_an_unanswered_request_is_flagged_overdue_once_its_deadline_has_passed(client, yk, people, civil_system, clock):
    clock.set(dt.datetime(2026, 9, 30, 16, 0, tzinfo=SHANGHAI))
    share_request = ask(yk, people, civil_system)  # due 13 October, across the National Day holiday
    client.force_login(yk.police_admin)
    row = row_of(html(client.get(url("inbox"))), share_request.pk)
    assert "2026-10-13" in row and "overdue-badge" not in row
    clock.set(share_request.due_at)
    assert "overdue-badge" not in row_of(html(client.get(url("inbox"))), share_request.pk)
    clock.set(share_request.due_at + dt.timedelta(seconds=1))
    assert "overdue-badge" in row_of(html(client.get(url("inbox"))), share_request.pk)
    assert "overdue-badge" in html(client.get(url("request", share_request.pk)))
    client.force_login(yk.civil_admin)
    assert "overdue-badge" in row_of(html(client.get(url("requests"))), share_request.pk)
    client.force_login(yk.bureau)
    assert f'id="overdue-{share_request.pk}"' in html(client.get(url("overview")))
    client.force_login(yk.police_admin)
    client.post(url("reject", share_request.pk), {"reject-basis": "《政务数据共享条例》第二十条"})
    assert "overdue-badge" not in row_of(html(client.get(url("inbox"))), share_request.pk)


# --- use of data, the access log and the overview (R-20.1, R-22.1) -------------------------


@pytest.mark.req("R-20.1")
@pytest.mark.req("R-22.1")
def test_unconditional_data_is_read_for_a_stated_purpose_page_by_page(client, yk):
    open_one = person_table(yk, rows=0, name="户籍人口统计", share_type="unconditional", share_conditions="")
    rows = [c.person(i) for i in range(1, 106)]
    loads.load_table(
        t.actor(yk.police_staff), open_one, io.BytesIO(c.csv_bytes(c.PERSON_HEADER, rows)), filename="p.csv", mode="replace"
    )
    client.force_login(yk.civil_admin)
    entry_page = html(client.get(reverse("catalog:entry", args=[open_one.entry.pk])))
    assert f'id="use-data-{open_one.pk}"' in entry_page
    first = html(client.get(url("data", open_one.pk)))
    assert 'name="purpose"' in first and 'id="data-table"' not in first
    unstated = html(client.get(url("data", open_one.pk), {"purpose": " "}))
    assert has_error_on(unstated, "purpose") and 'id="data-table"' not in unstated
    assert not AuditEvent.objects.filter(action="sharing.read").exists()

    page = html(client.get(url("data", open_one.pk), {"purpose": "低保核对"}))
    assert page.count("<tr>") == 1 + 100 and "张*" in page and c.id_number(1) not in page
    next_url = re.search(r'id="next-page" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    second = html(client.get(url("data", open_one.pk) + next_url))
    assert second.count("<tr>") == 1 + 5 and 'id="next-page"' not in second and 'id="first-page"' in second
    reads = AuditEvent.objects.filter(action="sharing.read").order_by("seq")
    assert [(e.purpose, e.row_count) for e in reads] == [("低保核对", 100), ("低保核对", 5)]
    assert client.get(url("export", open_one.pk), {"format": "json"}).status_code == 302  # no purpose stated

    client.force_login(yk.police_staff)  # the provider reads its own data whole
    own = html(client.get(url("data", open_one.pk), {"purpose": "自查"}))
    assert c.id_number(1) in own


@pytest.mark.req("R-22.1")
def test_the_access_log_lists_every_read_with_its_purpose_for_the_provider_and_the_bureau(client, yk, people, civil_system):
    grant = granted(yk, people, civil_system)
    client.force_login(yk.civil_admin)
    client.get(url("data", people.pk))
    assert client.get(url("log", people.pk)).status_code == 403
    client.force_login(yk.gz_health_admin)
    client.get(url("data", people.pk), {"purpose": "核查"})
    assert client.get(url("log", people.pk)).status_code == 403

    for who in (yk.police_staff, yk.bureau, yk.evaluator):
        client.force_login(who)
        response = client.get(url("log", people.pk))
        assert response.status_code == 200, who
    text = html(response)
    allowed = re.search(r'<tr id="event-\d+">.*?</tr>', text, re.S).group(0)
    assert grant.purpose in allowed and yk.civil.name in allowed and "civil-admin" in allowed
    assert "sfzh, xm" in allowed and ">5<" in allowed and "outcome-allowed" in allowed
    refused = re.search(r'<tr id="event-\d+" class="table-warning">.*?</tr>', text, re.S).group(0)
    assert yk.gz_health.name in refused and "核查" in refused and "outcome-refused" in refused
    # Only uses of this resource's data: the request and the grant are not listed.
    assert text.count('<tr id="event-') == 2
    client.force_login(yk.police_admin)
    assert url("log", people.pk) in html(client.get(url("grant", grant.pk)))


@pytest.mark.req("R-20.2")
def test_the_overview_gives_each_providers_average_answer_time_in_working_days(client, yk, people, civil_system, clock):
    monday = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
    clock.set(monday)
    fast, slow, open_request = (ask(yk, people, civil_system) for _ in range(3))
    clock.set(dt.datetime(2026, 3, 4, 10, 0, tzinfo=SHANGHAI))  # Wednesday: 2 working days
    sharing.approve(t.actor(yk.police_admin), fast)
    clock.set(dt.datetime(2026, 3, 6, 17, 0, tzinfo=SHANGHAI))  # Friday: 4 working days
    sharing.reject(t.actor(yk.police_admin), slow, basis="《政务数据共享条例》第二十条")
    clock.set(dt.datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI))  # the third is overdue since Monday night
    for who in (yk.police_admin, yk.civil_admin, yk.gz_health_admin):
        client.force_login(who)
        assert client.get(url("overview")).status_code == 403
    client.force_login(yk.bureau)
    text = html(client.get(url("overview")))
    row = re.search(rf'<tr id="provider-{yk.police.pk}">.*?</tr>', text, re.S).group(0)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    assert cells == [yk.police.name, "3", "2", "3.0", "1"]
    assert f'id="overdue-{open_request.pk}"' in text and f'id="overdue-{fast.pk}"' not in text
    assert "/sharing/overview/" in text.split('class="navbar-nav', 1)[1].split("</ul>", 1)[0]
