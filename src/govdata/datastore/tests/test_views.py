"""The datastore pages, role by role: mounting and the bureau's re-review (R-18.1), loads with
their progress, history, validation reports, freshness and the masked preview (R-21.1), files
and interfaces (R-3.1)."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from govdata import testing as t
from govdata.datastore import crypto, services
from govdata.datastore.models import DataVersion, FileObject, Resource

from . import corpus as c

H = c.PERSON_HEADER
DONE, REJECTED = DataVersion.Status.DONE, DataVersion.Status.REJECTED


def html(response) -> str:
    return response.content.decode()


def url(name: str, *args) -> str:
    return reverse(f"datastore:{name}", args=args)


@pytest.fixture
def data_dir(settings, tmp_path, monkeypatch):
    """Files, kept uploads, the credential key and upstream folders in a folder of the test's own."""
    monkeypatch.delenv(crypto.KEY_ENV, raising=False)
    settings.DATA_DIR = tmp_path
    local = "django.core.files.storage.FileSystemStorage"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": local, "OPTIONS": {"location": tmp_path / "media"}},
        "imports": {"BACKEND": local, "OPTIONS": {"location": tmp_path / "imports"}},
    }
    return tmp_path


@pytest.fixture
def table(yk, entry, clock, data_dir):
    return services.mount(t.actor(yk.police_admin), entry, kind="table", name="居民信息表")


def publish(yk, resource) -> Resource:
    services.submit(t.actor(yk.police_admin), resource)
    services.publish(t.actor(yk.bureau), resource)
    return Resource.objects.get(pk=resource.pk)


def csv_upload(rows, name="居民.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, c.csv_bytes(H, rows), content_type="text/csv")


def post_load(client, capture, resource, rows, **extra):
    """Upload through the page; the queued job runs when the request's transaction commits."""
    with capture(execute=True):
        return client.post(url("load", resource.pk), {"file": csv_upload(rows), "mode": "replace", **extra})


def has_error_on(text: str, name: str) -> bool:
    """The named input is marked invalid (its message is rendered right under it)."""
    tag = re.search(rf'<(?:input|select|textarea)[^>]*name="{re.escape(name)}"[^>]*>', text)
    return bool(tag) and "is-invalid" in tag.group(0)


# --- mounting and the re-review (R-18.1) ----------------------------------------------------


@pytest.mark.req("R-18.1")
def test_the_provider_mounts_a_table_from_the_published_entry(client, yk, entry, clock, data_dir):
    entry_url = reverse("catalog:entry", args=[entry.pk])
    client.force_login(yk.civil_admin)
    assert 'id="mount-button"' not in html(client.get(entry_url))
    assert client.get(url("mount", entry.pk)).status_code == 403
    client.force_login(yk.bureau)
    assert client.get(url("mount", entry.pk)).status_code == 403

    client.force_login(yk.police_staff)
    assert url("mount", entry.pk) in html(client.get(entry_url))
    page = html(client.get(url("mount", entry.pk)))
    assert 'value="居民信息样例"' in page  # the entry's name is offered as the resource's
    refused = client.post(url("mount", entry.pk), {"kind": "table", "name": "  "})
    assert refused.status_code == 200 and has_error_on(html(refused), "name")
    assert not Resource.objects.exists()

    response = client.post(url("mount", entry.pk), {"kind": "table", "name": "居民信息表", "description": "每日更新"})
    resource = Resource.objects.get()
    assert response.status_code == 302 and response.url == url("resource", resource.pk)
    detail = html(client.get(response.url))
    assert "居民信息表" in detail and "status-draft" in detail
    for code in ("sfzh", "xm", "sjhm", "csrq"):
        assert f'id="column-{code}"' in detail
    assert 'id="load-form"' in detail and 'id="submit-button"' not in detail  # staff do not submit
    assert "居民信息表" in html(client.get(entry_url))
    mine = html(client.get(url("mine")))
    assert f'id="resource-{resource.pk}"' in mine and url("mine") in mine.split('class="navbar-nav', 1)[1].split("</ul>", 1)[0]


@pytest.mark.req("R-18.1")
def test_another_department_gets_404_on_a_draft_and_403_on_uploads(client, yk, table, django_capture_on_commit_callbacks):
    client.force_login(yk.civil_admin)
    assert client.get(url("resource", table.pk)).status_code == 404
    assert post_load(client, django_capture_on_commit_callbacks, table, [c.person(1)]).status_code == 404
    assert client.get(url("version", table.pk, 1)).status_code == 404
    assert f'id="resource-{table.pk}"' not in html(client.get(url("mine")))

    table = publish(yk, table)
    detail = client.get(url("resource", table.pk))
    assert detail.status_code == 200
    text = html(detail)
    assert 'id="load-form"' not in text and 'id="preview"' not in text and 'id="column-rules-form"' not in text
    assert post_load(client, django_capture_on_commit_callbacks, table, [c.person(1)]).status_code == 403
    assert client.get(url("export", table.pk), {"format": "csv"}).status_code == 403
    assert client.post(url("columns", table.pk), {}).status_code == 403
    assert not table.versions.exists()


@pytest.mark.req("R-18.1")
def test_only_the_bureau_re_reviews_and_publishing_from_the_queue_works(client, yk, table):
    client.force_login(yk.police_staff)
    assert client.post(url("submit", table.pk)).status_code == 403
    client.force_login(yk.police_admin)
    assert 'id="submit-button"' in html(client.get(url("resource", table.pk)))
    assert client.post(url("submit", table.pk)).status_code == 302
    assert Resource.objects.get(pk=table.pk).status == Resource.Status.SUBMITTED
    detail = html(client.get(url("resource", table.pk)))
    assert 'id="publish-button"' not in detail and 'id="submit-button"' not in detail
    for who in (yk.police_admin, yk.civil_admin, yk.gz_admin, yk.evaluator):
        client.force_login(who)
        assert client.get(url("review")).status_code == 403
        assert client.post(url("publish", table.pk)).status_code in (403, 404)
    assert Resource.objects.get(pk=table.pk).status == Resource.Status.SUBMITTED

    client.force_login(yk.bureau)
    mine = html(client.get(url("mine")))
    assert 'id="review-link"' in mine and f'id="resource-{table.pk}"' in mine
    queue = html(client.get(url("review")))
    assert f'id="review-{table.pk}"' in queue and url("resource", table.pk) in queue
    detail = html(client.get(url("resource", table.pk)))
    assert 'id="publish-button"' in detail and 'id="return-form"' in detail
    # A return needs a reason: said next to the field, and nothing changes.
    refused = client.post(url("return", table.pk), {"return-reason": " "})
    assert refused.status_code == 200 and has_error_on(html(refused), "return-reason")
    assert Resource.objects.get(pk=table.pk).status == Resource.Status.SUBMITTED

    published = client.post(url("publish", table.pk))
    assert published.status_code == 302 and published.url == url("review")
    assert Resource.objects.get(pk=table.pk).status == Resource.Status.PUBLISHED
    assert f'id="review-{table.pk}"' not in html(client.get(url("review")))
    # Published: the bureau may suspend (with a reason) and resume.
    assert has_error_on(html(client.post(url("suspend", table.pk), {"suspend-reason": ""})), "suspend-reason")
    client.post(url("suspend", table.pk), {"suspend-reason": "数据泄露风险排查"})
    assert Resource.objects.get(pk=table.pk).status == Resource.Status.SUSPENDED
    assert "数据泄露风险排查" in html(client.get(url("resource", table.pk)))
    client.post(url("resume", table.pk))
    assert Resource.objects.get(pk=table.pk).status == Resource.Status.PUBLISHED
    # A step the state does not allow is refused with a message, not an error page.
    response = client.post(url("publish", table.pk), follow=True)
    assert response.status_code == 200 and Resource.objects.get(pk=table.pk).status == Resource.Status.PUBLISHED


@pytest.mark.req("R-18.1")
def test_a_returned_resource_shows_the_reason_and_can_be_submitted_again(client, yk, table):
    services.submit(t.actor(yk.police_admin), table)
    client.force_login(yk.bureau)
    response = client.post(url("return", table.pk), {"return-reason": "缺少数据说明"})
    assert response.status_code == 302 and response.url == url("review")
    client.force_login(yk.police_admin)
    detail = html(client.get(url("resource", table.pk)))
    assert 'id="return-reason"' in detail and "缺少数据说明" in detail and 'id="submit-button"' in detail
    assert "缺少数据说明" in html(client.get(url("mine")))
    client.post(url("submit", table.pk))
    assert Resource.objects.get(pk=table.pk).status == Resource.Status.SUBMITTED


# --- loads, history, reports, freshness, preview (R-21.1) -----------------------------------


@pytest.mark.req("R-21.1")
def test_a_load_is_followed_to_its_end_and_kept_in_the_history(client, yk, table, clock, django_capture_on_commit_callbacks):
    client.force_login(yk.police_staff)
    response = post_load(client, django_capture_on_commit_callbacks, table, [c.person(i) for i in (1, 2, 3)])
    assert response.status_code == 302
    token = response.url.rstrip("/").rsplit("/", 1)[-1]
    assert response.url == url("load_status", table.pk, token)
    status = html(client.get(response.url))
    assert 'data-phase="finished"' in status and 'hx-trigger' not in status
    version = DataVersion.objects.get(resource=table)
    assert version.status == DONE and version.rows_loaded == 3 and version.loaded_by == yk.police_staff
    assert url("version", table.pk, 1) in status
    # The fragment htmx polls is the same panel, without the page around it.
    fragment = html(client.get(url("load_progress", table.pk, token)))
    assert fragment.startswith('<div id="load-job" data-phase="finished"') and "<html" not in fragment
    assert client.get(url("load_status", table.pk, "0" * 32)).status_code == 404

    detail = html(client.get(url("resource", table.pk)))
    history = detail.split('id="history-table"', 1)[1].split("</table>", 1)[0]
    assert 'id="version-1"' in history and "version-done" in history and version.checksum[:12] in history
    assert str(yk.police_staff) in history
    # Daily cycle, loaded on 2 March: due by the end of 3 March.
    assert "2026-03-03 23:59" in detail.split('id="next-due"', 1)[1].split("</dd>", 1)[0]
    assert 'id="row-count">3<' in detail
    page = html(client.get(url("version", table.pk, 1)))
    assert version.checksum in page and 'id="report-table"' not in page

    # Three days later it is overdue, on the list and in the bureau's stale list.
    table = publish(yk, table)
    clock.advance(days=3)
    assert "freshness-stale" in html(client.get(url("mine")))
    client.force_login(yk.bureau)
    stale = html(client.get(url("stale")))
    assert f'id="stale-{table.pk}"' in stale
    assert 'id="stale-link"' in html(client.get(url("mine")))
    client.force_login(yk.civil_admin)
    assert f'id="stale-{table.pk}"' not in html(client.get(url("stale")))


@pytest.mark.req("R-21.1")
def test_a_bad_csv_shows_the_report_and_the_report_downloads(client, yk, table, django_capture_on_commit_callbacks):
    client.force_login(yk.police_admin)
    bad = [c.person(1), c.person(2, 公民身份号码=c.bad_check(c.id_number(2))), c.person(3, 姓名="")]
    response = post_load(client, django_capture_on_commit_callbacks, table, bad)
    status = html(client.get(response.url))
    assert 'data-phase="finished"' in status and "version-rejected" in status
    assert url("version", table.pk, 1) in status and url("report_csv", table.pk, 1) in status
    version = DataVersion.objects.get(resource=table)
    assert version.status == REJECTED and Resource.objects.get(pk=table.pk).row_count == 0

    page = html(client.get(url("version", table.pk, 1)))
    report = page.split('id="report-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr><td class="text-end">(\d+)</td><td class="text-nowrap">(\w+)</td>', report)
    assert ("3", "sfzh") in rows and ("4", "xm") in rows
    assert c.bad_check(c.id_number(2)) in report
    csv_response = client.get(url("report_csv", table.pk, 1))
    assert csv_response.status_code == 200 and csv_response["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_response["Content-Disposition"]
    body = csv_response.content.decode("utf-8")
    assert body.startswith("\ufeff") and c.bad_check(c.id_number(2)) in body and len(body.splitlines()) == 3

    # Loading the valid rows and quarantining the rest keeps the refused rows on the version page.
    post_load(client, django_capture_on_commit_callbacks, table, bad, quarantine="on")
    second = DataVersion.objects.get(resource=table, number=2)
    assert second.status == DONE and second.rows_loaded == 1 and second.rows_rejected == 2
    quarantine = html(client.get(url("version", table.pk, 2))).split('id="quarantine-table"', 1)[1]
    assert c.bad_check(c.id_number(2)) in quarantine.split("</table>", 1)[0]
    # Another department never sees a report (it holds row values), even of a published resource.
    publish(yk, table)
    client.force_login(yk.civil_admin)
    assert client.get(url("version", table.pk, 1)).status_code == 404
    assert client.get(url("report_csv", table.pk, 1)).status_code == 404


@pytest.mark.req("R-21.1")
def test_the_upload_form_shows_service_errors_next_to_the_mode(client, yk, table):
    client.force_login(yk.police_admin)
    response = client.post(url("load", table.pk), {"file": csv_upload([c.person(1)]), "mode": "upsert"})
    assert response.status_code == 302  # the table has a key: upsert is fine
    keyless = services.mount(
        t.actor(yk.police_admin), table.entry, kind="table", name="无主键表"
    )
    keyless.columns.update(is_key=False)
    response = client.post(url("load", keyless.pk), {"file": csv_upload([c.person(1)]), "mode": "upsert"})
    assert response.status_code == 200 and has_error_on(html(response), "mode")
    assert not keyless.versions.exists()


@pytest.mark.req("R-21.1")
def test_the_preview_masks_sensitive_columns(client, yk, table, django_capture_on_commit_callbacks):
    client.force_login(yk.police_admin)
    post_load(client, django_capture_on_commit_callbacks, table, [c.person(1, "张三"), c.person(2, "欧阳娜娜")])
    number = c.id_number(1)

    def preview(response) -> str:
        return html(response).split('id="preview-table"', 1)[1].split("</table>", 1)[0]

    shown = preview(client.get(url("resource", table.pk)))
    assert number[:6] + "*" * 8 + number[-4:] in shown and number not in shown
    assert "张*" in shown and "欧阳**" in shown and "张三" not in shown and "139****0001" in shown
    # The provider's own officers may look at the whole values.
    whole = preview(client.get(url("resource", table.pk), {"unmasked": "1"}))
    assert number in whole and "张三" in whole
    export = client.get(url("export", table.pk), {"format": "csv"})
    body = b"".join(export.streaming_content).decode("utf-8")
    assert "attachment" in export["Content-Disposition"] and "张*" in body and number not in body
    assert json.loads(b"".join(client.get(url("export", table.pk), {"format": "json"}).streaming_content))[0]["xm"] == "张*"

    # The bureau reads the rows masked, and cannot ask otherwise.
    client.force_login(yk.bureau)
    assert "张三" not in preview(client.get(url("resource", table.pk), {"unmasked": "1"}))
    body = b"".join(client.get(url("export", table.pk), {"format": "csv", "unmasked": "1"}).streaming_content)
    assert number.encode() not in body

    # Masking is the provider's choice per column.
    client.force_login(yk.police_staff)
    column = table.columns.get(code="xm")
    posted = {f"column-{col.pk}-content_check": col.content_check for col in table.columns.all()}
    posted |= {f"column-{col.pk}-mask": col.mask for col in table.columns.all()}
    posted[f"column-{column.pk}-mask"] = ""
    response = client.post(url("columns", table.pk), posted)
    assert response.status_code == 302 and response.url.endswith("#columns")
    assert "张三" in preview(client.get(url("resource", table.pk)))
    posted[f"column-{column.pk}-mask"] = "shuffle"
    refused = client.post(url("columns", table.pk), posted)
    assert refused.status_code == 200 and has_error_on(html(refused), f"column-{column.pk}-mask")


@pytest.mark.req("R-21.1")
def test_an_upstream_feed_is_set_up_and_run_from_the_page(client, yk, table, data_dir):
    folder = data_dir / "upstream" / "province" / "hukou"
    folder.mkdir(parents=True)
    client.force_login(yk.police_admin)
    refused = client.post(url("feed", table.pk), {"kind": "folder", "location": "../etc", "mode": "replace", "origin": "provincial"})
    assert refused.status_code == 200 and has_error_on(html(refused), "location")
    saved = client.post(url("feed", table.pk), {"kind": "folder", "location": "province/hukou", "mode": "replace", "origin": "provincial"})
    assert saved.status_code == 302
    path = folder / "hukou-20260301.csv"
    path.write_bytes(c.csv_bytes(H, [c.person(1), c.person(2)]))
    past = time.time() - 600
    os.utime(path, (past, past))
    ran = client.post(url("feed_run", table.pk))
    assert ran.status_code == 302 and ran.url == url("version", table.pk, 1)
    assert DataVersion.objects.get(resource=table).rows_loaded == 2
    client.force_login(yk.police_staff)  # the feed is the department admin's or the bureau's
    assert client.post(url("feed_run", table.pk)).status_code == 403


# --- files and interfaces (R-3.1) -----------------------------------------------------------

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.mark.req("R-3.1")
def test_files_are_uploaded_with_licence_details_downloaded_replaced_and_withdrawn(client, yk, entry, clock, data_dir):
    resource = services.mount(t.actor(yk.police_admin), entry, kind="file", name="居民证照")
    client.force_login(yk.police_staff)
    holder = c.id_number(7)
    licence = {"holder_name": "张七", "licence_number": "辽B12345", "issuer": "营口市公安局", "valid_until": "2030-12-31"}
    refused = client.post(
        url("file_upload", resource.pk),
        {"file": SimpleUploadedFile("驾驶证.pdf", PDF), "holder_id": c.bad_check(holder), **licence},
    )
    assert refused.status_code == 200 and has_error_on(html(refused), "holder_id")
    assert not FileObject.objects.exists()
    client.post(url("file_upload", resource.pk), {"file": SimpleUploadedFile("驾驶证.pdf", PDF), "holder_id": holder, **licence})
    stored = FileObject.objects.get()
    listed = html(client.get(url("resource", resource.pk))).split('id="files-table"', 1)[1].split("</table>", 1)[0]
    assert "驾驶证.pdf" in listed and stored.sm3[:16] in listed and holder in listed and "2030-12-31" in listed
    assert stored.sm3 in html(client.get(url("file", resource.pk, stored.pk)))
    download = client.get(url("file_download", resource.pk, stored.pk))
    assert b"".join(download.streaming_content) == PDF and "attachment" in download["Content-Disposition"]

    client.force_login(yk.civil_admin)
    assert client.get(url("file_download", resource.pk, stored.pk)).status_code == 404
    client.force_login(yk.bureau)  # the bureau reads the files, the provider changes them
    assert client.get(url("file_download", resource.pk, stored.pk)).status_code == 200
    assert client.post(url("file_withdraw", resource.pk, stored.pk), {"reason": "x"}).status_code == 403
    client.force_login(yk.police_staff)
    client.post(url("file_replace", resource.pk, stored.pk), {"file": SimpleUploadedFile("驾驶证.pdf", PDF + b"%v2\n")})
    new = FileObject.objects.get(is_active=True)
    assert new.pk != stored.pk and new.holder_id == holder
    assert client.get(url("file", resource.pk, stored.pk)).status_code == 404
    refused = client.post(url("file_withdraw", resource.pk, new.pk), {"reason": ""})
    assert refused.status_code == 200 and has_error_on(html(refused), "reason")
    client.post(url("file_withdraw", resource.pk, new.pk), {"reason": "证照已注销"})
    assert not FileObject.objects.filter(is_active=True).exists()
    assert "驾驶证.pdf" not in html(client.get(url("resource", resource.pk))).split('id="files-table"', 1)[1]


class Upstream(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        ok = self.headers.get("X-Token") == "s3cret-token"
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')


@pytest.fixture
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.req("R-3.1")
def test_an_interface_is_registered_without_its_credential_ever_shown_and_probed(client, yk, entry, clock, data_dir, upstream):
    resource = services.mount(t.actor(yk.police_admin), entry, kind="api", name="人口信息核验接口")
    client.force_login(yk.police_staff)
    form = {
        "url": "ftp://example",
        "method": "GET",
        "parameter_schema": '{"type": "object", "properties": {"sfzh": {"type": "string"}}, "required": ["sfzh"]}',
        "auth": "header",
        "auth_name": "X-Token",
        "credentials": "s3cret-token",
        "timeout_seconds": "5",
    }
    refused = client.post(url("api", resource.pk), form)
    text = html(refused)
    assert refused.status_code == 200 and has_error_on(text, "url") and "s3cret-token" not in text
    assert client.post(url("api", resource.pk), {**form, "url": f"{upstream}/person"}).status_code == 302
    detail = html(client.get(url("resource", resource.pk)))
    assert 'id="credentials-set"' in detail and "s3cret-token" not in detail and f"{upstream}/person" in detail
    # An update with the credential left empty keeps it; the probe proves it.
    client.post(url("api", resource.pk), {**form, "url": f"{upstream}/person", "credentials": "", "timeout_seconds": "8"})
    assert resource.__class__.objects.get(pk=resource.pk).endpoint.timeout_seconds == 8
    probed = client.post(url("api_probe", resource.pk), follow=True)
    assert "HTTP 200" in html(probed).split('id="last-probe"', 1)[1].split("</dd>", 1)[0]
    assert "s3cret-token" not in html(probed)

    client.force_login(yk.civil_admin)
    assert client.post(url("api_probe", resource.pk)).status_code == 404
    client.force_login(yk.bureau)  # the bureau may check an interface's health, not change it
    page = html(client.get(url("resource", resource.pk)))
    assert 'id="probe-button"' in page and 'id="api-form"' not in page
    assert client.post(url("api", resource.pk), form).status_code == 403
