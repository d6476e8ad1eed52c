"""Who sees which catalog page in the navigation (added by web.context_processors); the labels
live here so they are translated with the catalog app."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from govdata.orgs.models import Role
from govdata.orgs.permissions import has_department_role, has_role, is_bureau_admin, region_ids_of

from .permissions import can_browse_catalog


def is_department_member(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.department_id) and has_department_role(
        user, user.department_id
    )


def is_reviewer(user) -> bool:
    """The bureau reviews every entry, a region admin those of the region (R-12.1)."""
    return is_bureau_admin(user) or bool(region_ids_of(user))


def is_department_admin(user) -> bool:
    return is_department_member(user) and has_role(user, Role.DEPARTMENT_ADMIN)


def can_view_maintenance(user) -> bool:
    """Quarterly review and legal-change obligations (Art. 15): department admins for their
    own entries, the bureau and region admins for oversight."""
    return is_department_admin(user) or is_reviewer(user)


def nav_items(user) -> list[tuple[str, str]]:
    items = []
    if can_browse_catalog(user):
        items.append((_("Sharing catalog"), reverse("catalog:search")))
    if is_department_member(user):
        items.append((_("Our catalog"), reverse("catalog:mine")))
    if is_reviewer(user):
        items.append((_("Catalog review"), reverse("catalog:review")))
    if can_view_maintenance(user):
        items.append((_("Catalog maintenance"), reverse("catalog:maintenance")))
    return items
