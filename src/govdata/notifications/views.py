"""The inbox: a user's own and their department's messages, unread first."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from govdata.common.actor import Actor

from . import services
from .selectors import inbox_of

PAGE_SIZE = 30


def _safe_link(request, link: str) -> str:
    """Only links into this platform become clickable (never javascript: or foreign hosts)."""
    link = (link or "").strip()
    if link and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}, require_https=False):
        return link
    return ""


def _back(request):
    page = request.POST.get("page", "")
    url = redirect("notifications:inbox").url
    return redirect(f"{url}?page={page}" if page.isdigit() else url)


@login_required
@require_GET
def inbox(request):
    unread_only = request.GET.get("unread") == "1"
    items = inbox_of(request.user).select_related("department")
    if unread_only:
        items = items.filter(read_at=None)
    items = items.annotate(
        read_rank=Case(When(read_at=None, then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("read_rank", "-created_at", "-id")
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    notifications = list(page.object_list)
    for n in notifications:
        n.safe_link = _safe_link(request, n.link)
    return render(
        request,
        "notifications/inbox.html",
        {
            "page": page,
            "notifications": notifications,
            "unread_only": unread_only,
            "unread_total": inbox_of(request.user).filter(read_at=None).count(),
        },
    )


@login_required
@require_POST
def mark_read(request, pk: int):
    notification = inbox_of(request.user).filter(pk=pk).first()
    if notification is None:
        raise Http404(_("No such message in your inbox."))
    services.mark_read(Actor.from_request(request), notification)
    return _back(request)


@login_required
@require_POST
def mark_all_read(request):
    count = services.mark_all_read(Actor.from_request(request))
    if count:
        messages.success(request, _("%(count)d messages marked as read.") % {"count": count})
    return redirect("notifications:inbox")
