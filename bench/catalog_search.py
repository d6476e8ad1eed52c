"""Catalog search benchmark (issue #3): p50/p95 of sharing-catalog searches on N generated
published entries, on SQLite and PostgreSQL, against a baseline measured in the same run.

Baseline: loading one result page of 20 entries by primary key, the floor of any search
response. Goal: search p95 <= 50 ms on 100,000 entries.

    .venv/bin/python bench/catalog_search.py --db sqlite --entries 100000
    .venv/bin/python bench/catalog_search.py --db postgres --entries 100000

The database is a throwaway one (a temporary SQLite file, or PostgreSQL database
govdata_bench), never the platform's own.
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

SUBJECTS = [
    "人口", "户籍", "法人", "企业", "社会保险", "医疗", "医保", "不动产", "公交", "空气质量", "水质", "学校",
    "学籍", "就业", "低保", "养老", "食品", "药品", "安全生产", "应急", "城管", "价格", "信用", "许可",
    "处罚", "气象", "税务", "公积金", "婚姻", "出生", "殡葬", "交通", "道路", "港口", "海关", "农业",
]
OBJECTS = ["基本信息", "登记信息", "许可信息", "监测数据", "名录", "统计数据", "办件信息", "证照信息", "缴费信息", "备案信息"]
ITEMS = [
    "公民身份号码", "姓名", "统一社会信用代码", "单位名称", "地址", "登记日期", "有效期", "经度", "纬度", "金额",
    "联系电话", "证书编号", "监测时间", "浓度", "线路名称", "站点名称", "学校名称", "床位数", "险种", "状态",
]
SHARE = ["unconditional", "conditional", "not_shared"]
OPEN = ["unconditional", "on_application", "not_open"]
FORMATS = ["document", "spreadsheet", "database", "image", "interface"]
CYCLES = ["realtime", "daily", "weekly", "monthly", "quarterly", "yearly"]
DOMAINS = ["credit", "transport", "medical", "employment", "social_security", "education", "environment", "meteorology"]


def setup_environment(db: str) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="govdata-bench-"))
    os.environ["GOVDATA_DATA_DIR"] = str(data_dir)
    if db == "postgres":
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS govdata_bench")
            conn.execute("CREATE DATABASE govdata_bench")
        os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/govdata_bench"
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govdata.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def generate(n: int, rng: random.Random) -> None:
    """Bulk-generate published entries and their index rows (a benchmark fixture: it writes
    rows directly because going through the review workflow 100,000 times measures nothing),
    then build the term index from them at once."""
    from django.db import transaction

    from govdata import testing
    from govdata.catalog.models import CatalogEntry, Classification, EntryVersion, SearchEntry
    from govdata.catalog.search import rebuild_terms, tokens
    from govdata.common import clock

    regions = testing.regions()
    departments = [testing.department(f"基准部门{i}", rng.choice(list(regions.values()))) for i in range(60)]
    classes = list(Classification.objects.filter(level=2))
    now = clock.now()
    batch = 5000
    for start in range(0, n, batch):
        size = min(batch, n - start)
        with transaction.atomic():
            specs = []
            for i in range(start, start + size):
                department = rng.choice(departments)
                cls = rng.choice(classes)
                name = rng.choice(SUBJECTS) + rng.choice(OBJECTS) + str(i)
                items = rng.sample(ITEMS, 5)
                summary = f"{department.short_name}{rng.choice(SUBJECTS)}{rng.choice(OBJECTS)}的汇总资源"
                specs.append((department, cls, name, items, summary, i))
            entries = CatalogEntry.objects.bulk_create(
                [
                    CatalogEntry(code=f"{cls.code}/B{i:07d}", classification=cls, provider=d, created_at=now)
                    for d, cls, _name, _items, _summary, i in specs
                ]
            )
            versions = EntryVersion.objects.bulk_create(
                [
                    EntryVersion(
                        entry=entry,
                        number=1,
                        status="published",
                        name=name,
                        summary=summary,
                        format_category=rng.choice(FORMATS),
                        share_type=rng.choice(SHARE),
                        share_method="platform",
                        open_type=rng.choice(OPEN),
                        update_cycle=rng.choice(CYCLES),
                        created_at=now,
                        reviewed_at=now,
                    )
                    for entry, (_d, _c, name, _items, summary, _i) in zip(entries, specs, strict=True)
                ]
            )
            for entry, version in zip(entries, versions, strict=True):
                entry.published = version
            CatalogEntry.objects.bulk_update(entries, ["published"])
            SearchEntry.objects.bulk_create(
                [
                    SearchEntry(
                        entry=entry,
                        version=version,
                        document=" ".join(tokens(" ".join([name, summary, d.name, *items]))),
                        name=name,
                        class_item=cls.code[:3],
                        class_root=cls.code[:1],
                        themes=f"|2{rng.randint(1, 14):02d}|",
                        domains="|" + "|".join(rng.sample(DOMAINS, rng.randint(0, 2))) + "|",
                        provider_id=d.pk,
                        region_id=d.region_id,
                        share_type=version.share_type,
                        open_type=version.open_type,
                        format_category=version.format_category,
                        update_cycle=version.update_cycle,
                        published_at=now,
                    )
                    for entry, version, (d, cls, name, items, summary, _i) in zip(entries, versions, specs, strict=True)
                ]
            )
        print(f"  generated {start + size:,}/{n:,}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    terms = rebuild_terms()
    print(f"  term index: {terms:,} rows in {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def measure(fn, runs: int) -> tuple[list[float], list[int]]:
    """``runs`` calls of ``fn``: their times, and their results' totals when they have one."""
    times, totals = [], []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
        totals.append(getattr(result, "total", 0))
    return times, totals


def cleanup(db: str) -> None:
    from django.db import connections

    connections.close_all()
    shutil.rmtree(os.environ["GOVDATA_DATA_DIR"], ignore_errors=True)
    if db == "postgres":
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS govdata_bench")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(20261125)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    setup_environment(args.db)
    started = time.perf_counter()
    generate(args.entries, rng)
    print(f"generated {args.entries:,} entries in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    from govdata.catalog.models import CatalogEntry
    from govdata.catalog.search import search

    all_ids = list(CatalogEntry.objects.values_list("pk", flat=True))
    search("")  # load the facet table once, as a running server has it
    queries = [
        ("word", lambda: search(rng.choice(SUBJECTS), with_facets=False)),
        ("word+facets", lambda: search(rng.choice(SUBJECTS))),
        ("two words+facets", lambda: search(rng.choice(SUBJECTS) + rng.choice(OBJECTS))),
        ("item word+filter+facets", lambda: search(rng.choice(ITEMS), {"share_type": ["conditional"]})),
        ("common word, page 5", lambda: search("信息", offset=80, limit=20)),
        (
            "three words+filter+facets",
            lambda: search(rng.choice(SUBJECTS) + rng.choice(ITEMS) + rng.choice(OBJECTS), {"open_type": ["unconditional"]}),
        ),
        ("browse by theme+facets", lambda: search("", {"theme": [f"2{rng.randint(1, 14):02d}"]})),
        ("browse all, newest", lambda: search("", sort="newest", with_facets=False)),
    ]
    baseline, _ = measure(lambda: list(CatalogEntry.objects.in_bulk(rng.sample(all_ids, 20)).values()), args.queries)
    base_p50, base_p95 = percentile(baseline, 50), percentile(baseline, 95)
    print(f"\ncatalog search on {args.entries:,} entries, {connection.vendor}, {args.queries} queries per kind")
    # No per-process result cache: every query reads its words' term rows and ranks afresh.
    print(f"{'query':28} {'hits':>7} {'p50 ms':>8} {'p95 ms':>8} {'p95/baseline':>13}")
    print(f"{'baseline: page of 20 by id':28} {'':>7} {base_p50:8.2f} {base_p95:8.2f} {1.0:13.1f}")
    worst = 0.0
    for label, fn in queries:
        if not fn().entries:  # also warms the database's caches
            raise SystemExit(f"{label}: found nothing")
        samples, totals = measure(fn, args.queries)
        p50, p95 = percentile(samples, 50), percentile(samples, 95)
        worst = max(worst, p95)
        print(f"{label:28} {sum(totals) / len(totals):7,.0f} {p50:8.2f} {p95:8.2f} {p95 / base_p95:13.1f}")
    print(f"worst p95: {worst:.1f} ms — goal <= 50 ms: {'met' if worst <= 50 else 'NOT met'}")
    cleanup(args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
