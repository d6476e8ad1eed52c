"""Open on application (Art. 29, R-29.2): a public applicant applies for an on-application
dataset; the providing department answers on the spot where it can, otherwise within 10
working days of receipt; a refusal states its reasons. Approval lets the applicant read the
dataset's rows for the approved period (``permissions.can_read_rows``); overdue applications
are flagged to the department, the bureau and the applicant (a periodic job)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from govdata.audit.services import record
from govdata.catalog.models import CatalogEntry
from govdata.catalog.vocab import OpenType
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.fsm import next_state
from govdata.notifications.services import notify
from govdata.orgs.permissions import check
from govdata.common.validators import validate_period
from govdata.sharing.services.requests import remind_due
from govdata.workdays.calendar import deadline, local_date

from .. import permissions as perm
from ..models import OpenApplication

Status = OpenApplication.Status
ANSWER_WORKING_DAYS = 10  # Art. 29

TRANSITIONS = {
    (Status.SUBMITTED, "approve"): Status.APPROVED,
    (Status.SUBMITTED, "reject"): Status.REJECTED,
}

APPROVED_FIELDS = {"period_start": "approved_from", "period_end": "approved_until"}

# The applicant's undertakings, each a checkbox that must be ticked; their text is kept on the
# application as given.
UNDERTAKINGS = {
    "stated_use": gettext_lazy("I use the data only for the purpose and scenario stated in this application."),
    "no_transfer": gettext_lazy("I do not sell the data or pass it on to any third party."),
    "security": gettext_lazy(
        "I keep the data secure, protect the personal and business information in it, and stop "
        "using it when the approved period ends."
    ),
}


def _link(application: OpenApplication) -> str:
    return f"/open/applications/{application.pk}/"


def _name(application: OpenApplication) -> str:
    return application.entry.published.name


def _event(actor: Actor, action: str, application: OpenApplication, **details: Any) -> None:
    record(actor, f"opendata.application.{action}", application, department=application.provider, details=details)


@transaction.atomic
def apply(
    actor: Actor,
    entry: CatalogEntry,
    *,
    purpose: str,
    scenario: str,
    period_start: dt.date | None,
    period_end: dt.date | None,
    undertakings: Iterable[str],
) -> OpenApplication:
    """Apply for an on-application dataset. Receipt is now: the answer is due by the end of
    the 10th working day after today (``workdays``)."""
    check(actor, perm.can_apply, entry)
    if entry.published is None or entry.published.open_type != OpenType.ON_APPLICATION:
        raise ValidationError({"entry": _("Only datasets opened on application are applied for.")})
    problems = {}
    for name, value in (("purpose", purpose), ("scenario", scenario)):
        if not (value or "").strip():
            problems[name] = _("This field is required.")
    if set(undertakings) != set(UNDERTAKINGS):
        problems["undertakings"] = _("Give every undertaking: approval depends on them.")
    if problems:
        raise ValidationError(problems)
    validate_period(period_start, period_end)
    waiting = OpenApplication.objects.filter(applicant=actor.user, entry=entry, status=Status.SUBMITTED)
    if waiting.exists():
        raise ValidationError({"entry": _("Your earlier application for this dataset is still awaiting an answer.")})
    now = clock.now()
    application = OpenApplication.objects.create(
        entry=entry,
        provider=entry.provider,
        applicant=actor.user,
        purpose=purpose.strip(),
        scenario=scenario.strip(),
        period_start=period_start,
        period_end=period_end,
        undertaking="\n".join(str(text) for text in UNDERTAKINGS.values()),
        received_at=now,
        due_at=deadline(now, ANSWER_WORKING_DAYS).due,
    )
    _event(actor, "submit", application, entry=entry.code, purpose=application.purpose)
    due = local_date(application.due_at).isoformat()
    notify(
        subject=_("Open-data application for %(entry)s from %(applicant)s")
        % {"entry": _name(application), "applicant": actor.user},
        body=_("Answer on the spot where you can, at the latest by %(due)s.") % {"due": due},
        link=_link(application),
        category="opendata.application",
        departments=[application.provider],
    )
    return application


def _answer(actor: Actor, application: OpenApplication, action: str) -> OpenApplication:
    # Only the application's row is locked (PostgreSQL refuses to lock a nullable join's side).
    locked = OpenApplication.objects.select_for_update(of=("self",)).select_related("entry__published")
    application = locked.get(pk=application.pk)
    check(actor, perm.can_answer_application, application)
    application.status = next_state(TRANSITIONS, application.status, action)
    application.decided_at, application.decided_by = clock.now(), actor.user
    return application


def _tell_applicant(application: OpenApplication, subject: str, body: str) -> None:
    notify(
        subject=subject, body=body, link=_link(application), category="opendata.answer", users=[application.applicant]
    )


@transaction.atomic
def approve(
    actor: Actor,
    application: OpenApplication,
    *,
    approved_from: dt.date | None = None,
    approved_until: dt.date | None = None,
    note: str = "",
) -> OpenApplication:
    """Open the dataset to the applicant for the period applied for, or a part of it."""
    application = _answer(actor, application, "approve")
    start = approved_from or max(application.period_start, clock.today())
    end = approved_until or application.period_end
    try:
        validate_period(start, end)
    except ValidationError as error:  # the same rules, on the approval's own fields
        raise ValidationError({APPROVED_FIELDS[name]: m for name, m in error.message_dict.items()}) from None
    if start < application.period_start or end > application.period_end:
        raise ValidationError({"approved_until": _("The approved period lies within the period applied for.")})
    application.approved_from, application.approved_until = start, end
    application.note = (note or "").strip()
    application.save()
    _event(actor, "approve", application, approved_from=start.isoformat(), approved_until=end.isoformat())
    _tell_applicant(
        application,
        _("Application approved: %(entry)s") % {"entry": _name(application)},
        _("You may download and query the data from %(start)s to %(end)s.") % {"start": start, "end": end},
    )
    return application


@transaction.atomic
def reject(actor: Actor, application: OpenApplication, *, reasons: str) -> OpenApplication:
    """Refuse, stating the reasons (Art. 29): the applicant and the public statistics see them."""
    application = _answer(actor, application, "reject")
    if not (reasons or "").strip():
        raise ValidationError({"reasons": _("A refusal must state its reasons.")})
    application.reasons = reasons.strip()
    application.save()
    _event(actor, "reject", application, reasons=application.reasons)
    subject = _("Application refused: %(entry)s") % {"entry": _name(application)}
    _tell_applicant(application, subject, application.reasons)
    return application


# --- reminders (a periodic job) ---------------------------------------------------------------


REMINDER_SUBJECTS = {
    "due_tomorrow": gettext_lazy("Open-data application due tomorrow: %(entry)s"),
    "due_today": gettext_lazy("Open-data application due today: %(entry)s"),
    "overdue": gettext_lazy("Open-data application overdue: %(entry)s"),
}


def remind_due_applications(now: dt.datetime | None = None) -> list[OpenApplication]:
    """The deadline reminders of unanswered applications, as for share requests
    (``sharing.services.requests.remind_due``): the department the day before and on the
    day; once overdue, the department, the bureau and the applicant."""
    return remind_due(
        OpenApplication.objects.filter(status=Status.SUBMITTED).select_related(
            "entry__published", "provider", "applicant"
        ),
        now,
        subject=lambda application, kind: REMINDER_SUBJECTS[kind] % {"entry": _name(application)},
        link=_link,
        category="opendata.application",
    )
