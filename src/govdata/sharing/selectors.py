"""Permission-filtered reads of requests and grants, verifications, disputes and demands,
shared by pages, the API and jobs."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404

from govdata.audit.models import AuditEvent
from govdata.common import clock
from govdata.datastore.models import Resource
from govdata.orgs.models import Department, Role, User
from govdata.orgs.permissions import DEPARTMENT_ROLES, has_role, is_bureau_admin
from govdata.workdays.calendar import WorkCalendar, local_date

from .models import Demand, Dispute, Grant, Receipt, ShareRequest, VerificationRequest
from .permissions import can_see_demands


def _department_of(user: User | None) -> int | None:
    if user is None or not user.department_id or not has_role(user, *DEPARTMENT_ROLES):
        return None
    return user.department_id


def _parties(user: User | None, base: QuerySet, *party_fields: str) -> QuerySet:
    """Everything for the bureau and evaluators; for a department's people, what their
    department is a party to (through any of ``party_fields``); nothing for anyone else."""
    if has_role(user, Role.BUREAU_ADMIN, Role.EVALUATOR):
        return base.all()
    department = _department_of(user)
    if department is None:
        return base.none()
    scope = Q(pk__in=[])
    for party in party_fields:
        scope |= Q(**{party: department})
    return base.filter(scope)


def requests_visible_to(user: User | None) -> QuerySet[ShareRequest]:
    return _parties(
        user,
        ShareRequest.objects.select_related("entry__published", "consumer", "provider", "system"),
        "consumer_id",
        "provider_id",
    )


def requests_received(user: User | None) -> QuerySet[ShareRequest]:
    """The provider's inbox, the nearest deadline first."""
    department = _department_of(user)
    if department is None:
        return ShareRequest.objects.none()
    waiting = Case(When(status=ShareRequest.Status.SUBMITTED, then=Value(0)), default=Value(1))
    return requests_visible_to(user).filter(provider_id=department).order_by(waiting, "due_at", "pk")


def requests_made(user: User | None) -> QuerySet[ShareRequest]:
    department = _department_of(user)
    if department is None:
        return ShareRequest.objects.none()
    return requests_visible_to(user).filter(consumer_id=department)


def overdue_requests(user: User | None) -> QuerySet[ShareRequest]:
    """Unanswered past the deadline: for the provider, the consumer and the bureau alike."""
    return (
        requests_visible_to(user)
        .filter(status=ShareRequest.Status.SUBMITTED, due_at__lt=clock.now())
        .order_by("due_at")
    )


def get_request(user: User | None, pk: int) -> ShareRequest:
    """Both parties and the bureau (``permissions.can_see_request``, as a query), or 404."""
    return get_object_or_404(requests_visible_to(user), pk=pk)


def grants_visible_to(user: User | None) -> QuerySet[Grant]:
    return _parties(
        user,
        Grant.objects.select_related("entry__published", "entry__provider", "consumer", "system", "request"),
        "consumer_id",
        "entry__provider_id",
    )


def get_grant(user: User | None, pk: int) -> Grant:
    return get_object_or_404(grants_visible_to(user), pk=pk)


# --- verification (R-23) ----------------------------------------------------------------------

VERIFICATION_PENDING = (VerificationRequest.Status.SUBMITTED, VerificationRequest.Status.ORDERED)


def verifications_visible_to(user: User | None) -> QuerySet[VerificationRequest]:
    """Both parties and the bureau (``permissions.can_see_verification``, as a query)."""
    return _parties(
        user,
        VerificationRequest.objects.select_related("resource__entry", "consumer", "provider"),
        "consumer_id",
        "provider_id",
    )


def verifications_received(user: User | None) -> QuerySet[VerificationRequest]:
    """The provider's inbox: those waiting for an answer or a correction first, the nearest
    deadline first."""
    department = _department_of(user)
    if department is None:
        return VerificationRequest.objects.none()
    waiting = Case(When(status__in=VERIFICATION_PENDING, then=Value(0)), default=Value(1))
    return verifications_visible_to(user).filter(provider_id=department).order_by(waiting, "due_at", "pk")


def verifications_made(user: User | None) -> QuerySet[VerificationRequest]:
    department = _department_of(user)
    if department is None:
        return VerificationRequest.objects.none()
    return verifications_visible_to(user).filter(consumer_id=department)


def overdue_verifications(user: User | None) -> QuerySet[VerificationRequest]:
    """Waiting for the provider past the deadline: for both parties and the bureau."""
    return (
        verifications_visible_to(user)
        .filter(status__in=VERIFICATION_PENDING, due_at__lt=clock.now())
        .order_by("due_at")
    )


def get_verification(user: User | None, pk: int) -> VerificationRequest:
    return get_object_or_404(verifications_visible_to(user), pk=pk)


# --- disputes (R-27.1) ------------------------------------------------------------------------


def disputes_visible_to(user: User | None) -> QuerySet[Dispute]:
    """Both parties and the bureau (``permissions.can_see_dispute``, as a query)."""
    return _parties(
        user,
        Dispute.objects.select_related("raised_by", "other_party", "share_request__entry", "verification__resource"),
        "raised_by_id",
        "other_party_id",
    )


def disputes_to_mediate(user: User | None) -> QuerySet[Dispute]:
    """The bureau's inbox: open disputes, the oldest first."""
    if not is_bureau_admin(user):
        return Dispute.objects.none()
    return disputes_visible_to(user).filter(status=Dispute.Status.OPEN).order_by("opened_at", "pk")


def get_dispute(user: User | None, pk: int) -> Dispute:
    return get_object_or_404(disputes_visible_to(user), pk=pk)


# --- demands (R-4.1) --------------------------------------------------------------------------


def demand_board(user: User | None) -> QuerySet[Demand]:
    """Every demand, for every government user (``permissions.can_see_demands``)."""
    if not can_see_demands(user):
        return Demand.objects.none()
    return Demand.objects.select_related("consumer", "provider", "entry")


def demands_to_answer(user: User | None) -> QuerySet[Demand]:
    """Demands the bureau routed to the user's department, waiting for its answer."""
    department = _department_of(user)
    if department is None:
        return Demand.objects.none()
    return demand_board(user).filter(provider_id=department, status=Demand.Status.ROUTED).order_by("routed_at", "pk")


# --- access log and the bureau's overview (R-22.1, R-20.2) ------------------------------------


def access_log(resource: Resource) -> QuerySet[AuditEvent]:
    """Every use of a resource's data, the latest first: reads, exports and refusals through
    the pages, the API and the gateway, and the reads of the public applicants an open-data
    application was approved for (``opendata.services.reads``). For those
    ``permissions.can_see_access_log`` allows."""
    return AuditEvent.objects.filter(
        Q(action__startswith="sharing.") | Q(action__startswith="opendata."),
        object_type=Resource._meta.label_lower,
        object_id=str(resource.pk),
    ).order_by("-seq")


ANSWERED = (ShareRequest.Status.APPROVED, ShareRequest.Status.REJECTED)


@dataclass(frozen=True)
class AnswerRecord:
    """How one providing department answers the share requests it receives."""

    provider: Department
    received: int
    answered: int
    overdue: int
    average_working_days: float | None  # from receipt to answer; None before any answer


def answer_records(user: User | None) -> list[AnswerRecord]:
    """Per providing department, of the requests visible to ``user``: received, answered
    (approved or rejected), overdue now, and the average answer time in working days counted
    as the deadline is (the day of receipt not included). Those with overdue requests first."""
    calendar = WorkCalendar.load()
    received: dict[int, int] = defaultdict(int)
    days: dict[int, list[int]] = defaultdict(list)
    rows = requests_visible_to(user).order_by().values_list("provider_id", "status", "received_at", "decided_at")
    for provider_id, status, received_at, decided_at in rows:
        received[provider_id] += 1
        if status in ANSWERED:
            days[provider_id].append(calendar.working_days_between(local_date(received_at), local_date(decided_at)))
    overdue = dict(overdue_requests(user).order_by().values_list("provider_id").annotate(n=Count("pk")))
    departments = Department.objects.in_bulk(list(received))
    records = [
        AnswerRecord(
            provider=departments[pk],
            received=count,
            answered=len(days[pk]),
            overdue=overdue.get(pk, 0),
            average_working_days=sum(days[pk]) / len(days[pk]) if days[pk] else None,
        )
        for pk, count in received.items()
    ]
    return sorted(records, key=lambda r: (-r.overdue, r.provider.name))


# --- receipts (R-24.1) ------------------------------------------------------------------------


def receipts_visible_to(user: User | None) -> QuerySet[Receipt]:
    """A receipt: for the department it was issued to, and the bureau."""
    if has_role(user, Role.BUREAU_ADMIN):
        return Receipt.objects.all()
    department = _department_of(user)
    return Receipt.objects.filter(issued_to_id=department) if department else Receipt.objects.none()
