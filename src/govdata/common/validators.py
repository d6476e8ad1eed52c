"""Check characters of Chinese identifiers, shared by every app that takes them as input.

Each ``*_problem`` function returns ``None`` when the value is valid, otherwise a short
Chinese reason suitable for a field error or a row report.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from govdata.common import clock

# GB 32100-2015 unified social credit code (统一社会信用代码).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# re.ASCII: without it \d also matches full-width and other Unicode digits.
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$", re.ASCII)

# GB 11643-1999 citizen identity number (公民身份号码).
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$", re.ASCII)

_MOBILE = re.compile(r"^1[3-9]\d{9}$", re.ASCII)


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problem(value: str) -> str | None:
    code = (value or "").strip().upper()
    if len(code) != 18:
        return _("A unified social credit code has 18 characters, this one has %(n)d.") % {"n": len(code)}
    if not _USCC_SHAPE.match(code):
        return _("The unified social credit code contains characters not allowed by GB 32100.")
    if uscc_check_char(code[:17]) != code[17]:
        return _("The check character of the unified social credit code is wrong.")
    return None


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def id_number_problem(value: str, today: dt.date | None = None) -> str | None:
    number = (value or "").strip().upper()
    if not _ID_SHAPE.match(number):
        return _("An ID number has 17 digits followed by a digit or X.")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return _("The birth date inside the ID number does not exist.")
    if birth > (today or clock.today()) or birth.year < 1900:
        return _("The birth date inside the ID number is out of range.")
    if id_check_char(number[:17]) != number[17]:
        return _("The check character of the ID number is wrong.")
    return None


def mobile_problem(value: str) -> str | None:
    if not _MOBILE.match((value or "").strip()):
        return _("A mobile number has 11 digits and starts with 13-19.")
    return None


def _raise_if(message: str | None) -> None:
    if message:
        raise ValidationError(message)


def validate_uscc(value: str) -> None:
    _raise_if(uscc_problem(value))


def validate_id_number(value: str) -> None:
    _raise_if(id_number_problem(value))


def validate_mobile(value: str) -> None:
    _raise_if(mobile_problem(value))


def validate_period(start: dt.date | None, end: dt.date | None) -> None:
    """A period of use asked for (share requests, open-data applications): both ends given,
    in order, and not already over on the platform's clock."""
    problems = {}
    if start is None:
        problems["period_start"] = _("This field is required.")
    if end is None:
        problems["period_end"] = _("This field is required.")
    if not problems and end < start:
        problems["period_end"] = _("The period ends before it starts.")
    if not problems and end < clock.today():
        problems["period_end"] = _("The period is already over.")
    if problems:
        raise ValidationError(problems)
