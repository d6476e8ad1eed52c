"""Feedback (issue #6, item 7): rated comments and error reports on datasets reach the
providing department's inbox and are public only once it publishes them; the department's
answers are shown with them; data requests for data not open yet reach the bureau and its
board. Each moderator moderates only their own."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from govdata import testing as t
from govdata.catalog.models import CatalogEntry
from govdata.common.fsm import IllegalTransition
from govdata.notifications.models import Notification
from govdata.opendata import selectors
from govdata.opendata.models import Feedback
from govdata.opendata.services import feedback
from govdata.orgs.models import Role

from .test_applications import citizen

Status = Feedback.Status


@pytest.fixture
def world(opendata):
    opendata.entry = CatalogEntry.objects.get(pk=opendata.payments.pk)  # civil affairs, on application
    opendata.open_entry = CatalogEntry.objects.get(pk=opendata.traffic.pk)  # the police, unconditional
    opendata.author = citizen(3)
    opendata.reader = citizen(4)
    return opendata


def comment(world, rating=4, body="字段说明清楚，建议按月更新", entry=None) -> Feedback:
    return feedback.comment(t.actor(world.author), entry or world.entry, rating=rating, body=body)


@pytest.mark.req("R-29.2")
def test_a_comment_waits_for_the_providers_moderation_and_shows_its_rating(world, yk):
    item = comment(world)
    assert (item.status, item.rating, item.kind) == (Status.PENDING, 4, "comment")
    note = Notification.objects.get(department=world.civil, category="opendata.comment")
    assert "营口市企业社保缴费明细" in note.subject and note.link == "/open/manage/feedback/"
    assert list(selectors.public_feedback(world.entry)) == []
    assert list(selectors.feedback_to_moderate(yk.civil_admin)) == [item]
    assert list(selectors.feedback_to_moderate(yk.police_admin)) == []

    feedback.moderate(t.actor(yk.civil_admin), item, "publish")
    comment(world, rating=2, body="缺少2025年以前的数据")
    assert list(selectors.public_feedback(world.entry)) == [item]
    assert selectors.rating_of(world.entry) == {"average": 4, "count": 1}

    feedback.moderate(t.actor(yk.civil_admin), item, "hide")
    assert list(selectors.public_feedback(world.entry)) == []
    with pytest.raises(IllegalTransition):
        feedback.moderate(t.actor(yk.civil_admin), item, "hide")


@pytest.mark.req("R-29.2")
def test_a_rating_is_one_to_five_stars_and_a_text_is_needed(world):
    for rating in (0, 6, None):
        assert set(_refused(comment, world, rating=rating)) == {"rating"}
    assert set(_refused(comment, world, body=" ")) == {"body"}
    assert not Feedback.objects.exists()


def _refused(call, *args, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return caught.value.message_dict


@pytest.mark.req("R-29.2")
def test_an_error_report_reaches_the_providers_inbox_and_its_answer_is_public(world, yk):
    report = feedback.report_error(
        t.actor(world.author), world.open_entry, title="第12行", body="网点地址已搬迁，请更新为新址"
    )
    note = Notification.objects.get(department=world.police, category="opendata.error_report")
    assert note.body == "网点地址已搬迁，请更新为新址" and "营口市交通违法处理网点" in note.subject
    assert not Notification.objects.filter(department=world.civil, category__startswith="opendata.").exists()
    with pytest.raises(PermissionDenied):  # another department does not moderate it
        feedback.answer(t.actor(yk.civil_admin), report, text="已更正")

    feedback.answer(t.actor(yk.police_staff), report, text="已于本周更新")  # staff moderate too
    feedback.moderate(t.actor(yk.police_admin), report, "publish")
    shown = selectors.public_feedback(world.open_entry).get()
    assert (shown.answer, shown.answered_by) == ("已于本周更新", yk.police_staff)
    told = Notification.objects.get(recipient=world.author, category="opendata.feedback_answer")
    assert told.body == "已于本周更新" and told.link == f"/open/datasets/{world.traffic.name.lower()}/feedback/"
    assert set(_refused(feedback.answer, t.actor(yk.police_admin), report, text="")) == {"answer"}


@pytest.mark.req("R-29.2")
def test_data_requests_reach_the_bureau_and_its_board(world, yk):
    request = feedback.request_data(t.actor(world.author), title="公交实时到站数据", body="希望开放公交车辆实时位置")
    assert request.entry is None
    assert Notification.objects.get(recipient=yk.bureau, category="opendata.data_request").link == "/open/manage/feedback/"
    assert list(selectors.feedback_to_moderate(yk.bureau)) == [request]
    with pytest.raises(PermissionDenied):
        feedback.moderate(t.actor(yk.police_admin), request, "publish")
    feedback.answer(t.actor(yk.bureau), request, text="已转交市交通运输局，纳入下一批开放计划")
    feedback.moderate(t.actor(yk.bureau), request, "publish")
    assert [r.answer for r in selectors.data_request_board()] == ["已转交市交通运输局，纳入下一批开放计划"]


@pytest.mark.req("R-29.2")
def test_only_public_users_give_feedback_on_datasets_they_see(world, yk):
    hukou = CatalogEntry.objects.get(pk=world.hukou.pk)  # not open: not even listed
    for user, entry in ((None, world.entry), (yk.civil_admin, world.entry), (world.author, hukou)):
        with pytest.raises(PermissionDenied):
            feedback.comment(t.actor(user), entry, rating=5, body="好")
    with pytest.raises(PermissionDenied):
        feedback.request_data(t.actor(yk.police_staff), title="x", body="y")


# --- pages -----------------------------------------------------------------------------------


HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.mark.req("R-29.2")
def test_the_feedback_fragment_lists_published_items_and_takes_new_ones(world, yk, client):
    url = f"/open/datasets/{world.payments.name}/feedback/"
    published = comment(world, rating=5, body="数据很有用")
    feedback.answer(t.actor(yk.civil_admin), published, text="感谢反馈")
    feedback.moderate(t.actor(yk.civil_admin), published, "publish")
    comment(world, rating=1, body="待审核的评论")

    anonymous = client.get(url, **HTMX).content.decode()
    assert "<html" not in anonymous and "数据很有用" in anonymous and "感谢反馈" in anonymous
    assert "待审核的评论" not in anonymous and "市*" in anonymous  # the author by surname only
    assert 'id="feedback-form"' not in anonymous and 'id="feedback-sign-in"' in anonymous
    assert client.post(url, {"kind": "comment", "rating": "5", "body": "好"})["Location"].startswith("/open/account/login/")

    client.force_login(world.reader)
    assert 'id="feedback-form"' in client.get(url).content.decode()  # the page of its own
    wrong = client.post(url, {"kind": "comment", "body": "没有评分"}, **HTMX)
    assert wrong.context["form"].errors["rating"]
    sent = client.post(url, {"kind": "error_report", "title": "第3行", "body": "缴费金额为负数"}, **HTMX)
    assert 'id="feedback-sent"' in sent.content.decode()
    assert Feedback.objects.get(author=world.reader).kind == "error_report"
    plain = client.post(url, {"kind": "comment", "rating": "3", "body": "一般"})
    assert plain["Location"] == url

    client.force_login(yk.civil_admin)
    assert client.post(url, {"kind": "comment", "rating": "3", "body": "x"}).status_code == 403


@pytest.mark.req("R-29.2")
def test_the_moderation_page_publishes_hides_and_answers(world, yk, client):
    item = comment(world)
    client.force_login(yk.police_admin)
    assert client.post(f"/open/manage/feedback/{item.pk}/publish/").status_code == 404  # not theirs
    client.force_login(t.user(Role.DEPARTMENT_STAFF, world.civil))
    page = client.get("/open/manage/feedback/")
    assert list(page.context["page"]) == [item]
    assert client.post(f"/open/manage/feedback/{item.pk}/publish/", {"page": "1"})["Location"] == (
        f"/open/manage/feedback/?page=1#feedback-{item.pk}"
    )
    client.post(f"/open/manage/feedback/{item.pk}/answer/", {"answer": "已补充说明"})
    item.refresh_from_db()
    assert (item.status, item.answer) == (Status.PUBLISHED, "已补充说明")
    client.post(f"/open/manage/feedback/{item.pk}/publish/")  # already published: a message, no change
    item.refresh_from_db()
    assert item.status == Status.PUBLISHED


@pytest.mark.req("R-29.2")
def test_the_data_request_board_takes_requests_from_public_users(world, yk, client):
    assert client.get("/open/requests/").status_code == 200
    client.force_login(world.author)
    done = client.post("/open/requests/", {"title": "停车场空余车位", "body": "实时空余车位数"})
    assert done["Location"] == "/open/requests/"
    missing = client.post("/open/requests/", {"title": "", "body": ""})
    assert set(missing.context["form"].errors) == {"title", "body"}
    client.force_login(yk.bureau)
    assert [i.title for i in client.get("/open/manage/feedback/").context["page"]] == ["停车场空余车位"]
