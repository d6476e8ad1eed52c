"""Bureau actions on the working-day calendar."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from govdata.audit.services import record
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.orgs.permissions import can_manage_calendar, check

from .calendar import official_year_known
from .models import CalendarOverride, CalendarYear


@transaction.atomic
def set_override(actor: Actor, day: dt.date, kind: str, name: str = "") -> CalendarOverride:
    check(actor, can_manage_calendar)
    if kind not in CalendarOverride.Kind.values:
        raise ValidationError({"kind": _("Choose holiday or working day.")})
    old = CalendarOverride.objects.filter(date=day).first()
    override, _created = CalendarOverride.objects.update_or_create(
        date=day, defaults={"kind": kind, "name": name.strip(), "created_by": actor.user}
    )
    record(
        actor,
        "workdays.override.set",
        override,
        details={"date": day, "kind": kind, "name": name, "previous": old.kind if old else None},
    )
    return override


@transaction.atomic
def remove_override(actor: Actor, day: dt.date) -> None:
    check(actor, can_manage_calendar)
    override = CalendarOverride.objects.filter(date=day).first()
    if override is None:
        raise ValidationError({"date": _("There is no override on %(date)s.") % {"date": day}})
    record(actor, "workdays.override.remove", override, details={"date": day, "kind": override.kind})
    override.delete()


@transaction.atomic
def confirm_year(actor: Actor, year: int, source: str) -> CalendarYear:
    """The bureau declares that it has entered a year's holidays and make-up days."""
    check(actor, can_manage_calendar)
    if official_year_known(year):
        raise ValidationError({"year": _("The official calendar already covers %(year)d.") % {"year": year}})
    if not source.strip():
        raise ValidationError({"source": _("Name the State Council notice the days were taken from.")})
    confirmed, _created = CalendarYear.objects.update_or_create(
        year=year, defaults={"confirmed_by": actor.user, "confirmed_at": clock.now(), "source": source.strip()}
    )
    record(actor, "workdays.year.confirm", confirmed, details={"year": year, "source": source})
    return confirmed
