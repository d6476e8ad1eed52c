"""Working-day calendar pages: the deadline calculator and month view for everyone, the
override table and year confirmation for the bureau (changes through ``services`` only)."""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
from dataclasses import dataclass

import chinese_calendar
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from govdata.common import clock
from govdata.common.actor import Actor
from govdata.orgs.permissions import can_manage_calendar

from . import services
from .calendar import WorkCalendar, YearStatus
from .forms import ConfirmYearForm, DeadlineForm, OverrideForm, RemoveOverrideForm
from .models import CalendarOverride, CalendarYear

WEEKDAY_HEADERS = [
    pgettext_lazy("calendar column", "Mon"),
    pgettext_lazy("calendar column", "Tue"),
    pgettext_lazy("calendar column", "Wed"),
    pgettext_lazy("calendar column", "Thu"),
    pgettext_lazy("calendar column", "Fri"),
    pgettext_lazy("calendar column", "Sat"),
    pgettext_lazy("calendar column", "Sun"),
]

# The names chinesecalendar gives its holidays, shown in the month view.
HOLIDAY_NAMES = {
    "New Year's Day": gettext_lazy("New Year's Day"),
    "Spring Festival": gettext_lazy("Spring Festival"),
    "Tomb-sweeping Day": gettext_lazy("Tomb-sweeping Day"),
    "Labour Day": gettext_lazy("Labour Day"),
    "Dragon Boat Festival": gettext_lazy("Dragon Boat Festival"),
    "National Day": gettext_lazy("National Day"),
    "Mid-autumn Festival": gettext_lazy("Mid-autumn Festival"),
    "Anti-Fascist 70th Day": gettext_lazy("Anti-Fascist 70th Day"),
}

# How many counted days the calculator lists one by one.
LIST_COUNTED_UP_TO = 31


@dataclass(frozen=True)
class Day:
    date: dt.date
    in_month: bool
    kind: str  # "workday" | "rest" | "holiday" | "makeup"
    name: str
    override: bool
    today: bool

    @property
    def is_workday(self) -> bool:
        return self.kind in ("workday", "makeup")


@dataclass(frozen=True)
class Month:
    first: dt.date
    weeks: list[list[Day]]
    status: str  # YearStatus of the month's year


def _holiday_name(day: dt.date) -> str:
    try:
        _on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return ""
    return str(HOLIDAY_NAMES.get(name, name)) if name else ""


def _day(cal: WorkCalendar, day: dt.date, month: int, notes: dict[dt.date, str], today: dt.date) -> Day:
    workday = cal.is_workday(day)
    weekend = day.weekday() >= 5
    if workday:
        kind = "makeup" if weekend else "workday"
    else:
        kind = "rest" if weekend and day not in cal.overrides and not _holiday_name(day) else "holiday"
    name = notes.get(day) or _holiday_name(day)
    return Day(day, day.month == month, kind, name, day in cal.overrides, day == today)


def month_grid(cal: WorkCalendar, first: dt.date, notes: dict[dt.date, str], today: dt.date) -> Month:
    weeks = pycalendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    return Month(
        first,
        [[_day(cal, d, first.month, notes, today) for d in week] for week in weeks],
        cal.year_status(first.year),
    )


def _add_months(first: dt.date, n: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _start_month(value: str | None, today: dt.date) -> dt.date:
    if value:
        try:
            year, month = (int(part) for part in value.split("-", 1))
            if 2000 <= year <= 2100 and 1 <= month <= 12:
                return dt.date(year, month, 1)
        except ValueError:
            pass
    return today.replace(day=1)


def _counted_days(cal: WorkCalendar, received: dt.date, last_day: dt.date) -> list[Day]:
    out, day = [], received
    while day < last_day:
        day += dt.timedelta(days=1)
        if cal.is_workday(day):
            out.append(_day(cal, day, day.month, {}, dt.date.min))
    return out


def _apply_errors(form, exc: ValidationError) -> None:
    """Show a service's field errors on the form's fields (others at the top)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _page(request, *, override_form=None, year_form=None, remove_form=None, status=200):
    today = clock.today()
    cal = WorkCalendar.load()

    deadline_form = DeadlineForm(request.GET if "received" in request.GET else None, initial={"received": today})
    result = counted = None
    if deadline_form.is_bound and deadline_form.is_valid():
        result = cal.deadline(deadline_form.cleaned_data["received"], deadline_form.cleaned_data["days"])
        if result.working_days <= LIST_COUNTED_UP_TO:
            counted = _counted_days(cal, result.received_on, result.last_day)

    start = _start_month(request.GET.get("month"), today)
    shown = [start, _add_months(start, 1)]
    notes = dict(
        CalendarOverride.objects.filter(date__gte=shown[0], date__lt=_add_months(start, 2))
        .exclude(name="")
        .values_list("date", "name")
    )
    months = [month_grid(cal, first, notes, today) for first in shown]

    coming_years = [today.year, today.year + 1]
    unknown_years = [y for y in coming_years if cal.year_status(y) == YearStatus.UNKNOWN]

    context = {
        "today": today,
        "deadline_form": deadline_form,
        "result": result,
        "counted": counted,
        "months": months,
        "weekday_headers": WEEKDAY_HEADERS,
        "prev_month": _add_months(start, -1).strftime("%Y-%m"),
        "next_month": _add_months(start, 1).strftime("%Y-%m"),
        "this_month": today.strftime("%Y-%m"),
        "unknown_years": unknown_years,
        "year_statuses": [(y, cal.year_status(y)) for y in coming_years],
        "can_manage": can_manage_calendar(request.user),
    }
    if context["can_manage"]:
        context.update(
            overrides=CalendarOverride.objects.filter(date__year__gte=today.year - 1).select_related("created_by"),
            confirmed_years=CalendarYear.objects.select_related("confirmed_by"),
            override_form=override_form or OverrideForm(),
            year_form=year_form or ConfirmYearForm(initial={"year": unknown_years[-1] if unknown_years else None}),
            remove_form=remove_form,
        )
    return render(request, "workdays/calendar.html", context, status=status)


@login_required
@require_GET
def calendar_view(request):
    return _page(request)


def _require_manager(request) -> None:
    if not can_manage_calendar(request.user):
        raise PermissionDenied(_("Only the city big data bureau maintains the working-day calendar."))


def _back_to_overrides():
    return redirect(reverse("workdays:calendar") + "#overrides")


@login_required
@require_POST
def override_add(request):
    _require_manager(request)
    form = OverrideForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            override = services.set_override(Actor.from_request(request), data["date"], data["kind"], data["name"])
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(date)s is now recorded as: %(kind)s.")
                % {"date": override.date.isoformat(), "kind": override.get_kind_display()},
            )
            return _back_to_overrides()
    return _page(request, override_form=form, status=400)


@login_required
@require_POST
def override_remove(request):
    _require_manager(request)
    form = RemoveOverrideForm(request.POST)
    if form.is_valid():
        try:
            services.remove_override(Actor.from_request(request), form.cleaned_data["date"])
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("The override on %(date)s was removed; the official calendar applies again.")
                % {"date": form.cleaned_data["date"].isoformat()},
            )
            return _back_to_overrides()
    return _page(request, remove_form=form, status=400)


@login_required
@require_POST
def year_confirm(request):
    _require_manager(request)
    form = ConfirmYearForm(request.POST)
    if form.is_valid():
        try:
            confirmed = services.confirm_year(
                Actor.from_request(request), form.cleaned_data["year"], form.cleaned_data["source"]
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("The holidays of %(year)d are confirmed; deadlines in that year are no longer flagged.")
                % {"year": confirmed.year},
            )
            return _back_to_overrides()
    return _page(request, year_form=form, status=400)
