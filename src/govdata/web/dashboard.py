"""What the dashboard shows each role (selectors only; no writes)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _

from govdata.notifications.selectors import inbox_of
from govdata.orgs import permissions as perm
from govdata.orgs import selectors as org_selectors


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
    if perm.can_view_contact_report(user):
        attention = [s for s in org_selectors.contact_status(user) if s.needs_attention]
        panels.append(
            Panel(_("Departments with missing or stale contacts"), str(len(attention)), reverse("orgs:contact_report"))
        )
    panels.append(Panel(_("Unread messages"), str(inbox_of(user).filter(read_at=None).count()), reverse("notifications:inbox")))
    return panels
