"""Fixtures for the whole suite: frozen clock, organisations, people, and the system browser."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls we make between
# browser steps are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Background jobs run synchronously where they are queued (huey's immediate mode), in this
# process and in the `govdata` subprocesses the tests start (unless a test says otherwise).
os.environ.setdefault("GOVDATA_TASKS_IMMEDIATE", "1")

CHROMIUM = os.environ.get("GOVDATA_CHROMIUM", "/usr/bin/chromium")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgresql`` are about PostgreSQL's own features (round trips, unlogged
    tables, its backend): left out of a run on SQLite rather than skipped in it — the suite's
    PostgreSQL run has them (``scripts/run_tests.py`` runs both)."""
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return
    left_out = [item for item in items if item.get_closest_marker("postgresql")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]


@pytest.fixture(autouse=True, scope="session")
def _tasks_run_immediately():
    """pytest-django may read the settings before this file sets the variable above; the
    queue is switched to immediate mode here in any case."""
    from huey.contrib.djhuey import HUEY

    if os.environ["GOVDATA_TASKS_IMMEDIATE"] == "1":
        HUEY.immediate = True


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the platform's language: Django's LocaleMiddleware leaves the
    language of the last request active in the thread, so a test client request in English
    would otherwise make the next test's messages English."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def clock():
    """Freeze the platform clock; ``clock.set(...)`` moves it."""
    from govdata.common import clock as platform_clock

    class Clock:
        def set(self, moment: dt.datetime) -> dt.datetime:
            platform_clock.set_now(moment)
            return moment

        def advance(self, **delta) -> dt.datetime:
            return self.set(platform_clock.now() + dt.timedelta(**delta))

        def now(self) -> dt.datetime:
            return platform_clock.now()

    fixed = Clock()
    fixed.set(dt.datetime(2026, 3, 2, 9, 30, tzinfo=platform_clock.SHANGHAI))
    yield fixed
    platform_clock.set_now(None)


@pytest.fixture
def yk(db):
    """Yingkou's regions, two city departments and one county department, with people."""
    from govdata import testing as t
    from govdata.orgs.models import Role

    regions = t.regions()
    city = regions["营口市"]
    gaizhou = regions["盖州市"]

    class Org:
        pass

    o = Org()
    o.regions = regions
    o.city, o.gaizhou = city, gaizhou
    o.bureau_dept = t.department("营口市大数据管理局", city, short_name="市大数据局")
    o.police = t.department("营口市公安局", city, short_name="市公安局")
    o.civil = t.department("营口市民政局", city, short_name="市民政局")
    o.gz_health = t.department("盖州市卫生健康局", gaizhou, short_name="盖州卫健局")
    o.bureau = t.user(Role.BUREAU_ADMIN, o.bureau_dept, username="bureau")
    o.evaluator = t.user(Role.EVALUATOR, None, username="evaluator")
    o.gz_admin = t.user(Role.REGION_ADMIN, None, region=gaizhou, username="gz-admin")
    o.police_admin = t.user(Role.DEPARTMENT_ADMIN, o.police, username="police-admin")
    o.police_staff = t.user(Role.DEPARTMENT_STAFF, o.police, username="police-staff")
    o.civil_admin = t.user(Role.DEPARTMENT_ADMIN, o.civil, username="civil-admin")
    o.gz_health_admin = t.user(Role.DEPARTMENT_ADMIN, o.gz_health, username="gz-health-admin")
    o.police_security = t.user(Role.SECURITY_OFFICER, o.police, username="police-security")
    return o


# --- the system browser --------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make browser` (the setup installs it)")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


class RequestLog:
    """Every URL the page asked for, to prove nothing left the local server (R-8.2)."""

    def __init__(self, base_url: str):
        self.base = urlsplit(base_url)
        self.urls: list[str] = []

    def foreign(self) -> list[str]:
        out = []
        for url in self.urls:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if (parts.hostname, parts.port) != (self.base.hostname, self.base.port):
                out.append(url)
        return out


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="zh-CN", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15000)
    log = RequestLog(live_server.url)
    page.on("request", lambda request: log.urls.append(request.url))
    page.requests = log
    yield page
    context.close()


def login(page, username: str, password: str | None = None) -> None:
    from govdata.testing import PASSWORD

    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login/).*$"))
