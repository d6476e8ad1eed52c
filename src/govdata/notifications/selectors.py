"""Inbox reads."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from govdata.orgs.models import User
from govdata.orgs.permissions import has_department_role

from .models import Notification


def inbox_of(user: User) -> QuerySet[Notification]:
    """A user's own messages and, for department members, their department's."""
    scope = Q(recipient=user)
    if user.department_id and has_department_role(user, user.department_id):
        scope |= Q(department_id=user.department_id)
    return Notification.objects.filter(scope)


def can_read(user: User | None, notification: Notification) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if notification.recipient_id is not None:
        return notification.recipient_id == user.pk
    return has_department_role(user, notification.department_id)


def unread_count(user: User) -> int:
    return inbox_of(user).filter(read_at=None).count()
