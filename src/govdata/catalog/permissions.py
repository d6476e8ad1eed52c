"""Who may compile, submit, review and read catalog entries."""

from __future__ import annotations

from govdata.orgs.models import Department, Role, User
from govdata.orgs.permissions import has_department_role, has_role, oversees_department

from .models import CatalogEntry, CatalogImport, EntryVersion


def can_draft(user: User | None, provider: Department) -> bool:
    """Staff compile drafts of their own department's entries (R-11.1)."""
    return has_department_role(user, provider, Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF)


def can_submit(user: User | None, provider: Department) -> bool:
    """Submitting for review commits the department: its admin does it."""
    return has_department_role(user, provider, Role.DEPARTMENT_ADMIN)


def can_review(user: User | None, entry: CatalogEntry) -> bool:
    """The bureau reviews every entry; a region admin the entries of their region (R-12.1)."""
    return oversees_department(user, entry.provider)


def can_read_unpublished(user: User | None, entry: CatalogEntry) -> bool:
    """Drafts stay inside the provider; reviewers see what was submitted to them."""
    if has_department_role(user, entry.provider):
        return True
    working = entry.working
    reviewable = working is not None and working.status in (EntryVersion.Status.SUBMITTED, EntryVersion.Status.RETURNED)
    return reviewable and can_review(user, entry)


def can_read_version(user: User | None, version: EntryVersion) -> bool:
    if version.status in (EntryVersion.Status.PUBLISHED, EntryVersion.Status.SUPERSEDED):
        return can_browse_catalog(user)
    return can_read_unpublished(user, version.entry)


def can_browse_catalog(user: User | None) -> bool:
    """The sharing catalog is for the platform's government users (R-16.1)."""
    return has_role(user, *GOVERNMENT_ROLES)


GOVERNMENT_ROLES = (
    Role.BUREAU_ADMIN,
    Role.REGION_ADMIN,
    Role.EVALUATOR,
    Role.DEPARTMENT_ADMIN,
    Role.DEPARTMENT_STAFF,
    Role.SECURITY_OFFICER,
)


def can_maintain(user: User | None, entry: CatalogEntry) -> bool:
    """Quarterly confirmation of an entry: the provider's admin."""
    return not entry.read_only and can_submit(user, entry.provider)


def can_record_legal_change(user: User | None, entries: list[CatalogEntry]) -> bool:
    """The bureau for any entries; a department admin for its own."""
    if has_role(user, Role.BUREAU_ADMIN):
        return True
    return bool(entries) and all(can_submit(user, entry.provider) for entry in entries)


def can_import_upper_level(user: User | None) -> bool:
    return has_role(user, Role.BUREAU_ADMIN)


def can_view_import(user: User | None, imp: CatalogImport) -> bool:
    """A batch import, its errors and its marked workbook: the uploader (while still compiling
    for that department) and the department's admins. (``selectors.imports_visible_to``.)"""
    if can_submit(user, imp.provider):
        return True
    return user is not None and user.pk == imp.uploaded_by_id and can_draft(user, imp.provider)
