"""Validated ingest benchmark (issue #4): a generated N-row, 10-column CSV (valid ID numbers,
mobile numbers, dates, times, amounts, booleans) loaded into a table resource through
``services.loads.load_table`` (replace mode: encoding detection, SM3 of the input, every
cell checked, key uniqueness, atomic swap), against a raw bulk load of the same file in the
same run into an identically typed table:

* PostgreSQL: ``COPY … FROM STDIN (FORMAT csv)`` of the file's bytes, then the same unique
  key index, in one transaction;
* SQLite: ``executemany`` of the ``csv`` module's rows in one transaction, then the index.

Goal: validated rows/s ≥ 0.5 × raw rows/s. Then peak memory (``ru_maxrss``) of a separate
process loading a larger file (5,000,000 rows by default): goal < 300 MB, i.e. memory does
not grow with the file.

    .venv/bin/python bench/datastore_ingest.py --db sqlite --rows 1000000
    .venv/bin/python bench/datastore_ingest.py --db postgres --rows 1000000 --memory-rows 5000000

The database is a throwaway one (a temporary SQLite file, or PostgreSQL database
govdata_bench_ingest), never the platform's own; the generated files live in a temporary
directory removed at the end.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import resource as rlimit
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "govdata_bench_ingest"
ITEMS = [
    {"name": "公民身份号码", "code": "sfzh", "data_type": "C", "length": 18, "required": True, "is_key": True, "sensitive": True},
    {"name": "姓名", "code": "xm", "data_type": "C", "length": 50, "required": True, "sensitive": True},
    {"name": "性别", "code": "xb", "data_type": "C", "length": 2},
    {"name": "出生日期", "code": "csrq", "data_type": "D"},
    {"name": "手机号码", "code": "sjhm", "data_type": "C", "length": 11, "sensitive": True},
    {"name": "住址", "code": "zz", "data_type": "C", "length": 200},
    {"name": "月收入", "code": "ysr", "data_type": "Y"},
    {"name": "家庭人数", "code": "jtrs", "data_type": "I"},
    {"name": "是否在册", "code": "sfzc", "data_type": "L"},
    {"name": "登记时间", "code": "djsj", "data_type": "T"},
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
STREETS = ["站前区建设街", "西市区渤海大街", "鲅鱼圈区平安大街", "老边区柳树镇", "盖州市鼓楼街道", "大石桥市钢都街道"]
DIVISIONS = ["210802", "210803", "210804", "210811", "210881", "210882"]


def setup_environment(db: str, data_dir: Path, fresh: bool = True) -> None:
    os.environ["GOVDATA_DATA_DIR"] = str(data_dir)
    if db == "postgres":
        if fresh:
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
                conn.execute(f"CREATE DATABASE {PG_DB}")
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govdata.settings")
    sys.path.insert(0, str(CHECKOUT / "src"))
    import django

    django.setup()
    if fresh:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


def make_resource():
    """A published entry with the ten items, and its table resource (through the services)."""
    from govdata import testing
    from govdata.catalog import services as catalog
    from govdata.catalog.models import Classification
    from govdata.catalog.seed import seed_classification
    from govdata.datastore import services
    from govdata.orgs.models import Role

    seed_classification(Classification)
    city = testing.regions()["营口市"]
    police = testing.department("营口市公安局", city, short_name="市公安局")
    bureau_dept = testing.department("营口市大数据管理局", city, short_name="市大数据局")
    admin = testing.user(Role.DEPARTMENT_ADMIN, police, username="bench-police")
    bureau = testing.user(Role.BUREAU_ADMIN, bureau_dept, username="bench-bureau")
    values = {
        "name": "居民登记信息",
        "summary": "基准测试用居民登记信息",
        "format_category": "database",
        "format_type": "oracle",
        "share_type": "conditional",
        "share_conditions": "依法履职使用",
        "share_method": "platform",
        "platform_mode": "table",
        "open_type": "not_open",
        "open_basis": "涉及个人信息",
        "update_cycle": "daily",
    }
    entry = catalog.create_entry(testing.actor(admin), police, Classification.objects.get(code="202"), values, ITEMS)
    catalog.submit(testing.actor(admin), entry)
    catalog.publish(testing.actor(bureau), entry)
    entry.refresh_from_db()
    return services.mount(testing.actor(admin), entry, kind="table", name="居民登记信息表")


def generate(path: Path, rows: int) -> None:
    """A realistic, valid file: unique ID numbers (valid check characters and birth dates)."""
    sys.path.insert(0, str(CHECKOUT / "src"))
    from govdata.common.validators import id_check_char

    start = dt.date(1950, 1, 1)
    days = [(start + dt.timedelta(days=d)) for d in range(365 * 55)]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow([item["name"] for item in ITEMS])
        for i in range(rows):
            birth = days[(i // 6000) % len(days)]
            first17 = f"{DIVISIONS[i % 6]}{birth:%Y%m%d}{(i // 6) % 1000:03d}"
            name = SURNAMES[i % 20] + GIVEN[(i * 7) % 26] + GIVEN[(i * 13) % 26]
            out.writerow(
                [
                    first17 + id_check_char(first17),
                    name,
                    "男" if int(first17[16]) % 2 else "女",
                    birth.isoformat(),
                    f"13{i % 10}{(i * 7919) % 100_000_000:08d}",
                    f"辽宁省营口市{STREETS[i % 6]}{i % 997}号",
                    f"{(i * 37) % 20000}.{i % 100:02d}",
                    str(1 + i % 6),
                    "1" if i % 3 else "0",
                    f"2025-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}",
                ]
            )


def raw_load(path: Path, columns) -> float:
    """The baseline: the file straight into an identically typed table, then the key index."""
    import sqlalchemy as sa
    from django.db import connection, transaction

    from govdata.datastore import tables

    table = tables.table_for("bench_raw", columns)
    names = ", ".join(f'"{c.code}"' for c in columns)
    tables.drop("bench_raw")
    started = time.perf_counter()
    with transaction.atomic():
        tables.ensure_schema()
        tables.execute(sa.schema.CreateTable(table))
        if connection.vendor == "postgresql":
            with connection.connection.cursor() as cursor, cursor.copy(
                f'COPY "{tables.SCHEMA}"."bench_raw" ({names}) FROM STDIN WITH (FORMAT csv, HEADER true)'
            ) as copy, open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    copy.write(chunk)
        else:
            cursor = connection.connection.cursor()
            with open(path, newline="", encoding="utf-8") as fh:
                rows = csv.reader(fh)
                next(rows)
                marks = ", ".join("?" * len(columns))
                cursor.executemany(f'INSERT INTO "bench_raw" ({names}) VALUES ({marks})', rows)
            cursor.close()
        for index in table.indexes:
            tables.execute(sa.schema.CreateIndex(index))
    elapsed = time.perf_counter() - started
    tables.drop("bench_raw")
    return elapsed


def validated_load(path: Path, resource, *, report: bool = True) -> tuple[float, object]:
    from govdata.common.actor import Actor
    from govdata.datastore.services.loads import load_table

    last = [0.0]

    def progress(phase: str, done: int, total: int) -> None:
        if report and time.perf_counter() - last[0] > 10:
            last[0] = time.perf_counter()
            print(f"  {phase} {done:,}/{total:,}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    version = load_table(Actor.platform(), resource, path, filename=path.name, mode="replace", progress=progress)
    return time.perf_counter() - started, version


def high_water_kib() -> int:
    """Linux's ``VmHWM`` (peak resident memory of this address space), or ru_maxrss."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return rlimit.getrusage(rlimit.RUSAGE_SELF).ru_maxrss


def child_memory(path: Path, db: str, data_dir: Path, resource_id: int) -> None:
    """In a fresh process: load ``path`` and print the peak resident memory (KiB)."""
    setup_environment(db, data_dir, fresh=False)
    from govdata.datastore.models import Resource

    resource = Resource.objects.get(pk=resource_id)
    before = rlimit.getrusage(rlimit.RUSAGE_SELF).ru_maxrss
    elapsed, version = validated_load(path, resource, report=False)
    peak = rlimit.getrusage(rlimit.RUSAGE_SELF).ru_maxrss
    print(f"MEMORY {before} {peak} {elapsed:.3f} {version.status} {version.rows_loaded} {high_water_kib()}")


def cleanup(db: str, data_dir: Path) -> None:
    from django.db import connections

    connections.close_all()
    shutil.rmtree(data_dir, ignore_errors=True)
    if db == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--memory-rows", type=int, default=5_000_000, help="0 skips the memory measurement")
    parser.add_argument("--child", nargs=3, metavar=("FILE", "DATA_DIR", "RESOURCE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_memory(Path(args.child[0]), args.db, Path(args.child[1]), int(args.child[2]))
        return 0

    work = Path(tempfile.mkdtemp(prefix="govdata-bench-ingest-"))
    data_dir = work / "data"
    data_dir.mkdir()
    try:
        setup_environment(args.db, data_dir)
        from django.db import connection

        resource = make_resource()
        columns = list(resource.columns.order_by("position"))
        path = work / f"residents-{args.rows}.csv"
        started = time.perf_counter()
        generate(path, args.rows)
        size = path.stat().st_size
        print(f"generated {args.rows:,} rows ({size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f}s", file=sys.stderr)

        raw = raw_load(path, columns)
        validated, version = validated_load(path, resource)
        if version.status != "done" or version.rows_loaded != args.rows:
            print(f"the validated load did not load every row: {version.status} {version.message} {version.report[:3]}")
            return 1
        raw_rate, rate = args.rows / raw, args.rows / validated
        ratio = rate / raw_rate
        print(f"\nvalidated ingest of {args.rows:,} rows x 10 columns ({size / 1e6:.0f} MB CSV), {connection.vendor}")
        print(f"{'load':44} {'seconds':>8} {'rows/s':>10} {'ratio':>6}")
        baseline = "raw COPY + key index" if connection.vendor == "postgresql" else "raw executemany + key index"
        print(f"{baseline:44} {raw:8.1f} {raw_rate:10,.0f} {1.0:6.2f}")
        print(f"{'load_table (validated, SM3, replace swap)':44} {validated:8.1f} {rate:10,.0f} {ratio:6.2f}")
        print(f"ratio {ratio:.2f} - goal >= 0.5: {'met' if ratio >= 0.5 else 'NOT met'}")

        if args.memory_rows:
            big = work / f"residents-{args.memory_rows}.csv"
            if args.memory_rows == args.rows:
                big = path
            else:
                path.unlink()
                started = time.perf_counter()
                generate(big, args.memory_rows)
                print(f"generated {args.memory_rows:,} rows in {time.perf_counter() - started:.0f}s", file=sys.stderr)
            connection.close()
            # Through a small launcher: a process forked from this (large) one would start with
            # this one's peak in its ru_maxrss; forked from the launcher it starts small.
            launcher = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"
            output = subprocess.run(
                [sys.executable, "-c", launcher, sys.executable, __file__, "--db", args.db, "--child", str(big), str(data_dir), str(resource.pk)],
                capture_output=True,
                text=True,
                env={**os.environ},
                check=False,
            )
            line = next((x for x in output.stdout.splitlines() if x.startswith("MEMORY ")), None)
            if line is None:
                print(output.stdout, output.stderr)
                return 1
            _, before, peak, seconds, status, loaded, high_water = line.split()
            peak_mb = int(peak) / 1024  # ru_maxrss is in KiB on Linux
            print(
                f"\npeak memory (ru_maxrss) loading {args.memory_rows:,} rows in a fresh process: {peak_mb:.0f} MB "
                f"(VmHWM {int(high_water) / 1024:.0f} MB; after start-up {int(before) / 1024:.0f} MB; "
                f"{float(seconds):.0f}s, {status}, {int(loaded):,} rows)"
            )
            print(f"goal < 300 MB: {'met' if peak_mb < 300 else 'NOT met'}")
    finally:
        cleanup(args.db, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
