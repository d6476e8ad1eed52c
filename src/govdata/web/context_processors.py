"""The navigation each role sees: only what it can do."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from govdata.catalog.navigation import nav_items as catalog_nav_items
from govdata.datastore.permissions import can_open_resources
from govdata.notifications.selectors import unread_count
from govdata.opendata.account_views import nav_items as open_nav_items
from govdata.orgs import permissions as perm
from govdata.orgs.models import Role
from govdata.sharing.views import home_url as sharing_home_url


def nav_items(user) -> list[tuple[str, str]]:
    items = [(_("Dashboard"), reverse("web:dashboard"))]
    items += catalog_nav_items(user)
    if can_open_resources(user):
        items.append((_("Data resources"), reverse("datastore:mine")))
    sharing_home = sharing_home_url(user)
    if sharing_home:
        items.append((_("Data sharing"), sharing_home))
    items += open_nav_items(user)
    if user.department_id and perm.has_department_role(user, user.department_id):
        items.append((_("My department"), reverse("orgs:department", args=[user.department_id])))
    if perm.has_role(user, Role.BUREAU_ADMIN, Role.REGION_ADMIN, Role.EVALUATOR):
        items.append((_("Departments"), reverse("orgs:departments")))
    if perm.can_view_contact_report(user):
        items.append((_("Contact filing"), reverse("orgs:contact_report")))
    if perm.can_view_audit(user):
        items.append((_("Audit trail"), reverse("audit:events")))
    items.append((_("Working-day calendar"), reverse("workdays:calendar")))
    return items


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_items": nav_items(user), "unread_notifications": unread_count(user)}
