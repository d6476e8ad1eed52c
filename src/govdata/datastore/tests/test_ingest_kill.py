"""A replace load killed mid-way (SIGKILL) leaves the previous data exactly as it was, leaves
nothing half-written behind, and the next load works (issue #4); while a load runs, other
connections read the old rows. The loads and the readers are separate processes or
connections on this test's database (SQLite file or PostgreSQL), which is why these tests
commit."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from django.db import connection

from govdata import testing as t
from govdata.datastore import services, tables
from govdata.datastore.models import DataVersion
from govdata.datastore.services import loads
from govdata.datastore.tests.conftest import published_entry

from . import corpus as c

LOAD = r"""
import sys

import django

django.setup()
from govdata.common.actor import Actor
from govdata.datastore.models import Resource
from govdata.datastore.services.loads import load_table

resource_id, path, progress_path = sys.argv[1:4]


def progress(phase, done, total):
    with open(progress_path, "a") as fh:
        fh.write(f"{phase} {done} {total}\n")


version = load_table(Actor.platform(), Resource.objects.get(pk=resource_id), path, filename="big.csv", mode="replace", progress=progress)
print("FINISHED", version.status)
"""


def database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        user = quote(settings["USER"] or "")
        password = f":{quote(settings['PASSWORD'])}" if settings.get("PASSWORD") else ""
        return f"postgres://{user}{password}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    return f"sqlite:///{settings['NAME']}"


def snapshot(resource) -> list[tuple]:
    table = tables.table_for(resource.table_name, resource.columns.all())
    return tables.execute(sa.select(table).order_by(table.c[tables.ROW_ID]))


def big_csv(path, rows: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(c.PERSON_HEADER) + "\r\n")
        fh.writelines(f"{c.id_number(i)},居民{i},1390417{i % 10000:04d},1990-01-01,3500.00,3,是\r\n" for i in range(10_000, 10_000 + rows))


def wait_until_mid_load(process: subprocess.Popen, progress_path, timeout: float = 120) -> None:
    """Until the loader has reported reading at least twice (10,000 rows in, still going)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the load ended before it could be killed: {out[-2000:]} {err[-4000:]}")
        if progress_path.exists():
            reading = [line for line in progress_path.read_text().splitlines() if line.startswith("reading ")]
            if len(reading) >= 2:
                return
        time.sleep(0.05)
    pytest.fail("the load did not get going in time")


@pytest.mark.req("R-21.1")
@pytest.mark.django_db(transaction=True)
def test_a_replace_load_killed_mid_way_leaves_the_old_data_and_the_next_load_works(yk, tmp_path):
    resource = services.mount(t.actor(yk.police_admin), published_entry(yk), kind="table", name="居民信息表")
    try:
        first = loads.load_table(
            t.actor(yk.police_admin), resource, c.csv_bytes(c.PERSON_HEADER, [c.person(i) for i in (1, 2, 3)]), filename="a.csv", mode="replace"
        )
        assert first.status == DataVersion.Status.DONE
        resource.refresh_from_db()
        before = snapshot(resource)
        counters = (resource.current_version_id, resource.row_count, resource.last_loaded_at)

        big, progress = tmp_path / "big.csv", tmp_path / "progress.txt"
        big_csv(big, 200_000)
        env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "govdata.settings"}
        process = subprocess.Popen(
            [sys.executable, "-c", LOAD, str(resource.pk), str(big), str(progress)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_until_mid_load(process, progress)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == -signal.SIGKILL

        # The old data, exactly; no version of the killed load; no half-built table.
        assert snapshot(resource) == before
        resource.refresh_from_db()
        assert (resource.current_version_id, resource.row_count, resource.last_loaded_at) == counters
        assert list(resource.versions.values_list("number", flat=True)) == [1]
        assert not tables.exists(f"{resource.table_name}_new")

        # The next load works (waiting, on PostgreSQL, for the dead session's locks to go).
        again = loads.load_table(
            t.actor(yk.police_admin), resource, c.csv_bytes(c.PERSON_HEADER, [c.person(7), c.person(8)]), filename="b.csv", mode="replace"
        )
        assert again.status == DataVersion.Status.DONE and again.number == 2
        assert [row[1] for row in snapshot(resource)] == [c.id_number(7), c.id_number(8)]
    finally:
        tables.drop(f"{resource.table_name}_new")
        tables.drop(resource.table_name)


def count_from_another_connection(table_name: str) -> int:
    if connection.vendor == "postgresql":
        import psycopg

        with psycopg.connect(database_url().replace("postgres://", "postgresql://", 1), autocommit=True) as other:
            return other.execute(f'SELECT count(*) FROM "{tables.SCHEMA}"."{table_name}"').fetchone()[0]
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=5)
    try:
        return other.execute(f'SELECT count(*) FROM "{table_name}"').fetchone()[0]
    finally:
        other.close()


@pytest.mark.req("R-21.1")
@pytest.mark.django_db(transaction=True)
def test_while_a_replace_load_runs_other_connections_read_the_old_rows(yk):
    resource = services.mount(t.actor(yk.police_admin), published_entry(yk), kind="table", name="居民信息表")
    try:
        loads.load_table(
            t.actor(yk.police_admin), resource, c.csv_bytes(c.PERSON_HEADER, [c.person(i) for i in (1, 2, 3)]), filename="a.csv", mode="replace"
        )
        seen = {}

        def progress(phase, done, total):
            if phase in ("reading", "checking", "saving"):
                seen[phase] = count_from_another_connection(resource.table_name)

        rows = [c.person(i) for i in range(100, 20_100)]
        version = loads.load_table(
            t.actor(yk.police_admin), resource, c.csv_bytes(c.PERSON_HEADER, rows), filename="b.csv", mode="replace", progress=progress
        )
        assert version.status == DataVersion.Status.DONE
        assert seen == {"reading": 3, "checking": 3, "saving": 3}
        assert count_from_another_connection(resource.table_name) == 20_000
    finally:
        tables.drop(f"{resource.table_name}_new")
        tables.drop(resource.table_name)
