"""Who may mount, load, review and read resources."""

from __future__ import annotations

from govdata.catalog.models import CatalogEntry
from govdata.catalog.navigation import is_department_member
from govdata.catalog.permissions import can_browse_catalog
from govdata.orgs.models import Role, User
from govdata.orgs.permissions import has_department_role, is_bureau_admin

from .models import Resource


def can_mount(user: User | None, entry: CatalogEntry) -> bool:
    """Only the provider mounts data under its own entries (Art. 18, 21)."""
    return not entry.read_only and has_department_role(
        user, entry.provider_id, Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF
    )


def can_load(user: User | None, resource: Resource) -> bool:
    return can_mount(user, resource.entry)


def can_submit(user: User | None, resource: Resource) -> bool:
    return has_department_role(user, resource.entry.provider_id, Role.DEPARTMENT_ADMIN)


def can_review(user: User | None, resource: Resource) -> bool:
    """Re-review (复核) is the bureau's alone (Art. 18)."""
    return is_bureau_admin(user)


def can_see(user: User | None, resource: Resource) -> bool:
    """The resource's existence and metadata: the provider, the bureau, and — once published —
    every government user browsing the catalog. Reading its rows is decided by sharing (#5)."""
    if has_department_role(user, resource.entry.provider_id) or is_bureau_admin(user):
        return True
    return resource.status == Resource.Status.PUBLISHED and can_browse_catalog(user)


def can_read_rows(user: User | None, resource: Resource) -> bool:
    """Rows (preview, query, export) for now: the provider and the bureau's reviewers. The
    sharing issue (#5) widens this through grants and unconditional sharing."""
    return has_department_role(user, resource.entry.provider_id) or is_bureau_admin(user)


def can_unmask(user: User | None, resource: Resource) -> bool:
    """Values whole, masking rules off: the provider's own officers only; the bureau always
    reviews masked rows."""
    return can_load(user, resource)


def can_open_resources(user: User | None) -> bool:
    """The "our data resources" page: a department's people for their own, the bureau for all."""
    return is_department_member(user) or is_bureau_admin(user)
