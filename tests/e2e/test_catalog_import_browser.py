"""A large batch import in a real browser (R-13.2): the upload is queued, the import's page
follows the job with a progress bar that htmx refreshes, and shows the outcome when the job
ends, without a reload; nothing is loaded from outside (R-8.2)."""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect

from conftest import login


@pytest.mark.browser
@pytest.mark.req("R-13.2")
@pytest.mark.django_db(transaction=True)
def test_the_import_page_follows_the_job_until_it_has_finished(page, yk, settings, tmp_path, monkeypatch):
    from huey.contrib.djhuey import HUEY

    from govdata.catalog import tasks
    from govdata.catalog.models import CatalogEntry, CatalogImport, Classification
    from govdata.catalog.seed import seed_classification
    from govdata.catalog.tests.test_import import good_entry, good_item, workbook

    seed_classification(Classification)  # transactional tests flush the migration's rows
    settings.STORAGES = {
        **settings.STORAGES,
        "imports": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    # Queue the job instead of running it at once (the queue stays in memory, in this process):
    # the test plays the consumer, and holds the job after the check until the page shows it.
    monkeypatch.setattr(HUEY, "_immediate", False)
    checked, release = threading.Event(), threading.Event()
    real_progress = tasks.cache_progress

    def held_progress(import_id):
        write = real_progress(import_id)

        def progress(phase, done, total):
            write(phase, done, total)
            if phase == "validating" and done == total:
                checked.set()
                release.wait(timeout=30)

        return progress

    monkeypatch.setattr(tasks, "cache_progress", held_progress)

    login(page, "police-admin")
    page.goto("/catalog/import/")
    expect(page.locator("#recent-imports")).to_contain_text("尚未导入过工作簿")
    data = workbook([good_entry(n, contact=None) for n in (1, 2, 3)], [good_item(n) for n in (1, 2, 3)])
    page.set_input_files(
        "input[type=file]",
        {"name": "三条目录.xlsx", "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "buffer": data},
    )
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/catalog/import/*/")
    expect(page.locator("h1")).to_contain_text("三条目录.xlsx")
    expect(page.locator("#import-status")).to_have_text("排队中")
    expect(page.locator("#import-phase")).to_contain_text("等待")
    expect(page.locator("#import-job")).to_have_attribute("hx-trigger", "every 1s")

    task = HUEY.dequeue()
    assert task is not None and task.args == (CatalogImport.objects.get().pk,)
    consumer = threading.Thread(target=HUEY.execute, args=(task,), daemon=True)
    consumer.start()
    try:
        assert checked.wait(timeout=30)
        # The page, polling, shows the job running with the rows it has checked.
        expect(page.locator("#import-status")).to_have_text("进行中")
        expect(page.locator("#import-phase")).to_contain_text("3 / 3")
        expect(page.locator("[role=progressbar]")).to_have_attribute("aria-valuenow", "20")
    finally:
        release.set()
        consumer.join(timeout=60)
    # Then the outcome, in place, and the polling stops.
    expect(page.locator("#import-status")).to_have_text("已导入")
    expect(page.locator("#import-created")).to_contain_text("202/000003")
    expect(page.locator("#import-job")).not_to_have_attribute("hx-trigger", "every 1s")
    assert CatalogEntry.objects.filter(provider=yk.police).count() == 3
    page.goto("/catalog/import/")
    expect(page.locator("#recent-imports")).to_contain_text("三条目录.xlsx")
    assert page.requests.foreign() == []
