"""Open-data CKAN API benchmark (issue #6): through the real ``/api/3/action/<name>`` view,

(a) ``package_search`` on N generated catalog entries (default 100,000), SQLite or PostgreSQL —
    goal: p95 <= 50 ms;
(b) ``datastore_search`` first page of a table resource of R rows (default 10,000,000),
    PostgreSQL only — goal: p50 <= 50 ms;

each against a baseline measured in the same run: ``status_show``, the cheapest action, through
the same client. Requests go in-process through ``django.test.Client`` (URL routing, the
middleware, the CKAN view, its envelope and the JSON rendering), not over a network server.

    .venv/bin/python bench/opendata.py --db sqlite --datasets 100000
    .venv/bin/python bench/opendata.py --db postgres --datasets 100000 --rows 10000000

Fixtures reuse the other benchmarks' generators: ``catalog_search.generate`` (published entries
and their search rows, open types drawn at random; here half of the not-open ones are then
opened unconditionally and every entry gets one published file resource) and
``datastore_query.mount`` / ``generate`` (a 10-column table resource filled inside PostgreSQL;
here its entry is opened unconditionally, its resource published through the re-review
workflow, and its ID-number key column declared public so that it can be filtered on — the
public API refuses filters on masked columns). The database is a throwaway one
(``catalog_search.setup_environment``: a temporary SQLite file or PostgreSQL database
govdata_bench), dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "src"))

import catalog_search  # noqa: E402
import datastore_query  # noqa: E402

ACTION = "/api/3/action/"
FACET_FIELDS = json.dumps(["organization", "groups", "tags", "res_format"])
# Streets that datastore_query.GENERATE writes into the address column (dz), one row in eight each.
STREETS = ["渤海大街", "辽河大街", "盐滩路", "平安路", "新兴大街", "青龙山大街", "金牛山大街", "民主路"]
GOAL_SEARCH_P95 = 50.0
GOAL_DATASTORE_P50 = 50.0


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def client():
    from django.test import Client

    return Client(HTTP_HOST="localhost")  # a host in the default ALLOWED_HOSTS


def call(c, name: str, params: dict) -> dict:
    """One checked call (outside the timings): the parsed CKAN result."""
    response = c.get(ACTION + name, params)
    body = json.loads(response.content)
    if response.status_code != 200 or not body.get("success"):
        raise SystemExit(f"{name} {params} -> HTTP {response.status_code}: {response.content[:500]!r}")
    return body["result"]


def timed(c, name: str, make_params, runs: int, *, result_size=None) -> tuple[list[float], list[int]]:
    """``runs`` GETs of action ``name``; only the client call is timed. Each response must be a
    successful CKAN envelope; ``result_size`` reads a number from each result (e.g. its count)."""
    times, sizes = [], []
    for _ in range(runs):
        params = make_params()
        started = time.perf_counter()
        response = c.get(ACTION + name, params)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{name} {params} -> HTTP {response.status_code}: {response.content[:500]!r}")
        if result_size is not None:
            sizes.append(result_size(json.loads(response.content)["result"]))
    return times, sizes


def stats(samples: list[float]) -> tuple[float, float]:
    return catalog_search.percentile(samples, 50), catalog_search.percentile(samples, 95)


# --- (a) package_search ------------------------------------------------------------------------


def open_catalog() -> dict[str, int]:
    """Open half of the generated not-open entries unconditionally (entries of even id), in the
    published version and its search row alike, and give every entry one published file
    resource, as CKAN datasets list their resources."""
    from django.db import connection, transaction

    from govdata.catalog.models import CatalogEntry, EntryVersion, SearchEntry
    from govdata.common import clock
    from govdata.datastore.models import Resource

    with transaction.atomic(), connection.cursor() as cursor:
        for model in (EntryVersion, SearchEntry):
            cursor.execute(
                f"UPDATE {model._meta.db_table} SET open_type = 'unconditional' "
                "WHERE open_type = 'not_open' AND entry_id % 2 = 0"
            )
    now = clock.now()
    ids = list(CatalogEntry.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), 5000):
        Resource.objects.bulk_create(
            [
                Resource(
                    entry_id=pk,
                    kind=Resource.Kind.FILE,
                    name=f"数据文件{pk}",
                    status=Resource.Status.PUBLISHED,
                    created_at=now,
                    reviewed_at=now,
                )
                for pk in ids[start : start + 5000]
            ]
        )
    counts = {}
    for open_type in catalog_search.OPEN:
        counts[open_type] = SearchEntry.objects.filter(open_type=open_type).count()
    return counts


def bench_search(args, rng: random.Random) -> None:
    from django.db import connection

    from govdata.orgs.models import Department

    subjects, objects_, items = catalog_search.SUBJECTS, catalog_search.OBJECTS, catalog_search.ITEMS
    started = time.perf_counter()
    catalog_search.generate(args.datasets, rng)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    counts = open_catalog()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    opened = time.perf_counter() - started
    datasets = counts["unconditional"] + counts["on_application"]
    print(
        f"generation: {args.datasets:,} published entries in {generated:.0f}s (catalog_search.generate); "
        f"opening + {args.datasets:,} file resources{' + ANALYZE' if connection.vendor == 'postgresql' else ''} "
        f"in {opened:.0f}s",
        flush=True,
    )
    print(
        "open types: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + f" -> {datasets:,} CKAN datasets",
        flush=True,
    )

    generated_departments = Department.objects.filter(name__startswith="基准部门")
    organizations = [code.lower() for code in generated_departments.values_list("credit_code", flat=True)]
    facets = {"facet.field": FACET_FIELDS}
    kinds = [
        ("q subject word, rows=10, no facets", lambda: {"q": rng.choice(subjects)}),
        ("q subject word, rows=10, facets", lambda: {"q": rng.choice(subjects), **facets}),
        ("q subject word, rows=100, facets", lambda: {"q": rng.choice(subjects), "rows": 100, **facets}),
        ("q item word (broad), rows=10, facets", lambda: {"q": rng.choice(items), **facets}),
        ("q item word (broad), rows=100, facets", lambda: {"q": rng.choice(items), "rows": 100, **facets}),
        ("q subject+object (narrow), facets", lambda: {"q": rng.choice(subjects) + rng.choice(objects_), **facets}),
        (
            "q subject + fq res_format, facets",
            lambda: {"q": rng.choice(subjects), "fq": f"res_format:{rng.choice(catalog_search.FORMATS)}", **facets},
        ),
        ("no q, fq groups (theme), facets", lambda: {"fq": f"groups:2{rng.randint(1, 14):02d}", **facets}),
        ("no q, fq organization, facets", lambda: {"fq": f"organization:{rng.choice(organizations)}", **facets}),
        ("no q (all datasets), facets", lambda: {**facets}),
    ]

    c = client()
    # Sanity: the first call of each kind, checked (and it warms the facet table and caches).
    for label, make in kinds:
        params = make()
        result = call(c, "package_search", params)
        if not result["results"] or ("facet.field" in params and not result["search_facets"]["organization"]["items"]):
            raise SystemExit(f"{label}: {params} found nothing: {result['count']}")
    call(c, "status_show", {})
    print(f"\nload average before (a): {load()}")
    base, _ = timed(c, "status_show", dict, args.queries)
    base_p50, base_p95 = stats(base)
    print(
        f"\n(a) package_search on {args.datasets:,} entries ({datasets:,} datasets), {connection.vendor}, "
        f"{args.queries} requests per kind (no per-process result cache: each request ranks afresh)"
    )
    print("    in-process django.test.Client GET /api/3/action/… (routing, middleware, CKAN view, envelope, JSON)")
    print("    facets = facet.field organization, groups, tags, res_format; 'hits' = mean result count")
    print(f"{'query':40} {'hits':>7} {'p50 ms':>8} {'p95 ms':>8} {'p50/base':>9} {'p95/base':>9}")
    print(f"{'baseline: status_show':40} {'':>7} {base_p50:8.2f} {base_p95:8.2f} {1.0:9.1f} {1.0:9.1f}")
    worst = ("", 0.0)
    for label, make in kinds:
        samples, hits = timed(c, "package_search", make, args.queries, result_size=lambda r: r["count"])
        p50, p95 = stats(samples)
        if p95 > worst[1]:
            worst = (label, p95)
        mean_hits = sum(hits) / len(hits)
        print(
            f"{label:40} {mean_hits:7,.0f} {p50:8.2f} {p95:8.2f} {p50 / base_p50:9.1f} {p95 / base_p95:9.1f}",
            flush=True,
        )
    verdict = "met" if worst[1] <= GOAL_SEARCH_P95 else "NOT met"
    print(f"worst p95: {worst[1]:.1f} ms ({worst[0]}) — goal <= {GOAL_SEARCH_P95:.0f} ms: {verdict}")
    print(f"load average after (a): {load()}", flush=True)


# --- (b) datastore_search ----------------------------------------------------------------------


def open_table(rows: int):
    """The 10-column table of ``datastore_query`` under an unconditionally open entry,
    published through the re-review workflow; the ID-number key served unmasked."""
    from django.db import connection

    from govdata import testing
    from govdata.catalog.models import EntryVersion, SearchEntry
    from govdata.datastore import services
    from govdata.datastore.models import Mask, Resource
    from govdata.orgs.models import User

    resource = datastore_query.mount("A")
    started = time.perf_counter()
    datastore_query.generate(resource, rows)
    generated = time.perf_counter() - started
    entry = resource.entry
    EntryVersion.objects.filter(pk=entry.published_id).update(open_type="unconditional", open_basis="")
    SearchEntry.objects.filter(entry=entry).update(open_type="unconditional")
    resource.columns.filter(code="sfzh").update(sensitive=False, mask=Mask.NONE)
    Resource.objects.filter(pk=resource.pk).update(row_count=rows)
    bureau = User.objects.get(department__name="营口市大数据管理局A")
    services.submit(testing.actor(resource.created_by), resource)
    services.publish(testing.actor(bureau), resource)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_size_pretty(pg_total_relation_size('{datastore_query.qualified(resource)}'))")
        size = cursor.fetchone()[0]
    return Resource.objects.select_related("entry__published").get(pk=resource.pk), generated, size


def bench_datastore(args, rng: random.Random) -> None:
    from django.db import connection

    from govdata.opendata import selectors

    print(f"\ngenerating the {args.rows:,}-row table …", flush=True)
    resource, generated, size = open_table(args.rows)
    print(
        f"generation: {args.rows:,} rows ({size}) in {generated:.0f}s "
        "(datastore_query.generate, key index, VACUUM ANALYZE)"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT sfzh FROM {datastore_query.qualified(resource)} TABLESAMPLE SYSTEM (0.1) LIMIT 2000")
        keys = [r[0] for r in cursor.fetchall()]
    rid = str(resource.pk)

    c = client()
    kinds = [
        ("first page (limit 100), default total", lambda: {"resource_id": rid}, GOAL_DATASTORE_P50),
        (
            "filter on key column sfzh (limit 100)",
            lambda: {"resource_id": rid, "filters": json.dumps({"sfzh": rng.choice(keys)})},
            GOAL_DATASTORE_P50,
        ),
        (
            "q street (1 row in 8), default total",
            lambda: {"resource_id": rid, "q": rng.choice(STREETS)},
            GOAL_DATASTORE_P50,
        ),
        ("first page, include_total=false", lambda: {"resource_id": rid, "include_total": "false"}, GOAL_DATASTORE_P50),
        (
            "q street, include_total=false",
            lambda: {"resource_id": rid, "q": rng.choice(STREETS), "include_total": "false"},
            None,
        ),
        ("first page (limit 100), records_format=lists", lambda: {"resource_id": rid, "records_format": "lists"}, None),
    ]
    described = {}
    for label, make, _goal in kinds:
        result = call(c, "datastore_search", make())
        expected = 1 if label.startswith("filter") else 100
        if len(result["records"]) != expected:
            raise SystemExit(f"{label}: {len(result['records'])} records")
        described[label] = (
            "—" if "total" not in result else f"{result['total']:,}{' est.' if result['total_was_estimated'] else ''}"
        )
    call(c, "status_show", {})

    def engine_page():
        selectors.read_rows(None, resource, limit=100, total="estimated")

    engine_page()
    print(f"\nload average before (b): {load()}")
    base, _ = timed(c, "status_show", dict, args.queries)
    base_p50, base_p95 = stats(base)
    engine = []
    for _ in range(args.queries):
        started = time.perf_counter()
        engine_page()
        engine.append((time.perf_counter() - started) * 1000)
    print(
        f"\n(b) datastore_search on a {args.rows:,}-row table resource ({size}), PostgreSQL, "
        f"{args.queries} requests per kind"
    )
    print("    in-process django.test.Client GET /api/3/action/datastore_search (routing, middleware, CKAN view,")
    print("    permission checks, masking of name and phone, usage counter UPDATE, envelope, JSON)")
    print(f"{'query':44} {'total':>16} {'p50 ms':>8} {'p95 ms':>8} {'p50/base':>9} {'p95/base':>9} {'goal p50':>14}")
    print(f"{'baseline: status_show':44} {'':>16} {base_p50:8.2f} {base_p95:8.2f} {1.0:9.1f} {1.0:9.1f}")
    p50, p95 = stats(engine)
    label = "engine only: read_rows page 100, est. total"
    print(f"{label:44} {'':>16} {p50:8.2f} {p95:8.2f} {p50 / base_p50:9.1f} {p95 / base_p95:9.1f}")
    verdicts = []
    for label, make, goal in kinds:
        samples, _ = timed(c, "datastore_search", make, args.queries)
        p50, p95 = stats(samples)
        verdict = "" if goal is None else f"<= {goal:.0f} " + ("met" if p50 <= goal else "NOT met")
        if goal is not None:
            verdicts.append((label, p50, goal))
        print(
            f"{label:44} {described[label]:>16} {p50:8.2f} {p95:8.2f} {p50 / base_p50:9.1f} {p95 / base_p95:9.1f} "
            f"{verdict:>14}",
            flush=True,
        )
    label, p50, goal = verdicts[0]
    print(f"first page p50 {p50:.2f} ms — goal <= {goal:.0f} ms: {'met' if p50 <= goal else 'NOT met'}")
    worst = max(verdicts, key=lambda v: v[1])
    print(f"worst first-page variant p50 {worst[1]:.2f} ms ({worst[0]}): {'met' if worst[1] <= goal else 'NOT met'}")
    print(f"load average after (b): {load()}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--datasets", type=int, default=100_000, help="catalog entries generated for (a)")
    parser.add_argument("--rows", type=int, default=10_000_000, help="table rows for (b), PostgreSQL only; 0 skips (b)")
    parser.add_argument("--queries", type=int, default=200, help="requests per kind")
    args = parser.parse_args()
    rng = random.Random(20261125)
    print(f"load average at start: {load()} ({os.cpu_count()} CPUs)", flush=True)
    os.environ["DEBUG"] = "0"
    catalog_search.setup_environment(args.db)
    try:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
            print(f"database: {connection.vendor} {cursor.fetchone()[0].split(' on ')[0]}", flush=True)
        print(
            "measured in-process through django.test.Client (no network server, no WSGI server); "
            "the DB connection stays open between requests",
            flush=True,
        )
        bench_search(args, rng)
        if args.db == "postgres" and args.rows:
            bench_datastore(args, rng)
        else:
            print("\n(b) datastore_search: PostgreSQL only — skipped")
    finally:
        catalog_search.cleanup(args.db)
    print(f"\nload average at end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
