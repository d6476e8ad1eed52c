"""The offline batch import as a background job (R-13.2): queued on upload, run by a huey
consumer (in these tests synchronously, in immediate mode; one test runs the real consumer),
with its progress in the cache and its outcome on the import's page."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.catalog import selectors, services, tasks
from govdata.catalog.models import CatalogEntry, CatalogImport, Classification
from govdata.catalog.seed import seed_classification
from govdata.common.fsm import IllegalTransition, allowed_actions, next_state
from govdata.notifications.models import Notification
from govdata.orgs.models import Role

from .test_import import good_entry, good_item, workbook

ImportStatus = CatalogImport.Status


@pytest.fixture
def import_files(settings, tmp_path):
    """The imports storage in a folder of this test's own."""
    folder = tmp_path / "imports"
    settings.STORAGES = {
        **settings.STORAGES,
        "imports": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": folder}},
    }
    return folder


@pytest.fixture
def setup(yk, clock, import_files):
    seed_classification(Classification)
    yk.import_files = import_files
    return yk


def good_workbook(rows: int = 2) -> bytes:
    return workbook([good_entry(n, contact=None) for n in range(1, rows + 1)], [good_item(n) for n in range(1, rows + 1)])


def bad_workbook() -> bytes:
    return workbook(
        [good_entry(1, contact=None), good_entry(2, contact=None, classification="999")],
        [good_item(1), good_item(2, code="1abc")],
    )


def start(user, department, data: bytes, name: str, capture) -> CatalogImport:
    """Upload through the service; the job runs when the transaction commits."""
    with capture(execute=True):
        imp = services.start_import(t.actor(user), department, data, name)
    imp.refresh_from_db()
    return imp


def upload(client, data: bytes, name: str, capture):
    file = io.BytesIO(data)
    file.name = name
    with capture(execute=True):
        response = client.post(reverse("catalog:import"), {"file": file})
    return response


# --- the job -----------------------------------------------------------------------------------


@pytest.mark.req("R-13.2")
def test_the_job_imports_a_valid_workbook_and_records_what_it_did(setup, django_capture_on_commit_callbacks):
    imp = start(setup.police_staff, setup.police, good_workbook(3), "参保.xlsx", django_capture_on_commit_callbacks)

    assert imp.status == ImportStatus.DONE
    assert (imp.total_rows, imp.created_count, imp.errors, imp.message) == (3, 3, [], "")
    assert imp.file_name == "参保.xlsx" and imp.uploaded_by == setup.police_staff and imp.provider == setup.police
    assert imp.started_at is not None and imp.finished_at is not None
    created = CatalogEntry.objects.filter(provider=setup.police).order_by("code")
    assert sorted(imp.created_entries) == sorted(created.values_list("pk", flat=True)) and created.count() == 3
    assert all(e.working.created_by == setup.police_staff for e in created)
    # The audit trail: the upload (by the uploader, on the import), then the import itself.
    start_event = AuditEvent.objects.get(action="catalog.import.start")
    assert start_event.object_id == str(imp.pk) and start_event.actor_label == "police-staff"
    assert start_event.details["file"] == "参保.xlsx"
    done_event = AuditEvent.objects.get(action="catalog.import")
    assert done_event.row_count == 3 and done_event.actor_label == "police-staff" and done_event.seq > start_event.seq
    assert AuditEvent.objects.filter(action="catalog.entry.create").count() == 3
    # The uploader is told, with a link to the import's page.
    note = Notification.objects.get(recipient=setup.police_staff, category="catalog.import")
    assert note.link == f"/catalog/import/{imp.pk}/" and "3" in note.subject
    # The upload has been read and removed; the progress reads as complete.
    assert imp.stored_name == "" and list(setup.import_files.iterdir()) == []
    assert selectors.import_progress(imp).percent == 100


@pytest.mark.req("R-13.2")
def test_a_bad_workbook_is_rejected_with_every_error_and_a_marked_copy_for_the_uploader_only(
    client, setup, django_capture_on_commit_callbacks
):
    client.force_login(setup.police_staff)
    response = upload(client, bad_workbook(), "bad.xlsx", django_capture_on_commit_callbacks)
    imp = CatalogImport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/catalog/import/{imp.pk}/"
    assert imp.status == ImportStatus.REJECTED and imp.total_rows == 2 and imp.created_count == 0
    assert CatalogEntry.objects.count() == 0
    cells = {(e["sheet"], e["row"], e["column"]) for e in imp.errors}
    assert ("目录", 3, "分类代码") in cells and ("信息项", 3, "字段代码") in cells
    assert all(set(e) == {"sheet", "row", "column", "reason"} and e["reason"] for e in imp.errors)
    assert AuditEvent.objects.filter(action="catalog.import.rejected", row_count=2).count() == 1
    assert "未导入任何内容" in Notification.objects.get(recipient=setup.police_staff).subject

    text = client.get(response["Location"]).content.decode()
    table = text.split('id="import-errors"', 1)[1].split("</table>", 1)[0]
    assert "分类代码" in table and "字段代码" in table and "hx-trigger" not in text
    link = re.search(r'id="marked-link" href="([^"]+)"', text).group(1)
    assert link == reverse("catalog:import_marked", args=[imp.pk])
    marked = client.get(link)
    assert marked.status_code == 200
    sheet = load_workbook(io.BytesIO(marked.content))["目录"]
    assert "错误原因" in [c.value for c in sheet[1]]

    # Nobody else gets the import or its workbook: not a colleague, not another department.
    colleague = t.user(Role.DEPARTMENT_STAFF, setup.police, username="police-staff-2")
    for other in (colleague, setup.civil_admin, setup.bureau, setup.police_security):
        client.force_login(other)
        for url in (link, response["Location"], reverse("catalog:import_progress", args=[imp.pk])):
            assert client.get(url).status_code == 404, (other, url)
    # The department's admin oversees every import of the department.
    client.force_login(setup.police_admin)
    assert client.get(link).status_code == 200
    assert "bad.xlsx" in client.get(reverse("catalog:import")).content.decode()


@pytest.mark.req("R-13.2")
def test_a_file_that_is_not_the_template_is_rejected_with_the_reason(setup, django_capture_on_commit_callbacks):
    # An xlsx, so the upload is accepted; only the job finds that the template's sheets are missing.
    from openpyxl import Workbook

    out = io.BytesIO()
    Workbook().save(out)
    imp = start(setup.police_admin, setup.police, out.getvalue(), "other.xlsx", django_capture_on_commit_callbacks)
    assert imp.status == ImportStatus.REJECTED and imp.errors == [] and "目录" in imp.message
    assert imp.marked_name == "" and CatalogEntry.objects.count() == 0


@pytest.mark.req("R-13.2")
def test_progress_reports_increasing_counts_ending_at_the_total(setup, django_capture_on_commit_callbacks):
    calls: list[tuple[str, int, int]] = []
    data = good_workbook(120)
    result = services.import_workbook(
        t.actor(setup.police_admin), setup.police, data, progress=lambda *call: calls.append(call)
    )
    assert result.ok and result.rows == 120
    for phase in ("validating", "importing"):
        counts = [done for p, done, total in calls if p == phase]
        assert {total for p, _done, total in calls if p == phase} == {120}
        assert counts == sorted(set(counts)) and counts[0] == 0 and counts[-1] == 120
        assert 50 in counts and 100 in counts and len(counts) <= 120 // services.PROGRESS_EVERY + 2
    assert [p for p, *_ in calls].index("importing") > max(i for i, c in enumerate(calls) if c[0] == "validating")
    # A rejected workbook is checked through, then its errors are marked (no counts for that).
    calls.clear()
    result = services.import_workbook(
        t.actor(setup.police_admin), setup.police, bad_workbook(), progress=lambda *call: calls.append(call)
    )
    assert result.errors and calls[-2:] == [("validating", 2, 2), ("marking", 0, 0)]

    # Through the job, the progress goes to the cache for the web servers to read.
    imp = start(setup.police_admin, setup.police, good_workbook(60), "p.xlsx", django_capture_on_commit_callbacks)
    state = cache.get(selectors.progress_key(imp.pk))
    assert (state["phase"], state["done"], state["total"]) == ("importing", 60, 60)
    # While running, the page reads it from there, as a share of the whole job.
    CatalogImport.objects.filter(pk=imp.pk).update(status=ImportStatus.RUNNING)
    imp.refresh_from_db()
    tasks.cache_progress(imp.pk)("validating", 30, 60)
    assert selectors.import_progress(imp) == selectors.ImportProgress("validating", 30, 60, 17)
    tasks.cache_progress(imp.pk)("importing", 30, 60)
    assert selectors.import_progress(imp).percent == 60
    tasks.cache_progress(imp.pk)("reading", 0, 0)
    assert not selectors.import_progress(imp).known


@pytest.mark.req("R-13.2")
def test_an_unexpected_error_fails_the_job_and_leaves_nothing_half_written(
    setup, monkeypatch, django_capture_on_commit_callbacks
):
    # The second entry's creation breaks: the first one must not stay behind.
    real_create = services.create_entry
    made = []

    def create_then_break(*args, **kwargs):
        if made:
            raise OSError("disk full")
        made.append(real_create(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(services, "create_entry", create_then_break)
    imp = start(setup.police_admin, setup.police, good_workbook(3), "x.xlsx", django_capture_on_commit_callbacks)
    assert len(made) == 1
    assert imp.status == ImportStatus.FAILED and "OSError: disk full" in imp.message
    assert CatalogEntry.objects.count() == 0 and imp.created_count == 0
    assert not AuditEvent.objects.filter(action__in=["catalog.import", "catalog.entry.create"]).exists()
    assert AuditEvent.objects.get(action="catalog.import.failed").details["error"] == imp.message
    assert "导入失败" in Notification.objects.get(recipient=setup.police_admin).subject
    # The upload is kept for whoever looks into the failure.
    assert (setup.import_files / imp.stored_name).is_file()

    def explode(*args, **kwargs):
        raise RuntimeError("the job broke")

    monkeypatch.setattr(services, "import_workbook", explode)
    imp = start(setup.police_admin, setup.police, good_workbook(1), "y.xlsx", django_capture_on_commit_callbacks)
    assert imp.status == ImportStatus.FAILED and imp.message == "RuntimeError: the job broke"
    assert CatalogEntry.objects.count() == 0


@pytest.mark.req("R-13.2")
def test_an_uploader_who_lost_the_right_to_compile_gets_a_failed_import(setup, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        imp = services.start_import(t.actor(setup.police_staff), setup.police, good_workbook(1), "late.xlsx")
    setup.police_staff.roles.all().delete()
    for callback in callbacks:
        callback()
    imp.refresh_from_db()
    assert imp.status == ImportStatus.FAILED and "无权" in imp.message and CatalogEntry.objects.count() == 0


@pytest.mark.req("R-13.2")
def test_a_queue_that_cannot_be_reached_fails_the_import_instead_of_the_request(
    client, setup, monkeypatch, django_capture_on_commit_callbacks
):
    def unreachable(import_id):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(tasks, "run_catalog_import", unreachable)
    client.force_login(setup.police_admin)
    response = upload(client, good_workbook(1), "q.xlsx", django_capture_on_commit_callbacks)
    assert response.status_code == 302
    imp = CatalogImport.objects.get()
    assert imp.status == ImportStatus.FAILED and "ConnectionError" in imp.message


@pytest.mark.req("R-13.2")
def test_old_import_files_are_removed_and_the_records_kept(setup, clock, monkeypatch, django_capture_on_commit_callbacks):
    rejected = start(setup.police_admin, setup.police, bad_workbook(), "bad.xlsx", django_capture_on_commit_callbacks)
    monkeypatch.setattr(services, "import_workbook", lambda *a, **k: 1 / 0)
    failed = start(setup.police_admin, setup.police, good_workbook(1), "x.xlsx", django_capture_on_commit_callbacks)
    files = sorted(p.name for p in setup.import_files.iterdir())
    assert files == sorted([rejected.marked_name, failed.stored_name])
    clock.advance(days=services.IMPORT_FILES_KEEP_DAYS - 1)
    assert services.prune_import_files() == 0 and len(list(setup.import_files.iterdir())) == 2
    clock.advance(days=2)
    assert services.prune_import_files() == 2 and list(setup.import_files.iterdir()) == []
    rejected.refresh_from_db()
    assert rejected.marked_name == "" and rejected.errors  # the errors stay on the page
    assert services.prune_import_files() == 0


# --- who sees an import ----------------------------------------------------------------------


@pytest.mark.req("R-13.2")
def test_only_the_uploader_and_the_department_admins_see_an_import(client, setup, django_capture_on_commit_callbacks):
    imp = start(setup.police_staff, setup.police, good_workbook(1), "mine.xlsx", django_capture_on_commit_callbacks)
    status_url = reverse("catalog:import_status", args=[imp.pk])
    progress_url = reverse("catalog:import_progress", args=[imp.pk])
    colleague = t.user(Role.DEPARTMENT_STAFF, setup.police, username="police-staff-2")
    for user, code in [
        (setup.police_staff, 200),
        (setup.police_admin, 200),
        (colleague, 404),
        (setup.civil_admin, 404),
        (setup.gz_health_admin, 404),
        (setup.bureau, 404),
        (setup.evaluator, 404),
    ]:
        client.force_login(user)
        assert client.get(status_url).status_code == code, user
        assert client.get(progress_url).status_code == code, user
    assert [i.pk for i in selectors.imports_visible_to(colleague)] == []
    assert [i.pk for i in selectors.imports_visible_to(setup.police_admin)] == [imp.pk]
    # The import page lists the department's recent imports the user may see.
    client.force_login(colleague)
    assert "mine.xlsx" not in client.get(reverse("catalog:import")).content.decode()
    client.force_login(setup.police_admin)
    assert "mine.xlsx" in client.get(reverse("catalog:import")).content.decode()
    client.logout()
    assert client.get(status_url).status_code == 302  # to the login page


@pytest.mark.req("R-13.2")
def test_the_progress_fragment_polls_until_the_job_has_finished(client, setup):
    imp = CatalogImport.objects.create(
        provider=setup.police, uploaded_by=setup.police_admin, file_name="big.xlsx", created_at=timezone.now()
    )
    client.force_login(setup.police_admin)
    progress_url = reverse("catalog:import_progress", args=[imp.pk])
    text = client.get(reverse("catalog:import_status", args=[imp.pk])).content.decode()
    assert f'hx-get="{progress_url}"' in text and 'hx-trigger="every 1s"' in text and 'hx-swap="outerHTML"' in text
    assert "等待" in text and "htmx.min.js" in text

    CatalogImport.objects.filter(pk=imp.pk).update(status=ImportStatus.RUNNING)
    tasks.cache_progress(imp.pk)("importing", 5000, 20000)
    fragment = client.get(progress_url).content.decode()
    assert fragment.lstrip().startswith('<div id="import-job"') and "<html" not in fragment
    assert 'hx-trigger="every 1s"' in fragment and "5000 / 20000" in fragment and 'aria-valuenow="40"' in fragment

    CatalogImport.objects.filter(pk=imp.pk).update(status=ImportStatus.FAILED, message="MemoryError: ")
    fragment = client.get(progress_url).content.decode()
    assert "hx-trigger" not in fragment and 'id="import-failed"' in fragment and "MemoryError" in fragment


@pytest.mark.req("R-13.2")
def test_the_import_status_table_refuses_illegal_moves(setup, django_capture_on_commit_callbacks):
    table = services.IMPORT_TRANSITIONS
    assert allowed_actions(table, ImportStatus.QUEUED) == ["start", "fail"]
    assert set(allowed_actions(table, ImportStatus.RUNNING)) == {"reject", "finish", "fail"}
    for final in (ImportStatus.REJECTED, ImportStatus.DONE, ImportStatus.FAILED):
        assert allowed_actions(table, final) == []
        for action in ("start", "reject", "finish", "fail"):
            with pytest.raises(IllegalTransition):
                next_state(table, final, action)
    for action in ("reject", "finish"):
        with pytest.raises(IllegalTransition):
            next_state(table, ImportStatus.QUEUED, action)
    with pytest.raises(IllegalTransition):
        next_state(table, ImportStatus.RUNNING, "start")

    # A job delivered twice runs once: the second delivery finds nothing queued.
    imp = start(setup.police_admin, setup.police, good_workbook(2), "twice.xlsx", django_capture_on_commit_callbacks)
    assert services.run_import(imp.pk) is None and services.run_import(999_999) is None
    assert CatalogEntry.objects.count() == 2 and CatalogImport.objects.get().status == ImportStatus.DONE


# --- the real consumer -------------------------------------------------------------------------

GOVDATA = shutil.which("govdata", path=str(Path(sys.executable).parent)) or shutil.which("govdata")

ENQUEUE = """
from govdata.catalog import services
from govdata.catalog.tests.test_import import good_entry, good_item, workbook
from govdata.common.actor import Actor
from govdata.orgs.models import User

user = User.objects.get(username="police-admin")
data = workbook([good_entry(n, contact=None) for n in (1, 2, 3)], [good_item(n) for n in (1, 2, 3)])
imp = services.start_import(Actor(user=user), user.department, data, "consumer.xlsx")
print("IMPORT", imp.pk, imp.status)
"""


def run(env, *args, timeout: float = 180) -> subprocess.CompletedProcess:
    result = subprocess.run([GOVDATA, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}: exit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


@pytest.mark.req("R-13.2")
def test_the_real_consumer_runs_a_queued_import(tmp_path):
    """`govdata worker` (no immediate mode, the SQLite queue in the data dir) picks up an
    import queued by another process and carries it out."""
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "REDIS_URL")}
    env.update(GOVDATA_DATA_DIR=str(data_dir), GOVDATA_TASKS_IMMEDIATE="0", PYTHONUNBUFFERED="1")
    run(env, "demo")
    log = (tmp_path / "worker.log").open("w+")
    worker = subprocess.Popen(
        [GOVDATA, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        queued = run(env, "manage", "shell", "-c", ENQUEUE)
        import_id = int(re.search(r"^IMPORT (\d+) queued$", queued.stdout, re.M).group(1))
        database = data_dir / "govdata.sqlite3"
        row = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and worker.poll() is None:
            connection = sqlite3.connect(database, timeout=30)
            try:
                row = connection.execute(
                    "SELECT status, created_count, total_rows, message FROM catalog_catalogimport WHERE id = ?",
                    (import_id,),
                ).fetchone()
            finally:
                connection.close()
            if row and row[0] in ("done", "rejected", "failed"):
                break
            time.sleep(0.5)  # bounded polling of the external worker
        log.seek(0)
        output = log.read()[-3000:]
        assert row is not None and row[:3] == ("done", 3, 3), f"{row}\nworker (exit {worker.poll()}):\n{output}"
        connection = sqlite3.connect(database)
        try:
            events = connection.execute(
                "SELECT action, row_count, actor_label FROM audit_auditevent WHERE action LIKE 'catalog.import%' ORDER BY seq"
            ).fetchall()
        finally:
            connection.close()
        assert events == [("catalog.import.start", None, "police-admin"), ("catalog.import", 3, "police-admin")]
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
        log.close()
