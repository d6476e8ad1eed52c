"""An open-data world built through the real services: four published catalog entries, one of
each opening type plus a second open one from another department, each with a published table
resource whose rows went in through the real load."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from govdata import testing as t
from govdata.catalog import services as catalog_services
from govdata.catalog.models import Classification
from govdata.catalog.seed import seed_classification
from govdata.datastore import services as datastore_services
from govdata.datastore.services import loads
from govdata.datastore.tests.corpus import id_number

# Personal items: the ID number, name and mobile get masking rules when mounted (see
# ``datastore.services.suggest_column``); the address has none and so is never served.
ITEMS = [
    {"name": "公民身份号码", "code": "sfzh", "data_type": "C", "length": 18, "required": True, "is_key": True, "sensitive": True},
    {"name": "姓名", "code": "xm", "data_type": "C", "length": 50, "required": True, "sensitive": True},
    {"name": "手机号码", "code": "sjhm", "data_type": "C", "length": 11, "sensitive": True},
    {"name": "家庭住址", "code": "jtzz", "data_type": "C", "length": 200, "sensitive": True},
    {"name": "救助类别", "code": "jzlb", "data_type": "C", "length": 20},
    {"name": "救助金额", "code": "jzje", "data_type": "Y"},
    {"name": "发放日期", "code": "ffrq", "data_type": "D"},
    {"name": "家庭人数", "code": "jtrs", "data_type": "I"},
]  # fmt: skip
SURNAMES = ["张", "王", "李", "欧阳", "赵"]
ROWS = 1050  # more than one engine page (1000 rows)


def person(i: int) -> dict[str, str]:
    return {
        "公民身份号码": id_number(i),
        "姓名": f"{SURNAMES[i % len(SURNAMES)]}小{i}",
        "手机号码": f"1390417{i:04d}",
        "家庭住址": f"营口市站前区渤海大街{i}号",
        "救助类别": "城市低保" if i % 3 == 0 else "农村低保",
        "救助金额": f"{500 + i}.50",
        "发放日期": f"2026-01-{1 + i % 28:02d}",
        "家庭人数": str(1 + i % 4),
    }


def table_csv(n: int) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[item["name"] for item in ITEMS])
    writer.writeheader()
    writer.writerows(person(i) for i in range(n))
    return out.getvalue().encode()


def values(**overrides):
    return {
        "summary": "",
        "format_category": "database",
        "format_type": "oracle",
        "share_type": "unconditional",
        "share_method": "platform",
        "platform_mode": "table",
        "open_type": "unconditional",
        "update_cycle": "monthly",
        "domains": [],
        **overrides,
    }


@dataclass(frozen=True)
class Dataset:
    """What the tests compare the API's answers with."""

    pk: int
    code: str
    name: str
    title: str
    resource_id: str


@pytest.fixture
def opendata(yk) -> SimpleNamespace:
    """Committed, so that the live server sees it: tests that use it take ``live_server``,
    whose transactional database is flushed after each test."""
    civil, police = yk.civil, yk.police
    seed_classification(Classification)
    cls = {c.code: c for c in Classification.objects.all()}

    def publish(provider, admin, staff, code, *, themes=(), rows=20, **fields) -> Dataset:
        entry = catalog_services.create_entry(
            t.actor(admin), provider, cls[code], values(themes=[cls[c] for c in themes], **fields), ITEMS
        )
        catalog_services.submit(t.actor(admin), entry)
        catalog_services.publish(t.actor(yk.bureau), entry)
        entry.refresh_from_db()
        resource = datastore_services.mount(t.actor(staff), entry, kind="table", name=f"{fields['name']}表")
        version = loads.load_table(t.actor(staff), resource, table_csv(rows), filename="rows.csv", mode="replace")
        assert version.status == "done", version.report
        datastore_services.submit(t.actor(admin), resource)
        datastore_services.publish(t.actor(yk.bureau), resource)
        return Dataset(entry.pk, entry.code, entry.code.replace("/", "-"), fields["name"], str(resource.pk))

    return SimpleNamespace(
        civil=civil,
        police=police,
        quiet=yk.gz_health,  # provides no open dataset
        dibao=publish(
            civil, yk.civil_admin, yk.civil_admin, "202", themes=["202"], rows=ROWS,
            name="营口市城乡低保救助名单", summary="全市城乡最低生活保障救助对象及救助金额", domains=["social_security"],
        ),
        traffic=publish(
            police, yk.police_admin, yk.police_staff, "304", themes=["206"],
            name="营口市交通违法处理网点", summary="交通违法处理窗口的地址和办理时间", domains=["transport"],
        ),
        payments=publish(
            civil, yk.civil_admin, yk.civil_admin, "202", themes=["202"],
            name="营口市企业社保缴费明细", summary="企业职工社会保险缴费记录", domains=["social_security"],
            open_type="on_application", open_conditions="用于学术研究，签署数据使用承诺",
            open_basis="涉及企业经营信息，依申请开放",
        ),
        hukou=publish(
            police, yk.police_admin, yk.police_staff, "101",
            name="营口市居民户籍信息", summary="常住人口户籍登记信息", domains=["social_security"],
            open_type="not_open", open_basis="涉及个人信息，依据《个人信息保护法》不予开放",
        ),
    )  # fmt: skip


@pytest.fixture
def open_api_limits(settings):
    """The open API's rate-limit counters fresh for the test, in this process's memory (the
    limits per test are set through ``settings``)."""
    from govdata.sharing import ratelimit

    settings.GATEWAY_RATE_LIMIT_STORAGE = "memory://"
    ratelimit.limiter("memory://").storage.reset()
    return settings
