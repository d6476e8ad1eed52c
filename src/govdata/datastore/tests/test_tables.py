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
