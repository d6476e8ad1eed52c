"""Working days and legal deadlines: the one place the platform counts "N working days".

Rule (Arts. 15, 20, 23, 29): "within N working days of receipt" ends at 23:59:59
Asia/Shanghai on the N-th working day after the day of receipt. The receipt day itself never
counts, so a request received on a holiday counts from the next working day.

A day is a working day if the bureau's override table says so; otherwise the official
calendar (``chinesecalendar``, holidays and 调休 make-up days) decides; for a year that package
does not cover, Monday-Friday is assumed and the result is marked uncertain unless the bureau
has confirmed the year.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import chinese_calendar

from govdata.common.clock import SHANGHAI

END_OF_DAY = dt.time(23, 59, 59)


class YearStatus:
    OFFICIAL = "official"  # known to the chinesecalendar package
    BUREAU = "bureau"  # entered and confirmed by the bureau
    UNKNOWN = "unknown"  # weekdays assumed; results are flagged


@dataclass(frozen=True)
class Deadline:
    received_on: dt.date
    working_days: int
    last_day: dt.date
    due: dt.datetime
    uncertain_years: tuple[int, ...] = ()

    @property
    def uncertain(self) -> bool:
        return bool(self.uncertain_years)

    def is_overdue(self, at: dt.datetime) -> bool:
        return at > self.due


@functools.lru_cache(maxsize=256)
def official_year_known(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def local_date(moment: dt.date | dt.datetime) -> dt.date:
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is None:
            raise ValueError("receipt time must be timezone-aware")
        return moment.astimezone(SHANGHAI).date()
    return moment


class WorkCalendar:
    def __init__(self, overrides: dict[dt.date, bool] | None = None, confirmed_years: set[int] | None = None):
        self.overrides = overrides or {}
        self.confirmed_years = confirmed_years or set()

    @classmethod
    def load(cls) -> WorkCalendar:
        from .models import CalendarOverride, CalendarYear

        overrides = {
            day: kind == CalendarOverride.Kind.WORKDAY
            for day, kind in CalendarOverride.objects.values_list("date", "kind")
        }
        return cls(overrides, set(CalendarYear.objects.values_list("year", flat=True)))

    def year_status(self, year: int) -> str:
        if official_year_known(year):
            return YearStatus.OFFICIAL
        if year in self.confirmed_years:
            return YearStatus.BUREAU
        return YearStatus.UNKNOWN

    def is_workday(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            return day.weekday() < 5

    def add_working_days(self, start: dt.date, n: int) -> tuple[dt.date, tuple[int, ...]]:
        """The n-th working day strictly after ``start``, and the unconfirmed years crossed."""
        if n < 1:
            raise ValueError("a deadline counts at least one working day")
        day, counted, years = start, 0, set()
        while counted < n:
            day += dt.timedelta(days=1)
            if self.year_status(day.year) == YearStatus.UNKNOWN:
                years.add(day.year)
            if self.is_workday(day):
                counted += 1
        return day, tuple(sorted(years))

    def deadline(self, received: dt.date | dt.datetime, working_days: int) -> Deadline:
        received_on = local_date(received)
        last_day, uncertain = self.add_working_days(received_on, working_days)
        due = dt.datetime.combine(last_day, END_OF_DAY, tzinfo=SHANGHAI)
        return Deadline(received_on, working_days, last_day, due, uncertain)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_workday(day)
        return count


def deadline(received: dt.date | dt.datetime, working_days: int) -> Deadline:
    """The deadline for answering within ``working_days`` working days of ``received``."""
    return WorkCalendar.load().deadline(received, working_days)
