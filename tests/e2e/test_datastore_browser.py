"""A table resource from mounting to publication in a real browser (R-18.1, R-21.1): the
provider mounts it under a published entry, uploads a CSV and watches the load's progress bar
(refreshed by htmx) finish, sees the masked preview and submits it; the bureau publishes it
from its re-review queue. Nothing is loaded from outside (R-8.2)."""

from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import expect

from conftest import login


def logout(page) -> None:
    page.locator("nav form button").click()
    page.wait_for_url(re.compile(r".*/login/$"))


@pytest.mark.browser
@pytest.mark.req("R-18.1")
@pytest.mark.req("R-21.1")
@pytest.mark.django_db(transaction=True)
def test_a_table_is_mounted_loaded_submitted_and_published(page, yk, settings, tmp_path, monkeypatch):
    from huey.contrib.djhuey import HUEY

    from govdata.datastore.models import DataVersion, Resource
    from govdata.datastore.services import loads
    from govdata.datastore.tests import corpus as c
    from govdata.datastore.tests.conftest import published_entry

    entry = published_entry(yk)  # seeds the classification, which transactional tests flush
    settings.STORAGES = {
        **settings.STORAGES,
        "imports": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    # Queue the load instead of running it at once: the test plays the worker, and holds the
    # job while it reads until the page has shown it running.
    monkeypatch.setattr(HUEY, "_immediate", False)
    reading, release = threading.Event(), threading.Event()
    real_load_table = loads.load_table

    def held_load_table(*args, progress=None, **kwargs):
        def held(phase, done, total):
            progress(phase, done, total)
            if phase == "checking":
                reading.set()
                release.wait(timeout=30)

        return real_load_table(*args, progress=held, **kwargs)

    monkeypatch.setattr(loads, "load_table", held_load_table)

    # The provider's admin mounts a table under the published entry.
    login(page, "police-admin")
    page.goto(f"/catalog/entries/{entry.pk}/")
    page.locator("#mount-button").click()
    page.wait_for_url(f"**/datastore/entries/{entry.pk}/mount/")
    page.locator("input[name=kind][value=table]").check()
    page.locator("input[name=name]").fill("居民信息表")
    page.locator("#mount-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/datastore/resources/\d+/$"))
    resource = Resource.objects.get()
    expect(page.locator("h1")).to_have_text("居民信息表")
    expect(page.locator("#column-sfzh")).to_be_visible()

    # Uploads a CSV and follows the load.
    rows = [c.person(1, "张三"), c.person(2, "李四"), c.person(3, "王五")]
    page.set_input_files("#id_file", {"name": "居民.csv", "mimeType": "text/csv", "buffer": c.csv_bytes(c.PERSON_HEADER, rows)})
    page.locator("input[name=mode][value=replace]").check()
    page.locator("#load-button").click()
    page.wait_for_url(re.compile(r".*/datastore/resources/\d+/loads/[0-9a-f]+/$"))
    expect(page.locator("#load-job")).to_have_attribute("data-phase", "queued")
    expect(page.locator("#load-job")).to_have_attribute("hx-trigger", "every 1s")

    task = HUEY.dequeue()
    assert task is not None and task.args[2] == resource.pk
    worker = threading.Thread(target=HUEY.execute, args=(task,), daemon=True)
    worker.start()
    try:
        assert reading.wait(timeout=30)
        expect(page.locator("#load-job")).to_have_attribute("data-phase", "checking")
        expect(page.locator("[role=progressbar]")).to_have_attribute("aria-valuenow", "85")
    finally:
        release.set()
        worker.join(timeout=60)
    # The outcome appears in place and the polling stops.
    expect(page.locator("#load-job")).to_have_attribute("data-phase", "finished")
    expect(page.locator("#load-job")).not_to_have_attribute("hx-trigger", "every 1s")
    expect(page.locator("[role=progressbar]")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#load-progress .version-done")).to_be_visible()
    expect(page.locator("#version-link")).to_be_visible()
    assert DataVersion.objects.get().rows_loaded == 3

    # The resource page shows the load in the history and the rows, masked.
    page.goto(f"/datastore/resources/{resource.pk}/")
    expect(page.locator("#version-1")).to_contain_text("3")
    preview = page.locator("#preview-table")
    expect(preview).to_contain_text("张*")
    expect(preview).not_to_contain_text("张三")
    expect(preview).to_contain_text(c.id_number(1)[:6] + "********")
    page.locator("#submit-button").click()
    expect(page.locator(".status-submitted").first).to_be_visible()
    logout(page)

    # The bureau publishes it from the re-review queue.
    login(page, "bureau")
    page.goto("/datastore/")
    page.locator("#review-link").click()
    page.wait_for_url("**/datastore/review/")
    page.locator(f"#review-{resource.pk} a").click()
    page.wait_for_url(f"**/datastore/resources/{resource.pk}/")
    page.locator("#publish-button").click()
    page.wait_for_url("**/datastore/review/")
    expect(page.locator(f"#review-{resource.pk}")).to_have_count(0)
    assert Resource.objects.get().status == Resource.Status.PUBLISHED
    page.goto(f"/datastore/resources/{resource.pk}/")
    expect(page.locator(".status-published").first).to_have_text("已发布")
    assert page.requests.foreign() == []
