"""Who may use which shared data: one decision, used by the pages, the API, the gateway and
the holder lookup alike (R-20.1, R-20.2, R-22.1).

- The provider uses its own data without restriction.
- Unconditional entries: every department's users and applications use the published data
  directly, without a request.
- Conditional entries: only through a grant — accepted, not revoked, inside its period, for
  the consumer department and (for an application) the system the grant names — and only the
  granted items.
- Not shared: nobody but the provider.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from govdata.catalog.models import CatalogEntry
from govdata.catalog.permissions import can_browse_catalog
from govdata.catalog.vocab import ShareType
from govdata.common import clock
from govdata.datastore.models import Resource
from govdata.orgs.models import Department, InformationSystem, Role, User
from govdata.orgs.permissions import DEPARTMENT_ROLES, has_department_role, has_role, is_bureau_admin

from .models import ConsumerApplication, Demand, Dispute, Grant, ShareRequest, VerificationRequest


@dataclass(frozen=True)
class Access:
    allowed: bool
    items: frozenset[str] | None = None  # None: every item
    grant: Grant | None = None
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def _denied(reason: str) -> Access:
    return Access(False, frozenset(), None, reason)


# What a decision is made of; a grant's other fields load when used.
DECISION_FIELDS = ("id", "items", "purpose", "valid_from", "valid_until")


def _column(name: str) -> str:
    return connection.ops.quote_name(Grant._meta.get_field(name).column)


def _decision_names() -> list[str]:
    """The ``DECISION_FIELDS`` in the model's order, as ``from_db`` wants them."""
    return [f.attname for f in Grant._meta.concrete_fields if f.attname in DECISION_FIELDS]


def decision_columns(alias: str) -> str:
    """The select list of a grant's ``DECISION_FIELDS`` (table ``alias``), for ``grant_of``."""
    return ", ".join(f"{alias}.{_column(name)}" for name in _decision_names())


def grant_of(values: Sequence[Any]) -> Grant:
    """A grant from the values of ``decision_columns`` (both databases give dates as dates,
    and the JSON as the text its field reads)."""
    read_items = Grant._meta.get_field("items").from_db_value
    names = _decision_names()
    return Grant.from_db(
        connection.alias,
        names,
        [read_items(value, None, connection) if name == "items" else value for name, value in zip(names, values)],
    )


def in_force(alias: str, *, consumer: str, entry: str, day: str, system: str | None = None) -> str:
    """The SQL condition "grant ``alias`` is in force for the consumer on the entry (through
    the system) on the day": accepted, not revoked, inside its period. The arguments are SQL
    expressions, placed in the order consumer, entry, day, day, system (mind it when they
    are ``%s``)."""
    conditions = [
        f"{alias}.{_column('consumer')} = {consumer}",
        f"{alias}.{_column('entry')} = {entry}",
        f"{alias}.{_column('valid_from')} <= {day}",
        f"{alias}.{_column('valid_until')} >= {day}",
        f"{alias}.{_column('accepted_at')} IS NOT NULL",
        f"{alias}.{_column('revoked_at')} IS NULL",
    ]
    if system is not None:
        conditions.append(f"{alias}.{_column('system')} = {system}")
    return " AND ".join(conditions)


def by_duration(alias: str) -> str:
    """The order of grants in force: the longest-lasting first."""
    return f"{alias}.{_column('valid_until')} DESC, {alias}.{_column('id')} DESC"


def active_grants(
    department: Department | int,
    entry: CatalogEntry | int,
    on: dt.date | None = None,
    *,
    system: InformationSystem | int | None = None,
) -> list[Grant]:
    """Grants in force for a department on an entry (through ``system`` when given), the
    longest-lasting first. One plain statement reading the ``DECISION_FIELDS``: building the
    ORM's query and mapping its rows cost several times more than running it."""
    day = connection.ops.adapt_datefield_value(on or clock.today())
    params = [getattr(department, "pk", department), getattr(entry, "pk", entry), day, day]
    if system is not None:
        params.append(getattr(system, "pk", system))
    condition = in_force("g", consumer="%s", entry="%s", day="%s", system="%s" if system is not None else None)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {decision_columns('g')} FROM {connection.ops.quote_name(Grant._meta.db_table)} g "
            f"WHERE {condition} ORDER BY {by_duration('g')}",
            params,
        )
        return [grant_of(row) for row in cursor.fetchall()]


def decide(
    department: Department | None,
    resource: Resource,
    *,
    application: ConsumerApplication | None = None,
    on: dt.date | None = None,
    grants: Sequence[Grant] | None = None,
) -> Access:
    """May ``department`` (through ``application`` when it calls the gateway) use the rows or
    files of ``resource``, and which items? ``grants``: those in force, as ``active_grants``
    gives them, when the caller read them with its other reads (the gateway, in one
    statement per call)."""
    if department is None:
        return _denied(_("Only government departments use shared data."))
    entry = resource.entry
    if entry.provider_id == department.pk:
        return Access(True)
    if resource.status != Resource.Status.PUBLISHED or entry.published is None:
        return _denied(_("This resource is not published."))
    share_type = entry.published.share_type
    if share_type == ShareType.UNCONDITIONAL:
        return Access(True)
    if share_type != ShareType.CONDITIONAL:
        return _denied(_("This data is not shared."))
    if grants is None:
        grants = active_grants(department, entry, on, system=application.system_id if application is not None else None)
    grant = grants[0] if grants else None
    if grant is None:
        return _denied(_no_grant_reason(department, entry, on))
    return Access(True, frozenset(grant.items), grant)


def _no_grant_reason(department: Department, entry: CatalogEntry, on: dt.date | None) -> str:
    """Why no grant is in force: said precisely, so a consumer knows whether to accept, renew
    or ask."""
    latest = Grant.objects.filter(consumer=department, entry=entry).order_by("-created_at", "-pk").first()
    on = on or clock.today()
    if latest is None:
        return _("Conditional data: a grant in force is needed.")
    if latest.revoked_at is not None:
        return _("The grant for this data was revoked: %(reason)s") % {"reason": latest.revoke_reason}
    if latest.accepted_at is None:
        return _("The grant awaits your department's usage undertaking.")
    if latest.valid_until < on:
        return _("The grant for this data ended on %(day)s.") % {"day": latest.valid_until.isoformat()}
    if latest.valid_from > on:
        return _("The grant for this data starts on %(day)s.") % {"day": latest.valid_from.isoformat()}
    return _("Conditional data: a grant in force is needed.")  # in force, but for another system


def decide_for_user(user: User | None, resource: Resource, on: dt.date | None = None) -> Access:
    """``decide`` for a signed-in person: their department, if they hold a department role."""
    if user is None or not user.department_id or not has_role(user, *DEPARTMENT_ROLES):
        return _denied(_("Only government departments use shared data."))
    return decide(user.department, resource, on=on)


# --- requests and grants ----------------------------------------------------------------------


def can_request(user: User | None, entry: CatalogEntry) -> bool:
    """Department users ask for other departments' conditional entries."""
    return (
        user is not None
        and user.department_id is not None
        and user.department_id != entry.provider_id
        and has_role(user, Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF)
    )


def can_answer(user: User | None, request: ShareRequest) -> bool:
    """The providing department's administrator answers."""
    return has_department_role(user, request.provider_id, Role.DEPARTMENT_ADMIN)


def can_withdraw(user: User | None, request: ShareRequest) -> bool:
    return has_department_role(user, request.consumer_id, Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF)


def can_accept(user: User | None, grant: Grant) -> bool:
    """The consumer department's administrator gives the usage undertaking."""
    return has_department_role(user, grant.consumer_id, Role.DEPARTMENT_ADMIN)


def can_revoke(user: User | None, grant: Grant) -> bool:
    return is_bureau_admin(user) or has_department_role(user, grant.entry.provider_id, Role.DEPARTMENT_ADMIN)


def can_renew(user: User | None, grant: Grant) -> bool:
    return has_department_role(user, grant.consumer_id, Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF)


def can_see_request(user: User | None, request: ShareRequest) -> bool:
    """Both parties and the bureau; evaluators read everything."""
    return (
        has_department_role(user, request.consumer_id)
        or has_department_role(user, request.provider_id)
        or has_role(user, Role.BUREAU_ADMIN, Role.EVALUATOR)
    )


def can_see_access_log(user: User | None, resource: Resource) -> bool:
    """Every access to a resource, end to end: its provider and the bureau (R-22.1)."""
    return has_department_role(user, resource.entry.provider_id) or has_role(
        user, Role.BUREAU_ADMIN, Role.EVALUATOR
    )


# --- verification (R-23) ----------------------------------------------------------------------


def can_verify(user: User | None, resource: Resource) -> bool:
    """A consumer department's admin or staff challenges a value of data it can read (R-23.1),
    or records that it proceeded on a citizen's proof (R-23.3). The items it may name are
    those ``decide`` allows."""
    return (
        user is not None
        and user.department_id is not None
        and user.department_id != resource.entry.provider_id
        and has_role(user, Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF)
        and bool(decide_for_user(user, resource))
    )


def can_answer_verification(user: User | None, verification: VerificationRequest) -> bool:
    """The providing department's administrator confirms or corrects."""
    return has_department_role(user, verification.provider_id, Role.DEPARTMENT_ADMIN)


def can_see_verification(user: User | None, verification: VerificationRequest) -> bool:
    """The same parties as a share request: both departments, the bureau, evaluators."""
    return can_see_request(user, verification)


# --- disputes (R-27.1) ------------------------------------------------------------------------


def can_open_dispute(user: User | None, subject: ShareRequest | VerificationRequest) -> bool:
    """Either party's department administrator escalates a rejection or a verification answer."""
    return has_department_role(user, subject.consumer_id, Role.DEPARTMENT_ADMIN) or has_department_role(
        user, subject.provider_id, Role.DEPARTMENT_ADMIN
    )


def can_mediate(user: User | None) -> bool:
    """The bureau decides disputes, and grants or orders corrections by its decision (Art. 27)."""
    return is_bureau_admin(user)


def can_see_dispute(user: User | None, dispute: Dispute) -> bool:
    return (
        has_department_role(user, dispute.raised_by_id)
        or has_department_role(user, dispute.other_party_id)
        or has_role(user, Role.BUREAU_ADMIN, Role.EVALUATOR)
    )


# --- demands (R-4.1) --------------------------------------------------------------------------


def can_raise_demand(user: User | None) -> bool:
    """Department users register their department's data needs."""
    return user is not None and user.department_id is not None and has_role(user, Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF)


def can_route_demand(user: User | None, demand: Demand) -> bool:
    return is_bureau_admin(user)


def can_answer_demand(user: User | None, demand: Demand) -> bool:
    """The administrator of the department the bureau routed the demand to."""
    return has_department_role(user, demand.provider_id, Role.DEPARTMENT_ADMIN)


def can_see_demands(user: User | None) -> bool:
    """The demand board is open to every government user, like the sharing catalog."""
    return can_browse_catalog(user)
