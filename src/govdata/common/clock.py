"""The platform's single source of "now".

Deadlines, staleness and lockouts read time only through :func:`now`, so tests move time by
setting a frozen instant instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from django.utils import timezone

SHANGHAI = ZoneInfo("Asia/Shanghai")
_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    return _frozen if _frozen is not None else timezone.now()


def today() -> dt.date:
    """The calendar date in Asia/Shanghai (the law's days are local days)."""
    return now().astimezone(SHANGHAI).date()


def set_now(moment: dt.datetime | None) -> None:
    if moment is not None and timezone.is_naive(moment):
        raise ValueError("the clock needs an aware datetime")
    global _frozen
    _frozen = moment


@contextmanager
def frozen(moment: dt.datetime):
    previous = _frozen
    set_now(moment)
    try:
        yield
    finally:
        set_now(previous)
