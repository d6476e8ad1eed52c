"""Statements built with SQLAlchemy run on Django's connection with their values bound, on
both databases (SQLite numbers parameters by position, PostgreSQL names them)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govdata import testing as t
from govdata.datastore import services, tables


@pytest.mark.django_db
@pytest.mark.req("R-18.1")
def test_execute_binds_values_of_filters_and_inserts(yk, entry):
    resource = services.mount(t.actor(yk.police_admin), entry, kind="table", name="居民")
    table = tables.table_for(resource.table_name, resource.columns.all())
    tables.execute(
        sa.insert(table).values(sfzh="210802199001011237", xm="张三", sjhm="13800000000")
    )
    tables.execute(sa.insert(table).values(sfzh="210803198502023452", xm="李四"))

    hostile = "张三' OR '1'='1"
    assert tables.execute(sa.select(table.c.xm).where(table.c.xm == hostile)) == []
    found = tables.execute(sa.select(table.c.xm).where(table.c.xm.in_(["李四", "王五"])))
    assert found == [("李四",)]
    assert tables.execute(sa.update(table).where(table.c.xm == "张三").values(sjhm=None)) is None
    assert tables.execute(sa.select(table.c.sjhm).where(table.c.sfzh == "210802199001011237")) == [(None,)]


@pytest.mark.django_db
@pytest.mark.req("R-18.1")
def test_a_statement_compiled_once_binds_each_calls_own_values(yk, entry):
    resource = services.mount(t.actor(yk.police_admin), entry, kind="table", name="居民")
    table = tables.table_for(resource.table_name, resource.columns.all())
    people = {"210802199001011237": "张三", "210803198502023452": "李四", "210804197703033456": "王五"}
    for sfzh, xm in people.items():
        tables.execute(sa.insert(table).values(sfzh=sfzh, xm=xm))

    def by_key(sfzh: str, limit: int) -> sa.Select:
        return sa.select(table.c.xm).where(table.c.sfzh == sfzh).order_by(table.c.xm).limit(limit)

    first_sql, _ = tables.compile_statement(by_key("210802199001011237", 1))
    second_sql, second_params = tables.compile_statement(by_key("210803198502023452", 5))
    assert first_sql == second_sql  # the same shape, compiled once
    values = [str(v) for v in (second_params.values() if isinstance(second_params, dict) else second_params)]
    assert "210803198502023452" in values and "5" in values and "210802199001011237" not in values
    for sfzh, xm in people.items():
        assert tables.execute(by_key(sfzh, 1)) == [(xm,)]
    # Expanded IN lists change the text with their length: each call gets its own.
    assert tables.execute(sa.select(table.c.xm).where(table.c.xm.in_(["张三"]))) == [("张三",)]
    both = tables.execute(sa.select(table.c.xm).where(table.c.xm.in_(["李四", "王五"])).order_by(table.c.xm))
    assert sorted(both) == [("李四",), ("王五",)]
