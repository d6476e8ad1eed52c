"""Data gateway benchmark (issue #5): throughput of a signed, grant-checked, masked, audited
lookup by key against the same server's trivial unauthenticated page, with N concurrent
clients, on SQLite and PostgreSQL.

    .venv/bin/python bench/gateway.py --db sqlite --rows 100000 --clients 8
    .venv/bin/python bench/gateway.py --db postgres --rows 100000 --clients 8
    .venv/bin/python bench/gateway.py --db postgres --redis redis://127.0.0.1:6379/7

Set-up, on a throwaway database (a temporary SQLite file, or PostgreSQL database
govdata_bench_gateway): a published conditional table resource of the police with ``--rows``
residents, loaded through the real load service; a grant to civil affairs' system of three of
its items (request → approve → undertaking); a consumer application of that system. Then the
real server, ``govdata serve`` (gunicorn, ``--workers`` × ``--threads``), on a free port, with
the platform's defaults: persistent database connections, and the gateway's back ends without
``REDIS_URL`` (nonces in the database, rate-limit counters in memory) — or with ``--redis URL``
those of several app servers (both in that Redis database; the run's application is new, so
its counters and nonces are too).

Each kind runs for ``--seconds`` in all with ``--clients`` threads, each with its own keep-alive
session, in ``--rounds`` alternating slices (b, a, b, a, …), so that a change in the machine's
other load during the run weighs on both kinds alike: (a)
``GET /gateway/v1/resources/{id}/records/by-key?sfzh=…`` signed by
``sharing.client`` with a fresh nonce, for a random existing key — checked, rate-limited,
decided by ``permissions.decide``, masked and audited; (b) ``GET /login/``, the platform's
cheapest page that needs no sign-in (the platform has no health endpoint). Goal: throughput
ratio (a)/(b) ≥ 0.5. The clients share the machine (and the interpreter lock of this process)
with the server; the figures include their share.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

DB_NAME = "govdata_bench_gateway"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ROOT = Path(__file__).resolve().parents[1]


def setup_environment(db: str, redis_url: str | None) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="govdata-bench-"))
    os.environ["GOVDATA_DATA_DIR"] = str(data_dir)
    if db == "postgres":
        import psycopg

        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
            conn.execute(f"CREATE DATABASE {DB_NAME}")
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
    else:
        os.environ.pop("DATABASE_URL", None)
    for name in ("REDIS_URL", "GOVDATA_GATEWAY_RATE_LIMIT_STORAGE", "DEBUG", "DB_CONN_MAX_AGE"):
        os.environ.pop(name, None)  # the defaults: database nonces, per-process counters, persistent connections
    if redis_url:
        os.environ["REDIS_URL"] = redis_url  # nonces and rate-limit counters
    os.environ["GOVDATA_TASKS_IMMEDIATE"] = "1"  # no job consumer needed
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govdata.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def cleanup(db: str) -> None:
    from django.db import connections

    connections.close_all()
    shutil.rmtree(os.environ["GOVDATA_DATA_DIR"], ignore_errors=True)
    if db == "postgres":
        import psycopg

        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def build(rows: int):
    """The resource, grant and application, through the services; returns (resource id,
    app id, secret, keys)."""
    from govdata import testing
    from govdata.catalog import services as catalog
    from govdata.common import clock
    from govdata.catalog.models import Classification
    from govdata.catalog.seed import seed_classification
    from govdata.datastore import services as datastore
    from govdata.datastore.services import loads
    from govdata.datastore.tests import corpus
    from govdata.datastore.tests.conftest import PERSON_ITEMS
    from govdata.orgs.models import InformationSystem, Role
    from govdata.sharing.services import applications
    from govdata.sharing.services import requests as sharing

    seed_classification(Classification)
    city = testing.regions()["营口市"]
    police, civil = testing.department("营口市公安局", city), testing.department("营口市民政局", city)
    bureau = testing.actor(testing.user(Role.BUREAU_ADMIN, testing.department("营口市大数据管理局", city)))
    police_admin = testing.actor(testing.user(Role.DEPARTMENT_ADMIN, police))
    civil_admin = testing.actor(testing.user(Role.DEPARTMENT_ADMIN, civil))
    values = {
        "name": "居民信息",
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
    entry = catalog.create_entry(police_admin, police, Classification.objects.get(code="202"), values, PERSON_ITEMS)
    catalog.submit(police_admin, entry)
    catalog.publish(bureau, entry)
    entry.refresh_from_db()
    resource = datastore.mount(police_admin, entry, kind="table", name="居民信息表")
    data = corpus.csv_bytes(corpus.PERSON_HEADER, (corpus.person(i) for i in range(1, rows + 1)))
    started = time.perf_counter()
    version = loads.load_table(police_admin, resource, io.BytesIO(data), filename="people.csv", mode="replace")
    assert version.status == "done", version.message
    print(f"loaded {version.rows_loaded:,} rows in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    datastore.submit(police_admin, resource)
    datastore.publish(bureau, resource)
    system = InformationSystem.objects.create(department=civil, name="低保审核系统", owner="救助科", status="existing")
    request = sharing.submit_request(
        civil_admin, entry, system=system, items=["sfzh", "xm", "sjhm"], purpose="低保资格审核",
        legal_duty="《社会救助暂行办法》第十一条", scope="低保审核科室",
        period_start=clock.today(), period_end=clock.today() + dt.timedelta(days=365),
    )  # fmt: skip
    sharing.accept_grant(civil_admin, sharing.approve(police_admin, request))
    application, secret = applications.register_application(
        civil_admin, system, name="基准测试", rate_limit="10000000/minute"
    )
    keys = [corpus.id_number(i) for i in random.Random(5).sample(range(1, rows + 1), min(rows, 5000))]
    return resource.pk, application.app_id, secret, keys


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int, threads: int) -> subprocess.Popen:
    import requests

    command = [
        sys.executable, "-m", "govdata.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--threads", str(threads), "--no-worker",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if requests.get(f"http://127.0.0.1:{port}/login/", timeout=10).status_code == 200:
                return server
        except requests.RequestException:
            time.sleep(0.5)
    stop_server(server)
    raise RuntimeError(f"the server did not start: {server.stderr.read()[-2000:]}")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run_clients(make_call, clients: int, seconds: float) -> tuple[float, list[float], int]:
    """The time measured (seconds), latencies (ms) and failures of ``clients`` threads calling
    ``make_call(index)()`` for ``seconds``."""
    import requests

    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures = [0] * clients
    start, stop = threading.Barrier(clients + 1), threading.Event()

    def attempt(call) -> bool:
        try:
            return call()
        except requests.RequestException:  # e.g. a keep-alive connection the server closed
            return False

    def worker(index: int) -> None:
        call = make_call(index)
        attempt(call)  # warm: connection, server worker
        start.wait()
        while not stop.is_set():
            began = time.perf_counter()
            ok = attempt(call)
            latencies[index].append((time.perf_counter() - began) * 1000)
            failures[index] += not ok

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    samples = [s for per_thread in latencies for s in per_thread]
    return elapsed, samples, sum(failures)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redis", metavar="URL", help="nonces and rate-limit counters in this Redis database")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    setup_environment(args.db, args.redis)
    server = None
    try:
        resource_id, app_id, secret, keys = build(args.rows)
        from django.db import connections

        connections.close_all()
        port = free_port()
        server = start_server(port, args.workers, args.threads)
        return measure(args, port, resource_id, app_id, secret, keys)
    finally:
        if server is not None:
            stop_server(server)
        cleanup(args.db)


def measure(args, port: int, resource_id: int, app_id: str, secret: str, keys: list[str]) -> int:
    import requests

    from govdata.audit.models import AuditEvent
    from govdata.sharing.client import GatewayClient

    base = f"http://127.0.0.1:{port}"

    def lookup(index: int):
        client = GatewayClient(f"{base}/gateway/v1", app_id, secret)
        rng = random.Random(index)
        path = f"/resources/{resource_id}/records/by-key"

        def call() -> bool:
            answer = client.get(path, {"sfzh": rng.choice(keys)})
            return answer.status_code == 200 and answer.json()["record"]["xm"].endswith("*")

        return call

    def trivial(index: int):
        session = requests.Session()

        def call() -> bool:
            return session.get(f"{base}/login/").status_code == 200

        return call

    before = AuditEvent.objects.filter(action="sharing.gateway.lookup").count()
    kinds = {"(b) trivial page GET /login/": trivial, "(a) signed lookup by key": lookup}
    totals = {label: (0.0, [], 0) for label in kinds}  # seconds, latencies, failures
    for _round in range(args.rounds):
        for label, make_call in kinds.items():
            elapsed, samples, failed = run_clients(make_call, args.clients, args.seconds / args.rounds)
            spent, latencies, failures = totals[label]
            totals[label] = (spent + elapsed, latencies + samples, failures + failed)
    results = {label: (len(samples) / spent, samples, failed) for label, (spent, samples, failed) in totals.items()}
    audited = AuditEvent.objects.filter(action="sharing.gateway.lookup").count() - before

    print(
        f"\ngateway on {args.rows:,} rows, {args.db}{' + Redis' if args.redis else ''}, "
        f"gunicorn {args.workers}×{args.threads}, "
        f"{args.clients} client threads, {args.seconds:.0f} s per kind in {args.rounds} rounds"
    )
    print(f"{'kind':34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'failed':>7}")
    for label, (rate, samples, failed) in results.items():
        print(
            f"{label:34} {rate:8.1f} {percentile(samples, 50):8.2f} {percentile(samples, 99):8.2f} "
            f"{len(samples):9,d} {failed:7d}"
        )
    lookup_rate, lookup_samples, _failed = results["(a) signed lookup by key"]
    trivial_rate = results["(b) trivial page GET /login/"][0]
    # Every lookup (each round's warm-up calls included) wrote its audit event.
    print(f"audit events written: {audited:,} for {len(lookup_samples) + args.clients * args.rounds:,} lookups")
    ratio = lookup_rate / trivial_rate
    print(f"throughput ratio (a)/(b): {ratio:.2f} — goal >= 0.5: {'met' if ratio >= 0.5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
