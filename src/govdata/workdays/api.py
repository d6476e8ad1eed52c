"""Working-day API: deadlines as the platform computes them."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Router, Schema

from .calendar import deadline

router = Router(tags=["workdays"])


class DeadlineOut(Schema):
    received_on: dt.date
    working_days: int
    last_day: dt.date
    due: dt.datetime
    uncertain_years: list[int]


@router.get("/deadline", response=DeadlineOut)
def get_deadline(request, received: dt.date, days: int):
    if not 1 <= days <= 365:
        raise ValidationError({"days": _("Between 1 and 365 working days.")})
    result = deadline(received, days)
    return {**result.__dict__, "uncertain_years": list(result.uncertain_years)}
