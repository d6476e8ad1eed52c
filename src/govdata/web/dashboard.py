"""What the dashboard shows each role (selectors only; no writes)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _

from govdata.common import clock
from govdata.datastore import selectors as datastore_selectors
from govdata.datastore.freshness import stale_resources
from govdata.datastore.permissions import can_open_resources
from govdata.notifications.selectors import inbox_of
from govdata.orgs import permissions as perm
from govdata.orgs import selectors as org_selectors
from govdata.orgs.models import Role
from govdata.sharing import selectors as sharing_selectors
from govdata.sharing.models import ShareRequest


@dataclass
class Panel:
    title: str
    value: str
    link: str = ""
    note: str = ""


def dashboard_for(user) -> list[Panel]:
    panels = []
    if user.department_id and perm.has_department_role(user, user.department_id):
        contacts = org_selectors.contacts_visible_to(user).filter(department_id=user.department_id, is_active=True)
        stale = sum(org_selectors.is_stale(c) for c in contacts)
        panels.append(
            Panel(
                _("Filed contacts"),
                str(contacts.count()),
                reverse("orgs:department", args=[user.department_id]),
                _("%(n)d need confirming") % {"n": stale} if stale else "",
            )
        )
        panels.append(
            Panel(
                _("Information systems"),
                str(org_selectors.systems_visible_to(user).filter(department_id=user.department_id).count()),
                reverse("orgs:department", args=[user.department_id]),
            )
        )
    panels += _work_panels(user)
    if perm.can_view_contact_report(user):
        attention = [s for s in org_selectors.contact_status(user) if s.needs_attention]
        panels.append(
            Panel(_("Departments with missing or stale contacts"), str(len(attention)), reverse("orgs:contact_report"))
        )
    panels.append(Panel(_("Unread messages"), str(inbox_of(user).filter(read_at=None).count()), reverse("notifications:inbox")))
    return panels


def _overdue_note(n: int) -> str:
    return _("%(n)d overdue") % {"n": n} if n else ""


def _work_panels(user) -> list[Panel]:
    """What waits on this user's department (or, for the bureau, on the city): requests and
    verifications to answer by their deadlines, data to refresh, resources to re-review."""
    panels = []
    now = clock.now()
    if user.department_id and perm.has_department_role(user, user.department_id):
        waiting = sharing_selectors.requests_received(user).filter(status=ShareRequest.Status.SUBMITTED)
        panels.append(
            Panel(
                _("Share requests to answer"),
                str(waiting.count()),
                reverse("sharing:inbox"),
                _overdue_note(waiting.filter(due_at__lt=now).count()),
            )
        )
        verifications = sharing_selectors.verifications_received(user).filter(
            status__in=sharing_selectors.VERIFICATION_PENDING
        )
        panels.append(
            Panel(
                _("Verification requests to answer"),
                str(verifications.count()),
                reverse("sharing:inbox"),
                _overdue_note(verifications.filter(due_at__lt=now).count()),
            )
        )
    if can_open_resources(user):
        stale = stale_resources(user)
        panels.append(Panel(_("Data resources overdue for an update"), str(len(stale)), reverse("datastore:stale")))
    if perm.has_role(user, Role.BUREAU_ADMIN):
        panels.append(
            Panel(
                _("Resources awaiting re-review"),
                str(datastore_selectors.review_queue(user).count()),
                reverse("datastore:review"),
            )
        )
        panels.append(
            Panel(_("Overdue share requests"), str(sharing_selectors.overdue_requests(user).count()), reverse("sharing:overview"))
        )
    return panels
