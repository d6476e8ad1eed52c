"""Who may do what with organisations and people, as predicates.

Scope rules (R-5.1, R-6.1, R-6.2): the bureau acts city-wide, a region admin within their
region, department roles within their own department. Evaluators read city-wide and never
write. Every predicate takes the acting user (possibly anonymous) and returns a bool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .models import ROLE_SCOPE, Department, Region, Role, User

if TYPE_CHECKING:
    from govdata.common.actor import Actor

DEPARTMENT_ROLES = frozenset(r for r, scope in ROLE_SCOPE.items() if scope == "department")


def roles_of(user: User | None) -> frozenset[str]:
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_govdata_roles", None)
    if cached is None:
        cached = frozenset(user.roles.values_list("role", flat=True))
        user._govdata_roles = cached
    return cached


def region_ids_of(user: User | None) -> frozenset[int]:
    """Regions a region admin administers."""
    if Role.REGION_ADMIN not in roles_of(user):
        return frozenset()
    cached = getattr(user, "_govdata_region_ids", None)
    if cached is None:
        cached = frozenset(user.roles.filter(role=Role.REGION_ADMIN).values_list("region_id", flat=True))
        user._govdata_region_ids = cached
    return cached


def has_role(user: User | None, *roles: str) -> bool:
    return not roles_of(user).isdisjoint(roles)


def is_bureau_admin(user: User | None) -> bool:
    return has_role(user, Role.BUREAU_ADMIN)


def has_department_role(user: User | None, department: Department | int | None, *roles: str) -> bool:
    """True when the user holds one of ``roles`` (default: any department role) in ``department``."""
    if department is None or user is None or not user.is_authenticated:
        return False
    department_id = department if isinstance(department, int) else department.pk
    return user.department_id == department_id and has_role(user, *(roles or DEPARTMENT_ROLES))


def oversees_region(user: User | None, region: Region | int) -> bool:
    region_id = region if isinstance(region, int) else region.pk
    return is_bureau_admin(user) or region_id in region_ids_of(user)


def oversees_department(user: User | None, department: Department) -> bool:
    """The bureau, or the admin of the department's region (R-6.1)."""
    return oversees_region(user, department.region_id)


def can_view_department(user: User | None, department: Department) -> bool:
    return (
        oversees_department(user, department)
        or has_role(user, Role.EVALUATOR)
        or has_department_role(user, department)
    )


def can_create_department(user: User | None, region: Region) -> bool:
    return oversees_region(user, region)


def can_edit_department(user: User | None, department: Department) -> bool:
    return oversees_department(user, department)


def can_manage_department_records(user: User | None, department: Department) -> bool:
    """Contacts and information systems: the department's admin, or its overseers."""
    return has_department_role(user, department, Role.DEPARTMENT_ADMIN) or oversees_department(user, department)


def can_manage_users(user: User | None, department: Department) -> bool:
    return can_manage_department_records(user, department)


def can_manage_user(user: User | None, target: User) -> bool:
    """Activate or deactivate an account: never one's own, never above one's scope."""
    if user is None or user.pk == target.pk:
        return False
    if is_bureau_admin(user):
        return True
    # The target's assigned roles, not roles_of(): that is empty for a deactivated account,
    # which would let a department admin reactivate a bureau or region admin.
    return (
        target.department is not None
        and can_manage_users(user, target.department)
        and {assignment.role for assignment in target.roles.all()} <= DEPARTMENT_ROLES
    )


def can_grant_role(user: User | None, role: str, *, department: Department | None, region: Region | None) -> bool:
    """Roles are granted downwards only: no one creates a peer above their own scope."""
    if is_bureau_admin(user):
        return True
    if role in DEPARTMENT_ROLES and department is not None:
        return can_manage_users(user, department)
    return False


def can_view_contact_report(user: User | None) -> bool:
    return is_bureau_admin(user) or has_role(user, Role.REGION_ADMIN, Role.EVALUATOR)


def can_manage_calendar(user: User | None) -> bool:
    return is_bureau_admin(user)


def can_view_audit(user: User | None) -> bool:
    return has_role(user, Role.BUREAU_ADMIN, Role.EVALUATOR, Role.REGION_ADMIN, Role.SECURITY_OFFICER)


def can_use_admin_site(user: User | None) -> bool:
    """The Django admin is a bureau superuser's tool only."""
    return bool(user and user.is_active and user.is_superuser and is_bureau_admin(user))


def check(actor: Actor, predicate: Callable[..., bool], *args: Any, **kwargs: Any) -> None:
    """Refuse unless ``predicate(actor.user, ...)`` holds; the platform itself (CLI, jobs,
    demo loader) acts with full authority."""
    require(actor.system or predicate(actor.user, *args, **kwargs))


def require(allowed: bool, message: str | None = None) -> None:
    if not allowed:
        raise PermissionDenied(message or _("You do not have permission to do this."))
