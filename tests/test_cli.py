"""The real ``govdata`` console script, run as an operator would: separate processes, a fresh
data directory, the embedded SQLite database. No Django test database is involved."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

GOVDATA = shutil.which("govdata", path=str(Path(sys.executable).parent)) or shutil.which("govdata")


def govdata_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["GOVDATA_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    env["GOVDATA_TASKS_IMMEDIATE"] = "0"  # as in production: jobs go to the queue and a consumer
    return env


def govdata(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    assert GOVDATA, "the govdata console script is not installed next to this Python (pip install -e .)"
    return subprocess.run([GOVDATA, *args], env=env, capture_output=True, text=True, timeout=timeout)


def explain(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"


@pytest.fixture
def env(tmp_path):
    """A brand-new data directory: what a first-time operator has."""
    return govdata_env(tmp_path / "data")


@pytest.fixture(scope="module")
def migrated_env(tmp_path_factory):
    env = govdata_env(tmp_path_factory.mktemp("migrated") / "data")
    result = govdata(env, "manage", "migrate", "--verbosity", "0")
    assert result.returncode == 0, explain(result)
    return env


# --- govdata workdays deadline ---------------------------------------------------------------


@pytest.mark.req("R-20.2")
@pytest.mark.req("R-29.2")
def test_deadline_counts_make_up_days_and_skips_the_spring_festival(migrated_env):
    # Received Fri 2026-02-13. The receipt day does not count. Sat 02-14 is a make-up working
    # day (调休) -> 1; 02-15..02-23 is the Spring Festival holiday; 02-24, 25, 26, 27 -> 2..5.
    result = govdata(migrated_env, "workdays", "deadline", "--received", "2026-02-13", "--days", "5")
    assert result.returncode == 0, explain(result)
    assert result.stdout.strip() == "2026-02-27"
    assert "warning" not in result.stderr


@pytest.mark.req("R-20.2")
def test_deadline_works_on_a_fresh_data_directory(env):
    # An operator's first command may be this one: it must not need `govdata demo` first.
    result = govdata(env, "workdays", "deadline", "--received", "2026-02-13", "--days", "5")
    assert result.returncode == 0, explain(result)
    assert result.stdout.strip() == "2026-02-27"


@pytest.mark.req("R-29.2")
def test_deadline_in_a_year_without_an_official_calendar_warns(migrated_env):
    # 2027's holidays are not published yet: Monday-Friday is assumed, and the operator is told.
    result = govdata(migrated_env, "workdays", "deadline", "--received", "2027-03-01", "--days", "5")
    assert result.returncode == 0, explain(result)
    assert result.stdout.strip() == "2027-03-08"
    assert "warning" in result.stderr and "2027" in result.stderr


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--received", "2026-02-30", "--days", "5"], "--received"),
        (["--received", "13/02/2026", "--days", "5"], "--received"),
        (["--received", "2026-02-13", "--days", "0"], "--days"),
        (["--received", "2026-02-13", "--days", "five"], "--days"),
    ],
)
def test_deadline_with_bad_input_exits_2_naming_the_option(env, args, option):
    result = govdata(env, "workdays", "deadline", *args)
    assert result.returncode == 2, explain(result)
    assert option in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


# --- govdata demo + govdata audit verify -----------------------------------------------------


@pytest.mark.req("R-34.3")
def test_audit_verify_after_the_demo_and_after_tampering(env):
    result = govdata(env, "demo")
    assert result.returncode == 0, explain(result)
    assert re.search(r"^departments: \d+$", result.stdout, re.M), result.stdout

    result = govdata(env, "audit", "verify")
    assert result.returncode == 0, explain(result)
    count = int(re.search(r"(\d+) events", result.stdout).group(1))
    assert count > 100

    # Someone with file access rewrites history behind the platform's back.
    database = Path(env["GOVDATA_DATA_DIR"]) / "govdata.sqlite3"
    with sqlite3.connect(database) as connection:
        changed = connection.execute("UPDATE audit_auditevent SET purpose = 'x' WHERE seq = 3").rowcount
    connection.close()
    assert changed == 1

    result = govdata(env, "audit", "verify")
    assert result.returncode == 1, explain(result)
    assert "sequence number 3" in result.stdout


# --- govdata serve ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.req("R-8.1")
@pytest.mark.req("R-8.2")
def test_serve_starts_and_serves_the_chinese_login_and_local_assets(env, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w+")
    # Own session: gunicorn's master and workers go down together with killpg.
    server = subprocess.Popen(
        [GOVDATA, "serve", "--port", str(port), "--workers", "1", "--threads", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        status, body = None, b""
        deadline = time.monotonic() + 60  # migrations and collectstatic run first
        while time.monotonic() < deadline:
            if server.poll() is not None:
                break
            try:
                status, body = fetch(f"{base}/login/")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                status = None  # not listening yet
            if status is not None:
                break
            time.sleep(0.5)
        log.seek(0)
        output = log.read()[-3000:]
        assert status == 200, f"server did not answer 200 on /login/ (last {status}); exit {server.poll()}\n{output}"
        html = body.decode("utf-8")
        # The Chinese catalogues were compiled at start-up.
        assert "登录" in html
        # Every asset the page names is local (no CDN, fonts or scripts from the internet).
        foreign = [u for u in re.findall(r"""(?:src|href)=["']([^"']+)""", html) if re.match(r"(https?:)?//", u)]
        assert foreign == []
        status, css = fetch(f"{base}/static/vendor/bootstrap/css/bootstrap.min.css")
        assert status == 200 and b"Bootstrap" in css[:500]
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)
        log.close()


# --- govdata serve with its job consumer -------------------------------------------------------


def children_of(pid: int) -> dict[int, str]:
    """Direct children of a process and their command lines (Linux /proc)."""
    out = {}
    listing = Path(f"/proc/{pid}/task/{pid}/children")
    for child in listing.read_text().split() if listing.exists() else []:
        try:
            out[int(child)] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except FileNotFoundError:
            pass
    return out


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.req("R-13.2")
@pytest.mark.parametrize("no_worker", [False, True], ids=["with-worker", "no-worker"])
def test_serve_runs_one_job_consumer_and_stops_it_with_the_server(env, tmp_path, no_worker):
    port = free_port()
    log = (tmp_path / "serve.log").open("w+")
    args = [GOVDATA, "serve", "--port", str(port), "--workers", "2", "--threads", "1"]
    server = subprocess.Popen(
        args + (["--no-worker"] if no_worker else []),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        status = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None and status is None:
            try:
                status, _body = fetch(f"http://127.0.0.1:{port}/login/")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        log.seek(0)
        assert status == 200, log.read()[-3000:]
        consumers = [pid for pid, cmd in children_of(server.pid).items() if "govdata.cli worker" in cmd]
        assert len(consumers) == (0 if no_worker else 1), children_of(server.pid)
        # A web worker that exits (gunicorn forks them from the server) leaves the consumer be.
        web_worker = next(pid for pid in children_of(server.pid) if pid not in consumers)
        os.kill(web_worker, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while web_worker in children_of(server.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert web_worker not in children_of(server.pid)
        log.seek(0)
        assert all(alive(pid) for pid in consumers), log.read()[-3000:]
        # Stop the server alone, as a service manager would: it takes its consumer with it.
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(alive(pid) for pid in consumers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(alive(pid) for pid in consumers)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        try:
            os.killpg(server.pid, signal.SIGKILL)  # anything left of the group
        except ProcessLookupError:
            pass
        log.close()
