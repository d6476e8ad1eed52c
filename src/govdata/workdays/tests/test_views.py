"""The working-day calendar pages: calculator, month view, unknown-year warnings, and the
bureau's maintenance forms."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest
from django.urls import reverse

from govdata.audit.models import AuditEvent
from govdata.common.clock import SHANGHAI
from govdata.testing import actor
from govdata.workdays import services
from govdata.workdays.models import CalendarOverride, CalendarYear

URL = "/workdays/"


def official_deadline(received: dt.date, n: int) -> dt.date:
    """The n-th working day after ``received`` by the chinesecalendar package alone."""
    day, counted = received, 0
    while counted < n:
        day += dt.timedelta(days=1)
        counted += chinese_calendar.is_workday(day)
    return day


def cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@pytest.fixture
def staff_client(client, yk, clock):
    client.force_login(yk.police_staff)
    return client


@pytest.fixture
def bureau_client(client, yk, clock):
    client.force_login(yk.bureau)
    return client


def test_url_name():
    assert reverse("workdays:calendar") == URL


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.req("R-20.2")
def test_page_is_chinese_and_shows_this_and_next_month(staff_client):
    response = staff_client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "工作日日历" in html and "截止日期计算" in html
    # The clock stands at 2 March 2026: March and April are shown.
    assert "2026年3月" in html and "2026年4月" in html
    # Staff do not maintain the calendar.
    assert 'id="overrides"' not in html and reverse("workdays:override_add") not in html


@pytest.mark.req("R-20.2")
def test_spring_festival_month_marks_holidays_and_make_up_days(staff_client):
    html = staff_client.get(URL, {"month": "2026-02"}).content.decode()
    assert "2026年2月" in html and "2026年3月" in html
    # 14 and 28 February 2026 are Saturdays worked (调休); 16-20 and 23 February are weekday holidays.
    assert chinese_calendar.is_workday(dt.date(2026, 2, 28)) and dt.date(2026, 2, 28).weekday() == 5
    assert 'data-date="2026-02-28" data-kind="makeup"' in html
    assert 'data-date="2026-02-14" data-kind="makeup"' in html
    assert 'data-date="2026-02-17" data-kind="holiday"' in html
    assert 'data-date="2026-02-23" data-kind="holiday"' in html
    assert 'data-date="2026-02-24" data-kind="workday"' in html
    assert 'data-date="2026-03-07" data-kind="rest"' in html
    assert "调休上班" in html and "春节" in html


@pytest.mark.req("R-20.2")
@pytest.mark.parametrize("days", [5, 6])
def test_calculator_over_the_spring_festival(staff_client, days):
    received = dt.date(2026, 2, 13)
    expected = official_deadline(received, days)
    html = staff_client.get(URL, {"received": received.isoformat(), "days": days}).content.decode()
    assert 'id="deadline-result"' in html
    last_day = html.split('id="deadline-last-day">', 1)[1].split("</dd>", 1)[0]
    assert cn_date(expected) in last_day
    assert f"{expected.isoformat()} 23:59:59" in html
    assert 'id="deadline-uncertain"' not in html


@pytest.mark.req("R-20.2")
def test_sixth_working_day_after_13_february_2026_is_the_make_up_saturday(staff_client):
    # The receipt day is not counted; 14 Feb (Sat) is worked, 15-23 Feb are the holiday.
    html = staff_client.get(URL, {"received": "2026-02-13", "days": 6}).content.decode()
    assert "2026年2月28日 星期六" in html
    assert "调休上班" in html


@pytest.mark.req("R-20.2")
def test_unknown_year_is_flagged_in_the_calculator(staff_client):
    html = staff_client.get(URL, {"received": "2027-03-01", "days": 5}).content.decode()
    warning = html.split('id="deadline-uncertain"', 1)[1].split("</div>", 1)[0]
    assert "2027" in warning
    assert "2027年3月8日" in html  # Monday to Friday assumed


def test_unknown_coming_year_banner_until_confirmed(staff_client, yk):
    html = staff_client.get(URL).content.decode()
    banner = html.split('id="unknown-years"', 1)[1].split("</div>", 1)[0]
    assert "2027" in banner and "2026" not in banner
    services.confirm_year(actor(yk.bureau), 2027, "国务院办公厅关于2027年部分节假日安排的通知")
    assert 'id="unknown-years"' not in staff_client.get(URL).content.decode()


def test_bad_calculator_input_shows_field_errors(staff_client):
    response = staff_client.get(URL, {"received": "2026-13-40", "days": 0})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="deadline-result"' not in html
    assert "invalid-feedback" in html


@pytest.mark.req("R-6.1")
def test_bureau_adds_and_removes_an_override(bureau_client, yk):
    html = bureau_client.get(URL).content.decode()
    assert 'id="overrides"' in html and "确认年度" in html
    response = bureau_client.post(
        reverse("workdays:override_add"), {"date": "2027-02-06", "kind": "workday", "name": "春节调休"}
    )
    assert response.status_code == 302
    override = CalendarOverride.objects.get(date=dt.date(2027, 2, 6))
    assert override.kind == "workday" and override.created_by == yk.bureau
    assert AuditEvent.objects.filter(action="workdays.override.set", object_id=str(override.pk)).exists()
    page = bureau_client.get(URL, {"month": "2027-02"}).content.decode()
    assert "春节调休" in page
    assert 'data-date="2027-02-06" data-kind="makeup"' in page

    response = bureau_client.post(reverse("workdays:override_remove"), {"date": "2027-02-06"})
    assert response.status_code == 302
    assert not CalendarOverride.objects.exists()
    assert AuditEvent.objects.filter(action="workdays.override.remove").exists()


@pytest.mark.req("R-6.1")
@pytest.mark.parametrize("who", ["police_staff", "police_admin", "gz_admin", "evaluator"])
def test_others_cannot_change_the_calendar(client, yk, clock, who):
    client.force_login(getattr(yk, who))
    for name, data in [
        ("workdays:override_add", {"date": "2027-02-06", "kind": "workday"}),
        ("workdays:override_remove", {"date": "2027-02-06"}),
        ("workdays:year_confirm", {"year": 2027, "source": "通知"}),
    ]:
        assert client.post(reverse(name), data).status_code == 403
    assert not CalendarOverride.objects.exists() and not CalendarYear.objects.exists()


def test_service_errors_show_on_the_form(bureau_client):
    response = bureau_client.post(reverse("workdays:year_confirm"), {"year": 2026, "source": "通知"})
    assert response.status_code == 400
    assert "官方日历已涵盖2026年" in response.content.decode()
    assert not CalendarYear.objects.exists()

    response = bureau_client.post(reverse("workdays:override_remove"), {"date": "2027-05-01"})
    assert response.status_code == 400
    assert "2027-05-01" in response.content.decode()

    response = bureau_client.post(reverse("workdays:override_add"), {"date": "", "kind": "sometimes"})
    assert response.status_code == 400
    assert not CalendarOverride.objects.exists()


def test_bureau_confirms_a_year(bureau_client, yk):
    response = bureau_client.post(
        reverse("workdays:year_confirm"), {"year": 2027, "source": "国办发明电〔2026〕号"}
    )
    assert response.status_code == 302
    assert CalendarYear.objects.get(year=2027).confirmed_by == yk.bureau
    html = bureau_client.get(URL, {"received": "2027-03-01", "days": 5}).content.decode()
    assert 'id="deadline-uncertain"' not in html


def test_due_time_is_end_of_day_in_beijing(staff_client):
    html = staff_client.get(URL, {"received": "2026-03-02", "days": 1}).content.decode()
    due = dt.datetime(2026, 3, 3, 23, 59, 59, tzinfo=SHANGHAI)
    assert due.strftime("%Y-%m-%d %H:%M:%S") in html
