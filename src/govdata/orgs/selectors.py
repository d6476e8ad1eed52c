"""Permission-filtered reads of organisations, contacts, systems and people."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from govdata.common import clock

from .models import Contact, ContactChange, ContactRole, Department, InformationSystem, Region, Role, User
from .permissions import DEPARTMENT_ROLES, has_role, region_ids_of

# Art. 7 + Art. 15: a contact not confirmed for more than one quarter is stale.
STALE_AFTER_MONTHS = 3


def department_scope(user: User | None, via: str = "") -> Q:
    """Q selecting the departments whose internal records ``user`` may read.

    ``via`` is the lookup path from the queried model to its department (e.g. "department__").
    """
    if has_role(user, Role.BUREAU_ADMIN, Role.EVALUATOR):
        return Q()
    scope = Q(pk__in=[])
    if has_role(user, Role.REGION_ADMIN):
        scope |= Q(**{f"{via}region_id__in": region_ids_of(user)})
    if user is not None and user.department_id and has_role(user, *DEPARTMENT_ROLES):
        scope |= Q(**{f"{via}pk": user.department_id})
    return scope


def departments_in_scope(user: User | None) -> QuerySet[Department]:
    return Department.objects.filter(department_scope(user)).select_related("region", "parent")


def directory() -> QuerySet[Department]:
    """Every active department with its public identity: what any signed-in user may browse."""
    return Department.objects.filter(is_active=True).select_related("region")


def contacts_visible_to(user: User | None) -> QuerySet[Contact]:
    return Contact.objects.filter(department_scope(user, "department__")).select_related("department")


def systems_visible_to(user: User | None) -> QuerySet[InformationSystem]:
    return InformationSystem.objects.filter(department_scope(user, "department__")).select_related("department")


def users_visible_to(user: User | None) -> QuerySet[User]:
    return User.objects.filter(department_scope(user, "department__")).select_related("department")


def overseers_of(department: Department) -> QuerySet[User]:
    """The bureau admins and the admins of the department's region."""
    return User.objects.filter(
        Q(roles__role=Role.BUREAU_ADMIN) | Q(roles__role=Role.REGION_ADMIN, roles__region_id=department.region_id),
        is_active=True,
    ).distinct()


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def stale_since(contact: Contact) -> dt.datetime:
    """The last moment the contact counts as confirmed: the end of the day (Asia/Shanghai) one
    quarter after its confirmation day. Counted on the local calendar, so the answer does not
    depend on the time of day or on whether ``confirmed_at`` came back from the DB in UTC."""
    confirmed = contact.confirmed_at.astimezone(clock.SHANGHAI)
    last_day = add_months(confirmed, STALE_AFTER_MONTHS).date()
    return dt.datetime.combine(last_day, dt.time.max, tzinfo=clock.SHANGHAI)


def is_stale(contact: Contact, now: dt.datetime | None = None) -> bool:
    return (now or clock.now()) > stale_since(contact)


@dataclass
class ContactStatus:
    department: Department
    missing_roles: list[str] = field(default_factory=list)
    stale: list[Contact] = field(default_factory=list)
    active_count: int = 0

    @property
    def needs_attention(self) -> bool:
        return bool(self.missing_roles or self.stale)


# A department must at least name a leader and someone who does the day-to-day work.
REQUIRED_CONTACT_ROLES = (ContactRole.LEADER, ContactRole.STAFF)


def contact_status(user: User | None, now: dt.datetime | None = None) -> list[ContactStatus]:
    """Per department in the user's scope: missing contact roles and stale contacts."""
    now = now or clock.now()
    statuses = {d.pk: ContactStatus(d) for d in departments_in_scope(user).filter(is_active=True)}
    roles_seen: dict[int, set[str]] = {pk: set() for pk in statuses}
    for contact in Contact.objects.filter(department_id__in=statuses, is_active=True):
        status = statuses[contact.department_id]
        status.active_count += 1
        roles_seen[contact.department_id].add(contact.role)
        if is_stale(contact, now):
            status.stale.append(contact)
    for pk, status in statuses.items():
        status.missing_roles = [r for r in REQUIRED_CONTACT_ROLES if r not in roles_seen[pk]]
    return list(statuses.values())


# --- reads for the organisation pages ------------------------------------------------------


def regions_in_scope(user: User | None) -> QuerySet[Region]:
    """Regions whose departments ``user`` oversees or reads city-wide (list filters, forms)."""
    if has_role(user, Role.BUREAU_ADMIN, Role.EVALUATOR):
        return Region.objects.all()
    return Region.objects.filter(pk__in=region_ids_of(user))


def regions_creatable_by(user: User | None) -> QuerySet[Region]:
    """Regions in which ``user`` may create (or into which move) a department."""
    if has_role(user, Role.BUREAU_ADMIN):
        return Region.objects.all()
    return Region.objects.filter(pk__in=region_ids_of(user))


def department_list(user: User | None, *, region_id: int | None = None, kind: str = "") -> QuerySet[Department]:
    """Departments in scope with their number of active contacts, optionally filtered."""
    departments = departments_in_scope(user).annotate(
        active_contacts=Count("contacts", filter=Q(contacts__is_active=True))
    )
    if region_id:
        departments = departments.filter(region_id=region_id)
    if kind:
        departments = departments.filter(kind=kind)
    return departments


def parent_candidates(current: Department | None = None) -> QuerySet[Department]:
    """Departments that may be named as a parent: the active directory, plus the current
    parent (even if inactive), never the department itself."""
    keep = Q(is_active=True)
    if current is not None and current.parent_id:
        keep |= Q(pk=current.parent_id)
    departments = Department.objects.filter(keep).select_related("region")
    if current is not None and current.pk:
        departments = departments.exclude(pk=current.pk)
    return departments


def contact_history(contact: Contact) -> QuerySet[ContactChange]:
    """Every filed change of ``contact``, newest first (callers check visibility first)."""
    return contact.changes.select_related("changed_by")
