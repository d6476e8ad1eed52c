"""Audit trail pages: the permission-filtered event list and detail, and chain verification
for the bureau (read-only; the verification itself is recorded as an event)."""

from __future__ import annotations

import datetime as dt
import json

from django import forms
from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from govdata.common.actor import Actor
from govdata.common.clock import SHANGHAI
from govdata.orgs import selectors as org_selectors
from govdata.orgs.models import Department
from govdata.orgs.permissions import can_view_audit, is_bureau_admin

from .chain import verify_chain
from .models import AuditEvent
from .selectors import events_visible_to
from .services import record

PAGE_SIZE = 50

# Readable names of the actions recorded so far; any other action shows its code.
ACTION_LABELS = {
    "auth.login": gettext_lazy("Signed in"),
    "auth.login.failed": gettext_lazy("Failed sign-in"),
    "auth.login.refused": gettext_lazy("Sign-in refused (account locked)"),
    "auth.lockout": gettext_lazy("Account locked"),
    "auth.logout": gettext_lazy("Signed out"),
    "audit.verify": gettext_lazy("Audit chain verified"),
    "workdays.override.set": gettext_lazy("Calendar day set"),
    "workdays.override.remove": gettext_lazy("Calendar day removed"),
    "workdays.year.confirm": gettext_lazy("Calendar year confirmed"),
}

VERIFY_REASONS = {
    "missing": gettext_lazy("an event is missing"),
    "out of order": gettext_lazy("events are out of order"),
    "altered": gettext_lazy("an event was altered"),
}


def _text(placeholder=""):
    return forms.TextInput(attrs={"class": "form-control form-control-sm", "placeholder": placeholder})


def _date():
    return forms.DateInput(attrs={"class": "form-control form-control-sm", "type": "date"}, format="%Y-%m-%d")


class EventFilterForm(forms.Form):
    action = forms.CharField(
        label=gettext_lazy("Action starts with"), required=False, max_length=64, widget=_text("auth.")
    )
    actor = forms.CharField(label=gettext_lazy("Actor"), required=False, max_length=150, widget=_text())
    department = forms.TypedChoiceField(
        label=gettext_lazy("Department"),
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    date_from = forms.DateField(label=gettext_lazy("From"), required=False, widget=_date())
    date_to = forms.DateField(label=gettext_lazy("To"), required=False, widget=_date())
    object_type = forms.CharField(
        label=gettext_lazy("Object type"), required=False, max_length=64, widget=_text("workdays.calendaroverride")
    )
    object_id = forms.CharField(label=gettext_lazy("Object id"), required=False, max_length=64, widget=_text())

    def __init__(self, *args, departments: QuerySet[Department], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [("", gettext_lazy("All"))] + [
            (d.pk, d.name) for d in departments.order_by("region__code", "name")
        ]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def apply(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        data = self.cleaned_data
        if data.get("action"):
            events = events.filter(action__startswith=data["action"].strip())
        if data.get("actor"):
            events = events.filter(actor_label__icontains=data["actor"].strip())
        if data.get("department"):
            events = events.filter(department_id=data["department"])
        if data.get("date_from"):
            events = events.filter(occurred_at__gte=dt.datetime.combine(data["date_from"], dt.time.min, SHANGHAI))
        if data.get("date_to"):
            end = data["date_to"] + dt.timedelta(days=1)
            events = events.filter(occurred_at__lt=dt.datetime.combine(end, dt.time.min, SHANGHAI))
        if data.get("object_type"):
            events = events.filter(object_type=data["object_type"].strip().lower())
        if data.get("object_id"):
            events = events.filter(object_id=data["object_id"].strip())
        return events


def _require_audit_reader(request) -> None:
    if not can_view_audit(request.user):
        raise PermissionDenied(_("Only the bureau, region administrators, evaluators and security officers see the audit trail."))


def _object_type_label(object_type: str) -> str:
    if not object_type:
        return ""
    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return object_type


def _department_names(ids: set[int]) -> dict[int, str]:
    # Names only (public identity), for departments already named by visible events.
    return dict(Department.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def _decorate(events: list[AuditEvent]) -> list[AuditEvent]:
    names = _department_names({e.department_id for e in events if e.department_id})
    for e in events:
        e.department_name = names.get(e.department_id, "")
        e.action_label = ACTION_LABELS.get(e.action, "")
        e.object_label = _object_type_label(e.object_type)
    return events


@login_required
@require_GET
def event_list(request):
    _require_audit_reader(request)
    visible = events_visible_to(request.user)
    form = EventFilterForm(request.GET or None, departments=org_selectors.departments_in_scope(request.user))
    events = visible
    if form.is_bound and form.is_valid():
        events = form.apply(events)
    elif form.is_bound:
        events = events.none()
    page = Paginator(events.order_by("-seq"), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "events": _decorate(list(page.object_list)),
        "can_verify": is_bureau_admin(request.user),
    }
    if context["can_verify"]:
        context["last_verification"] = visible.filter(action="audit.verify").order_by("-seq").first()
    return render(request, "audit/events.html", context)


@login_required
@require_GET
def event_detail(request, seq: int):
    _require_audit_reader(request)
    event = events_visible_to(request.user).filter(seq=seq).first()
    if event is None:
        raise Http404(_("No such audit event, or it is outside what you may see."))
    _decorate([event])
    return render(
        request,
        "audit/event_detail.html",
        {
            "event": event,
            "details_json": json.dumps(event.details, ensure_ascii=False, indent=2, sort_keys=True),
        },
    )


@login_required
@require_POST
def verify(request):
    if not is_bureau_admin(request.user):
        raise PermissionDenied(_("Only the city big data bureau verifies the audit chain."))
    result = verify_chain()
    record(
        Actor.from_request(request),
        "audit.verify",
        details={"ok": result.ok, "count": result.count, "first_bad_seq": result.first_bad_seq, "reason": result.reason},
    )
    if result.ok:
        messages.success(request, _("The audit chain is intact: %(count)d events verified.") % {"count": result.count})
    else:
        messages.error(
            request,
            _(
                "The audit chain is broken at sequence number %(seq)d (%(reason)s); "
                "the %(count)d events before it are intact."
            )
            % {
                "seq": result.first_bad_seq,
                "reason": VERIFY_REASONS.get(result.reason, result.reason),
                "count": result.count,
            },
        )
    return redirect("audit:events")
