"""The query engine over table resources (issue #4, item 5): one module, used by the provider's
preview, the sharing gateway and the open portal.

It does not decide who may read what. The caller passes that decision in every ``Query``:
``projection`` (the columns this reader may see, or ``ALL``) and ``masked`` (whether masking
rules apply). Both are required, so forgetting them is an error rather than a leak.

    from govdata.datastore import query
    result = query.run(resource, query.Query(
        projection=grant_columns, masked=True,
        filters=[query.Filter("csrq", "gte", "1990-01-01"), ("xm", "eq", "张三")],
        q="站前区", sort=["-csrq"], fields=["xm", "csrq"], limit=50, total="estimated",
    ))
    result.rows          # [{"xm": "张*", "csrq": date(1991, 3, 4)}, ...]
    result.next_cursor   # opaque; pass as Query(cursor=...) for the next page
    result.total, result.total_kind   # 1234, "exact" | "estimated" | None

    query.parse_params(request.GET, projection=..., masked=...)   # the same from a query string

Safety
  Column names come only from the resource's ``ResourceColumn`` codes: every name the caller
  gives (fields, filters, sort) is looked up there and anything else is a ``QueryError``
  naming the parameter and the bad name (matched without regard to case, as codes are stored
  lower-case). Values are always bound parameters. Statements are
  built with SQLAlchemy Core from ``tables.table_for`` and compiled for the database in use,
  then run on Django's connection. Reading outside the projection is an error, not a silent
  drop. With ``masked`` on, a masked column can be filtered by equality (``eq``, ``in``,
  ``null``) on its real value, but not sorted, range-filtered, prefix-searched or searched by
  ``q``, since those would recover the hidden characters one at a time; the sort values inside
  a cursor are therefore never masked values.

Filters
  ``eq``, ``in`` (a list, at most 1,000 values), ``gt``/``gte``/``lt``/``lte``, ``prefix`` (text
  items, case-sensitive), ``null`` and ``notnull``. Values are coerced per data type with the
  forms departments write (2024/1/2, 2024年1月2日, 1,234.5, 是/否); a value that does not fit is
  a ``QueryError`` naming the field.

Full text ``q``
  Cut into words by jieba (``catalog.search.tokens``); every word must appear (case-insensitive
  substring, ``%`` and ``_`` escaped) in at least one of the readable text items (C and M).
  This is a scan of the rows that pass the other filters. For big tables the later optimisation
  is an index: on PostgreSQL a ``tsvector`` column of jieba tokens with a GIN index (as the
  catalog search does), or ``pg_trgm`` GIN indexes for ``ILIKE`` (which only help for
  words of three or more characters and for CJK text need a non-C ctype).

Sort and pagination
  ``sort`` lists columns, ``-`` for descending; NULLs sort last ascending and first descending
  (PostgreSQL's btree order, so key indexes serve it); the row id is always the final
  tiebreaker, so the order is total. Sorting a big table by a column without an index sorts
  every matching row (a top-N heap sort): key items are indexed, others are not (yet). Pages
  are either keyset (``cursor``: the sort values and row id of the last row, signed with the
  project's secret and bound to the resource, sort, filters and ``q``) or offset (at most
  ``MAX_OFFSET``; deeper pages use the cursor).

Totals
  ``total="none"`` (default), ``"exact"`` (``count(*)`` of the filtered rows) or
  ``"estimated"``. Exact counts of millions of rows are inherently slow on PostgreSQL (MVCC:
  ``count(*)`` visits every row or every index entry; about a second for 10 million rows), which
  is why estimates exist: PostgreSQL's planner estimate (``EXPLAIN (FORMAT JSON)``: the table's
  ``reltuples`` scaled by its current size, times the filters' selectivity). When the estimate
  is small (under ``ESTIMATE_EXACT_BELOW``) a count bounded by that limit replaces it, so small
  results are always exact. SQLite counts exactly and says so. A page that is not full tells
  the exact total for free and always does.

Streaming the full result (for ``exports``): ``iterate``, in chunks, from a server-side cursor
on PostgreSQL and ``fetchmany`` on SQLite.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation, localcontext
from functools import lru_cache
from typing import Any, Literal, NamedTuple

import sqlalchemy as sa
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import dateparse, timezone
from django.utils.translation import gettext as _

from govdata.catalog.search import tokens
from govdata.catalog.vocab import DataType
from govdata.common.parsing import FALSE_WORDS, TRUE_WORDS, parse_date, parse_decimal, parse_int

from . import masking, tables
from .models import Resource, ResourceColumn

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 10_000
MAX_IN_VALUES = 1000
MAX_SORT_KEYS = 5
MAX_FILTERS = 50
MAX_Q_LENGTH = 200
MAX_Q_TOKENS = 20
MAX_VALUE_LENGTH = 1000
MAX_CURSOR_LENGTH = 4000
ESTIMATE_EXACT_BELOW = 10_000
CHUNK_ROWS = 2000

OPS = ("eq", "in", "gt", "gte", "lt", "lte", "prefix", "null", "notnull")
RANGE_OPS = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__"}
MASKED_OPS = {"eq", "in", "null", "notnull"}
TEXT_TYPES = {DataType.CHAR, DataType.MEMO, DataType.GENERAL}
SEARCH_TYPES = {DataType.CHAR, DataType.MEMO}
TOTALS = ("none", "exact", "estimated")
BIGINT = 2**63
LIKE_ESCAPE = "/"
CURSOR_SALT = "govdata.datastore.query.cursor"
RESERVED_PARAMS = {"q", "sort", "fields", "limit", "offset", "cursor", "total"}


class _All:
    def __repr__(self) -> str:
        return "ALL"


ALL = _All()  # projection: every column of the resource (the provider's own view)


class QueryError(ValidationError):
    """A query the engine refuses, with the parameter (and field) it is about:
    ``err.message_dict == {"filters": ["…"]}``, ``err.parameter``, ``err.field``."""

    def __init__(self, parameter: str, message: str, field: str | None = None):
        super().__init__({parameter: [message]})
        self.parameter = parameter
        self.field = field


@dataclass(frozen=True)
class Filter:
    field: str
    op: str = "eq"
    value: Any = None


@dataclass(kw_only=True)
class Query:
    projection: Collection[str] | _All  # the columns the reader may see: decided by the caller
    masked: bool  # apply the columns' masking rules on output: decided by the caller
    filters: Sequence[Filter | tuple] = ()
    q: str = ""
    sort: Sequence[str] | str = ()
    fields: Sequence[str] | str | None = None  # None: every column of the projection
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    cursor: str | None = None
    total: Literal["none", "exact", "estimated"] = "none"


@dataclass(frozen=True)
class Field:
    """An output column."""

    code: str
    name: str
    data_type: str
    masked: bool  # the values are masked strings


@dataclass
class Result:
    fields: list[Field]
    rows: list[dict[str, Any]]
    next_cursor: str | None
    total: int | None
    total_kind: Literal["exact", "estimated"] | None
    limit: int
    offset: int

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.fields]


# --- statements on Django's connection ------------------------------------------------------


def fetch(statement: Any) -> list[tuple]:
    return tables.execute(statement) or []


# --- reading values from the database -------------------------------------------------------

_CENT = Decimal("0.01")


def plain_decimal(value: Decimal) -> Decimal:
    """Without trailing zeros or exponent: Decimal('12.3400000000') -> Decimal('12.34')."""
    if value == 0:
        return Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 60
        if value == value.to_integral_value():
            return value.quantize(Decimal(1))
        return value.normalize()


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _to_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    parsed = dateparse.parse_datetime(str(value))
    if parsed is None:
        raise ValueError(value)
    return parsed


def _to_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


# What each data type's raw database value needs to become the same Python value on both
# databases. PostgreSQL (psycopg) already returns the right types but for N's fixed scale.
_SQLITE_READERS: dict[str, Callable[[Any], Any]] = {
    DataType.CHAR: _to_text,
    DataType.MEMO: _to_text,
    DataType.GENERAL: _to_text,
    DataType.NUMBER: lambda v: plain_decimal(_to_decimal(v)),
    DataType.CURRENCY: lambda v: _to_decimal(v).quantize(_CENT),
    DataType.INTEGER: int,
    DataType.DOUBLE: float,
    DataType.FLOAT: float,
    DataType.LOGICAL: bool,
    DataType.DATE: _to_date,
    DataType.DATETIME: _to_datetime,
}
_POSTGRES_READERS: dict[str, Callable[[Any], Any]] = {
    DataType.NUMBER: plain_decimal,
}


def reader(data_type: str) -> Callable[[Any], Any] | None:
    table = _POSTGRES_READERS if connection.vendor == "postgresql" else _SQLITE_READERS
    return table.get(data_type)


# --- the canonical text of a value (CSV cells, masking of non-text columns) -----------------


def float_text(value: float, sci_from: int = 15) -> str:
    """Shortest exact text of a float the way PostgreSQL writes it (``float8out``; ``float4out``
    with ``sci_from=6``): 1, 0.1, 1e+15, 1.5e-05, NaN, Infinity."""
    if math.isnan(value):
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    digits = list(digits)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exponent += 1
    lead = exponent + len(digits) - 1
    text = "".join(map(str, digits))
    if lead < -4 or lead >= sci_from:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        body = f"{mantissa}e{'-' if lead < 0 else '+'}{abs(lead):02d}"
    else:
        body = format(Decimal((0, tuple(digits), exponent)), "f")
    return ("-" if sign else "") + body


def as_text(data_type: str, value: Any) -> str | None:
    """The text of a (read) value in exports and masking: the same on both databases and the
    same as ``exports``' SQL for PostgreSQL's COPY."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        if data_type == DataType.CURRENCY:
            return format(value.quantize(_CENT), "f")
        return format(plain_decimal(value), "f")
    if isinstance(value, float):
        return float_text(value, 6 if data_type == DataType.FLOAT else 15)
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0, tzinfo=None).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _datetime_text(value: dt.datetime) -> str:
    return value.replace(microsecond=0, tzinfo=None).isoformat(sep=" ")


_TEXT_FUNCTIONS: dict[str, Callable[[Any], str]] = {
    DataType.CHAR: _to_text,
    DataType.MEMO: _to_text,
    DataType.GENERAL: _to_text,
    DataType.NUMBER: lambda v: format(plain_decimal(_to_decimal(v)), "f"),
    DataType.CURRENCY: lambda v: format(_to_decimal(v).quantize(_CENT), "f"),
    DataType.INTEGER: str,
    DataType.DOUBLE: lambda v: float_text(v, 15),
    DataType.FLOAT: lambda v: float_text(v, 6),
    DataType.LOGICAL: lambda v: "true" if v else "false",
    DataType.DATE: lambda v: v.isoformat(),
    DataType.DATETIME: _datetime_text,
}


def text_function(data_type: str) -> Callable[[Any], str]:
    """``as_text`` for one data type, for read (not None) values: the fast path of exports."""
    return _TEXT_FUNCTIONS[data_type]


# --- coercing filter values -----------------------------------------------------------------


def _name(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 64 else text[:61] + "…"


def _parse_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        text = str(value).strip()
        try:
            moment = dateparse.parse_datetime(text)
        except ValueError:
            moment = None
        if moment is None:
            try:
                moment = dt.datetime.combine(parse_date(text), dt.time())
            except ValueError:
                raise ValueError(
                    _("“%(value)s” is not a date and time; write it as 2024-01-02 08:30:00.") % {"value": _name(value)}
                ) from None
    if timezone.is_aware(moment):  # stored times are local (Asia/Shanghai) wall-clock times
        moment = timezone.make_naive(moment, timezone.get_default_timezone())
    return moment


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS and text:
        return False
    raise ValueError(_("Write 是 or 否, not “%(value)s”.") % {"value": _name(value)})


def _parse_float(value: Any) -> float:
    number = float(parse_decimal(value))
    if number in (float("inf"), float("-inf")):
        raise ValueError(_("“%(value)s” is out of range.") % {"value": _name(value)})
    return number


def _parse_bigint(value: Any) -> int:
    number = parse_int(value)
    if not -BIGINT <= number < BIGINT:
        raise ValueError(_("“%(value)s” is out of range.") % {"value": _name(value)})
    return number


def _parse_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(_("Give text, not “%(value)s”.") % {"value": _name(value)})
    text = str(value)
    if len(text) > MAX_VALUE_LENGTH:
        raise ValueError(_("The value is longer than %(n)d characters.") % {"n": MAX_VALUE_LENGTH})
    if "\x00" in text:
        raise ValueError(_("The value contains a NUL character."))
    return text


COERCE: dict[str, Callable[[Any], Any]] = {
    DataType.CHAR: _parse_text,
    DataType.MEMO: _parse_text,
    DataType.GENERAL: _parse_text,
    DataType.NUMBER: parse_decimal,
    DataType.CURRENCY: parse_decimal,
    DataType.INTEGER: _parse_bigint,
    DataType.DOUBLE: _parse_float,
    DataType.FLOAT: _parse_float,
    DataType.LOGICAL: _parse_bool,
    DataType.DATE: parse_date,
    DataType.DATETIME: _parse_datetime,
}


def coerce(column: ColumnSpec, value: Any, parameter: str = "filters") -> Any:
    """``value`` as the Python value of ``column``'s type, or a ``QueryError`` naming it."""
    if value is None:
        raise QueryError(
            parameter,
            _("Give a value for “%(field)s” (use the null filter for empty values).") % {"field": column.code},
            column.code,
        )
    try:
        return COERCE[column.data_type](value)
    except (ValueError, TypeError, InvalidOperation, ArithmeticError) as exc:
        reason = (
            str(exc)
            if isinstance(exc, ValueError) and str(exc)
            else _("“%(value)s” does not fit.") % {"value": _name(value)}
        )
        raise QueryError(
            parameter,
            _("%(field)s (%(name)s): %(reason)s") % {"field": column.code, "name": column.name, "reason": reason},
            column.code,
        ) from None


# --- planning -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSpec:
    """What the engine needs of a ``ResourceColumn``."""

    code: str
    name: str
    data_type: str
    length: int | None
    required: bool
    is_key: bool
    mask: str


_COLUMN_FIELDS = ("code", "name", "data_type", "length", "required", "is_key", "mask")


# Resource id → its columns, inside ``columns_read_once`` (else None).
_read_once: ContextVar[dict[int, list[ColumnSpec]] | None] = ContextVar("columns_read_once", default=None)


@contextmanager
def columns_read_once() -> Iterator[None]:
    """Inside the block ``columns_of`` reads a resource's columns once and gives that answer
    again after: what one request checks (e.g. the key items of a lookup) and the query it
    then plans see the same columns, for one statement. For the span of one request only,
    since masking rules can change at any time."""
    token = _read_once.set({})
    try:
        yield
    finally:
        _read_once.reset(token)


def column_list(alias: str) -> str:
    """The select list of a ``ColumnSpec`` (``ResourceColumn`` table ``alias``)."""
    meta = ResourceColumn._meta
    return ", ".join(f"{alias}.{connection.ops.quote_name(meta.get_field(f).column)}" for f in _COLUMN_FIELDS)


def read_with(resource: Resource, columns: list[ColumnSpec]) -> None:
    """Inside ``columns_read_once``: the resource's columns as the caller read them with its
    other reads (the gateway, in one statement per call), so ``columns_of`` reads them no more."""
    read = _read_once.get()
    if read is None:
        raise RuntimeError("read_with is for use inside columns_read_once")
    read[resource.pk] = columns


def columns_of(resource: Resource) -> list[ColumnSpec]:
    """The resource's columns, read fresh on every query (masking rules can change at any
    time) but once within ``columns_read_once``, with one plain SQL statement: a lookup by key
    should not pay for the ORM."""
    prefetched = getattr(resource, "_prefetched_objects_cache", {}).get("columns")
    if prefetched is not None:
        return [ColumnSpec(*(getattr(c, f) for f in _COLUMN_FIELDS)) for c in prefetched]
    read = _read_once.get()
    if read is not None and resource.pk in read:
        return read[resource.pk]
    meta = ResourceColumn._meta
    resource_id = connection.ops.quote_name(meta.get_field("resource").column)
    position = connection.ops.quote_name(meta.get_field("position").column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column_list('c')} FROM {connection.ops.quote_name(meta.db_table)} c "
            f"WHERE c.{resource_id} = %s ORDER BY c.{position}",
            [resource.pk],
        )
        columns = [ColumnSpec(*row) for row in cursor.fetchall()]
    if read is not None:
        read[resource.pk] = columns
    return columns


@lru_cache(maxsize=512)
def _table(name: str, columns: tuple[ColumnSpec, ...], vendor: str) -> sa.Table:
    """``tables.table_for``, built once per table layout (it is a pure function of these)."""
    return tables.table_for(name, columns)


@dataclass
class Plan:
    """A validated query: what ``run``, ``iterate`` and ``exports`` execute."""

    resource: Resource
    table: sa.Table
    columns: dict[str, ColumnSpec]
    fields: list[Field]
    where: list[Any]
    sort: list[tuple[str, bool]]  # (code, descending)
    order_by: list[Any]
    masked: bool
    limit: int
    offset: int
    after: tuple[list[Any], int] | None  # decoded cursor: sort values, row id
    total: str
    fingerprint: str
    # (field index, function) for the output values that need reading or masking.
    steps: list[tuple[int, Callable[[Any], Any]]] = field(default_factory=list)

    @property
    def row_id(self) -> sa.Column:
        return self.table.c[tables.ROW_ID]

    def output_columns(self) -> list[sa.Column]:
        return [self.table.c[f.code] for f in self.fields]

    def convert(self, raw: Sequence[Any]) -> list[Any]:
        """A database row (the output columns first) as output values: typed, masked."""
        out = list(raw[: len(self.fields)])
        for index, step in self.steps:
            value = out[index]
            if value is not None:
                out[index] = step(value)
        return out


def _as_list(value: Sequence[str] | str | None, parameter: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in (p.strip() for p in value.split(",")) if part]
    if not isinstance(value, list | tuple):
        raise QueryError(parameter, _("Give a list of column names."))
    return list(value)


def prepare(resource: Resource, query: Query, all_columns: list[ColumnSpec] | None = None) -> Plan:
    """Validate ``query`` against ``resource``'s columns (``all_columns`` when the caller has
    read them) and the caller's projection."""
    if resource.kind != Resource.Kind.TABLE:
        raise QueryError("resource", _("Only table resources have rows to query."))
    if not isinstance(query, Query):
        raise TypeError("query must be a Query")
    all_columns = columns_of(resource) if all_columns is None else all_columns
    columns = {c.code: c for c in all_columns}
    if query.projection is ALL:
        readable = set(columns)
    elif isinstance(query.projection, str) or not isinstance(query.projection, Collection):
        raise TypeError("projection must be ALL or a collection of column codes")
    else:
        readable = set(query.projection) & set(columns)
    masked = bool(query.masked)

    def masked_column(column: ColumnSpec) -> bool:
        return masked and masking.RULES.get(column.mask) is not None

    def lookup(parameter: str, name: Any) -> ColumnSpec:
        if not isinstance(name, str):
            raise QueryError(parameter, _("“%(name)s” is not a column name.") % {"name": _name(name)}, _name(name))
        column = columns.get(name.strip().lower())
        if column is None:
            raise QueryError(
                parameter, _("“%(name)s” is not a column of this resource.") % {"name": _name(name)}, _name(name)
            )
        if column.code not in readable:
            raise QueryError(
                parameter,
                _("Column “%(name)s” is not among the columns you may read.") % {"name": column.code},
                column.code,
            )
        return column

    table = _table(resource.table_name, tuple(all_columns), connection.vendor)

    # fields
    if query.fields is None:
        chosen = [c for c in all_columns if c.code in readable]
    else:
        chosen, seen = [], set()
        for name in _as_list(query.fields, "fields"):
            column = lookup("fields", name)
            if column.code not in seen:
                seen.add(column.code)
                chosen.append(column)
        if not chosen:
            raise QueryError("fields", _("Choose at least one column."))
    fields = [Field(c.code, c.name, c.data_type, masked_column(c)) for c in chosen]

    # filters
    where: list[Any] = []
    filter_keys = []
    filters = list(query.filters or ())
    if len(filters) > MAX_FILTERS:
        raise QueryError("filters", _("At most %(n)d filters.") % {"n": MAX_FILTERS})
    for item in filters:
        if isinstance(item, tuple | list) and len(item) in (1, 2, 3):
            item = Filter(*item)
        if not isinstance(item, Filter):
            raise QueryError("filters", _("A filter is a column, an operation and a value."))
        column = lookup("filters", item.field)
        col = table.c[column.code]
        op = item.op
        if op not in OPS:
            raise QueryError(
                "filters",
                _("%(field)s: unknown filter operation “%(op)s”; use one of %(ops)s.")
                % {"field": column.code, "op": _name(op), "ops": ", ".join(OPS)},
                column.code,
            )
        if masked_column(column) and op not in MASKED_OPS:
            raise QueryError(
                "filters",
                _("%(field)s is masked: it can be filtered by equal values only.") % {"field": column.code},
                column.code,
            )
        if op == "null":
            where.append(col.is_(None))
            filter_keys.append((column.code, op, None))
        elif op == "notnull":
            where.append(col.is_not(None))
            filter_keys.append((column.code, op, None))
        elif op == "in":
            values = item.value
            if isinstance(values, str) or not isinstance(values, list | tuple | set | frozenset):
                raise QueryError(
                    "filters", _("%(field)s: “in” takes a list of values.") % {"field": column.code}, column.code
                )
            if len(values) > MAX_IN_VALUES:
                raise QueryError(
                    "filters",
                    _("%(field)s: at most %(n)d values.") % {"field": column.code, "n": MAX_IN_VALUES},
                    column.code,
                )
            coerced = sorted({coerce(column, v) for v in values}, key=repr)
            where.append(col.in_([_bind(col, v) for v in coerced]))
            filter_keys.append((column.code, op, [as_text(column.data_type, v) for v in coerced]))
        elif op == "prefix":
            if column.data_type not in TEXT_TYPES:
                raise QueryError(
                    "filters", _("%(field)s: prefix works on text columns only.") % {"field": column.code}, column.code
                )
            value = coerce(column, item.value)
            if value == "":
                raise QueryError(
                    "filters", _("%(field)s: give the beginning to look for.") % {"field": column.code}, column.code
                )
            where.append(col.like(_escape_like(value) + "%", escape=LIKE_ESCAPE))
            if connection.vendor != "postgresql":  # SQLite's LIKE ignores ASCII case
                where.append(sa.func.substr(col, 1, len(value)) == value)
            filter_keys.append((column.code, op, value))
        else:
            value = coerce(column, item.value)
            bound = _bind(col, value)
            where.append(col == bound if op == "eq" else getattr(col, RANGE_OPS[op])(bound))
            filter_keys.append((column.code, op, as_text(column.data_type, value)))

    # q
    q = query.q or ""
    if not isinstance(q, str):
        raise QueryError("q", _("Give the words to search for as text."))
    if len(q) > MAX_Q_LENGTH:
        raise QueryError("q", _("Search with at most %(n)d characters.") % {"n": MAX_Q_LENGTH})
    words = list(dict.fromkeys(tokens(q)))
    if len(words) > MAX_Q_TOKENS:
        raise QueryError("q", _("Search with at most %(n)d words.") % {"n": MAX_Q_TOKENS})
    if words:
        searchable = [
            table.c[c.code]
            for c in all_columns
            if c.code in readable and c.data_type in SEARCH_TYPES and not masked_column(c)
        ]
        if not searchable:
            raise QueryError("q", _("This resource has no text columns you can search."))
        for word in words:
            pattern = "%" + _escape_like(word) + "%"
            where.append(sa.or_(*(col.ilike(pattern, escape=LIKE_ESCAPE) for col in searchable)))

    # sort
    sort: list[tuple[str, bool]] = []
    names = _as_list(query.sort, "sort")
    if len(names) > MAX_SORT_KEYS:
        raise QueryError("sort", _("Sort by at most %(n)d columns.") % {"n": MAX_SORT_KEYS})
    for name in names:
        if not isinstance(name, str):
            raise QueryError("sort", _("“%(name)s” is not a column name.") % {"name": _name(name)})
        descending = name.startswith("-")
        column = lookup("sort", name[1:] if descending or name.startswith("+") else name)
        if any(code == column.code for code, _d in sort):
            raise QueryError("sort", _("Sort by “%(name)s” once.") % {"name": column.code}, column.code)
        if masked_column(column):
            raise QueryError(
                "sort", _("%(field)s is masked and cannot be sorted by.") % {"field": column.code}, column.code
            )
        sort.append((column.code, descending))
    order_by = [
        (table.c[code].desc().nulls_first() if descending else table.c[code].asc().nulls_last())
        for code, descending in sort
    ]
    order_by.append(table.c[tables.ROW_ID].asc())

    # page
    limit, offset = query.limit, query.offset
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIMIT:
        raise QueryError("limit", _("Give a limit from 0 to %(n)d.") % {"n": MAX_LIMIT})
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise QueryError("offset", _("Give an offset of 0 or more."))
    if offset > MAX_OFFSET:
        raise QueryError(
            "offset",
            _("Offsets beyond %(n)s are not served; follow next_cursor to page further.") % {"n": f"{MAX_OFFSET:,}"},
        )
    if query.total not in TOTALS:
        raise QueryError("total", _("Ask for total exact, estimated or none."))

    fingerprint = _fingerprint(sort, filter_keys, words)
    after = None
    if query.cursor:
        if offset:
            raise QueryError("offset", _("Use either an offset or a cursor, not both."))
        after = _decode_cursor(resource, query.cursor, sort, fingerprint, columns)

    plan = Plan(
        resource=resource,
        table=table,
        columns=columns,
        fields=fields,
        where=where,
        sort=sort,
        order_by=order_by,
        masked=masked,
        limit=limit,
        offset=offset,
        after=after,
        total=query.total,
        fingerprint=fingerprint,
    )
    for index, f in enumerate(fields):
        read = reader(f.data_type)
        rule = masking.RULES.get(columns[f.code].mask) if f.masked else None
        if rule is not None:
            text = text_function(f.data_type)
            step = (lambda v, r=rule, t=text, read=read: r(t(read(v)))) if read else (lambda v, r=rule, t=text: r(t(v)))
        else:
            step = read
        if step is not None:
            plan.steps.append((index, step))
    return plan


def _fingerprint(sort: list[tuple[str, bool]], filter_keys: list[tuple], words: list[str]) -> str:
    """What a cursor is bound to besides its resource: the sort, the filters and the words."""
    text = json.dumps([sort, filter_keys, words], ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _bind(col: sa.Column, value: Any) -> Any:
    """``value`` as a bound parameter of ``col``'s type (SQLAlchemy would otherwise inline
    booleans as constants and refuse to compare them with < or >). A single-precision (F)
    value is cast to the column's type: PostgreSQL would compare ``real`` 0.1 with the
    parameter as ``double precision`` 0.1, and they differ."""
    parameter = sa.bindparam(None, value, type_=col.type)
    if isinstance(col.type, sa.Float) and col.type.precision == 24:
        return sa.cast(parameter, col.type)
    return parameter


def _escape_like(text: str) -> str:
    return text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")


# --- keyset cursor --------------------------------------------------------------------------


def _cursor_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


_CURSOR_READERS: dict[str, Callable[[Any], Any]] = {
    DataType.NUMBER: lambda v: Decimal(_must(v, str)),
    DataType.CURRENCY: lambda v: Decimal(_must(v, str)),
    DataType.INTEGER: lambda v: _must(v, int),
    DataType.DOUBLE: lambda v: float(_must(v, int | float)),
    DataType.FLOAT: lambda v: float(_must(v, int | float)),
    DataType.LOGICAL: lambda v: _must(v, bool),
    DataType.DATE: lambda v: dt.date.fromisoformat(_must(v, str)),
    DataType.DATETIME: lambda v: dt.datetime.fromisoformat(_must(v, str)),
}


def _must(value: Any, kind: Any) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ValueError(value)
    return value


def encode_cursor(plan: Plan, sort_values: Sequence[Any], row_id: int) -> str:
    payload = {"f": plan.fingerprint, "v": [_cursor_value(v) for v in sort_values], "i": int(row_id)}
    return signing.dumps(payload, salt=f"{CURSOR_SALT}:{plan.resource.pk}", compress=True)


def _decode_cursor(
    resource: Resource, cursor: Any, sort: list[tuple[str, bool]], fingerprint: str, columns: dict[str, ColumnSpec]
) -> tuple[list[Any], int]:
    invalid = QueryError("cursor", _("This cursor is not valid; start again from the first page."))
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH:
        raise invalid
    try:
        payload = signing.loads(cursor, salt=f"{CURSOR_SALT}:{resource.pk}")
    except (signing.BadSignature, ValueError, TypeError):
        raise invalid from None
    if not isinstance(payload, dict) or payload.get("f") != fingerprint:
        raise QueryError("cursor", _("This cursor belongs to another query (sort, filters or q changed)."))
    values, row_id = payload.get("v"), payload.get("i")
    if (
        not isinstance(values, list)
        or len(values) != len(sort)
        or isinstance(row_id, bool)
        or not isinstance(row_id, int)
    ):
        raise invalid
    decoded = []
    try:
        for (code, _desc), value in zip(sort, values, strict=True):
            if value is None:
                decoded.append(None)
                continue
            read = _CURSOR_READERS.get(columns[code].data_type, lambda v: _must(v, str))
            decoded.append(read(value))
    except (ValueError, TypeError, InvalidOperation):
        raise invalid from None
    return decoded, row_id


def _keyset(plan: Plan) -> Any:
    """Rows after the cursor in the total order (sort keys, then row id); NULLs are the
    largest values (last ascending, first descending)."""
    values, row_id = plan.after
    terms, equal = [], []
    bound = None
    for index, ((code, descending), value) in enumerate(zip(plan.sort, values, strict=True)):
        col = plan.table.c[code]
        if value is not None:
            value = _bind(col, value)
        if descending:
            after = col.is_not(None) if value is None else col < value
        else:
            after = None if value is None else sa.or_(col > value, col.is_(None)) if col.nullable else col > value
        if after is not None:
            terms.append(sa.and_(*equal, after))
        equal.append(col.is_(None) if value is None else col == value)
        if index == 0 and value is not None and (descending or not col.nullable):
            # A redundant, index-friendly bound on the first key.
            bound = col <= value if descending else col >= value
    terms.append(sa.and_(*equal, plan.row_id > _bind(plan.row_id, row_id)))
    condition = sa.or_(*terms)
    return sa.and_(bound, condition) if bound is not None else condition


# --- running --------------------------------------------------------------------------------


def select(plan: Plan, *, extra: Sequence[Any] = (), page: bool = True) -> sa.Select:
    """The statement of a plan: output columns (then ``extra``), filters, cursor, order; with
    ``page`` the limit (plus one, to know whether more follow) and offset."""
    statement = sa.select(*plan.output_columns(), *extra)
    where = list(plan.where)
    if plan.after is not None:
        where.append(_keyset(plan))
    if where:
        statement = statement.where(*where)
    statement = statement.order_by(*plan.order_by)
    if page:
        statement = statement.limit(plan.limit + 1)
        if plan.offset:
            statement = statement.offset(plan.offset)
    return statement


def run(resource: Resource, query: Query) -> Result:
    """One page of ``query`` over ``resource``'s rows."""
    all_columns = columns_of(resource)
    shaped = _shape(resource, query, all_columns)
    if shaped is not None:
        return _run_shaped(resource, query, all_columns, *shaped)
    plan = prepare(resource, query, all_columns)
    rows: list[dict[str, Any]] = []
    next_cursor = None
    has_more = False
    if plan.limit:
        sort_cols = [plan.table.c[code] for code, _d in plan.sort]
        raw = fetch(select(plan, extra=[*sort_cols, plan.row_id]))
        has_more = len(raw) > plan.limit
        raw = raw[: plan.limit]
        width = len(plan.fields)
        codes = [f.code for f in plan.fields]
        rows = [dict(zip(codes, plan.convert(r[:width]), strict=True)) for r in raw]
        if has_more and raw:
            last = raw[-1]
            sort_values = [
                (read(v) if (read := reader(plan.columns[code].data_type)) and v is not None else v)
                for (code, _d), v in zip(plan.sort, last[width:-1], strict=True)
            ]
            next_cursor = encode_cursor(plan, sort_values, last[-1])
    total, kind = None, None
    if plan.total != "none":
        if plan.limit and not has_more and plan.after is None and (rows or not plan.offset):
            total, kind = plan.offset + len(rows), "exact"
        elif plan.total == "exact" or connection.vendor != "postgresql":
            total, kind = count(plan), "exact"
        else:
            total, kind = estimate(plan)
    return Result(
        fields=plan.fields,
        rows=rows,
        next_cursor=next_cursor,
        total=total,
        total_kind=kind,
        limit=plan.limit,
        offset=plan.offset,
    )


# --- queries by equal values, planned once per shape ----------------------------------------
# A query that differs from an earlier one only in the values of its equality filters — a
# lookup by key, as every gateway lookup is — has the same plan and the same SQL: building
# them with SQLAlchemy and finding the compiled statement was most of the engine's Python
# work per lookup. Such queries (equality filters only; no words, sort, cursor, offset or
# total) keep both by their shape and bind only the values afresh, coerced as ``prepare``
# coerces them, so a bad value is the same ``QueryError``. Everything else about a shape was
# validated by ``prepare`` when it was first seen; a shape that failed there is never kept.


@dataclass(frozen=True)
class _Shaped:
    plan: Plan  # of the first query of this shape: its values and fingerprint are not used
    sql: str
    params: dict[str, Any] | list[Any]  # with a ``_Slot`` where each filter's value goes
    slots: list[tuple[str | int, ColumnSpec]]  # per filter: its place in ``params``, its column


class _Slot:
    """A placeholder value, to find where the compiled statement's parameters put it."""


class _Shape(NamedTuple):
    vendor: str
    kind: str
    table_name: str
    columns: tuple[ColumnSpec, ...]
    projection: frozenset[str] | _All
    masked: bool
    fields: tuple | str | None
    filter_codes: tuple[str, ...]
    limit: int


_shaped: OrderedDict[_Shape, _Shaped] = OrderedDict()
_shaped_lock = threading.Lock()
MAX_SHAPES = 512


def _shape(resource: Resource, query: Query, all_columns: list[ColumnSpec]) -> tuple[_Shape, list[Filter]] | None:
    """The shape of a query by equal values (all that decides its plan and SQL) and its
    filters, else None."""
    if not isinstance(query, Query) or query.q or query.sort or query.cursor or query.total != "none":
        return None
    if type(query.offset) is not int or query.offset != 0 or type(query.limit) is not int or query.limit <= 0:
        return None
    projection = query.projection
    if projection is not ALL:
        if isinstance(projection, str) or not isinstance(projection, Collection):
            return None
        projection = frozenset(projection)
    fields = tuple(query.fields) if isinstance(query.fields, list | tuple) else query.fields
    filters = query.filters or ()
    if not isinstance(filters, list | tuple):
        return None
    filters = [Filter(*item) if isinstance(item, tuple | list) and len(item) in (1, 2, 3) else item for item in filters]
    if not all(isinstance(item, Filter) and item.op == "eq" and isinstance(item.field, str) for item in filters):
        return None
    codes = tuple(item.field.strip().lower() for item in filters)  # as prepare looks them up
    shape = _Shape(
        connection.vendor, resource.kind, resource.table_name, tuple(all_columns),
        projection, bool(query.masked), fields, codes, query.limit,
    )  # fmt: skip
    try:
        hash(shape)
    except TypeError:  # e.g. a field name given as a list: prepare will say what is wrong
        return None
    return shape, filters


def _shaped_for(resource: Resource, query: Query, all_columns: list[ColumnSpec], shape: _Shape) -> _Shaped:
    with _shaped_lock:
        shaped = _shaped.get(shape)
        if shaped is not None:
            _shaped.move_to_end(shape)
            return shaped
    plan = prepare(resource, query, all_columns)  # validates the shape, or raises
    codes = shape.filter_codes
    slots = [_Slot() for _code in codes]
    # As prepare writes an "eq" filter, with placeholders for the values.
    where = [plan.table.c[code] == _bind(plan.table.c[code], slot) for code, slot in zip(codes, slots, strict=True)]
    sql, params = tables.compile_statement(select(dataclasses.replace(plan, where=where), extra=[plan.row_id]))
    places = {id(value): place for place, value in (params.items() if isinstance(params, dict) else enumerate(params))}
    shaped = _Shaped(plan, sql, params, [(places[id(slot)], plan.columns[code]) for code, slot in zip(codes, slots)])
    with _shaped_lock:
        _shaped[shape] = shaped
        if len(_shaped) > MAX_SHAPES:
            _shaped.popitem(last=False)
    return shaped


def _run_shaped(
    resource: Resource, query: Query, all_columns: list[ColumnSpec], shape: _Shape, filters: list[Filter]
) -> Result:
    """``run`` of a query by equal values: what the general path answers, but the statement."""
    shaped = _shaped_for(resource, query, all_columns, shape)
    plan = shaped.plan
    params = shaped.params.copy()
    filter_keys = []
    for item, (place, column) in zip(filters, shaped.slots, strict=True):
        params[place] = value = coerce(column, item.value)
        filter_keys.append((column.code, "eq", as_text(column.data_type, value)))
    with connection.cursor() as cursor:
        cursor.execute(shaped.sql, params)
        raw = cursor.fetchall()
    has_more = len(raw) > plan.limit
    raw = raw[: plan.limit]
    width = len(plan.fields)
    codes = [f.code for f in plan.fields]
    rows = [dict(zip(codes, plan.convert(r[:width]), strict=True)) for r in raw]
    next_cursor = None
    if has_more and raw:
        page = dataclasses.replace(plan, resource=resource, fingerprint=_fingerprint([], filter_keys, []))
        next_cursor = encode_cursor(page, [], raw[-1][-1])
    return Result(
        fields=list(plan.fields),  # its own list: the plan's is kept for the next query
        rows=rows,
        next_cursor=next_cursor,
        total=None,
        total_kind=None,
        limit=plan.limit,
        offset=0,
    )


def _filtered(plan: Plan, *columns: Any) -> sa.Select:
    statement = sa.select(*columns).select_from(plan.table)
    return statement.where(*plan.where) if plan.where else statement


def count(plan: Plan, bound: int | None = None) -> int:
    """The exact number of rows matching the plan's filters (at most ``bound`` + 1)."""
    if bound is None:
        return fetch(_filtered(plan, sa.func.count()))[0][0]
    inner = _filtered(plan, sa.literal_column("1").label("one")).limit(bound + 1).subquery()
    return fetch(sa.select(sa.func.count()).select_from(inner))[0][0]


def estimate(plan: Plan) -> tuple[int, str]:
    """PostgreSQL's planner estimate of the matching rows; exact when it is small."""
    sql, params = tables.compile_statement(_filtered(plan, plan.row_id))
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        document = cursor.fetchone()[0]
    if isinstance(document, str | bytes):
        document = json.loads(document)
    estimated = int(document[0]["Plan"]["Plan Rows"])
    if estimated < ESTIMATE_EXACT_BELOW:
        bounded = count(plan, ESTIMATE_EXACT_BELOW)
        if bounded <= ESTIMATE_EXACT_BELOW:
            return bounded, "exact"
        estimated = max(estimated, bounded)
    return estimated, "estimated"


def iterate_tuples(plan: Plan, *, chunk_rows: int = CHUNK_ROWS, raw: bool = False) -> Iterator[list[Sequence[Any]]]:
    """The plan's full result (no limit, offset or cursor) in chunks of output rows (with
    ``raw``, the database's values, neither read nor masked), read from the database a chunk
    at a time: a server-side cursor inside a transaction on PostgreSQL (a holdable one would
    first copy the whole result on the server), ``fetchmany`` on SQLite. Consume it or close
    it before opening another transaction on the connection."""
    plan_all = Plan(**{**plan.__dict__, "after": None, "offset": 0})
    sql, params = tables.compile_statement(select(plan_all, page=False))
    convert = plan.convert
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while chunk := cursor.fetchmany(chunk_rows):
                yield chunk if raw else [convert(row) for row in chunk]
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            while chunk := cursor.fetchmany(chunk_rows):
                yield chunk if raw else [convert(row) for row in chunk]


def prepare_all(resource: Resource, query: Query) -> Plan:
    """``prepare`` for the full result: the page settings (limit, offset, cursor, total) of
    ``query`` are ignored rather than validated."""
    return prepare(resource, dataclasses.replace(query, limit=0, offset=0, cursor=None, total="none"))


def iterate(resource: Resource, query: Query, *, chunk_rows: int = CHUNK_ROWS) -> Iterator[dict[str, Any]]:
    """Every row of ``query``'s result (not one page) as dicts, read a chunk at a time. The
    query is validated now; the rows are read as the iterator is consumed."""
    plan = prepare_all(resource, query)
    codes = [f.code for f in plan.fields]

    def rows() -> Iterator[dict[str, Any]]:
        for chunk in iterate_tuples(plan, chunk_rows=chunk_rows):
            for row in chunk:
                yield dict(zip(codes, row, strict=True))

    return rows()


# --- from a query string --------------------------------------------------------------------


def parse_params(
    params: Mapping[str, Any],
    *,
    projection: Collection[str] | _All,
    masked: bool,
    max_limit: int = MAX_LIMIT,
    ignore: Collection[str] = (),
) -> Query:
    """A ``Query`` from HTTP parameters (a ``QueryDict`` or a dict of strings or lists):

    ``q``, ``sort=-csrq,xm``, ``fields=xm,csrq``, ``limit``, ``offset``, ``cursor``,
    ``total=exact|estimated|none``; every other parameter is a filter: ``xm=张三`` (equals),
    ``csrq__gte=2000-01-01``, ``xzqh__in=210802,210803`` (or the parameter repeated),
    ``xm__prefix=张``, ``sjhm__null=true|false``, ``xm__eq=…``. The column names are checked
    by ``run`` like every other name. Parameters in ``ignore`` (the caller's own, such as
    ``format``) are skipped."""

    def values(key: str) -> list[str]:
        if hasattr(params, "getlist"):
            return list(params.getlist(key))
        value = params[key]
        return list(value) if isinstance(value, list | tuple) else [value]

    def one(key: str, default: Any = None) -> Any:
        if key not in params:
            return default
        got = values(key)
        return got[-1] if got else default

    def number(key: str, default: int) -> int:
        value = one(key)
        if value in (None, ""):
            return default
        try:
            return int(str(value).strip())
        except ValueError:
            raise QueryError(key, _("“%(value)s” is not a whole number.") % {"value": _name(value)}) from None

    limit = number("limit", DEFAULT_LIMIT)
    if limit > max_limit:
        raise QueryError("limit", _("Give a limit from 0 to %(n)d.") % {"n": max_limit})
    filters = []
    for key in params:
        if key in RESERVED_PARAMS or key in ignore:
            continue
        name, op = key, "eq"
        if "__" in key:
            head, tail = key.rsplit("__", 1)
            if tail in OPS:
                name, op = head, tail
            else:
                raise QueryError(
                    "filters",
                    _("%(field)s: unknown filter operation “%(op)s”; use one of %(ops)s.")
                    % {"field": _name(head), "op": _name(tail), "ops": ", ".join(OPS)},
                    _name(head),
                )
        given = values(key)
        if op == "in":
            items = [part for value in given for part in str(value).split(",")]
            filters.append(Filter(name, "in", items))
        elif op in ("null", "notnull"):
            try:
                wanted = _parse_bool(given[-1] if given else "true")
            except ValueError:
                raise QueryError(
                    "filters", _("%(field)s: write true or false.") % {"field": _name(name)}, _name(name)
                ) from None
            filters.append(Filter(name, op if wanted else ("notnull" if op == "null" else "null")))
        else:
            for value in given:
                filters.append(Filter(name, op, value))
    total = one("total", "none") or "none"
    return Query(
        projection=projection,
        masked=masked,
        filters=filters,
        q=one("q", "") or "",
        sort=one("sort", "") or "",
        fields=one("fields") or None,
        limit=limit,
        offset=number("offset", 0),
        cursor=one("cursor") or None,
        total=total,
    )


__all__ = [
    "ALL",
    "Field",
    "Filter",
    "Plan",
    "Query",
    "QueryError",
    "Result",
    "as_text",
    "count",
    "estimate",
    "iterate",
    "parse_params",
    "prepare",
    "prepare_all",
    "run",
]
