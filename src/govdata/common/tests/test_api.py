"""The platform's JSON errors (``common.api``), shared by the platform's API and the open API:
one shape, ``{"detail", "errors"}``, whether a service or the API's schema refused the input,
and every message in the caller's language (zh-hans unless they ask for another)."""

from __future__ import annotations

from django.utils import translation

from govdata.common.api import schema_errors

DEADLINE = "/api/v1/workdays/deadline"


def test_the_platform_api_answers_in_chinese_in_one_shape(client, yk):
    anonymous = client.get(DEADLINE, {"received": "2026-10-01", "days": 5})
    assert (anonymous.status_code, anonymous.json()) == (401, {"detail": "请先登录。"})
    client.force_login(yk.police_staff)
    by_schema = client.get(DEADLINE, {"received": "2026-13-01", "days": "five"})
    assert by_schema.status_code == 422
    assert by_schema.json() == {
        "detail": "输入内容无效。",
        "errors": {"received": ["请填写日期，例如 2026-01-31。"], "days": ["请填写整数。"]},
    }
    by_service = client.get(DEADLINE, {"received": "2026-10-01", "days": 0})
    assert by_service.json()["detail"] == "输入内容无效。" and list(by_service.json()["errors"]) == ["days"]
    missing = client.get(DEADLINE, {"days": 5}, headers={"Accept-Language": "en"})
    assert missing.json() == {"detail": "The input is not valid.", "errors": {"received": ["This field is required."]}}


def test_schema_errors_name_the_parameter_as_the_caller_sent_it():
    errors = [
        {"type": "int_parsing", "loc": ("body", "payload", "items", 0, "length")},
        {"type": "missing", "loc": ("body", "payload")},
        {"type": "string_too_long", "loc": ("query", "q"), "ctx": {"max_length": 100}},
        {"type": "something_new", "loc": ()},
    ]
    with translation.override("zh-hans"):
        named = schema_errors(errors)
    assert named == {
        "items.0.length": ["请填写整数。"],
        "payload": ["此项为必填项。"],
        "q": ["最多 100 个字符。"],
        "__all__": ["该取值无效。"],
    }
