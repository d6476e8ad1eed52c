"""Upper-level data (R-26.1): feeds from a drop folder or an HTTP endpoint into a table
resource. The loads are done by a fake ``services.loads.load_table`` that records its calls
and writes a data version the way the real loader does."""

import datetime as dt
import os
import sys
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from gmssl import func, sm3

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.common import clock
from govdata.datastore.models import DataVersion, Resource, UpstreamFeed
from govdata.datastore.services import feeds, mount

pytestmark = pytest.mark.req("R-26.1")

CSV_V1 = "公民身份号码,姓名\n210802199003071236,张三\n".encode()
CSV_V2 = "公民身份号码,姓名\n210802199003071236,张三\n210802198511020021,李四\n".encode()


class FakeLoader:
    def __init__(self):
        self.calls = []
        self.outcome = "done"

    def load_table(self, actor, resource, source, *, filename, mode, quarantine=False):
        data = Path(source).read_bytes()
        self.calls.append({"actor": actor, "resource": resource.pk, "filename": filename, "mode": mode, "data": data})
        if self.outcome == "crash":
            raise ValidationError("第 2 行：公民身份号码校验位错误")
        now = clock.now()
        number = (resource.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        version = DataVersion.objects.create(
            resource=resource,
            number=number,
            mode=mode,
            status=self.outcome,
            source=filename,
            started_at=now,
            finished_at=now,
            checksum=sm3.sm3_hash(func.bytes_to_list(data)),
            message="" if self.outcome == "done" else "2 行未通过校验",
        )
        if self.outcome == "done":
            Resource.objects.filter(pk=resource.pk).update(current_version=version, last_loaded_at=now)
        return version


@pytest.fixture
def loader(monkeypatch):
    """Stands in for services.loads (owned by the ingest work) whether or not it exists yet."""
    fake = FakeLoader()
    module = types.ModuleType(feeds.LOADS_MODULE)
    module.load_table = fake.load_table
    monkeypatch.setitem(sys.modules, feeds.LOADS_MODULE, module)
    return fake


@pytest.fixture
def upstream_root(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    root = tmp_path / "upstream"
    (root / "province" / "hukou").mkdir(parents=True)
    return root


@pytest.fixture
def table(yk, entry):
    return mount(t.actor(yk.police_admin), entry, kind="table", name="省级户籍数据")


def drop(folder, name, data, age_seconds=60):
    path = folder / name
    path.write_bytes(data)
    moment = time.time() - age_seconds
    os.utime(path, (moment, moment))
    return path


def test_provider_admin_or_bureau_configure_a_feed(yk, table, upstream_root):
    feed = feeds.configure_feed(
        t.actor(yk.police_admin), table, kind="folder", location="province/hukou", mode="replace", origin="provincial"
    )
    assert (feed.kind, feed.location, feed.origin) == ("folder", "province/hukou", "provincial")
    feed = feeds.configure_feed(
        t.actor(yk.bureau),
        table,
        kind="http",
        location="https://data.ln.gov.cn/export/hukou.csv",
        mode="append",
        origin="national",
    )
    assert UpstreamFeed.objects.get(resource=table).location.startswith("https://")
    assert AuditEvent.objects.filter(action="datastore.feed.configure").count() == 2
    for outsider in (yk.police_staff, yk.civil_admin, yk.gz_admin):
        with pytest.raises(PermissionDenied):
            feeds.configure_feed(
                t.actor(outsider), table, kind="folder", location="province/hukou", mode="replace", origin="provincial"
            )


def test_the_drop_folder_must_be_inside_the_upstream_root(yk, entry, table, upstream_root, tmp_path):
    (tmp_path / "secrets").mkdir()
    (upstream_root / "escape").symlink_to(tmp_path / "secrets")
    (upstream_root / "a-file").write_text("x")
    admin = t.actor(yk.police_admin)
    for location in (
        "../secrets",
        "province/../../secrets",
        str(tmp_path / "secrets"),
        "/etc",
        "escape",
        "",
        ".",
        "missing",
        "a-file",
    ):
        with pytest.raises(ValidationError) as err:
            feeds.configure_feed(admin, table, kind="folder", location=location, mode="replace", origin="provincial")
        assert set(err.value.message_dict) == {"location"}, location
    absolute = feeds.configure_feed(
        admin,
        table,
        kind="folder",
        location=str(upstream_root / "province" / "hukou"),
        mode="replace",
        origin="national",
    )
    assert absolute.location == "province/hukou"
    bad = [
        ({"kind": "ftp", "location": "x"}, {"kind"}),
        ({"kind": "http", "location": "ftp://data.ln.gov.cn/x.csv"}, {"location"}),
        ({"kind": "http", "location": "file:///etc/passwd"}, {"location"}),
        ({"kind": "folder", "location": "province/hukou", "mode": "merge"}, {"mode"}),
        ({"kind": "folder", "location": "province/hukou", "origin": "county"}, {"origin"}),
    ]
    for values, fields in bad:
        values = {"mode": "replace", "origin": "provincial", **values}
        with pytest.raises(ValidationError) as err:
            feeds.configure_feed(admin, table, **values)
        assert set(err.value.message_dict) == fields, values
    files = mount(admin, entry, kind="file", name="附件")
    with pytest.raises(ValidationError) as err:
        feeds.configure_feed(
            admin, files, kind="folder", location="province/hukou", mode="replace", origin="provincial"
        )
    assert "resource" in err.value.message_dict


def test_a_folder_feed_loads_the_newest_settled_file_once(yk, table, upstream_root, loader, clock):
    folder = upstream_root / "province" / "hukou"
    feeds.configure_feed(
        t.actor(yk.police_admin), table, kind="folder", location="province/hukou", mode="replace", origin="provincial"
    )
    assert feeds.run_feed(table) is None  # nothing delivered yet: not an error
    feed = UpstreamFeed.objects.get(resource=table)
    assert feed.last_checked_at == clock.now() and feed.last_success_at is None and feed.last_error == ""

    drop(folder, "hukou-20260228.csv", CSV_V1, age_seconds=7200)
    drop(folder, "hukou-20260301.csv", CSV_V2, age_seconds=3600)
    drop(folder, ".hidden.csv", b"x")
    drop(folder, "hukou-20260302.csv.part", b"half")
    drop(folder, "hukou-20260302.csv", b"still being written", age_seconds=0)
    version = feeds.run_feed(table)
    assert version is not None and version.status == "done"
    assert [c["filename"] for c in loader.calls] == ["hukou-20260301.csv"]
    call = loader.calls[0]
    assert (call["data"], call["mode"], call["actor"].kind) == (CSV_V2, "replace", "system")
    feed.refresh_from_db()
    assert (feed.last_success_at, feed.last_error) == (clock.now(), "")
    table.refresh_from_db()
    assert table.current_version == version and table.last_loaded_at == clock.now()

    clock.advance(hours=1)
    assert feeds.run_feed(table) is None  # the same file again: not loaded twice
    assert len(loader.calls) == 1
    feed.refresh_from_db()
    assert feed.last_checked_at == clock.now() and feed.last_success_at == clock.now() - dt.timedelta(hours=1)

    drop(folder, "hukou-20260302.csv", CSV_V1 + "210802200001010012,王五\n".encode(), age_seconds=30)
    clock.advance(hours=1)
    assert feeds.run_feed(table).number == 2
    assert loader.calls[-1]["filename"] == "hukou-20260302.csv"
    assert AuditEvent.objects.filter(action="datastore.feed.run").count() == 2


def test_an_append_feed_never_loads_the_same_file_twice(yk, table, upstream_root, loader):
    folder = upstream_root / "province" / "hukou"
    feeds.configure_feed(
        t.actor(yk.bureau), table, kind="folder", location="province/hukou", mode="append", origin="national"
    )
    first = drop(folder, "a.csv", CSV_V1, age_seconds=300)
    feeds.run_feed(table)
    drop(folder, "b.csv", CSV_V2, age_seconds=200)
    feeds.run_feed(table)
    first.unlink()
    drop(folder, "a-again.csv", CSV_V1, age_seconds=100)  # an old delivery re-sent
    assert feeds.run_feed(table) is None
    assert [c["filename"] for c in loader.calls] == ["a.csv", "b.csv"]
    assert all(c["mode"] == "append" for c in loader.calls)


def test_rejected_and_failed_loads_and_a_vanished_folder_are_recorded(yk, table, upstream_root, loader, clock):
    folder = upstream_root / "province" / "hukou"
    feeds.configure_feed(
        t.actor(yk.police_admin), table, kind="folder", location="province/hukou", mode="replace", origin="provincial"
    )
    drop(folder, "bad.csv", CSV_V1)
    loader.outcome = "rejected"
    version = feeds.run_feed(table)
    assert version.status == "rejected"
    feed = UpstreamFeed.objects.get(resource=table)
    assert feed.last_error == "2 行未通过校验" and feed.last_success_at is None

    loader.outcome = "crash"
    drop(folder, "worse.csv", CSV_V2, age_seconds=30)
    assert feeds.run_feed(table) is None
    feed.refresh_from_db()
    assert "校验位错误" in feed.last_error
    assert AuditEvent.objects.filter(action="datastore.feed.failed").exists()

    loader.outcome = "done"
    assert feeds.run_feed(table).status == "done"
    feed.refresh_from_db()
    assert feed.last_error == "" and feed.last_success_at == clock.now()

    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    assert feeds.run_feed(table) is None
    feed.refresh_from_db()
    assert "no folder" in feed.last_error.lower() and feed.last_success_at == clock.now()


class CsvServer(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/missing"):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Content-Disposition", "attachment; filename*=UTF-8''%E6%88%B7%E7%B1%8D.csv")
        self.send_header("Content-Length", str(len(CSV_V2)))
        self.end_headers()
        self.wfile.write(CSV_V2)


@pytest.fixture
def csv_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), CsvServer)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_http_feed_downloads_and_loads(yk, table, upstream_root, loader, csv_server, settings):
    feeds.configure_feed(
        t.actor(yk.police_admin), table, kind="http", location=csv_server + "/export", mode="replace", origin="national"
    )
    version = feeds.run_feed(table)
    assert version.status == "done"
    assert (loader.calls[0]["filename"], loader.calls[0]["data"]) == ("户籍.csv", CSV_V2)
    assert feeds.run_feed(table) is None  # unchanged upstream data is not loaded again

    settings.FEED_MAX_BYTES = 10
    loader.calls.clear()
    table.current_version = None
    table.save(update_fields=["current_version"])
    assert feeds.run_feed(table) is None
    assert "larger than" in UpstreamFeed.objects.get(resource=table).last_error and not loader.calls

    feeds.configure_feed(
        t.actor(yk.police_admin),
        table,
        kind="http",
        location=csv_server + "/missing",
        mode="replace",
        origin="national",
    )
    assert feeds.run_feed(table) is None
    assert "404" in UpstreamFeed.objects.get(resource=table).last_error


def test_run_due_feeds_checks_each_feed_once_per_interval(yk, entry, table, upstream_root, loader, clock):
    folder = upstream_root / "province" / "hukou"
    feeds.configure_feed(
        t.actor(yk.police_admin), table, kind="folder", location="province/hukou", mode="replace", origin="provincial"
    )
    drop(folder, "a.csv", CSV_V1)
    assert set(feeds.run_due_feeds()) == {table.pk}
    assert len(loader.calls) == 1
    clock.advance(minutes=30)
    assert feeds.run_due_feeds() == {}
    clock.advance(minutes=31)
    drop(folder, "b.csv", CSV_V2, age_seconds=20)
    results = feeds.run_due_feeds()
    assert results[table.pk].number == 2
    # A feed claimed by another worker since it was read is left alone.
    feed = UpstreamFeed.objects.get(resource=table)
    UpstreamFeed.objects.filter(pk=feed.pk).update(last_checked_at=clock.now() + dt.timedelta(seconds=1))
    assert not feeds._claim(feed, clock.now(), None)


def test_a_folder_feed_through_the_real_loader(yk, table, upstream_root, clock):
    """With the ingest module in place: a real load, its version's checksum recognised so the
    same delivery is not loaded twice, and a bad delivery recorded without touching the data."""
    pytest.importorskip(feeds.LOADS_MODULE)
    from govdata.common.validators import id_check_char

    def idn(n):
        first17 = f"21080219900101{n:03d}"
        return first17 + id_check_char(first17)

    header = "公民身份号码,姓名,手机号码,出生日期,月收入,家庭人数,是否在册\n"
    good = header + "".join(f'{idn(i)},张{i},1380013800{i},1990/1/{i + 1},"1,234.5",{i},是\n' for i in range(3))
    folder = upstream_root / "province" / "hukou"
    feeds.configure_feed(
        t.actor(yk.police_admin), table, kind="folder", location="province/hukou", mode="replace", origin="provincial"
    )
    drop(folder, "hukou.csv", good.encode("gbk"), age_seconds=120)
    version = feeds.run_feed(table)
    assert version.status == "done", version.report
    assert version.rows_loaded == 3 and version.loaded_by is None
    table.refresh_from_db()
    assert table.current_version_id == version.pk and table.last_loaded_at == clock.now()
    clock.advance(hours=2)
    assert feeds.run_feed(table) is None  # recognised by its SM3: not loaded again
    drop(folder, "hukou-2.csv", (header + "123,王五,,,,,\n").encode(), age_seconds=60)
    rejected = feeds.run_feed(table)
    assert rejected.status == "rejected"
    feed = UpstreamFeed.objects.get(resource=table)
    assert feed.last_error and feed.last_success_at == clock.now() - dt.timedelta(hours=2)
    table.refresh_from_db()
    assert table.current_version_id == version.pk and table.row_count == 3
