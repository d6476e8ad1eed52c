"""Freshness of table resources (R-21.1): when the next load is due, from the update cycle of
the entry's published version, and which resources are stale.

A load is due by the end of the day (Beijing time) one cycle after the last load: loaded on
10 March with a monthly cycle, due by 10 April 23:59:59 (a month-end date is clamped: 31
January + one month = 28 or 29 February). A real-time resource is due one day after its last
load (data pushed continuously that has not arrived for a day has stopped). A resource never
loaded counts from its publication (or its mounting). An "other" cycle has no due date and is
never stale. ``now`` is the platform clock's (``common.clock``).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from govdata.catalog.vocab import UpdateCycle
from govdata.common import clock
from govdata.orgs.models import User
from govdata.orgs.selectors import department_scope

from .models import Resource

# Months per cycle (days for the short ones).
CYCLE_MONTHS = {
    UpdateCycle.MONTHLY: 1,
    UpdateCycle.QUARTERLY: 3,
    UpdateCycle.HALF_YEARLY: 6,
    UpdateCycle.YEARLY: 12,
}
CYCLE_DAYS = {UpdateCycle.DAILY: 1, UpdateCycle.WEEKLY: 7}


@dataclass(frozen=True)
class Freshness:
    resource: Resource
    cycle: str  # the entry's update cycle ("" when the entry has no published version)
    last_loaded_at: dt.datetime | None
    next_due: dt.datetime | None  # None: no cycle to be late for
    stale: bool

    @property
    def overdue(self) -> dt.timedelta | None:
        if not self.stale or self.next_due is None:
            return None
        return clock.now() - self.next_due


def _add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=clock.SHANGHAI)


def due_after(cycle: str, since: dt.datetime) -> dt.datetime | None:
    """When a load is due if the last one (or publication) was at ``since``."""
    if cycle == UpdateCycle.REALTIME:
        return since + dt.timedelta(days=1)
    local = since.astimezone(clock.SHANGHAI).date()
    if cycle in CYCLE_DAYS:
        return _end_of_day(local + dt.timedelta(days=CYCLE_DAYS[cycle]))
    if cycle in CYCLE_MONTHS:
        return _end_of_day(_add_months(local, CYCLE_MONTHS[cycle]))
    return None


def _cycle_of(resource: Resource) -> str:
    published = resource.entry.published
    return published.update_cycle if published is not None else ""


def next_due(resource: Resource) -> dt.datetime | None:
    since = resource.last_loaded_at or resource.reviewed_at or resource.created_at
    return due_after(_cycle_of(resource), since)


def is_stale(resource: Resource, now: dt.datetime | None = None) -> bool:
    due = next_due(resource)
    return due is not None and (now or clock.now()) > due


def freshness(resource: Resource, now: dt.datetime | None = None) -> Freshness:
    due = next_due(resource)
    return Freshness(
        resource=resource,
        cycle=_cycle_of(resource),
        last_loaded_at=resource.last_loaded_at,
        next_due=due,
        stale=due is not None and (now or clock.now()) > due,
    )


def stale_resources(user: User | None, now: dt.datetime | None = None) -> list[Freshness]:
    """Published table resources past their due date that ``user`` answers for or oversees:
    the provider's own (department users), its region's (region admins), all of them (the
    bureau, evaluators). Most overdue first."""
    return all_stale(now, department_scope(user, "entry__provider__"))


def all_stale(now: dt.datetime | None = None, scope: Q | None = None) -> list[Freshness]:
    """Every published table resource past its due date (within ``scope``), most overdue first."""
    now = now or clock.now()
    candidates = Resource.objects.filter(kind=Resource.Kind.TABLE, status=Resource.Status.PUBLISHED)
    if scope is not None:
        candidates = candidates.filter(scope)
    candidates = candidates.select_related("entry__published", "entry__provider")
    stale = [f for f in (freshness(resource, now) for resource in candidates) if f.stale]
    stale.sort(key=lambda f: (f.next_due, f.resource.pk))
    return stale
