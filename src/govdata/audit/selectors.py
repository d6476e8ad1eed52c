"""Permission-filtered reads of the audit trail."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from govdata.orgs.models import Role, User
from govdata.orgs.permissions import has_role, region_ids_of

from .models import AuditEvent


def events_visible_to(user: User | None) -> QuerySet[AuditEvent]:
    """The bureau and evaluators see every event; a region admin their region's; a security
    officer their own department's."""
    events = AuditEvent.objects.all()
    if has_role(user, Role.BUREAU_ADMIN, Role.EVALUATOR):
        return events
    scope = Q(pk__in=[])
    if has_role(user, Role.REGION_ADMIN):
        scope |= Q(region_id__in=region_ids_of(user))
    if has_role(user, Role.SECURITY_OFFICER) and user.department_id:
        scope |= Q(department_id=user.department_id)
    return events.filter(scope)
