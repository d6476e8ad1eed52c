import pytest
from django.utils import translation

from govdata import testing as t
from govdata.catalog import services as catalog_services
from govdata.catalog.models import Classification
from govdata.catalog.seed import seed_classification

@pytest.fixture(autouse=True)
def english_messages():
    """Service messages in their English source text, which the tests quote; pages still
    render in Chinese (the locale middleware picks the language of every request)."""
    with translation.override("en"):
        yield


PERSON_ITEMS = [
    {"name": "公民身份号码", "code": "sfzh", "data_type": "C", "length": 18, "required": True, "is_key": True, "sensitive": True},
    {"name": "姓名", "code": "xm", "data_type": "C", "length": 50, "required": True, "sensitive": True},
    {"name": "手机号码", "code": "sjhm", "data_type": "C", "length": 11, "sensitive": True},
    {"name": "出生日期", "code": "csrq", "data_type": "D"},
    {"name": "月收入", "code": "ysr", "data_type": "Y"},
    {"name": "家庭人数", "code": "jtrs", "data_type": "I"},
    {"name": "是否在册", "code": "sfzc", "data_type": "L"},
]


def published_entry(yk, items=PERSON_ITEMS, **overrides):
    """A published conditional entry of the police department with the given data items."""
    seed_classification(Classification)
    values = {
        "name": "居民信息样例",
        "summary": "测试用居民信息",
        "format_category": "database",
        "format_type": "oracle",
        "share_type": "conditional",
        "share_conditions": "依法履职使用",
        "share_method": "platform",
        "platform_mode": "table",
        "open_type": "not_open",
        "open_basis": "涉及个人信息",
        "update_cycle": "daily",
        **overrides,
    }
    entry = catalog_services.create_entry(
        t.actor(yk.police_admin), yk.police, Classification.objects.get(code="202"), values, items
    )
    catalog_services.submit(t.actor(yk.police_admin), entry)
    catalog_services.publish(t.actor(yk.bureau), entry)
    entry.refresh_from_db()
    return entry


@pytest.fixture
def entry(yk):
    return published_entry(yk)
