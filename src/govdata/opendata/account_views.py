"""Pages of the public accounts (issue #6, item 5), open on application (R-29.2) and feedback
(item 7), beside the portal at /open/:

- the public's: registration, sign-in and sign-out (the platform's own, landing on the
  portal), the profile with "my applications", the application form of an on-application
  dataset, an application and its answer (with the downloads once approved), the statistics
  of applications and answer times, a dataset's feedback (a fragment the dataset page loads)
  and the board of data requests;
- the departments' and the bureau's: the applications received, with deadlines, answered on
  an application's page; the moderation of feedback.

Thin by rule, as the portal's pages: reads through ``selectors`` and the ``permissions``
predicates, every change through one service with the request's Actor. A service's
ValidationError is shown next to the field it names; PermissionDenied is a 403; an
application the user may not see is a 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from govdata.catalog.models import CatalogEntry
from govdata.catalog.navigation import is_department_member
from govdata.catalog.vocab import OpenType
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.fsm import IllegalTransition
from govdata.datastore import exports
from govdata.datastore.masking import mask_value
from govdata.datastore.models import Mask, Resource
from govdata.notifications.selectors import unread_count
from govdata.orgs.permissions import is_bureau_admin, require
from govdata.workdays.calendar import local_date

from . import permissions as perm
from . import selectors
from .account_forms import ApplicationForm, ApproveForm, DataRequestForm, FeedbackForm, RegisterForm, RejectForm
from .models import Feedback, OpenApplication
from .services import accounts, applications
from .services import feedback as feedback_services
from .templatetags.opendata_tags import dataset_url

Status = OpenApplication.Status
PER_PAGE = 20
PROFILE_APPLICATIONS = 5
PUBLIC_BASE, STAFF_BASE = "opendata/base.html", "web/base.html"

public_login_required = login_required(login_url="open_account:login")


def _manage_tabs(user) -> list[tuple[str, str, str]]:
    """The open-data work of a department (applications, feedback) or of the bureau (data
    requests), as tabs: (url name, label, url)."""
    tabs = []
    if is_department_member(user):
        url = reverse("open_account:manage_applications")
        tabs.append(("manage_applications", gettext_lazy("Applications to us"), url))
    if is_department_member(user) or is_bureau_admin(user):
        tabs.append(("moderation", gettext_lazy("Feedback"), reverse("open_account:moderation")))
    return tabs


def nav_items(user) -> list[tuple[str, str]]:
    """The platform navigation's entry to that work."""
    tabs = _manage_tabs(user)
    return [(gettext_lazy("Open data"), tabs[0][2])] if tabs else []


# --- helpers -------------------------------------------------------------------------------


def _actor(request) -> Actor:
    return Actor.from_request(request)


def _base(user) -> str:
    """The portal's frame for the public, the platform's for government users."""
    return STAFF_BASE if user.is_authenticated and not perm.is_public_user(user) else PUBLIC_BASE


def _dataset(request, name: str) -> CatalogEntry:
    entry = selectors.get_dataset(request.user, name)
    if entry is None:
        raise Http404
    return entry


def _safe_next(request) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    return wanted if url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}) else ""


def _sign_in_url(next_url: str) -> str:
    return f"{reverse('open_account:login')}?{urlencode({'next': next_url})}"


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


@dataclass(frozen=True)
class ApplicationRow:
    """An application as the lists show it: its last day to answer and whether that passed."""

    application: OpenApplication
    due: dt.date
    overdue: bool


def _rows(found) -> list[ApplicationRow]:
    return [ApplicationRow(a, local_date(a.due_at), selectors.is_overdue(a)) for a in found]


# --- accounts ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def register(request):
    """Register as a natural person or as a legal person; signed in at once."""
    next_url = _safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url or "open_account:profile")
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts.register(_actor(request), **form.service_values())
        except ValidationError as error:
            form.show_service_errors(error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome, %(name)s: your account is ready.") % {"name": user})
            return redirect(next_url or "open_account:profile")
    return render(request, "opendata/account/register.html", {"form": form, "next": next_url})


@public_login_required
def profile(request):
    user = request.user
    public = getattr(user, "public_profile", None)
    if public is None:  # a government user: their home is the platform's
        return redirect("web:dashboard")
    return render(
        request,
        "opendata/account/profile.html",
        {
            "public": public,
            "id_number": mask_value(Mask.ID_NUMBER, public.id_number),
            "mobile": mask_value(Mask.MOBILE, user.mobile),
            "rows": _rows(selectors.applications_of(user)[:PROFILE_APPLICATIONS]),
            "unread": unread_count(user),
        },
    )


@public_login_required
def my_applications(request):
    page = Paginator(selectors.applications_of(request.user), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "opendata/account/applications.html", {"page": page, "rows": _rows(page.object_list)})


# --- open on application (R-29.2) ----------------------------------------------------------


@public_login_required
@require_http_methods(["GET", "POST"])
def apply(request, name: str):
    user = request.user
    entry = _dataset(request, name)
    if entry.published.open_type != OpenType.ON_APPLICATION:
        messages.info(request, _("This dataset is open to everyone: no application is needed."))
        return redirect(dataset_url(entry))
    require(
        perm.can_apply(user, entry),
        _("Open data is applied for with a public account; departments ask through the sharing platform."),
    )
    form = ApplicationForm(request.POST or None, initial={"period_start": clock.today()})
    if request.method == "POST" and form.is_valid():
        try:
            application = applications.apply(_actor(request), entry, **form.cleaned_data)
        except ValidationError as error:
            form.show_service_errors(error, name_fields=False)
        else:
            messages.success(
                request,
                _("%(provider)s has received your application and answers by %(due)s at the latest.")
                % {"provider": entry.provider.name, "due": local_date(application.due_at).isoformat()},
            )
            return redirect("open_account:application", pk=application.pk)
    return render(
        request,
        "opendata/account/apply.html",
        {
            "entry": entry,
            "version": entry.published,
            "dataset_url": dataset_url(entry),
            "form": form,
            "earlier": _rows(selectors.applications_of(user).filter(entry=entry)),
            "working_days": applications.ANSWER_WORKING_DAYS,
        },
    )


def _downloads(request, application: OpenApplication) -> list[tuple[Resource, list[tuple[str, str]]]]:
    """The applicant's downloads of the dataset's tables while the approval is in force."""
    user = request.user
    if user.pk != application.applicant_id or not perm.holds_approval(user, application.entry):
        return []
    entry = selectors.get_dataset(user, str(application.entry_id))
    if entry is None:
        return []
    return [
        (resource, [(fmt, reverse("opendata:download", args=[resource.pk, fmt])) for fmt in exports.FORMATS])
        for resource in entry.public_resources
        if resource.kind == Resource.Kind.TABLE
    ]


def _render_application(request, application: OpenApplication, **bound):
    user = request.user
    answering = application.status == Status.SUBMITTED and perm.can_answer_application(user, application)
    context = {
        "base": _base(user),
        "application": application,
        "entry": application.entry,
        "public": getattr(application.applicant, "public_profile", None),
        "row": _rows([application])[0],
        "is_applicant": user.pk == application.applicant_id,
        "downloads": _downloads(request, application),
        "dataset_url": dataset_url(application.entry),
        "working_days": applications.ANSWER_WORKING_DAYS,
        "approve_form": bound.get("approve_form") or (ApproveForm() if answering else None),
        "reject_form": bound.get("reject_form") or (RejectForm() if answering else None),
    }
    if not context["is_applicant"] and context["public"] is not None:
        context["id_number"] = mask_value(Mask.ID_NUMBER, context["public"].id_number)
    return render(request, "opendata/account/application.html", context)


@login_required(login_url="open_account:login")
def application(request, pk: int):
    return _render_application(request, selectors.get_application(request.user, pk))


def _answer(request, pk: int, form_class, name: str, action, success: str):
    found = selectors.get_application(request.user, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            action(_actor(request), found, **form.cleaned_data)
        except ValidationError as error:
            form.show_service_errors(error, name_fields=False)
        except IllegalTransition:
            found.refresh_from_db()
            messages.error(
                request,
                _("This application is “%(state)s” now; the page has been refreshed.")
                % {"state": found.get_status_display()},
            )
            return redirect("open_account:application", pk=found.pk)
        else:
            messages.success(request, success)
            return redirect("open_account:application", pk=found.pk)
    return _render_application(request, found, **{name: form})


@login_required
@require_POST
def approve(request, pk: int):
    return _answer(
        request, pk, ApproveForm, "approve_form", applications.approve, _("Approved; the applicant has been told.")
    )


@login_required
@require_POST
def reject(request, pk: int):
    told = _("Refused; the applicant has been told the reasons.")
    return _answer(request, pk, RejectForm, "reject_form", applications.reject, told)


@login_required
def manage_applications(request):
    """The department's applications: those awaiting an answer by deadline, then the answered."""
    user = request.user
    require(is_department_member(user))
    received = selectors.applications_received(user)
    answered = Paginator(received.exclude(status=Status.SUBMITTED).order_by("-decided_at", "-pk"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "opendata/account/manage_applications.html",
        {
            "waiting": _rows(received.filter(status=Status.SUBMITTED)),
            "page": answered,
            "answered": _rows(answered.object_list),
            "working_days": applications.ANSWER_WORKING_DAYS,
            "tabs": _manage_tabs(user),
        },
    )


@require_safe
def application_stats(request):
    return render(request, "opendata/account/stats.html", {"stats": selectors.application_stats()})


# --- feedback ------------------------------------------------------------------------------

FEEDBACK_SENT = {
    Feedback.Kind.COMMENT: gettext_lazy("Thank you: your comment appears here once the department has checked it."),
    Feedback.Kind.ERROR_REPORT: gettext_lazy("Thank you: your error report has been sent to the providing department."),
}


def _give_feedback(actor: Actor, entry: CatalogEntry, data: dict[str, Any]) -> Feedback:
    if data["kind"] == Feedback.Kind.COMMENT:
        return feedback_services.comment(actor, entry, rating=data["rating"], body=data["body"])
    return feedback_services.report_error(actor, entry, title=data["title"], body=data["body"])


@require_http_methods(["GET", "POST"])
def feedback(request, name: str):
    """A dataset's published feedback with the department's answers, and the form: the
    fragment alone for htmx (the dataset page loads it), else a page of its own."""
    user = request.user
    entry = _dataset(request, name)
    here = reverse("open_account:feedback", args=[selectors.dataset_name(entry)])
    if request.method == "POST" and not user.is_authenticated:
        return redirect(_sign_in_url(dataset_url(entry)))
    allowed = perm.can_give_feedback(user, entry)
    form = FeedbackForm(request.POST or None) if allowed else None
    sent = ""
    if request.method == "POST":
        require(allowed)
        if form.is_valid():
            try:
                given = _give_feedback(_actor(request), entry, form.cleaned_data)
            except ValidationError as error:
                form.show_service_errors(error, name_fields=False)
            else:
                sent = FEEDBACK_SENT[given.kind]
                if not _is_htmx(request):
                    messages.success(request, sent)
                    return redirect(here)
                form = FeedbackForm()
    context = {
        "entry": entry,
        "items": selectors.public_feedback(entry),
        "rating": selectors.rating_of(entry),
        "form": form,
        "sent": sent,
        "here": here,
        "sign_in_url": _sign_in_url(dataset_url(entry)),
        "dataset_url": dataset_url(entry),
    }
    template = "opendata/account/_feedback.html" if _is_htmx(request) else "opendata/account/feedback.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
def data_requests(request):
    """The board of data requests for data not open yet, with the bureau's answers."""
    user = request.user
    here = reverse("open_account:data_requests")
    if request.method == "POST" and not user.is_authenticated:
        return redirect(_sign_in_url(here))
    allowed = perm.can_give_feedback(user)
    form = DataRequestForm(request.POST or None) if allowed else None
    if request.method == "POST":
        require(allowed)
        if form.is_valid():
            try:
                feedback_services.request_data(_actor(request), **form.cleaned_data)
            except ValidationError as error:
                form.show_service_errors(error, name_fields=False)
            else:
                messages.success(request, _("Thank you: the bureau publishes your request here with its answer."))
                return redirect(here)
    page = Paginator(selectors.data_request_board(), PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request, "opendata/account/data_requests.html", {"page": page, "form": form, "sign_in_url": _sign_in_url(here)}
    )


@login_required
def moderation(request):
    """Feedback on the department's datasets (the bureau: data requests), awaiting moderation
    first, each with its publish/hide actions and answer."""
    user = request.user
    require(is_department_member(user) or is_bureau_admin(user))
    page = Paginator(selectors.feedback_to_moderate(user), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "opendata/account/moderation.html", {"page": page, "tabs": _manage_tabs(user)})


def _moderated(request, pk: int) -> Feedback:
    return get_object_or_404(selectors.feedback_to_moderate(request.user), pk=pk)


def _back_to_moderation(request, item: Feedback):
    return redirect(f"{reverse('open_account:moderation')}?page={request.POST.get('page', 1)}#feedback-{item.pk}")


@login_required
@require_POST
def moderate(request, pk: int, action: str):
    item = _moderated(request, pk)
    try:
        feedback_services.moderate(_actor(request), item, action)
    except IllegalTransition:
        item.refresh_from_db()
        messages.error(request, _("This item is “%(state)s” already.") % {"state": item.get_status_display()})
    return _back_to_moderation(request, item)


@login_required
@require_POST
def answer(request, pk: int):
    item = _moderated(request, pk)
    try:
        feedback_services.answer(_actor(request), item, text=request.POST.get("answer", ""))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The answer has been saved."))
    return _back_to_moderation(request, item)
