"""The inbox page: unread first, mark one read, mark all read, links."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from govdata.common.actor import Actor
from govdata.notifications import services
from govdata.notifications.models import Notification
from govdata.testing import actor

URL = "/inbox/"


@pytest.fixture
def messages_(yk, clock):
    made = {}
    made["old_read"] = services.notify(subject="旧消息已读", category="test", users=[yk.police_admin], link="/workdays/")[0]
    Notification.objects.filter(pk=made["old_read"].pk).update(read_at=clock.now())
    clock.advance(hours=1)
    made["mine"] = services.notify(
        subject="共享申请待答复", body="市民政局申请户籍人口数据", category="share_request",
        users=[yk.police_admin], link="/workdays/?received=2026-03-02&days=5",
    )[0]
    clock.advance(hours=1)
    made["department"] = services.notify(subject="目录审核通过", category="catalog", departments=[yk.police])[0]
    made["other"] = services.notify(subject="民政局的消息", category="test", users=[yk.civil_admin])[0]
    made["evil"] = services.notify(subject="可疑链接", category="test", users=[yk.police_admin], link="javascript:alert(1)")[0]
    return made


def rows(html: str) -> list[tuple[int, bool]]:
    out = []
    for part in html.split('class="list-group-item')[1:]:
        if 'data-id="' not in part.split(">", 1)[0]:
            continue
        head = part.split(">", 1)[0]
        pk = int(head.split('data-id="', 1)[1].split('"', 1)[0])
        out.append((pk, "inbox-unread" in head))
    return out


def test_url_names():
    assert reverse("notifications:inbox") == URL


@pytest.mark.req("R-8.1")
def test_inbox_lists_own_and_department_messages_unread_first(client, yk, messages_):
    client.force_login(yk.police_admin)
    html = client.get(URL).content.decode()
    listed = rows(html)
    ids = [pk for pk, _ in listed]
    m = messages_
    assert set(ids) == {m["old_read"].pk, m["mine"].pk, m["department"].pk, m["evil"].pk}
    assert m["other"].pk not in ids
    # Unread first (newest first among them), the read one last and not bold.
    assert ids[-1] == m["old_read"].pk
    assert all(unread for _, unread in listed[:-1]) and not listed[-1][1]
    assert "民政局的消息" not in html
    # Each message links to its page; a javascript: link is never rendered as one.
    assert 'href="/workdays/?received=2026-03-02&amp;days=5"' in html
    assert "javascript:" not in html
    assert "未读" in html and "全部标为已读" in html


@pytest.mark.req("R-8.1")
def test_mark_one_read(client, yk, messages_):
    client.force_login(yk.police_admin)
    response = client.post(reverse("notifications:mark_read", args=[messages_["mine"].pk]))
    assert response.status_code == 302
    messages_["mine"].refresh_from_db()
    assert messages_["mine"].read_at is not None
    listed = dict(rows(client.get(URL).content.decode()))
    assert listed[messages_["mine"].pk] is False


def test_cannot_mark_someone_elses_message(client, yk, messages_):
    client.force_login(yk.police_admin)
    assert client.post(reverse("notifications:mark_read", args=[messages_["other"].pk])).status_code == 404
    messages_["other"].refresh_from_db()
    assert messages_["other"].read_at is None
    assert client.get(reverse("notifications:mark_read", args=[messages_["mine"].pk])).status_code == 405


@pytest.mark.req("R-8.1")
def test_mark_all_read_touches_only_own_inbox(client, yk, messages_):
    client.force_login(yk.police_admin)
    response = client.post(reverse("notifications:mark_all_read"), follow=True)
    assert "3 条消息已标为已读" in response.content.decode()
    m = {k: Notification.objects.get(pk=v.pk) for k, v in messages_.items()}
    assert m["mine"].read_at and m["department"].read_at and m["evil"].read_at
    assert m["other"].read_at is None
    assert all(not unread for _, unread in rows(client.get(URL).content.decode()))


def test_mark_all_read_service(yk, messages_, clock):
    assert services.mark_all_read(actor(yk.civil_admin)) == 1
    assert services.mark_all_read(actor(yk.civil_admin)) == 0
    assert Notification.objects.get(pk=messages_["mine"].pk).read_at is None
    with pytest.raises(PermissionDenied):
        services.mark_all_read(Actor())


def test_unread_filter_and_nav_badge(client, yk, messages_):
    client.force_login(yk.police_admin)
    html = client.get(URL, {"unread": "1"}).content.decode()
    assert messages_["old_read"].pk not in [pk for pk, _ in rows(html)]
    assert 'id="unread-count">3<' in html


def test_empty_inbox(client, yk, clock):
    client.force_login(yk.evaluator)
    html = client.get(URL).content.decode()
    assert "收件箱中没有消息" in html


def test_department_message_not_shown_to_other_departments(client, yk, messages_):
    client.force_login(yk.civil_admin)
    ids = [pk for pk, _ in rows(client.get(URL).content.decode())]
    assert ids == [messages_["other"].pk]
    assert client.post(reverse("notifications:mark_read", args=[messages_["department"].pk])).status_code == 404
