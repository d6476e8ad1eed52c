"""What the public may see and read (Art. 28-30), as predicates used by every public route:
the CKAN API now, the portal pages, downloads, the native API and DCAT later.

- A catalog entry is a *dataset* of the open platform when its published version is opened
  unconditionally or on application. Not-open entries are never listed: the public learns of
  them, with their basis for not opening, on the notices page only (R-30.1).
- Its *resources* are its published resources (suspended or unreviewed ones never show).
- *Rows* are read from unconditionally open datasets by anyone (R-29.1); an on-application
  dataset shows its metadata and how to apply, and its rows only to an applicant whose
  application is approved, within the approved period (R-29.2) — which is why every
  predicate takes the user.
- Columns: personal-information columns without a masking rule are never served; every
  masking rule applies, whoever asks.
"""

from __future__ import annotations

import datetime as dt

from govdata.catalog.models import CatalogEntry
from govdata.catalog.vocab import OpenType
from govdata.common import clock
from govdata.datastore import masking
from govdata.datastore.models import Resource, ResourceColumn
from govdata.orgs.models import Role, User
from govdata.orgs.permissions import has_department_role, has_role, is_bureau_admin

from .models import Feedback, OpenApplication

LISTED = (OpenType.UNCONDITIONAL, OpenType.ON_APPLICATION)


def can_see_dataset(user: User | None, entry: CatalogEntry) -> bool:
    return entry.published is not None and entry.published.open_type in LISTED


def can_read_rows(user: User | None, entry: CatalogEntry) -> bool:
    if entry.published is None:
        return False
    open_type = entry.published.open_type
    return open_type == OpenType.UNCONDITIONAL or (
        open_type == OpenType.ON_APPLICATION and holds_approval(user, entry)
    )


def can_see_resource(user: User | None, resource: Resource) -> bool:
    return resource.status == Resource.Status.PUBLISHED and can_see_dataset(user, resource.entry)


def can_read_resource_rows(user: User | None, resource: Resource) -> bool:
    return resource.status == Resource.Status.PUBLISHED and can_read_rows(user, resource.entry)


def is_masked(column: ResourceColumn) -> bool:
    return masking.RULES.get(column.mask) is not None


def column_is_public(column: ResourceColumn) -> bool:
    """A personal-information column is served only through its masking rule."""
    return not column.sensitive or is_masked(column)


# --- applications (R-29.2) ---------------------------------------------------------------------


def is_public_user(user: User | None) -> bool:
    return has_role(user, Role.PUBLIC_USER)


def approval(user: User | None, entry: CatalogEntry, on: dt.date | None = None) -> OpenApplication | None:
    """The approved application of ``user`` for ``entry`` whose period includes ``on``
    (today): the one under which the user reads the rows, and whose purpose every read of
    them is audited with. Of several in force, the one approved last."""
    if user is None or not user.is_authenticated:
        return None
    on = on or clock.today()
    return (
        OpenApplication.objects.filter(
            applicant=user,
            entry=entry,
            status=OpenApplication.Status.APPROVED,
            approved_from__lte=on,
            approved_until__gte=on,
        )
        .order_by("-decided_at", "-pk")
        .first()
    )


def holds_approval(user: User | None, entry: CatalogEntry, on: dt.date | None = None) -> bool:
    """An approved application of ``user`` for ``entry`` whose period includes ``on`` (today)."""
    return approval(user, entry, on) is not None


def can_apply(user: User | None, entry: CatalogEntry) -> bool:
    """Public users apply; departments ask through the sharing platform instead."""
    return is_public_user(user) and can_see_dataset(user, entry)


def can_answer_application(user: User | None, application: OpenApplication) -> bool:
    """The providing department's administrator answers, as for share requests."""
    return has_department_role(user, application.provider_id, Role.DEPARTMENT_ADMIN)


# --- feedback ----------------------------------------------------------------------------------


def can_give_feedback(user: User | None, entry: CatalogEntry | None = None) -> bool:
    """Public users comment on and report errors in the datasets they see, and ask for data
    not open yet (``entry`` None)."""
    return is_public_user(user) and (entry is None or can_see_dataset(user, entry))


def can_moderate(user: User | None, feedback: Feedback) -> bool:
    """The providing department (its administrators and staff) for feedback on a dataset; the
    bureau for data requests."""
    if feedback.entry_id is None:
        return is_bureau_admin(user)
    return has_department_role(user, feedback.entry.provider_id, Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF)
