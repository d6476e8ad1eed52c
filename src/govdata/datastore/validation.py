"""Checking the cells of a table resource's rows: one converter per column, compiled once per
load, each returning the value ready for the database or raising :class:`Invalid` with the
reason a provider reads in the report.

This is the hot loop of every load (a million rows is ten million calls), so each converter
takes the common case first — a ``str`` cell from a CSV, already in the canonical form — with
as little work as possible (a regular expression or a dictionary lookup), and falls back to
``common.parsing`` and ``common.validators`` for everything else. Those also give the reasons,
so a value is refused for the same words everywhere on the platform.

Values come out as the database wants them: for PostgreSQL's ``COPY`` every value is text in
PostgreSQL's input syntax (the server converts it, in parallel with us); for SQLite the value
the query engine reads back (ISO text for dates and times, 0/1 for booleans, numbers as text
that the column's numeric affinity stores as a number).

What a value may be, per data type of the 2017 guide:

* C (with length), M, G — text; C at most ``length`` characters; no NUL character; optional
  content checks (ID number, unified social credit code, mobile number).
* N, Y — decimal numbers, thousands separators allowed (1,234.50); Y is rounded to cents, N
  to 10 places; at most 28 (N) or 18 (Y) digits before the point.
* I — whole numbers within 64 bits; B, F — floating point (F single precision).
* D — dates as 2024-01-02, 2024/1/2, 2024.1.2, 2024年1月2日 or 20240102.
* T — a date as above, optionally followed by a time (08:30, 08:30:15, 8时30分); ISO 8601
  with an offset is converted to Beijing time.
* L — 是/否, y/n, yes/no, true/false, 1/0, √, 有/无.

An empty cell (or only spaces) is no value: refused in a required or key column, else NULL.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import math
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from operator import mul
from typing import Any

from django.utils.translation import gettext as _

from govdata.catalog.vocab import DataType
from govdata.common import clock
from govdata.common.parsing import (
    FALSE_WORDS,
    TRUE_WORDS,
    parse_bool,
    parse_date,
    parse_decimal,
    parse_int,
)
from govdata.common.validators import (
    ID_CHECK,
    ID_WEIGHTS,
    USCC_ALPHABET,
    USCC_WEIGHTS,
    id_number_problem,
    mobile_problem,
    uscc_problem,
)

from .models import Check

POSTGRESQL, SQLITE = "postgresql", "sqlite"

# Problem codes, stable for programs (the reasons are for people and translated).
REQUIRED = "required"
TYPE = "type"
LENGTH = "length"
CONTENT = "content"
RANGE = "range"

TEXT_TYPES = frozenset({DataType.CHAR, DataType.MEMO, DataType.GENERAL})
DATE_CACHE_SIZE = 100_000
MAX_SHOWN = 100  # characters of a refused value kept in a report


class Invalid(ValueError):
    """A cell that cannot be stored: ``reason`` for people, ``code`` for programs."""

    def __init__(self, reason: str, code: str = TYPE):
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True, slots=True)
class CellProblem:
    column: str  # the column's code
    value: str
    reason: str
    code: str


def storable(text: str) -> str:
    """``text`` as JSON in the database can keep it: no NUL, no lone surrogate (escaped)."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("\x00", "\\x00") if "\x00" in text else text


def shown(value: Any) -> str:
    """A cell's value as a report shows it (shortened)."""
    if value is None:
        return ""
    text = storable(value if isinstance(value, str) else str(value))
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


# --- fast checks of identifiers (the reasons come from common.validators) -------------------

_ID_SHAPE = re.compile(r"\d{17}[\dX]", re.ASCII)
_ID_WEIGHT_SUM_OF_ZERO = 48 * sum(ID_WEIGHTS)  # ord("0") times each weight
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}", re.ASCII)
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_MOBILE = re.compile(r"1[3-9]\d{9}", re.ASCII)
_birth_dates: tuple[dt.date, frozenset[str]] | None = None


def _valid_birth_dates(today: dt.date) -> frozenset[str]:
    """Every YYYYMMDD from 1900-01-01 to ``today``: a set lookup instead of building a date."""
    global _birth_dates
    if _birth_dates is None or _birth_dates[0] != today:
        out = []
        for year in range(1900, today.year + 1):
            for month in range(1, 13):
                for day in range(1, calendar.monthrange(year, month)[1] + 1):
                    out.append(f"{year}{month:02d}{day:02d}")
        limit = f"{today:%Y%m%d}"
        _birth_dates = (today, frozenset(d for d in out if d <= limit))
    return _birth_dates[1]


def _id_number_check(today: dt.date) -> Callable[[str], str]:
    births = _valid_birth_dates(today)
    shape = _ID_SHAPE.fullmatch

    def check(text: str) -> str:
        number = text.upper()
        if (
            shape(number) is None
            or number[6:14] not in births
            or ID_CHECK[(sum(map(mul, number[:17].encode(), ID_WEIGHTS)) - _ID_WEIGHT_SUM_OF_ZERO) % 11] != number[17]
        ):
            raise Invalid(id_number_problem(number, today) or _("This is not an ID number."), CONTENT)
        return number

    return check


def _credit_code_check(today: dt.date) -> Callable[[str], str]:
    shape, value = _USCC_SHAPE.fullmatch, _USCC_VALUE.__getitem__

    def check(text: str) -> str:
        code = text.upper()
        if (
            shape(code) is None
            or USCC_ALPHABET[(31 - sum(map(mul, map(value, code[:17]), USCC_WEIGHTS)) % 31) % 31] != code[17]
        ):
            raise Invalid(uscc_problem(code) or _("This is not a unified social credit code."), CONTENT)
        return code

    return check


def _mobile_check(today: dt.date) -> Callable[[str], str]:
    match = _MOBILE.fullmatch

    def check(text: str) -> str:
        if match(text) is None:
            raise Invalid(mobile_problem(text) or _("This is not a mobile number."), CONTENT)
        return text

    return check


CONTENT_CHECKS: dict[str, Callable[[dt.date], Callable[[str], str]]] = {
    Check.ID_NUMBER: _id_number_check,
    Check.CREDIT_CODE: _credit_code_check,
    Check.MOBILE: _mobile_check,
}


# --- parsing helpers ------------------------------------------------------------------------

_PLAIN_DECIMAL = re.compile(r"[+-]?(\d+)(?:\.(\d*))?", re.ASCII)
_PLAIN_INT = re.compile(r"[+-]?\d{1,18}", re.ASCII)
_TIME = re.compile(
    r"(\d{1,2})(?::(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,6}))?)?|时(?:(\d{1,2})分(?:(\d{1,2})秒)?)?|点(?:(\d{1,2})分?)?)",
)
_DATE_AND_TIME = re.compile(r"(\S+?)(?:[ T\u3000]+|(?<=日))(\S.*)")
_BOOL = {word: True for word in TRUE_WORDS} | {word: False for word in FALSE_WORDS if word}
_INT64 = 2**63
_FLOAT4_MAX = 3.4028234663852886e38
_FLOAT4_TINY = 1.401298464324817e-45  # the smallest positive single-precision number
_WIDE = Context(prec=80, rounding=ROUND_HALF_UP)
_LOOKS_LIKE_A_DATE = re.compile(r"\d{4}\D{0,1}\d{1,2}\D{0,1}\d{1,2}\D?")


def _not_text(value: Any) -> bool:
    return isinstance(value, list | dict | tuple | set | bytes)


def _as_text(value: Any) -> str:
    """A non-text cell (a number or date from a workbook or JSON) as the text a person sees."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def parse_datetime(value: Any) -> dt.datetime:
    """A date and time as departments write it; aware values become Beijing wall-clock time."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    else:
        text = str(value).strip()
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None:
            match = _DATE_AND_TIME.fullmatch(text)
            date_text, time_text = (match.group(1), match.group(2)) if match else (text, "")
            try:
                day = parse_date(date_text)
            except ValueError as exc:
                if _LOOKS_LIKE_A_DATE.fullmatch(date_text):
                    raise  # a date that does not exist: parse_date says so
                raise ValueError(
                    _("“%(value)s” is not a date and time; write it as 2024-01-02 08:30:00.") % {"value": shown(text)}
                ) from exc
            moment = dt.datetime.combine(day, _parse_time(time_text.strip(), text)) if time_text else (
                dt.datetime.combine(day, dt.time())
            )
    if moment.tzinfo is not None:
        moment = moment.astimezone(clock.SHANGHAI).replace(tzinfo=None)
    return moment


def _parse_time(text: str, whole: str) -> dt.time:
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValueError(_("“%(value)s” is not a date and time; write it as 2024-01-02 08:30:00.") % {"value": shown(whole)})
    g = match.groups()
    hour = int(g[0])
    minute = int(g[1] or g[4] or g[6] or 0)
    second = int(g[2] or g[5] or 0)
    micro = int((g[3] or "0").ljust(6, "0"))
    try:
        return dt.time(hour, minute, second, micro)
    except ValueError:
        raise ValueError(_("“%(value)s” is not a real time of day.") % {"value": shown(whole)}) from None


# --- converters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """What a converter needs to know about its column (a ResourceColumn or anything alike)."""

    code: str
    name: str
    data_type: str
    length: int | None = None
    required: bool = False
    is_key: bool = False
    content_check: str = ""

    @classmethod
    def of(cls, column: Any) -> Spec:
        return cls(
            code=column.code,
            name=column.name,
            data_type=column.data_type,
            length=column.length,
            required=bool(column.required or column.is_key),
            is_key=bool(column.is_key),
            content_check=column.content_check or "",
        )


def _required(spec: Spec) -> Invalid:
    if spec.is_key:
        return Invalid(_("A key column needs a value."), REQUIRED)
    return Invalid(_("This column is required."), REQUIRED)


def _text_converter(spec: Spec, vendor: str, today: dt.date) -> Callable[[Any], Any]:
    limit = spec.length if spec.data_type == DataType.CHAR and spec.length else None
    content = CONTENT_CHECKS[spec.content_check](today) if spec.content_check in CONTENT_CHECKS else None
    required = spec.required

    def slow(value: Any) -> Any:
        if value is None:
            if required:
                raise _required(spec)
            return None
        if _not_text(value):
            raise Invalid(_("A single value is expected, not a list or an object."), TYPE)
        return convert(_as_text(value))

    def convert(value: Any) -> Any:
        if value.__class__ is not str:
            return slow(value)
        text = value.strip()
        if not text:
            if required:
                raise _required(spec)
            return None
        if limit is not None and len(text) > limit:
            raise Invalid(
                _("The text has %(n)d characters; at most %(limit)d are allowed.") % {"n": len(text), "limit": limit},
                LENGTH,
            )
        if "\x00" in text:
            raise Invalid(_("The text contains a NUL character."), TYPE)
        if content is not None:
            return content(text)
        return text

    return convert


def _decimal_converter(spec: Spec, vendor: str, today: dt.date) -> Callable[[Any], Any]:
    places, max_digits = (2, 18) if spec.data_type == DataType.CURRENCY else (10, 28)
    quantum = Decimal(1).scaleb(-places)
    plain = _PLAIN_DECIMAL.fullmatch
    required = spec.required

    def slow(value: Any) -> Any:
        if value is None:
            if required:
                raise _required(spec)
            return None
        if isinstance(value, float) and not math.isfinite(value):
            raise Invalid(_("“%(value)s” is not a number.") % {"value": shown(value)}, TYPE)
        if _not_text(value) or isinstance(value, dt.date):
            raise Invalid(_("“%(value)s” is not a number.") % {"value": shown(value)}, TYPE)
        try:
            number = parse_decimal(value if not isinstance(value, float) else repr(value))
        except ValueError as exc:
            raise Invalid(str(exc), TYPE) from None
        try:
            number = number.quantize(quantum, rounding=ROUND_HALF_UP, context=_WIDE)
        except InvalidOperation:
            number = None
        if number is None or number.adjusted() >= max_digits:
            raise Invalid(
                _("“%(value)s” is too large: at most %(n)d digits before the decimal point.")
                % {"value": shown(value), "n": max_digits},
                RANGE,
            )
        if number == 0:
            number = abs(number)
        return format(number, "f")

    def convert(value: Any) -> Any:
        if value.__class__ is not str:
            return slow(value)
        text = value.strip()
        if not text:
            if required:
                raise _required(spec)
            return None
        match = plain(text)
        if match is None:
            return slow(text)
        whole, fraction = match.groups()
        if len(whole) > max_digits or (fraction is not None and (len(fraction) > places or not fraction)):
            return slow(text)
        return text

    return convert


def _integer_converter(spec: Spec, vendor: str, today: dt.date) -> Callable[[Any], Any]:
    plain = _PLAIN_INT.fullmatch
    as_int = vendor == SQLITE
    required = spec.required

    def slow(value: Any) -> Any:
        if value is None:
            if required:
                raise _required(spec)
            return None
        if isinstance(value, float) and not math.isfinite(value):
            raise Invalid(_("“%(value)s” is not a number.") % {"value": shown(value)}, TYPE)
        if _not_text(value) or isinstance(value, dt.date):
            raise Invalid(_("“%(value)s” is not a number.") % {"value": shown(value)}, TYPE)
        try:
            number = parse_int(value)
        except ValueError as exc:
            raise Invalid(str(exc), TYPE) from None
        if not -_INT64 <= number < _INT64:
            raise Invalid(_("“%(value)s” is out of range for a whole number.") % {"value": shown(value)}, RANGE)
        return number if as_int else str(number)

    def convert(value: Any) -> Any:
        if value.__class__ is not str:
            return slow(value)
        text = value.strip()
        if not text:
            if required:
                raise _required(spec)
            return None
        if plain(text) is None:
            return slow(text)
        return int(text) if as_int else text

    return convert


def _float_converter(spec: Spec, vendor: str, today: dt.date) -> Callable[[Any], Any]:
    single = spec.data_type == DataType.FLOAT
    as_float = vendor == SQLITE
    required = spec.required

    def checked(number: float, value: Any) -> Any:
        if not math.isfinite(number) or (single and abs(number) > _FLOAT4_MAX):
            raise Invalid(_("“%(value)s” is out of range.") % {"value": shown(value)}, RANGE)
        if single and 0 < abs(number) < _FLOAT4_TINY:
            number = 0.0  # below the smallest single-precision number: PostgreSQL refuses it
        return number if as_float else repr(number)

    def slow(value: Any) -> Any:
        if value is None:
            if required:
                raise _required(spec)
            return None
        if isinstance(value, bool) or _not_text(value) or isinstance(value, dt.date):
            raise Invalid(_("“%(value)s” is not a number.") % {"value": shown(value)}, TYPE)
        if isinstance(value, int | float):
            try:
                return checked(float(value), value)
            except OverflowError:
                raise Invalid(_("“%(value)s” is out of range.") % {"value": shown(value)}, RANGE) from None
        try:
            number = float(parse_decimal(value))
        except ValueError as exc:
            raise Invalid(str(exc), TYPE) from None
        return checked(number, value)

    def convert(value: Any) -> Any:
        if value.__class__ is not str:
            return slow(value)
        text = value.strip()
        if not text:
            if required:
                raise _required(spec)
            return None
        if "_" in text or text[-1:].isalpha():  # float() takes 1_000, inf and nan; people mean otherwise
            return slow(text)
        try:
            number = float(text)
        except ValueError:
            return slow(text)
        return checked(number, text)

    return convert


def _bool_converter(spec: Spec, vendor: str, today: dt.date) -> Callable[[Any], Any]:
    true, false = (1, 0) if vendor == SQLITE else ("t", "f")
    words = {word: (true if flag else false) for word, flag in _BOOL.items()}
    words.update({word.upper(): value for word, value in words.items()})
    lookup = words.get
    required = spec.required

    def slow(value: Any) -> Any:
        if value is None:
            if required:
                raise _required(spec)
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if _not_text(value) or isinstance(value, dt.date):
            raise Invalid(_("Write 是 or 否, not “%(value)s”.") % {"value": shown(value)}, TYPE)
        try:
            return true if parse_bool(value) else false
        except ValueError as exc:
            raise Invalid(str(exc), TYPE) from None

    def convert(value: Any) -> Any:
        if value.__class__ is not str:
            return slow(value)
        found = lookup(value)
        if found is not None:
            return found
        text = value.strip()
        if not text:
            if required:
                raise _required(spec)
            return None
        found = lookup(text.lower())
        if found is not None:
            return found
        return slow(text)

    return convert


def _date_converter(spec: Spec, vendor: str, today: dt.date) -> Callable[[Any], Any]:
    cache: dict[str, str] = {}
    lookup = cache.get
    required = spec.required

    def parse(text: str) -> str:
        try:
            day = parse_date(text)
        except ValueError as exc:
            raise Invalid(str(exc), TYPE) from None
        return day.isoformat()

    def slow(value: Any) -> Any:
        if value is None:
            if required:
                raise _required(spec)
            return None
        if isinstance(value, dt.date):  # datetime too: a workbook's date cell
            return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or _not_text(value) or not isinstance(value, int | str):
            raise Invalid(_("“%(value)s” is not a date.") % {"value": shown(value)}, TYPE)
        return convert(str(value))

    def convert(value: Any) -> Any:
        if value.__class__ is not str:
            return slow(value)
        found = lookup(value)
        if found is not None:
            return found
        text = value.strip()
        if not text:
            if required:
                raise _required(spec)
            return None
        found = parse(text)
        if len(cache) >= DATE_CACHE_SIZE:
            cache.clear()
        cache[value] = found
        return found

    return convert


def _datetime_converter(spec: Spec, vendor: str, today: dt.date) -> Callable[[Any], Any]:
    required = spec.required

    def convert(value: Any) -> Any:
        if value.__class__ is str:
            value = value.strip()
            if not value:
                value = None
        if value is None:
            if required:
                raise _required(spec)
            return None
        if isinstance(value, bool) or _not_text(value) or not isinstance(value, str | dt.date):
            raise Invalid(_("“%(value)s” is not a date and time.") % {"value": shown(value)}, TYPE)
        try:
            moment = parse_datetime(value)
        except ValueError as exc:
            raise Invalid(str(exc), TYPE) from None
        return moment.isoformat(sep=" ")

    return convert


BUILDERS: dict[str, Callable[[Spec, str, dt.date], Callable[[Any], Any]]] = {
    DataType.CHAR: _text_converter,
    DataType.MEMO: _text_converter,
    DataType.GENERAL: _text_converter,
    DataType.NUMBER: _decimal_converter,
    DataType.CURRENCY: _decimal_converter,
    DataType.INTEGER: _integer_converter,
    DataType.DOUBLE: _float_converter,
    DataType.FLOAT: _float_converter,
    DataType.LOGICAL: _bool_converter,
    DataType.DATE: _date_converter,
    DataType.DATETIME: _datetime_converter,
}


def converter(column: Any, vendor: str, today: dt.date | None = None) -> Callable[[Any], Any]:
    """The converter of one column: cell -> database value, or :class:`Invalid`."""
    spec = column if isinstance(column, Spec) else Spec.of(column)
    return BUILDERS[spec.data_type](spec, vendor, today or clock.today())


# --- whole columns at once --------------------------------------------------------------------
#
# A thousand rows are checked column by column with ``map`` over C functions (regular
# expressions, ``int``, ``len``, dictionary lookups, set operations), which costs a fraction of
# one Python call per cell. The column functions prove only the common case (every cell text,
# in the canonical form); anything else raises ``_Unproven`` and the column is converted cell
# by cell instead, which finds the problems.


class _Unproven(Exception):
    """A column function cannot vouch for every cell of the batch."""


_TEXT_ONLY = frozenset({str})
_EMPTY_AS_NONE = {"": None}
_COPY_NULL = {None: "\\N"}
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_first17 = operator.itemgetter(slice(0, 17))
_birth = operator.itemgetter(slice(6, 14))
_last = operator.itemgetter(17)


def _every(single: str) -> Callable[[Sequence[str]], bool]:
    """Whether every value matches ``single``: one regular expression over the values joined
    by newlines (none of which may hold a newline itself) instead of a call per value."""
    many = re.compile(rf"(?:{single})(?:\n(?:{single}))*", re.ASCII).fullmatch

    def every(values: Sequence[str]) -> bool:
        if not values:
            return True
        text = "\n".join(values)
        return text.count("\n") == len(values) - 1 and many(text) is not None

    return every


_id_shapes = _every(r"\d{17}[\dX]")
_mobiles = _every(r"1[3-9]\d{9}")
_iso_datetimes = _every(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")  # as isoformat(" ") writes it
_integers = _every(r"[+-]?\d{1,18}")


def _text_cells(column: tuple, known_text: bool) -> None:
    if not known_text and set(map(type, column)) != _TEXT_ONLY:
        raise _Unproven


def _stripped(column: tuple, required: bool, known_text: bool = False) -> tuple[tuple, tuple]:
    """The cells without surrounding blanks, empty ones as None (refused when required), and
    the non-empty ones (the same tuple when none is empty). ``known_text``: the reader only
    gives text (CSV), no need to look."""
    _text_cells(column, known_text)
    out = tuple(map(str.strip, column))
    if "" in out:
        if required:
            raise _Unproven
        out = tuple(map(_EMPTY_AS_NONE.get, out, out))
        return out, tuple(filter(None, out))
    return out, out


def _id_numbers(values: tuple, births: frozenset[str]) -> tuple:
    # The check character: sum(d_i * w_i) mod 11 where w_i = 2^(17-i) mod 11, i.e. twice the
    # first 17 digits read in base 13 (13 = 2 mod 11), mod 11 — computed by int() in C.
    upper = tuple(map(str.upper, values))
    if (
        not _id_shapes(upper)
        or not births.issuperset(map(_birth, upper))
        or list(
            map(ID_CHECK.__getitem__, map((11).__rmod__, map((2).__rmul__, map(int, map(_first17, upper), itertools.repeat(13)))))
        )
        != list(map(_last, upper))
    ):
        raise _Unproven
    return upper


def _column_function(spec: Spec, vendor: str, today: dt.date, known_text: bool) -> Callable[[tuple], Sequence[Any]] | None:
    """The batch function of a column, or None when only cell by cell will do."""
    required, kind = spec.required, spec.data_type
    if kind in TEXT_TYPES:
        limit = spec.length if kind == DataType.CHAR and spec.length else None
        check = spec.content_check if spec.content_check in CONTENT_CHECKS else ""
        births = _valid_birth_dates(today) if check == Check.ID_NUMBER else frozenset()

        def text(column: tuple) -> Sequence[Any]:
            values, present = _stripped(column, required, known_text)
            if not present:
                return values
            if (limit is not None and max(map(len, present)) > limit) or "\x00" in "".join(present):
                raise _Unproven
            if check:
                if present is not values:
                    raise _Unproven  # empty cells among checked ones: cell by cell
                if check == Check.ID_NUMBER:
                    return _id_numbers(values, births)
                if check == Check.MOBILE and _mobiles(values):
                    return values
                raise _Unproven
            return values

        return text
    if kind in (DataType.NUMBER, DataType.CURRENCY):
        places, digits = (2, 18) if kind == DataType.CURRENCY else (10, 28)
        plain = _every(rf"[+-]?\d{{1,{digits}}}(?:\.\d{{1,{places}}})?")

        def decimal(column: tuple) -> Sequence[Any]:
            values, present = _stripped(column, required, known_text)
            if not plain(present):
                raise _Unproven
            return values

        return decimal
    if kind == DataType.INTEGER:
        as_int = vendor == SQLITE

        def integer(column: tuple) -> Sequence[Any]:
            values, present = _stripped(column, required, known_text)
            if not _integers(present):
                raise _Unproven
            if as_int:
                return tuple(map(int, values)) if present is values else tuple(v if v is None else int(v) for v in values)
            return values

        return integer
    if kind == DataType.LOGICAL:
        true, false = (1, 0) if vendor == SQLITE else ("t", "f")
        words = {word: (true if flag else false) for word, flag in _BOOL.items()}
        words.update({word.upper(): value for word, value in list(words.items())})
        if not required:
            words[""] = None
        lookup = words.__getitem__

        def logical(column: tuple) -> Sequence[Any]:
            _text_cells(column, known_text)
            try:
                return tuple(map(lookup, column))
            except KeyError:
                raise _Unproven from None

        return logical
    if kind == DataType.DATE:
        known: dict[str, str | None] = {} if required else {"": None}

        def date(column: tuple) -> Sequence[Any]:
            _text_cells(column, known_text)
            new = set(column).difference(known)
            if new:
                if len(known) + len(new) > DATE_CACHE_SIZE:
                    known.clear()
                    if not required:
                        known[""] = None
                for value in new:
                    text = value.strip()
                    if not text:
                        raise _Unproven
                    try:
                        known[value] = parse_date(text).isoformat()
                    except ValueError:
                        raise _Unproven from None
            return tuple(map(known.__getitem__, column))

        return date
    if kind == DataType.DATETIME:
        parse = dt.datetime.fromisoformat

        def moment(column: tuple) -> Sequence[Any]:
            values, present = _stripped(column, required, known_text)
            if not _iso_datetimes(present):
                raise _Unproven
            try:
                all(map(parse, present))
            except ValueError:
                raise _Unproven from None
            return values

        return moment
    return None


class RowChecker:
    """Every column's converter, and one compiled function turning a row's cells (in the
    file's order) into the tuple written to the database: ``(row number, value, ...)``.

    ``positions[i]`` is where column ``i``'s cell is in the row, or None when the file has no
    such column (then it is NULL). ``convert`` raises :class:`Invalid` at the first bad cell;
    ``problems`` then lists every bad cell of the row. ``convert_batch`` does the same for
    many rows at once, column by column, and raises :class:`Invalid` if any cell is bad."""

    def __init__(
        self,
        columns: Sequence[Any],
        positions: Sequence[int | None],
        vendor: str,
        today: dt.date | None = None,
        *,
        text_cells: bool = False,
    ):
        """``text_cells``: every cell is a ``str`` (a CSV reader's), none need looking at."""
        today = today or clock.today()
        self.specs = [column if isinstance(column, Spec) else Spec.of(column) for column in columns]
        self.positions = list(positions)
        self.converters = [converter(spec, vendor, today) for spec in self.specs]
        self.column_functions = [_column_function(spec, vendor, today, text_cells) for spec in self.specs]
        namespace: dict[str, Any] = {f"c{i}": conv for i, conv in enumerate(self.converters)}
        parts = []
        for i, position in enumerate(self.positions):
            if position is None:
                parts.append(f"c{i}(None)" if self.specs[i].required else "None")
            else:
                parts.append(f"c{i}(cells[{position}])")
        source = "def convert(number, cells):\n    return (" + ", ".join(["number", *parts]) + ",)\n"
        exec(compile(source, "<row checker>", "exec"), namespace)  # noqa: S102 - generated from positions only
        self.convert: Callable[[int, Sequence[Any]], tuple] = namespace["convert"]

    def _columns(self, count: int, rows: list[Sequence[Any]]) -> list[Sequence[Any]]:
        cells_by_position = list(zip(*rows, strict=True))
        out: list[Sequence[Any]] = []
        for position, conv, function in zip(self.positions, self.converters, self.column_functions, strict=True):
            if position is None:
                out.append(list(map(conv, itertools.repeat(None, count))))
                continue
            column = cells_by_position[position]
            if function is not None:
                try:
                    out.append(function(column))
                    continue
                except _Unproven:
                    pass
            out.append(list(map(conv, column)))
        return out

    def convert_batch(self, numbers: Sequence[int], rows: list[Sequence[Any]]) -> list[tuple]:
        """``[convert(n, cells) ...]`` for many rows of equal length; :class:`Invalid` when a
        cell is bad (then ``convert`` row by row tells which)."""
        return list(zip(numbers, *self._columns(len(numbers), rows), strict=True))

    def copy_text(self, numbers: Sequence[int], rows: list[Sequence[Any]]) -> str:
        """The rows as PostgreSQL ``COPY`` text (PostgreSQL converters only), built in C."""
        out: list[Iterable[str]] = [map(str, numbers)]
        for spec, column in zip(self.specs, self._columns(len(numbers), rows), strict=True):
            if spec.data_type in TEXT_TYPES:
                joined = "".join(filter(None, column))
                if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
                    column = [None if v is None else v.translate(_COPY_ESCAPES) for v in column]
            if None in column:
                column = list(map(_COPY_NULL.get, column, column))
            out.append(column)
        return "\n".join(map("\t".join, zip(*out, strict=True))) + "\n"

    def problems(self, cells: Sequence[Any]) -> list[CellProblem]:
        out = []
        for spec, position, conv in zip(self.specs, self.positions, self.converters, strict=True):
            value = None if position is None or position >= len(cells) else cells[position]
            try:
                conv(value)
            except Invalid as exc:
                out.append(CellProblem(spec.code, shown(value), exc.reason, exc.code))
        return out
