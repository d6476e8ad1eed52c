"""The legal deadline rule: "within N working days of receipt" (Arts. 15, 20, 23, 29).

The receipt day never counts; the deadline is 23:59:59 Asia/Shanghai of the N-th working day
after it; holidays and make-up working days (调休) come from the official calendar, corrected
or extended by the bureau's overrides.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from govdata.audit.chain import verify_chain
from govdata.audit.models import AuditEvent
from govdata.common.clock import SHANGHAI
from govdata.testing import actor
from govdata.workdays import calendar, services
from govdata.workdays.calendar import WorkCalendar, YearStatus
from govdata.workdays.models import CalendarOverride, CalendarYear

UTC = dt.UTC
D = dt.date


def due(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=SHANGHAI)


# --- the seasons, checked against the installed package first ------------------------------

# (holiday first day, holiday last day, make-up working days) as published by the State Council.
SEASONS = {
    "Spring Festival 2025": (D(2025, 1, 28), D(2025, 2, 4), [D(2025, 1, 26), D(2025, 2, 8)]),
    "National Day 2025": (D(2025, 10, 1), D(2025, 10, 8), [D(2025, 9, 28), D(2025, 10, 11)]),
    "Spring Festival 2026": (D(2026, 2, 15), D(2026, 2, 23), [D(2026, 2, 14), D(2026, 2, 28)]),
    "National Day 2026": (D(2026, 10, 1), D(2026, 10, 7), [D(2026, 9, 20), D(2026, 10, 10)]),
}


@pytest.mark.req("R-20.2")
@pytest.mark.parametrize("season", SEASONS)
def test_installed_calendar_knows_the_season(season):
    first, last, makeups = SEASONS[season]
    day = first
    while day <= last:
        is_holiday, _name = chinese_calendar.get_holiday_detail(day)
        assert is_holiday and not chinese_calendar.is_workday(day), day
        assert not WorkCalendar().is_workday(day), day
        day += dt.timedelta(days=1)
    for makeup in makeups:
        assert makeup.weekday() >= 5, makeup  # a weekend day ...
        is_holiday, name = chinese_calendar.get_holiday_detail(makeup)
        assert not is_holiday and name is not None, makeup  # ... worked in lieu of the season
        assert WorkCalendar().is_workday(makeup), makeup
    # The season is bounded: the day after it is a working day or an ordinary weekend day.
    after = last + dt.timedelta(days=1)
    assert WorkCalendar().is_workday(after) or not chinese_calendar.get_holiday_detail(after)[1]
    assert WorkCalendar().year_status(first.year) == YearStatus.OFFICIAL


# --- deadlines across the seasons (expected dates worked out by hand) ----------------------

# received, N, last day. Working days are listed in the comment, receipt day excluded.
SEASON_DEADLINES = [
    # Spring Festival 2025: holiday Tue 1-28 .. Tue 2-4; make-up Sun 1-26, Sat 2-8.
    # Fri 1-24: Sun 1-26, Mon 1-27, Wed 2-5, Thu 2-6, Fri 2-7 | Sat 2-8, 2-10, 2-11, 2-12, 2-13.
    (D(2025, 1, 24), 5, D(2025, 2, 7)),
    (D(2025, 1, 24), 10, D(2025, 2, 13)),
    # Mon 1-27 (last day before the holiday): 2-5, 2-6, 2-7, Sat 2-8, Mon 2-10 | 2-11..2-14, Mon 2-17.
    (D(2025, 1, 27), 5, D(2025, 2, 10)),
    (D(2025, 1, 27), 10, D(2025, 2, 17)),
    # Received on Sat 2-1, a holiday: counts from Wed 2-5, the same as 1-27.
    (D(2025, 2, 1), 5, D(2025, 2, 10)),
    # Received on the make-up Sat 2-8 (a working day, but the receipt day never counts):
    # Mon 2-10, 2-11, 2-12, 2-13, Fri 2-14.
    (D(2025, 2, 8), 5, D(2025, 2, 14)),
    # National Day 2025: holiday Wed 10-1 .. Wed 10-8; make-up Sun 9-28, Sat 10-11.
    # Fri 9-26: Sun 9-28, 9-29, 9-30, Thu 10-9, Fri 10-10 | Sat 10-11, 10-13, 10-14, 10-15, 10-16.
    (D(2025, 9, 26), 5, D(2025, 10, 10)),
    (D(2025, 9, 26), 10, D(2025, 10, 16)),
    # Received Fri 10-3 (holiday): 10-9, 10-10, Sat 10-11, 10-13, 10-14 | 10-15, 10-16, 10-17, 10-20, 10-21.
    (D(2025, 10, 3), 5, D(2025, 10, 14)),
    (D(2025, 10, 3), 10, D(2025, 10, 21)),
    # Spring Festival 2026: holiday Sun 2-15 .. Mon 2-23; make-up Sat 2-14, Sat 2-28.
    # Fri 2-13: Sat 2-14, Tue 2-24, 2-25, 2-26, Fri 2-27 | Sat 2-28, Mon 3-2, 3-3, 3-4, Thu 3-5.
    (D(2026, 2, 13), 5, D(2026, 2, 27)),
    (D(2026, 2, 13), 10, D(2026, 3, 5)),
    # Received Wed 2-18 (holiday): 2-24, 2-25, 2-26, 2-27, Sat 2-28 | 3-2, 3-3, 3-4, 3-5, Fri 3-6.
    (D(2026, 2, 18), 5, D(2026, 2, 28)),
    (D(2026, 2, 18), 10, D(2026, 3, 6)),
    # National Day 2026: Mid-Autumn Fri 9-25 .. Sun 9-27, National Day Thu 10-1 .. Wed 10-7;
    # make-up Sun 9-20, Sat 10-10.
    # Fri 9-18: Sun 9-20, 9-21, 9-22, 9-23, Thu 9-24 | Mon 9-28, 9-29, Wed 9-30, Thu 10-8, Fri 10-9.
    (D(2026, 9, 18), 5, D(2026, 9, 24)),
    (D(2026, 9, 18), 10, D(2026, 10, 9)),
    # Received Sat 9-19 (weekend): counts from the make-up Sun 9-20, the same as 9-18.
    (D(2026, 9, 19), 5, D(2026, 9, 24)),
    # Wed 9-30: Thu 10-8, Fri 10-9, Sat 10-10, Mon 10-12, Tue 10-13 | 10-14, 10-15, 10-16, 10-19, 10-20.
    (D(2026, 9, 30), 5, D(2026, 10, 13)),
    (D(2026, 9, 30), 10, D(2026, 10, 20)),
]


@pytest.mark.req("R-20.2")
@pytest.mark.req("R-29.2")
@pytest.mark.req("R-23.1")
@pytest.mark.req("R-15.2")
@pytest.mark.parametrize(("received", "n", "last_day"), SEASON_DEADLINES)
def test_deadline_across_holiday_seasons(db, received, n, last_day):
    deadline = calendar.deadline(received, n)
    assert deadline.received_on == received
    assert deadline.working_days == n
    assert deadline.last_day == last_day
    assert deadline.due == due(last_day)
    assert not deadline.uncertain and deadline.uncertain_years == ()
    # Counting back confirms it: exactly n working days after receipt, the last one included.
    assert WorkCalendar().working_days_between(received, last_day) == n
    assert WorkCalendar().working_days_between(received, last_day - dt.timedelta(days=1)) == n - 1


@pytest.mark.req("R-20.2")
@pytest.mark.req("R-29.2")
def test_ordinary_weeks_receipt_day_not_counted_and_weekend_skipped():
    cal = WorkCalendar()
    # Mon 2026-03-02: Tue .. Fri are 1-4, Mon 3-9 is the fifth; ten ends Mon 3-16.
    assert cal.deadline(D(2026, 3, 2), 5).last_day == D(2026, 3, 9)
    assert cal.deadline(D(2026, 3, 2), 10).last_day == D(2026, 3, 16)
    assert cal.deadline(D(2026, 3, 2), 1).last_day == D(2026, 3, 3)
    # Received Friday: the first day is Monday.
    assert cal.deadline(D(2026, 3, 6), 1).last_day == D(2026, 3, 9)
    # Received on a Saturday or a Sunday: the count starts on Monday, like a Friday receipt.
    assert cal.deadline(D(2026, 3, 7), 5).last_day == D(2026, 3, 13)
    assert cal.deadline(D(2026, 3, 8), 5).last_day == D(2026, 3, 13)
    assert cal.deadline(D(2026, 3, 6), 5).last_day == D(2026, 3, 13)
    with pytest.raises(ValueError):
        cal.deadline(D(2026, 3, 2), 0)


@pytest.mark.req("R-20.2")
@pytest.mark.req("R-29.2")
def test_due_is_end_of_last_day_in_shanghai_and_overdue_just_after():
    deadline = WorkCalendar().deadline(D(2026, 2, 13), 5)
    assert deadline.due == dt.datetime(2026, 2, 27, 23, 59, 59, tzinfo=SHANGHAI)
    assert deadline.due == dt.datetime(2026, 2, 27, 15, 59, 59, tzinfo=UTC)
    assert not deadline.is_overdue(dt.datetime(2026, 2, 27, 9, 0, tzinfo=SHANGHAI))
    assert not deadline.is_overdue(dt.datetime(2026, 2, 27, 23, 59, 58, tzinfo=SHANGHAI))
    assert not deadline.is_overdue(deadline.due)
    assert deadline.is_overdue(deadline.due + dt.timedelta(microseconds=1))
    assert deadline.is_overdue(dt.datetime(2026, 2, 28, 0, 0, 0, tzinfo=SHANGHAI))
    # Same instant expressed in UTC: 16:00 UTC is midnight in Shanghai.
    assert not deadline.is_overdue(dt.datetime(2026, 2, 27, 15, 59, 59, tzinfo=UTC))
    assert deadline.is_overdue(dt.datetime(2026, 2, 27, 16, 0, 0, tzinfo=UTC))


@pytest.mark.req("R-20.2")
@pytest.mark.req("R-29.2")
def test_overdue_follows_the_platform_clock(db, clock):
    deadline = calendar.deadline(dt.datetime(2026, 3, 2, 9, 30, tzinfo=SHANGHAI), 5)
    assert deadline.last_day == D(2026, 3, 9)
    clock.set(dt.datetime(2026, 3, 9, 23, 59, 59, tzinfo=SHANGHAI))
    assert not deadline.is_overdue(clock.now())
    clock.advance(seconds=1)
    assert deadline.is_overdue(clock.now())


@pytest.mark.req("R-20.2")
@pytest.mark.req("R-29.2")
def test_receipt_time_late_in_the_evening_uses_the_shanghai_date():
    cal = WorkCalendar()
    # 23:30 on Fri 2026-02-13 in Shanghai, expressed in UTC (15:30): still Friday 2-13.
    friday_night = dt.datetime(2026, 2, 13, 15, 30, tzinfo=UTC)
    assert friday_night == dt.datetime(2026, 2, 13, 23, 30, tzinfo=SHANGHAI)
    deadline = cal.deadline(friday_night, 5)
    assert deadline.received_on == D(2026, 2, 13)
    assert deadline.last_day == D(2026, 2, 27)
    # 16:30 UTC on 2-13 is 00:30 on Sat 2-14 in Shanghai: received on the make-up Saturday,
    # which itself does not count, so the fifth day is the make-up Sat 2-28 (UTC date would
    # give Fri 2-27).
    after_midnight = dt.datetime(2026, 2, 13, 16, 30, tzinfo=UTC)
    deadline = cal.deadline(after_midnight, 5)
    assert deadline.received_on == D(2026, 2, 14)
    assert deadline.last_day == D(2026, 2, 28)
    assert deadline.due == dt.datetime(2026, 2, 28, 23, 59, 59, tzinfo=SHANGHAI)
    # Early morning Shanghai is the previous day in UTC: 07:00 Shanghai Mon 3-2 = 23:00 UTC 3-1.
    assert cal.deadline(dt.datetime(2026, 3, 1, 23, 0, tzinfo=UTC), 1).last_day == D(2026, 3, 3)


def test_naive_receipt_time_is_refused():
    with pytest.raises(ValueError):
        WorkCalendar().deadline(dt.datetime(2026, 2, 13, 23, 30), 5)


@pytest.mark.req("R-20.2")
def test_working_days_between():
    cal = WorkCalendar()
    # After Fri 2026-02-13 up to Fri 2-27: Sat 2-14, 2-24, 2-25, 2-26, 2-27.
    assert cal.working_days_between(D(2026, 2, 13), D(2026, 2, 27)) == 5
    # The holiday contributes nothing.
    assert cal.working_days_between(D(2026, 2, 14), D(2026, 2, 23)) == 0
    # After Fri 2026-09-25 (a holiday) to Sat 10-10: 9-28, 9-29, 9-30, 10-8, 10-9, 10-10.
    assert cal.working_days_between(D(2026, 9, 25), D(2026, 10, 10)) == 6
    # Same day or reversed: zero.
    assert cal.working_days_between(D(2026, 3, 2), D(2026, 3, 2)) == 0
    assert cal.working_days_between(D(2026, 3, 9), D(2026, 3, 2)) == 0
    # One ordinary week: Tue .. Mon.
    assert cal.working_days_between(D(2026, 3, 2), D(2026, 3, 9)) == 5


@settings(max_examples=150, deadline=None, database=None)
@given(
    received=st.dates(min_value=D(2024, 1, 1), max_value=D(2026, 11, 30)),
    n=st.integers(min_value=1, max_value=15),
)
def test_property_deadline_and_working_days_between_agree(received, n):
    cal = WorkCalendar()
    deadline = cal.deadline(received, n)
    assert deadline.last_day > received
    assert cal.is_workday(deadline.last_day)
    assert cal.working_days_between(received, deadline.last_day) == n
    # A receipt on a non-working day counts from the next working day: it gives the same
    # deadline as a receipt on the day before.
    if not cal.is_workday(received):
        assert cal.deadline(received - dt.timedelta(days=1), n).last_day == deadline.last_day


# --- the bureau's overrides ----------------------------------------------------------------


def audit_count(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


@pytest.mark.req("R-20.2")
@pytest.mark.req("R-29.2")
def test_bureau_extra_holiday_shifts_a_deadline(yk, clock):
    # Mon 2026-03-02: normally Tue 3-3 .. Mon 3-9.
    assert calendar.deadline(D(2026, 3, 2), 5).last_day == D(2026, 3, 9)
    override = services.set_override(actor(yk.bureau), D(2026, 3, 3), CalendarOverride.Kind.HOLIDAY, " 城市应急停工 ")
    assert override.name == "城市应急停工" and override.created_by == yk.bureau
    assert audit_count("workdays.override.set") == 1
    event = AuditEvent.objects.get(action="workdays.override.set")
    assert event.actor_label == "bureau" and event.details["date"] == "2026-03-03" and event.details["previous"] is None
    # Now Wed 3-4 .. Tue 3-10.
    assert calendar.deadline(D(2026, 3, 2), 5).last_day == D(2026, 3, 10)
    assert calendar.deadline(D(2026, 3, 2), 5).uncertain is False

    # Changing it back to a working day is a second, audited change remembering the previous kind.
    services.set_override(actor(yk.bureau), D(2026, 3, 3), CalendarOverride.Kind.WORKDAY)
    assert audit_count("workdays.override.set") == 2
    assert AuditEvent.objects.filter(action="workdays.override.set").last().details["previous"] == "holiday"
    assert CalendarOverride.objects.count() == 1
    assert calendar.deadline(D(2026, 3, 2), 5).last_day == D(2026, 3, 9)

    services.remove_override(actor(yk.bureau), D(2026, 3, 3))
    assert audit_count("workdays.override.remove") == 1
    assert not CalendarOverride.objects.exists()
    with pytest.raises(ValidationError) as exc:
        services.remove_override(actor(yk.bureau), D(2026, 3, 3))
    assert "date" in exc.value.message_dict
    assert audit_count("workdays.override.remove") == 1
    assert verify_chain().ok


@pytest.mark.req("R-20.2")
def test_override_can_turn_an_official_holiday_into_a_workday(yk):
    # Received Fri 2026-02-13: Sat 2-14, then Tue 2-24.. With Mon 2-23 made a working day
    # (e.g. a local decision), the count is 2-14, 2-23, 2-24, 2-25, 2-26.
    services.set_override(actor(yk.bureau), D(2026, 2, 23), CalendarOverride.Kind.WORKDAY, "本地调整")
    assert calendar.deadline(D(2026, 2, 13), 5).last_day == D(2026, 2, 26)


@pytest.mark.req("R-20.2")
@pytest.mark.req("R-29.2")
def test_unknown_year_is_uncertain_until_confirmed_and_makeup_override_counts(yk, clock):
    assert not calendar.official_year_known(2027)
    assert WorkCalendar.load().year_status(2027) == YearStatus.UNKNOWN
    # Fri 2027-01-08 with weekdays assumed: Mon 1-11 .. Fri 1-15.
    deadline = calendar.deadline(D(2027, 1, 8), 5)
    assert deadline.last_day == D(2027, 1, 15)
    assert deadline.uncertain and deadline.uncertain_years == (2027,)

    # The bureau enters a make-up working day on Sat 2027-01-09: 1-9, 1-11, 1-12, 1-13, 1-14.
    services.set_override(actor(yk.bureau), D(2027, 1, 9), CalendarOverride.Kind.WORKDAY, "调休上班")
    deadline = calendar.deadline(D(2027, 1, 8), 5)
    assert deadline.last_day == D(2027, 1, 14)
    assert deadline.uncertain  # still: the year is not confirmed

    # A deadline that starts in 2026 and ends in 2027 is uncertain too.
    crossing = calendar.deadline(D(2026, 12, 29), 5)
    assert crossing.uncertain_years == (2027,)
    assert calendar.deadline(D(2026, 12, 1), 5).uncertain is False

    confirmed = services.confirm_year(actor(yk.bureau), 2027, " 国务院办公厅关于2027年部分节假日安排的通知 ")
    assert confirmed.source == "国务院办公厅关于2027年部分节假日安排的通知"
    assert confirmed.confirmed_by == yk.bureau and confirmed.confirmed_at == clock.now()
    assert audit_count("workdays.year.confirm") == 1
    assert WorkCalendar.load().year_status(2027) == YearStatus.BUREAU
    deadline = calendar.deadline(D(2027, 1, 8), 5)
    assert deadline.last_day == D(2027, 1, 14) and not deadline.uncertain
    assert not calendar.deadline(D(2026, 12, 29), 5).uncertain
    # 2028 is still unknown.
    assert calendar.deadline(D(2028, 3, 1), 5).uncertain_years == (2028,)


@pytest.mark.req("R-20.2")
def test_confirm_year_refuses_an_official_year_and_a_blank_source(yk):
    with pytest.raises(ValidationError) as exc:
        services.confirm_year(actor(yk.bureau), 2026, "国务院办公厅通知")
    assert "year" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.confirm_year(actor(yk.bureau), 2027, "   ")
    assert "source" in exc.value.message_dict
    assert not CalendarYear.objects.exists()
    assert audit_count("workdays.year.confirm") == 0


@pytest.mark.req("R-6.1")
@pytest.mark.parametrize("who", ["gz_admin", "police_admin", "police_staff", "evaluator", "police_security"])
def test_only_the_bureau_maintains_the_calendar(yk, who):
    user = getattr(yk, who)
    events = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        services.set_override(actor(user), D(2026, 3, 3), CalendarOverride.Kind.HOLIDAY, "x")
    with pytest.raises(PermissionDenied):
        services.confirm_year(actor(user), 2027, "通知")
    services.set_override(actor(yk.bureau), D(2026, 3, 4), CalendarOverride.Kind.HOLIDAY, "x")
    with pytest.raises(PermissionDenied):
        services.remove_override(actor(user), D(2026, 3, 4))
    assert list(CalendarOverride.objects.values_list("date", flat=True)) == [D(2026, 3, 4)]
    assert not CalendarYear.objects.exists()
    assert AuditEvent.objects.count() == events + 1
    # Anonymous callers are refused as well.
    with pytest.raises(PermissionDenied):
        services.set_override(actor(None), D(2026, 3, 3), CalendarOverride.Kind.HOLIDAY)


def test_override_kind_must_be_holiday_or_workday(yk):
    with pytest.raises(ValidationError) as exc:
        services.set_override(actor(yk.bureau), D(2026, 3, 3), "half-day")
    assert "kind" in exc.value.message_dict
    assert not CalendarOverride.objects.exists()
    assert audit_count("workdays.override.set") == 0
