"""``notify``: the one way any app tells people something (inbox, plus e-mail)."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mass_mail
from django.db import transaction

from govdata.audit.services import record
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.orgs.models import Department, Role, User

from .models import Notification
from .selectors import can_read, inbox_of


def _department_admin_emails(department: Department) -> list[str]:
    return list(
        User.objects.filter(department=department, is_active=True, roles__role=Role.DEPARTMENT_ADMIN)
        .exclude(email="")
        .values_list("email", flat=True)
    )


def notify(
    *,
    subject: str,
    body: str = "",
    link: str = "",
    category: str,
    users: Iterable[User] = (),
    departments: Iterable[Department] = (),
) -> list[Notification]:
    """Put a message in each user's and each department's inbox and e-mail it after commit."""
    now = clock.now()
    users, departments = list({u.pk: u for u in users}.values()), list({d.pk: d for d in departments}.values())
    created = Notification.objects.bulk_create(
        [Notification(recipient=u, category=category, subject=subject, body=body, link=link, created_at=now) for u in users]
        + [
            Notification(department=d, category=category, subject=subject, body=body, link=link, created_at=now)
            for d in departments
        ]
    )
    recipients = {u.email for u in users if u.email}
    for department in departments:
        recipients.update(_department_admin_emails(department))
    if recipients:
        messages = [(subject, f"{body}\n\n{link}".strip(), settings.DEFAULT_FROM_EMAIL, [to]) for to in sorted(recipients)]
        # Only after commit: a rolled-back action must not have sent mail about itself.
        transaction.on_commit(lambda: send_mass_mail(messages, fail_silently=True))
    return created


@transaction.atomic
def mark_read(actor: Actor, notification: Notification) -> None:
    if not can_read(actor.user, notification):
        raise PermissionDenied
    # Filtered on read_at so a stale instance or a double click marks (and records) once.
    if Notification.objects.filter(pk=notification.pk, read_at=None).update(read_at=clock.now()):
        # Reading a department's message is reading it for the whole department: record who.
        record(actor, "notifications.read", notification, department=notification.department_id)


@transaction.atomic
def mark_all_read(actor: Actor) -> int:
    """Mark every unread message of the actor's inbox read; returns how many were."""
    if actor.user is None or not actor.user.is_authenticated:
        raise PermissionDenied
    count = inbox_of(actor.user).filter(read_at=None).update(read_at=clock.now())
    if count:
        record(actor, "notifications.read_all", rows=count)
    return count
