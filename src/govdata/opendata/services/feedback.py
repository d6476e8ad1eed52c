"""Feedback from the public (issue #6, item 7): rated comments and error reports on datasets,
which reach the providing department's inbox, and requests for data not open yet, which reach
the bureau. Nothing is public until its moderator publishes it; the moderator's answer is
shown with it."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from govdata.audit.services import record
from govdata.catalog.models import CatalogEntry
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.fsm import next_state
from govdata.notifications.services import notify
from govdata.orgs.models import Role, User
from govdata.orgs.permissions import check

from .. import permissions as perm
from ..models import Feedback
from ..selectors import dataset_name

Kind, Status = Feedback.Kind, Feedback.Status
MODERATION_LINK = "/open/manage/feedback/"

TRANSITIONS = {
    (Status.PENDING, "publish"): Status.PUBLISHED,
    (Status.PENDING, "hide"): Status.HIDDEN,
    (Status.PUBLISHED, "hide"): Status.HIDDEN,
    (Status.HIDDEN, "publish"): Status.PUBLISHED,
}


def _event(actor: Actor, action: str, feedback: Feedback, **details) -> None:
    department = feedback.entry.provider if feedback.entry_id else None
    record(actor, f"opendata.feedback.{action}", feedback, department=department, details=details)


def _required(**values: str) -> dict[str, str]:
    """The values trimmed; a ValidationError naming every empty one."""
    values = {name: (value or "").strip() for name, value in values.items()}
    problems = {name: _("This field is required.") for name, value in values.items() if not value}
    if problems:
        raise ValidationError(problems)
    return values


def _to_provider(feedback: Feedback, subject: str) -> None:
    notify(
        subject=subject % {"entry": feedback.entry.published.name},
        body=feedback.body,
        link=MODERATION_LINK,
        category=f"opendata.{feedback.kind}",
        departments=[feedback.entry.provider],
    )


@transaction.atomic
def comment(actor: Actor, entry: CatalogEntry, *, rating: int | None, body: str) -> Feedback:
    """A comment with a rating of 1 to 5 stars, shown once the provider publishes it."""
    check(actor, perm.can_give_feedback, entry)
    if rating not in range(1, 6):
        raise ValidationError({"rating": _("Give 1 to 5 stars.")})
    values = _required(body=body)
    feedback = Feedback.objects.create(
        kind=Kind.COMMENT, entry=entry, author=actor.user, rating=rating, created_at=clock.now(), **values
    )
    _event(actor, "comment", feedback, entry=entry.code, rating=rating)
    _to_provider(feedback, _("A comment on %(entry)s awaits moderation"))
    return feedback


@transaction.atomic
def report_error(actor: Actor, entry: CatalogEntry, *, title: str, body: str) -> Feedback:
    """An error in a dataset (what and where): the provider checks and answers it."""
    check(actor, perm.can_give_feedback, entry)
    values = _required(title=title, body=body)
    feedback = Feedback.objects.create(
        kind=Kind.ERROR_REPORT, entry=entry, author=actor.user, created_at=clock.now(), **values
    )
    _event(actor, "error_report", feedback, entry=entry.code, title=feedback.title)
    _to_provider(feedback, _("Error reported in %(entry)s"))
    return feedback


@transaction.atomic
def request_data(actor: Actor, *, title: str, body: str) -> Feedback:
    """Ask for data that is not open yet; the bureau routes and answers it."""
    check(actor, perm.can_give_feedback)
    values = _required(title=title, body=body)
    feedback = Feedback.objects.create(kind=Kind.DATA_REQUEST, author=actor.user, created_at=clock.now(), **values)
    _event(actor, "data_request", feedback, title=feedback.title)
    notify(
        subject=_("Data request from the public: %(title)s") % {"title": feedback.title},
        body=feedback.body,
        link=MODERATION_LINK,
        category="opendata.data_request",
        users=User.objects.filter(roles__role=Role.BUREAU_ADMIN, is_active=True),
    )
    return feedback


def _locked(actor: Actor, feedback: Feedback) -> Feedback:
    feedback = Feedback.objects.select_for_update(of=("self",)).select_related("entry").get(pk=feedback.pk)
    check(actor, perm.can_moderate, feedback)
    return feedback


@transaction.atomic
def moderate(actor: Actor, feedback: Feedback, action: str) -> Feedback:
    """Publish or hide an item ("publish" | "hide")."""
    feedback = _locked(actor, feedback)
    feedback.status = next_state(TRANSITIONS, feedback.status, action)
    feedback.moderated_at, feedback.moderated_by = clock.now(), actor.user
    feedback.save(update_fields=["status", "moderated_at", "moderated_by"])
    _event(actor, action, feedback)
    return feedback


@transaction.atomic
def answer(actor: Actor, feedback: Feedback, *, text: str) -> Feedback:
    """Answer (or correct an earlier answer); the author is told. The answer is public with
    the item once the item is published."""
    feedback = _locked(actor, feedback)
    feedback.answer = _required(answer=text)["answer"]
    feedback.answered_at, feedback.answered_by = clock.now(), actor.user
    feedback.save(update_fields=["answer", "answered_at", "answered_by"])
    _event(actor, "answer", feedback, answer=feedback.answer)
    notify(
        subject=_("Your %(kind)s has been answered") % {"kind": feedback.get_kind_display()},
        body=feedback.answer,
        link=f"/open/datasets/{dataset_name(feedback.entry)}/feedback/" if feedback.entry_id else "/open/requests/",
        category="opendata.feedback_answer",
        users=[feedback.author],
    )
    return feedback
