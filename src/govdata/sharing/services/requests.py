"""Share requests and grants (R-20.2, R-22.1): ask, answer within 5 working days, accept the
usage undertaking, renew, revoke; a grant on the bureau's decision in a dispute (R-27.1); and
the reminders of the deadline (shared with verification requests)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from govdata.audit.services import record
from govdata.catalog.models import CatalogEntry
from govdata.catalog.vocab import ShareType
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.fsm import next_state
from govdata.common.validators import validate_period
from govdata.notifications.services import notify
from govdata.orgs.models import Department, InformationSystem, User
from govdata.orgs.permissions import check
from govdata.orgs.selectors import overseers_of
from govdata.workdays.calendar import deadline, local_date

from .. import permissions as perm
from ..models import Grant, ShareRequest

Status = ShareRequest.Status
ANSWER_WORKING_DAYS = 5  # Art. 20

TRANSITIONS = {
    (Status.SUBMITTED, "approve"): Status.APPROVED,
    (Status.SUBMITTED, "reject"): Status.REJECTED,
    (Status.SUBMITTED, "withdraw"): Status.WITHDRAWN,
    (Status.REJECTED, "grant_by_decision"): Status.APPROVED,  # the bureau overturns a rejection
}

UNDERTAKING = gettext_lazy(
    "We use the data only for the purpose and within the scope stated in the request; we do not "
    "publish it, pass it to any third party or use it for any other purpose without the "
    "provider's consent; we keep it secure and delete it when the grant ends."
)


def _event(actor: Actor, action: str, obj: Any, department: Any, **details: Any) -> None:
    record(actor, f"sharing.{action}", obj, department=department, details=details)


def _link(request: ShareRequest) -> str:
    return f"/sharing/requests/{request.pk}/"


def _entry_items(entry: CatalogEntry) -> list[str]:
    return [item.code for item in entry.published.items.all()]


def _clean_items(wanted: Iterable[str], available: list[str], field: str) -> list[str]:
    wanted = [str(code).strip() for code in wanted if str(code).strip()]
    if not wanted:
        raise ValidationError({field: _("Choose at least one data item.")})
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        raise ValidationError({field: _("Not data items of this entry: %(codes)s") % {"codes": ", ".join(unknown)}})
    return [code for code in available if code in set(wanted)]  # the entry's order, no repeats




@transaction.atomic
def submit_request(
    actor: Actor,
    entry: CatalogEntry,
    *,
    system: InformationSystem | None,
    items: Iterable[str],
    purpose: str,
    legal_duty: str,
    scope: str,
    period_start: dt.date | None,
    period_end: dt.date | None,
    renewal_of: Grant | None = None,
) -> ShareRequest:
    """Ask the provider for a conditional entry. Receipt is now: the answer is due by the end
    of the 5th working day after today (``workdays``)."""
    check(actor, perm.can_request, entry)
    if entry.published is None:
        raise ValidationError({"entry": _("Only published catalog entries can be requested.")})
    share_type = entry.published.share_type
    if share_type == ShareType.UNCONDITIONAL:
        raise ValidationError({"entry": _("This entry is shared unconditionally: use it directly, no request is needed.")})
    if share_type != ShareType.CONDITIONAL:
        raise ValidationError({"entry": _("This entry is not shared.")})
    problems = {}
    for name, value in (("purpose", purpose), ("legal_duty", legal_duty), ("scope", scope)):
        if not (value or "").strip():
            problems[name] = _("This field is required.")
    if system is None:
        problems["system"] = _("Name the information system that will use the data.")
    elif system.department_id != actor.user.department_id or not system.is_active:
        problems["system"] = _("Choose an active information system of your own department.")
    if problems:
        raise ValidationError(problems)
    chosen = _clean_items(items, _entry_items(entry), "items")
    validate_period(period_start, period_end)
    now = clock.now()
    request = ShareRequest.objects.create(
        entry=entry,
        consumer_id=actor.user.department_id,
        provider=entry.provider,
        system=system,
        items=chosen,
        purpose=purpose.strip(),
        legal_duty=legal_duty.strip(),
        scope=scope.strip(),
        period_start=period_start,
        period_end=period_end,
        renewal_of=renewal_of,
        requested_by=actor.user,
        received_at=now,
        due_at=deadline(now, ANSWER_WORKING_DAYS).due,
    )
    _event(actor, "request.submit", request, request.consumer, entry=entry.code, items=chosen, purpose=request.purpose)
    notify(
        subject=_("Share request for %(entry)s from %(consumer)s") % {"entry": entry.published.name, "consumer": request.consumer},
        body=_("Answer by %(due)s.") % {"due": local_date(request.due_at).isoformat()},
        link=_link(request),
        category="sharing.request",
        departments=[request.provider],
    )
    return request


def _answer(actor: Actor, request: ShareRequest, action: str) -> None:
    check(actor, perm.can_answer, request)
    request.status = next_state(TRANSITIONS, request.status, action)
    request.decided_at, request.decided_by = clock.now(), actor.user


@transaction.atomic
def approve(
    actor: Actor, request: ShareRequest, *, items: Iterable[str] | None = None, valid_until: dt.date | None = None, note: str = ""
) -> Grant:
    """Grant some or all of the items asked for, for the purpose, period and system of the
    request (the provider may shorten the period)."""
    request = ShareRequest.objects.select_for_update().get(pk=request.pk)
    _answer(actor, request, "approve")
    approved = _clean_items(request.items if items is None else items, request.items, "items")
    valid_until = valid_until or request.period_end
    if valid_until > request.period_end or valid_until < request.period_start:
        raise ValidationError({"valid_until": _("The grant ends within the period asked for.")})
    request.approved_items, request.note = approved, (note or "").strip()
    request.save()
    grant = _grant(request, valid_until)
    _event(actor, "request.approve", request, request.provider, items=approved, valid_until=valid_until.isoformat())
    return grant


def _grant(request: ShareRequest, valid_until: dt.date) -> Grant:
    """The grant of an approved request's approved items; the consumer is told to accept it."""
    grant = Grant.objects.create(
        request=request,
        entry=request.entry,
        consumer=request.consumer,
        system=request.system,
        items=request.approved_items,
        purpose=request.purpose,
        scope=request.scope,
        valid_from=max(request.period_start, clock.today()),
        valid_until=valid_until,
        created_at=clock.now(),
    )
    notify(
        subject=_("Share request approved: %(entry)s") % {"entry": request.entry.published.name},
        body=_("Accept the usage undertaking to start using the data."),
        link=f"/sharing/grants/{grant.pk}/",
        category="sharing.approve",
        departments=[request.consumer],
    )
    return grant


@transaction.atomic
def reject(actor: Actor, request: ShareRequest, *, basis: str, note: str = "") -> ShareRequest:
    """Refuse, citing the law, regulation or rule relied on (R-20.2)."""
    request = ShareRequest.objects.select_for_update().get(pk=request.pk)
    _answer(actor, request, "reject")
    if not (basis or "").strip():
        raise ValidationError({"basis": _("Cite the law, regulation or rule the refusal relies on.")})
    request.rejection_basis, request.note = basis.strip(), (note or "").strip()
    request.save()
    _event(actor, "request.reject", request, request.provider, basis=request.rejection_basis)
    notify(
        subject=_("Share request rejected: %(entry)s") % {"entry": request.entry.published.name},
        body=request.rejection_basis,
        link=_link(request),
        category="sharing.reject",
        departments=[request.consumer],
    )
    return request


@transaction.atomic
def grant_by_decision(actor: Actor, request: ShareRequest, decision: str) -> Grant:
    """The bureau's mediation overturns a rejection (R-27.1): the request is approved on the
    bureau's authority, for the items and the period asked for. The rejection's basis stays on
    the request; the decision itself is the dispute's."""
    check(actor, perm.can_mediate)
    request = ShareRequest.objects.select_for_update().get(pk=request.pk)
    request.status = next_state(TRANSITIONS, request.status, "grant_by_decision")
    if not (decision or "").strip():
        raise ValidationError({"decision": _("This field is required.")})
    if request.period_end < clock.today():
        raise ValidationError({"decision": _("The period asked for is over: the consumer needs to ask again.")})
    request.decided_at, request.decided_by = clock.now(), actor.user
    request.approved_items = request.items
    request.save()
    grant = _grant(request, request.period_end)
    _event(
        actor,
        "request.grant_by_decision",
        request,
        request.provider,
        items=request.items,
        valid_until=request.period_end.isoformat(),
        decision=decision.strip(),
    )
    return grant


@transaction.atomic
def withdraw(actor: Actor, request: ShareRequest) -> ShareRequest:
    check(actor, perm.can_withdraw, request)
    request = ShareRequest.objects.select_for_update().get(pk=request.pk)
    request.status = next_state(TRANSITIONS, request.status, "withdraw")
    request.decided_at = clock.now()
    request.save(update_fields=["status", "decided_at"])
    _event(actor, "request.withdraw", request, request.consumer)
    return request


@transaction.atomic
def accept_grant(actor: Actor, grant: Grant) -> Grant:
    """The consumer's usage undertaking (R-22.1): the grant is usable from now on."""
    check(actor, perm.can_accept, grant)
    grant = Grant.objects.select_for_update().get(pk=grant.pk)
    if grant.accepted_at is not None:
        raise ValidationError({"grant": _("The undertaking has already been given.")})
    if grant.revoked_at is not None:
        raise ValidationError({"grant": _("This grant has been revoked.")})
    grant.accepted_at, grant.accepted_by, grant.undertaking = clock.now(), actor.user, str(UNDERTAKING)
    grant.save(update_fields=["accepted_at", "accepted_by", "undertaking"])
    _event(actor, "grant.accept", grant, grant.consumer, undertaking=grant.undertaking, purpose=grant.purpose)
    return grant


@transaction.atomic
def revoke(actor: Actor, grant: Grant, *, reason: str) -> Grant:
    """Takes effect at the next call: every access checks the grant afresh."""
    check(actor, perm.can_revoke, grant)
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why.")})
    grant = Grant.objects.select_for_update().get(pk=grant.pk)
    if grant.revoked_at is not None:
        raise ValidationError({"grant": _("This grant has already been revoked.")})
    grant.revoked_at, grant.revoked_by, grant.revoke_reason = clock.now(), actor.user, reason.strip()
    grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    _event(actor, "grant.revoke", grant, grant.entry.provider, reason=grant.revoke_reason)
    notify(
        subject=_("Grant revoked: %(entry)s") % {"entry": grant.entry.published.name},
        body=grant.revoke_reason,
        link=f"/sharing/grants/{grant.pk}/",
        category="sharing.revoke",
        departments=[grant.consumer],
    )
    return grant


def renew(actor: Actor, grant: Grant, *, period_end: dt.date, purpose: str | None = None) -> ShareRequest:
    """Ask again for the same items, from the grant's end (or today) to ``period_end``; the
    provider answers it like any request."""
    check(actor, perm.can_renew, grant)
    grant = Grant.objects.select_related("request", "entry", "system").get(pk=grant.pk)  # its state now
    if grant.revoked_at is not None:
        raise ValidationError({"grant": _("A revoked grant is not renewed: make a new request.")})
    request = grant.request
    return submit_request(
        actor,
        grant.entry,
        system=grant.system,
        items=grant.items,
        purpose=purpose if purpose is not None else grant.purpose,
        legal_duty=request.legal_duty,
        scope=grant.scope,
        period_start=max(clock.today(), grant.valid_from),
        period_end=period_end,
        renewal_of=grant,
    )


# --- reminders (a periodic job) ---------------------------------------------------------------


REMINDER_SUBJECTS = {
    "due_tomorrow": gettext_lazy("Share request due tomorrow: %(entry)s"),
    "due_today": gettext_lazy("Share request due today: %(entry)s"),
    "overdue": gettext_lazy("Share request overdue: %(entry)s"),
}


def remind_due_requests(now: dt.datetime | None = None) -> list[ShareRequest]:
    """The deadline reminders of unanswered share requests (``remind_due``)."""
    return remind_due(
        ShareRequest.objects.filter(status=Status.SUBMITTED).select_related("entry__published", "provider", "consumer"),
        now,
        subject=lambda request, kind: REMINDER_SUBJECTS[kind] % {"entry": request.entry.published.name},
        link=_link,
        category="sharing",
    )


def remind_due(
    pending: Iterable[Any],
    now: dt.datetime | None,
    *,
    subject: Callable[[Any, str], str],
    link: Callable[[Any], str],
    category: str,
) -> list[Any]:
    """Tell the provider (and, once overdue, the consumer and the bureau) about requests still
    waiting for the provider — share or verification requests, open-data applications:
    anything with ``provider``, ``consumer`` (a department, or a public applicant's user),
    ``received_at``, ``due_at`` and ``reminded`` — the working day before the deadline, on the
    deadline day, and once overdue. Each reminder is sent once per request;
    ``subject(request, kind)`` words it, the category is ``<category>.<kind>``."""
    now = now or clock.now()
    today = local_date(now)
    reminded = []
    for request in pending:
        last_day = local_date(request.due_at)
        if now > request.due_at:
            kind = "overdue"
        elif today == last_day:
            kind = "due_today"
        elif deadline(today, 1).last_day == last_day:
            kind = "due_tomorrow"
        else:
            continue
        if kind in request.reminded:
            continue
        overdue = kind == "overdue"
        consumer = request.consumer if overdue else None
        with transaction.atomic():
            request.reminded = [*request.reminded, kind]
            request.save(update_fields=["reminded"])
            notify(
                subject=subject(request, kind),
                body=_("From %(consumer)s, received %(received)s, due %(due)s.")
                % {
                    "consumer": request.consumer,
                    "received": local_date(request.received_at).isoformat(),
                    "due": last_day.isoformat(),
                },
                link=link(request),
                category=f"{category}.{kind}",
                departments=[request.provider, *([consumer] if isinstance(consumer, Department) else [])],
                users=[
                    *(overseers_of(request.provider).filter(roles__role="bureau_admin") if overdue else ()),
                    *([consumer] if isinstance(consumer, User) else []),
                ],
            )
        reminded.append(request)
    return reminded
