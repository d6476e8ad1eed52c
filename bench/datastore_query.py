"""Datastore query and export benchmark (issue #4): on PostgreSQL, a table resource of N rows
(default 10,000,000) with ten realistic columns and an ID-number key, then

- first page (20 rows) with total exact, estimated and none — goals: p50 <= 50 ms exact,
  <= 10 ms estimated;
- lookup by key (ID number, masked output) — goal: p50 <= 5 ms;
- CSV export of M rows (default 1,000,000) through ``datastore.exports`` against a raw
  ``COPY … TO STDOUT`` of the same rows — goal: ratio (COPY time / export time) >= 0.5 — with
  the process's peak memory (RSS high-water mark, reset before each run);

each against baselines measured in the same run: a ``SELECT 1`` round trip and a fetch of one
row by primary key through the same connection.

    .venv/bin/python bench/datastore_query.py                       # 10M rows, 1M exported
    .venv/bin/python bench/datastore_query.py --rows 1000000 --export-rows 200000

The rows are generated inside PostgreSQL by one ``INSERT … SELECT generate_series`` (key index
built afterwards, then ANALYZE, as a bulk load would leave it). The database is a throwaway one
(govdata_bench_query), never the platform's own, and is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

DB_NAME = "govdata_bench_query"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

ITEMS = [
    {
        "name": "公民身份号码",
        "code": "sfzh",
        "data_type": "C",
        "length": 18,
        "required": True,
        "is_key": True,
        "sensitive": True,
    },
    {"name": "姓名", "code": "xm", "data_type": "C", "length": 50, "required": True, "sensitive": True},
    {"name": "性别", "code": "xb", "data_type": "C", "length": 2},
    {"name": "出生日期", "code": "csrq", "data_type": "D"},
    {"name": "手机号码", "code": "sjhm", "data_type": "C", "length": 11, "sensitive": True},
    {"name": "行政区划代码", "code": "xzqh", "data_type": "C", "length": 6},
    {"name": "住址", "code": "dz", "data_type": "C", "length": 200},
    {"name": "月收入", "code": "ysr", "data_type": "Y"},
    {"name": "家庭人数", "code": "jtrs", "data_type": "I"},
    {"name": "登记时间", "code": "djsj", "data_type": "T"},
]

# One row per n = g - 1. The key is unique by construction: division = n % 6, sequence =
# (n / 6) % 1000 and the birth date index k = n / 6000 maps injectively onto 25,000 days
# (k * 7919 mod 25000, 7919 coprime with 25000), so no two rows share an ID number.
GENERATE = """
WITH base AS (
    SELECT g,
           (ARRAY['210802','210803','210804','210811','210881','210882'])[1 + (g - 1) % 6] AS division,
           (ARRAY['站前区','西市区','鲅鱼圈区','老边区','盖州市','大石桥市'])[1 + (g - 1) % 6] AS county,
           DATE '1950-01-01' + (((g - 1) / 6000) * 7919 % 25000)::int AS birth,
           lpad((((g - 1) / 6) % 1000)::text, 3, '0') AS seq
    FROM generate_series({first}::bigint, {last}::bigint) AS g
), body AS (
    SELECT *, division || to_char(birth, 'YYYYMMDD') || seq AS first17 FROM base
)
INSERT INTO {table} (sfzh, xm, xb, csrq, sjhm, xzqh, dz, ysr, jtrs, djsj)
SELECT
    first17 || substr('10X98765432', 1 + (
        substr(first17, 1, 1)::int * 7 + substr(first17, 2, 1)::int * 9 + substr(first17, 3, 1)::int * 10
      + substr(first17, 4, 1)::int * 5 + substr(first17, 5, 1)::int * 8 + substr(first17, 6, 1)::int * 4
      + substr(first17, 7, 1)::int * 2 + substr(first17, 8, 1)::int * 1 + substr(first17, 9, 1)::int * 6
      + substr(first17, 10, 1)::int * 3 + substr(first17, 11, 1)::int * 7 + substr(first17, 12, 1)::int * 9
      + substr(first17, 13, 1)::int * 10 + substr(first17, 14, 1)::int * 5 + substr(first17, 15, 1)::int * 8
      + substr(first17, 16, 1)::int * 4 + substr(first17, 17, 1)::int * 2) % 11, 1),
    (ARRAY['张','王','李','刘','陈','杨','赵','黄','周','吴','徐','孙','马','朱','胡','郭','何','高','林','欧阳'])[1 + (g * 31) % 20]
      || (ARRAY['伟','芳','娜','秀英','敏','静','丽','强','磊','军','洋','勇','艳','杰','娟','涛','明','超','秀兰','霞'])[1 + (g * 17) % 20],
    CASE WHEN substr(seq, 3, 1)::int % 2 = 1 THEN '男' ELSE '女' END,
    birth,
    CASE WHEN g % 10 = 0 THEN NULL ELSE '1' || (ARRAY['3','5','8','9'])[1 + g % 4] || lpad(((g * 7919) % 1000000000)::text, 9, '0') END,
    division,
    '营口市' || county || (ARRAY['渤海大街','辽河大街','盐滩路','平安路','新兴大街','青龙山大街','金牛山大街','民主路'])[1 + (g * 7) % 8]
      || ((g * 13) % 300 + 1)::text || '号',
    CASE WHEN g % 8 = 0 THEN NULL ELSE round(((g * 37) % 20000 + 1800)::numeric + ((g % 4) * 0.25), 2) END,
    1 + g % 6,
    TIMESTAMP '2020-01-01 08:00:00' + ((g * 7919) % 157680000) * INTERVAL '1 second'
FROM body
"""


def setup_environment() -> None:
    import psycopg

    data_dir = Path(tempfile.mkdtemp(prefix="govdata-bench-"))
    os.environ["GOVDATA_DATA_DIR"] = str(data_dir)
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govdata.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def cleanup() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    shutil.rmtree(os.environ["GOVDATA_DATA_DIR"], ignore_errors=True)
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")


def mount(name: str):
    """A table resource under a published entry, through the real services."""
    from govdata import testing
    from govdata.catalog import services as catalog
    from govdata.catalog.models import Classification
    from govdata.catalog.seed import seed_classification
    from govdata.datastore import services
    from govdata.orgs.models import Role

    seed_classification(Classification)
    city = testing.regions()["营口市"]
    police = testing.department(f"营口市公安局{name}", city)
    bureau = testing.user(Role.BUREAU_ADMIN, testing.department(f"营口市大数据管理局{name}", city))
    admin = testing.user(Role.DEPARTMENT_ADMIN, police)
    values = {
        "name": f"居民信息{name}",
        "summary": "基准测试用居民信息",
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
    return services.mount(testing.actor(admin), entry, kind="table", name=f"居民信息表{name}")


def qualified(resource) -> str:
    from govdata.datastore import tables

    return f"{tables.SCHEMA}.{resource.table_name}"


def generate(resource, rows: int) -> None:
    from django.db import connection

    from govdata.datastore import tables

    table = qualified(resource)
    batch = 2_000_000
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET synchronous_commit = off")
        # Bulk-load order: rows first, then the key index (as a replace-load would build it).
        cursor.execute(f"DROP INDEX {tables.SCHEMA}.{resource.table_name}_key")
        for first in range(1, rows + 1, batch):
            last = min(rows, first + batch - 1)
            cursor.execute(GENERATE.format(table=table, first=int(first), last=int(last)))
            print(f"  generated {last:,}/{rows:,}", file=sys.stderr, flush=True)
        cursor.execute(f"CREATE UNIQUE INDEX {resource.table_name}_key ON {table} (sfzh)")
        cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("SET synchronous_commit = on")


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def measure(fn, runs: int) -> list[float]:
    fn()  # warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def rss(field: str = "VmHWM") -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def timed_stream(make) -> tuple[float, int, int]:
    """Seconds to consume a stream of bytes, its size, and the peak RSS growth meanwhile."""
    reset_peak_rss()
    before = rss("VmRSS")
    started = time.perf_counter()
    size = 0
    for chunk in make():
        size += len(chunk)
    elapsed = time.perf_counter() - started
    return elapsed, size, rss("VmHWM") - before


def raw_copy(resource):
    """A raw COPY of the table's item columns, read in Python as a client would."""
    from django.db import connection

    from govdata.datastore import tables

    columns = ", ".join(item["code"] for item in ITEMS)

    def stream():
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                f"COPY (SELECT {columns} FROM {qualified(resource)} ORDER BY {tables.ROW_ID}) TO STDOUT WITH (FORMAT csv)"
            ) as copy,
        ):
            yield from copy

    return stream


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--export-runs", type=int, default=3)
    parser.add_argument("--page", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(20261125)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    setup_environment()
    try:
        return run(args, rng)
    finally:
        cleanup()


def run(args, rng: random.Random) -> int:
    from django.db import connection

    from govdata.datastore import exports, query, tables
    from govdata.datastore.query import ALL, Query

    big = mount("A")
    started = time.perf_counter()
    generate(big, args.rows)
    print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    small = mount("B")
    columns = ", ".join(item["code"] for item in ITEMS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qualified(small)} ({columns}) SELECT {columns} FROM {qualified(big)} "
            f"WHERE {tables.ROW_ID} <= %s ORDER BY {tables.ROW_ID}",
            [args.export_rows],
        )
        cursor.execute(f"VACUUM (ANALYZE) {qualified(small)}")
        cursor.execute(f"SELECT pg_size_pretty(pg_total_relation_size('{qualified(big)}'))")
        size = cursor.fetchone()[0]
        cursor.execute(f"SELECT sfzh FROM {qualified(big)} TABLESAMPLE SYSTEM (0.1) LIMIT 2000")
        sample_keys = [r[0] for r in cursor.fetchall()]
        cursor.execute(f"SELECT max({tables.ROW_ID}) FROM {qualified(big)}")
        max_id = cursor.fetchone()[0]

    def select_one():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    def by_primary_key():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {qualified(big)} WHERE {tables.ROW_ID} = %s", [rng.randint(1, max_id)])
            cursor.fetchone()

    def page(total: str, **kwargs):
        return lambda: query.run(big, Query(projection=ALL, masked=True, limit=args.page, total=total, **kwargs))

    deep = query.run(big, Query(projection=ALL, masked=True, limit=args.page, offset=query.MAX_OFFSET))

    def next_page():
        query.run(big, Query(projection=ALL, masked=True, limit=args.page, cursor=deep.next_cursor))

    def lookup():
        result = query.run(
            big, Query(projection=ALL, masked=True, filters=[("sfzh", "eq", rng.choice(sample_keys))], limit=args.page)
        )
        assert len(result.rows) == 1

    cases = [
        ("baseline: SELECT 1", select_one, None),
        ("baseline: row by primary key", by_primary_key, None),
        (f"first page ({args.page}), total none", page("none"), None),
        (f"first page ({args.page}), total estimated", page("estimated"), 10),
        (f"first page ({args.page}), total exact", page("exact"), 50),
        ("filtered page (xzqh=), estimated", page("estimated", filters=[("xzqh", "eq", "210804")]), None),
        ("page after offset 10,000 (offset)", page("none", offset=query.MAX_OFFSET), None),
        ("page after offset 10,000 (cursor)", next_page, None),
        ("lookup by key (masked)", lookup, 5),
    ]
    print(f"\ndatastore query on {args.rows:,} rows ({size}), PostgreSQL, masked output")
    print(f"{'query':40} {'runs':>5} {'p50 ms':>9} {'p95 ms':>9} {'p50/base':>9} {'goal':>10}")
    results = {}
    base = None
    for label, fn, goal in cases:
        runs = args.runs if "exact" not in label else max(10, args.runs // 10)
        samples = measure(fn, runs)
        p50, p95 = percentile(samples, 50), percentile(samples, 95)
        if base is None:
            base = p50
        results[label] = p50
        verdict = "" if goal is None else (f"<= {goal} " + ("met" if p50 <= goal else "NOT met"))
        print(f"{label:40} {runs:5d} {p50:9.2f} {p95:9.2f} {p50 / base:9.1f} {verdict:>10}")
    estimate = query.run(big, Query(projection=ALL, masked=True, limit=1, total="estimated"))
    print(f"estimated total {estimate.total:,} ({estimate.total_kind}) for {args.rows:,} rows")

    # Export: raw COPY against exports.py, alternating, best of --export-runs each.
    print(f"\nCSV export of {args.export_rows:,} rows (10 columns)")
    print(f"{'path':40} {'s (best)':>9} {'MB':>7} {'rows/s':>11} {'peak RSS MB':>12} {'ratio':>7}")
    copy_times, copy_size, copy_peak = [], 0, 0
    variants = {
        "exports.csv (COPY path), unmasked": lambda: exports.export(small, Query(projection=ALL, masked=False), "csv"),
        "exports.csv (COPY path), masked": lambda: exports.export(small, Query(projection=ALL, masked=True), "csv"),
    }
    measured = {label: ([], 0, 0) for label in variants}
    for _ in range(args.export_runs):
        seconds, copy_size, peak = timed_stream(raw_copy(small))
        copy_times.append(seconds)
        copy_peak = max(copy_peak, peak)
        for label, make in variants.items():
            seconds, nbytes, peak = timed_stream(make)
            times, _size, worst = measured[label]
            measured[label] = ([*times, seconds], nbytes, max(worst, peak))
    copy_best = min(copy_times)
    print(
        f"{'baseline: COPY … TO STDOUT (raw)':40} {copy_best:9.2f} {copy_size / 1e6:7.1f} "
        f"{args.export_rows / copy_best:11,.0f} {copy_peak / 1e6:12.1f} {1.0:7.2f}"
    )
    ratios = []
    for label, (times, nbytes, peak) in measured.items():
        best = min(times)
        ratios.append(copy_best / best)
        print(
            f"{label:40} {best:9.2f} {nbytes / 1e6:7.1f} {args.export_rows / best:11,.0f} "
            f"{peak / 1e6:12.1f} {copy_best / best:7.2f}"
        )
    # The row-by-row writers (SQLite's CSV path, and JSON/XLSX everywhere), for information.
    others = [
        (
            "exports.csv (row writer), masked",
            lambda: exports.export(small, Query(projection=ALL, masked=True), "csv", use_copy=False),
        ),
        ("exports.json, masked", lambda: exports.export(small, Query(projection=ALL, masked=True), "json")),
    ]
    for label, make in others:
        seconds, nbytes, peak = timed_stream(make)
        print(
            f"{label:40} {seconds:9.2f} {nbytes / 1e6:7.1f} {args.export_rows / seconds:11,.0f} "
            f"{peak / 1e6:12.1f} {copy_best / seconds:7.2f}"
        )
    xlsx = mount("C")
    xlsx_rows = min(args.export_rows, 100_000)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qualified(xlsx)} ({columns}) SELECT {columns} FROM {qualified(small)} "
            f"WHERE {tables.ROW_ID} <= %s ORDER BY {tables.ROW_ID}",
            [xlsx_rows],
        )
    seconds, nbytes, peak = timed_stream(lambda: exports.export(xlsx, Query(projection=ALL, masked=True), "xlsx"))
    print(
        f"{f'exports.xlsx, masked ({xlsx_rows:,} rows)':40} {seconds:9.2f} {nbytes / 1e6:7.1f} "
        f"{xlsx_rows / seconds:11,.0f} {peak / 1e6:12.1f}"
    )

    print()
    estimated = results[f"first page ({args.page}), total estimated"]
    exact = results[f"first page ({args.page}), total exact"]
    key = results["lookup by key (masked)"]
    print(
        f"first page, estimated total: p50 {estimated:.2f} ms — goal <= 10 ms: {'met' if estimated <= 10 else 'NOT met'}"
    )
    print(
        f"first page, exact total:     p50 {exact:.2f} ms — goal <= 50 ms: {'met' if exact <= 50 else 'NOT met'}"
        " (count(*) visits every row: why estimated totals exist)"
    )
    print(f"lookup by key:               p50 {key:.2f} ms — goal <= 5 ms: {'met' if key <= 5 else 'NOT met'}")
    worst = min(ratios)
    print(
        f"CSV export vs COPY: ratio {worst:.2f} (worst variant) — goal >= 0.5: {'met' if worst >= 0.5 else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
