"""Permission-filtered reads of resources, shared by the pages and the API."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from govdata.catalog.permissions import can_browse_catalog
from govdata.orgs.models import User
from govdata.orgs.permissions import DEPARTMENT_ROLES, has_role, is_bureau_admin

from . import permissions as perm
from .models import DataVersion, FileObject, QuarantinedRow, Resource

PREVIEW_ROWS = 20


def resources_visible_to(user: User | None) -> QuerySet[Resource]:
    """Published resources for every government user; the provider's own in any state; every
    resource for the bureau. The same rule as ``permissions.can_see``, as a query."""
    base = Resource.objects.select_related("entry", "entry__provider", "current_version")
    if is_bureau_admin(user):
        return base.all()
    if not can_browse_catalog(user):
        return base.none()
    scope = Q(status=Resource.Status.PUBLISHED)
    if user.department_id and has_role(user, *DEPARTMENT_ROLES):
        scope |= Q(entry__provider_id=user.department_id)
    return base.filter(scope)


def department_resources(user: User | None) -> QuerySet[Resource]:
    """The resources the user's department provides (their "my data" list)."""
    if user is None or not user.department_id or not has_role(user, *DEPARTMENT_ROLES):
        return Resource.objects.none()
    return resources_visible_to(user).filter(entry__provider_id=user.department_id)


def entry_resources(user: User | None, entry_id: int) -> QuerySet[Resource]:
    return resources_visible_to(user).filter(entry_id=entry_id)


def review_queue(user: User | None) -> QuerySet[Resource]:
    """Resources waiting for the bureau's re-review (复核), oldest first."""
    if not is_bureau_admin(user):
        return Resource.objects.none()
    return (
        Resource.objects.filter(status=Resource.Status.SUBMITTED)
        .select_related("entry", "entry__provider")
        .order_by("submitted_at", "pk")
    )


def get_resource(user: User | None, pk: int) -> Resource:
    """A resource the user may see, or 404: existence is not revealed to those who may not."""
    return get_object_or_404(resources_visible_to(user), pk=pk)


def versions_of(resource: Resource) -> QuerySet[DataVersion]:
    return resource.versions.select_related("loaded_by").order_by("-number")


def get_version(user: User | None, resource: Resource, number: int) -> DataVersion:
    """A load of a resource; its report carries row values, so only row readers get it."""
    if not perm.can_read_rows(user, resource):
        raise Http404
    return get_object_or_404(resource.versions, number=number)


def quarantined_rows(version: DataVersion) -> QuerySet[QuarantinedRow]:
    return version.quarantined.order_by("row_number")


def active_files(resource: Resource) -> QuerySet[FileObject]:
    return resource.files.filter(is_active=True).select_related("uploaded_by").order_by("-uploaded_at")
