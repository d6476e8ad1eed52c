"""The real, typed SQL table behind each table resource.

SQLAlchemy Core describes the tables and compiles statements for the database in use; they
are executed on Django's own connection so that a load, its data version and its audit event
share one transaction. On PostgreSQL the tables live in the schema ``datastore``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from django.db import connection
from sqlalchemy.dialects import postgresql, sqlite

from govdata.catalog.vocab import DataType

SCHEMA = "datastore"
ROW_ID = "_row_id"

# The guide's data types as SQL types.
SQL_TYPES = {
    DataType.CHAR: lambda length: sa.String(length) if length else sa.Text(),
    DataType.NUMBER: lambda length: sa.Numeric(38, 10),
    DataType.CURRENCY: lambda length: sa.Numeric(20, 2),
    DataType.DATE: lambda length: sa.Date(),
    DataType.DATETIME: lambda length: sa.DateTime(),
    DataType.LOGICAL: lambda length: sa.Boolean(),
    DataType.MEMO: lambda length: sa.Text(),
    DataType.GENERAL: lambda length: sa.Text(),
    DataType.DOUBLE: lambda length: sa.Float(53),
    DataType.INTEGER: lambda length: sa.BigInteger(),
    DataType.FLOAT: lambda length: sa.Float(24),
}


@lru_cache(maxsize=4)
def _dialect(vendor: str) -> sa.engine.Dialect:
    # One dialect instance per database: it caches its type adaptations, which makes every
    # later compile several times cheaper than with a fresh dialect.
    # SQLite's with Django's paramstyle (%s, as Django's SQLite cursor converts it), not its
    # own "?": Django's debug cursor (DEBUG, query logging in tests) formats the SQL with %.
    return postgresql.dialect() if vendor == "postgresql" else sqlite.dialect(paramstyle="format")


def dialect() -> sa.engine.Dialect:
    return _dialect(connection.vendor)


def schema() -> str | None:
    return SCHEMA if connection.vendor == "postgresql" else None


def table_for(name: str, columns: Iterable[Any]) -> sa.Table:
    """The SQLAlchemy table of a resource: a surrogate row id, then one column per item."""
    metadata = sa.MetaData(schema=schema())
    cols = [sa.Column(ROW_ID, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True)]
    keys = []
    for column in columns:
        cols.append(sa.Column(column.code, SQL_TYPES[column.data_type](column.length), nullable=not column.required))
        if column.is_key:
            keys.append(column.code)
    table = sa.Table(name, metadata, *cols)
    if keys:
        # Keys are unique: that is what upsert and lookup by key rely on.
        sa.Index(f"{name}_key", *(table.c[k] for k in keys), unique=True)
    return table


# Compiled statements by shape (SQLAlchemy's cache key: the statement without its values), so
# that a query asked again with other values is not compiled again. Compiling is most of the
# Python work of a lookup by key.
_compiled: OrderedDict[Any, Any] = OrderedDict()
_compiled_lock = threading.Lock()
MAX_COMPILED = 512


def _compile(statement: Any) -> tuple[Any, dict[str, Any] | None]:
    """The compiled form of ``statement`` and its parameters by name."""
    compile_kwargs = {"render_postcompile": True}
    generate_key = getattr(statement, "_generate_cache_key", None)
    key = generate_key() if generate_key is not None else None  # DDL has none
    # Values rendered into the text (expanded IN lists, literal parameters) make the text
    # depend on them: such statements are compiled every time.
    if key is None or any(b.expanding or b.literal_execute for b in key.bindparams):
        compiled = statement.compile(dialect=dialect(), compile_kwargs=compile_kwargs)
        return compiled, compiled.params
    shape = (connection.vendor, key.key)
    with _compiled_lock:
        compiled = _compiled.get(shape)
        if compiled is not None:
            _compiled.move_to_end(shape)
    if compiled is None:
        compiled = statement.compile(dialect=dialect(), cache_key=key, compile_kwargs=compile_kwargs)
        with _compiled_lock:
            _compiled[shape] = compiled
            if len(_compiled) > MAX_COMPILED:
                _compiled.popitem(last=False)
    return compiled, compiled.construct_params(extracted_parameters=key.bindparams)


def compile_statement(statement: Any) -> tuple[str, Any]:
    """SQL text and parameters of a SQLAlchemy statement for Django's connection: values stay
    bound parameters (``IN`` lists are expanded into one parameter each). SQLite's dialect
    numbers its parameters by position, so they are handed over as a list in that order."""
    compiled, params = _compile(statement)
    if getattr(compiled, "positiontup", None) is not None:  # DDL compilers have none
        return compiled.string, [params[name] for name in compiled.positiontup]
    return compiled.string, params or None


def execute(statement: Any) -> list[tuple] | None:
    """Compile ``statement`` for the current database and run it on Django's connection: the
    rows it returns, or None for a statement without a result."""
    sql, params = compile_statement(statement)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def ensure_schema() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")


def create(table: sa.Table) -> None:
    ensure_schema()
    execute(sa.schema.CreateTable(table))
    for index in table.indexes:
        execute(sa.schema.CreateIndex(index))


def drop(table_name: str) -> None:
    ensure_schema()
    qualified = f"{SCHEMA}.{table_name}" if connection.vendor == "postgresql" else table_name
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {qualified}")


def exists(table_name: str) -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{SCHEMA}.{table_name}"])
        else:
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = %s", [table_name])
        return bool(cursor.fetchone()[0])
