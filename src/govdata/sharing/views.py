"""Sharing pages (Chapter 3; R-20.1, R-20.2, R-22.1, R-17.1): the share request from a catalog
entry, the provider's inbox with its deadlines, a request and its answer, the consumer's
requests and grants with the usage undertaking, using shared data (rows read through
``services.access``, never any other way), the access log of a resource, and the bureau's
overview of overdue requests and answer times.

Thin by rule, as the catalog's and the datastore's pages: reads go through ``selectors`` and
the permission predicates, every change through one service with the request's Actor. A
service's ValidationError is shown next to the field it names; PermissionDenied is a 403 (for
data, a page giving the reason); a request or grant the user may not see is a 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from govdata.catalog import selectors as catalog_selectors
from govdata.catalog.models import CatalogEntry
from govdata.catalog.navigation import is_department_member
from govdata.catalog.vocab import ShareType
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.fsm import IllegalTransition
from govdata.datastore import exports, query
from govdata.datastore import selectors as datastore_selectors
from govdata.datastore.models import Resource
from govdata.orgs.models import Department, InformationSystem, Role
from govdata.orgs.permissions import has_department_role, has_role, require
from govdata.workdays.calendar import local_date

from . import permissions as perm
from . import selectors
from .forms import ApproveForm, RejectForm, RenewForm, RequestForm, RevokeForm, UseDataForm
from .models import Grant, ShareRequest
from .services import access
from .services import requests as sharing

Status = ShareRequest.Status
PER_PAGE = 50


def can_oversee(user) -> bool:
    """The bureau's overview: the bureau and evaluators."""
    return has_role(user, Role.BUREAU_ADMIN, Role.EVALUATOR)


def home_url(user) -> str | None:
    """Where the navigation's sharing entry leads this user, if anywhere."""
    if is_department_member(user):
        return reverse("sharing:inbox")
    if can_oversee(user):
        return reverse("sharing:overview")
    return None


# --- helpers -------------------------------------------------------------------------------


def _tabs(user) -> list[tuple[str, str, str]]:
    """The sharing lists this user has, as tabs: (key, label, url)."""
    tabs = []
    if is_department_member(user):
        tabs += [
            ("inbox", _("Requests to us"), reverse("sharing:inbox")),
            ("requests", _("Our requests"), reverse("sharing:requests")),
        ]
    tabs.append(("grants", _("Grants"), reverse("sharing:grants")))
    if can_oversee(user):
        tabs.append(("overview", _("Overview"), reverse("sharing:overview")))
    return tabs


def _actor(request) -> Actor:
    return Actor.from_request(request)


def _service_error(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _request_url(share_request: ShareRequest) -> str:
    return reverse("sharing:request", args=[share_request.pk])


def _grant_url(grant: Grant) -> str:
    return reverse("sharing:grant", args=[grant.pk])


def _item_names(entry: CatalogEntry) -> dict[str, str]:
    """Item codes to names, from the entry's published version (requests store codes)."""
    return {item.code: item.name for item in entry.published.items.all()} if entry.published else {}


def _named(codes: list[str], names: dict[str, str]) -> list[tuple[str, str]]:
    return [(code, names.get(code, "")) for code in codes]


def _asked(share_request: ShareRequest) -> list[tuple[str, str]]:
    return _named(share_request.items, _item_names(share_request.entry))


def _usable_tables(user, entry: CatalogEntry):
    """The published table resources of an entry, whose rows are used through the data page."""
    return datastore_selectors.entry_resources(user, entry.pk).filter(
        kind=Resource.Kind.TABLE, status=Resource.Status.PUBLISHED
    )


@dataclass(frozen=True)
class RequestRow:
    """A request as the lists show it: its last day to answer and whether that has passed."""

    request: ShareRequest
    due: dt.date
    overdue: bool


def _with_deadlines(user, share_requests) -> list[RequestRow]:
    overdue = set(selectors.overdue_requests(user).values_list("pk", flat=True))
    return [RequestRow(r, local_date(r.due_at), r.pk in overdue) for r in share_requests]


GRANT_STATES = {
    "revoked": gettext_lazy("Revoked"),
    "expired": gettext_lazy("Expired"),
    "awaiting": gettext_lazy("Awaiting undertaking"),
    "scheduled": gettext_lazy("Not yet in force"),
    "active": gettext_lazy("Active"),
}


def grant_state(grant: Grant, today: dt.date) -> str:
    """What the grant allows today, as ``permissions.active_grants`` decides it."""
    if grant.revoked_at is not None:
        return "revoked"
    if grant.valid_until < today:
        return "expired"
    if grant.accepted_at is None:
        return "awaiting"
    if grant.valid_from > today:
        return "scheduled"
    return "active"


@dataclass(frozen=True)
class GrantRow:
    grant: Grant
    state: str

    @property
    def state_label(self) -> str:
        return GRANT_STATES[self.state]


def _grant_rows(grants) -> list[GrantRow]:
    today = clock.today()
    return [GrantRow(g, grant_state(g, today)) for g in grants]


# --- the request form (R-20.2) -------------------------------------------------------------


@login_required
def request_new(request, entry_pk: int):
    """Ask for a conditional entry of another department. For an unconditional entry the page
    says no request is needed and leads to the data; for one not shared, it gives the basis."""
    user = request.user
    entry = get_object_or_404(catalog_selectors.entries_visible_to(user), pk=entry_pk, published__isnull=False)
    require(perm.can_request(user, entry))
    version = entry.published
    context: dict[str, Any] = {
        "entry": entry,
        "version": version,
        "earlier": _with_deadlines(user, selectors.requests_made(user).filter(entry=entry)),
    }
    if version.share_type != ShareType.CONDITIONAL:
        context["resources"] = _usable_tables(user, entry)
        return render(request, "sharing/request_form.html", context)
    items = list(version.items.all())
    systems = InformationSystem.objects.filter(department_id=user.department_id, is_active=True)
    form = RequestForm(
        request.POST or None,
        items=[(i.code, i.name) for i in items],
        systems=systems,
        initial={"period_start": clock.today()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            share_request = sharing.submit_request(_actor(request), entry, **form.cleaned_data)
        except ValidationError as error:
            form.show_service_errors(error, name_fields=False)
        else:
            messages.success(
                request,
                _("The request has been sent to %(provider)s; the answer is due by %(due)s.")
                % {"provider": entry.provider.name, "due": local_date(share_request.due_at).isoformat()},
            )
            return redirect(_request_url(share_request))
    context.update(form=form, sensitive={i.code for i in items if i.sensitive}, has_systems=systems.exists())
    return render(request, "sharing/request_form.html", context)


# --- inbox and my requests -----------------------------------------------------------------


@login_required
def inbox(request):
    """Requests to our department: those awaiting an answer by deadline, then the answered."""
    user = request.user
    require(is_department_member(user))
    received = selectors.requests_received(user)
    waiting = received.filter(status=Status.SUBMITTED).order_by("due_at", "pk")
    answered = Paginator(
        received.exclude(status=Status.SUBMITTED).order_by("-decided_at", "-pk"), PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "sharing/inbox.html",
        {
            "waiting": _with_deadlines(user, waiting),
            "page": answered,
            "answered": _with_deadlines(user, answered.object_list),
            "tabs": _tabs(user),
            "tab": "inbox",
        },
    )


@login_required
def requests_made(request):
    user = request.user
    require(is_department_member(user))
    page = Paginator(selectors.requests_made(user), PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "sharing/requests.html",
        {"page": page, "rows": _with_deadlines(user, page.object_list), "tabs": _tabs(user), "tab": "requests"},
    )


# --- a request and its answer --------------------------------------------------------------


def _request_context(request, share_request: ShareRequest, **bound) -> dict[str, Any]:
    """Everything the request page shows this user; ``bound`` holds forms posted with errors."""
    user = request.user
    waiting = share_request.status == Status.SUBMITTED
    answering = waiting and perm.can_answer(user, share_request)
    asked = _asked(share_request)
    return {
        "share_request": share_request,
        "entry": share_request.entry,
        "row": _with_deadlines(user, [share_request])[0],
        "items": asked,
        "approved_items": _named(share_request.approved_items, dict(asked)),
        "grant": selectors.grants_visible_to(user).filter(request=share_request).first(),
        "approve_form": bound.get("approve_form") or (ApproveForm(items=asked) if answering else None),
        "reject_form": bound.get("reject_form") or (RejectForm() if answering else None),
        "can_withdraw": waiting and perm.can_withdraw(user, share_request),
    }


def _render_request(request, share_request: ShareRequest, **bound):
    return render(request, "sharing/request_detail.html", _request_context(request, share_request, **bound))


@login_required
def request_detail(request, pk: int):
    return _render_request(request, selectors.get_request(request.user, pk))


def _illegal(request, share_request: ShareRequest) -> None:
    messages.error(
        request,
        _("This request is “%(state)s” now; the page has been refreshed.") % {"state": share_request.get_status_display()},
    )


def _answer(request, pk: int, make_form, name: str, action, success: str):
    share_request = selectors.get_request(request.user, pk)
    form = make_form(share_request)
    if form.is_valid():
        try:
            action(_actor(request), share_request, **form.cleaned_data)
        except ValidationError as error:
            form.show_service_errors(error, name_fields=False)
        except IllegalTransition:
            share_request.refresh_from_db()
            _illegal(request, share_request)
            return redirect(_request_url(share_request))
        else:
            messages.success(request, success)
            return redirect(_request_url(share_request))
    return _render_request(request, share_request, **{name: form})


@login_required
@require_POST
def request_approve(request, pk: int):
    return _answer(
        request,
        pk,
        lambda share_request: ApproveForm(request.POST, items=_asked(share_request)),
        "approve_form",
        sharing.approve,
        _("Approved; the grant is usable once the requesting department gives the usage undertaking."),
    )


@login_required
@require_POST
def request_reject(request, pk: int):
    return _answer(
        request,
        pk,
        lambda share_request: RejectForm(request.POST),
        "reject_form",
        sharing.reject,
        _("Rejected; the requesting department is told the basis."),
    )


@login_required
@require_POST
def request_withdraw(request, pk: int):
    share_request = selectors.get_request(request.user, pk)
    try:
        sharing.withdraw(_actor(request), share_request)
    except IllegalTransition:
        share_request.refresh_from_db()
        _illegal(request, share_request)
    else:
        messages.success(request, _("The request has been withdrawn."))
    return redirect(_request_url(share_request))


# --- grants and the usage undertaking (R-22.1) ---------------------------------------------

GRANT_SIDES = (
    ("received", gettext_lazy("Granted to us")),
    ("given", gettext_lazy("Granted by us")),
)


@login_required
def grants(request):
    """A department's grants, received or given; the bureau and evaluators see all."""
    user = request.user
    visible = selectors.grants_visible_to(user)
    side = ""
    if is_department_member(user):
        side = request.GET.get("side") if request.GET.get("side") in dict(GRANT_SIDES) else "received"
        visible = (
            visible.filter(consumer_id=user.department_id)
            if side == "received"
            else visible.filter(entry__provider_id=user.department_id)
        )
    else:
        require(can_oversee(user))
    page = Paginator(visible, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "sharing/grants.html",
        {
            "page": page,
            "rows": _grant_rows(page.object_list),
            "side": side,
            "sides": GRANT_SIDES,
            "tabs": _tabs(user),
            "tab": "grants",
        },
    )


def _grant_context(request, grant: Grant, **bound) -> dict[str, Any]:
    user = request.user
    state = grant_state(grant, clock.today())
    live = state != "revoked"
    tables = list(_usable_tables(user, grant.entry))
    return {
        "grant": grant,
        "row": GrantRow(grant, state),
        "items": _named(grant.items, _item_names(grant.entry)),
        "undertaking": grant.undertaking or sharing.UNDERTAKING,
        "can_accept": state == "awaiting" and perm.can_accept(user, grant),
        "renew_form": bound.get("renew_form") or (RenewForm() if live and perm.can_renew(user, grant) else None),
        "revoke_form": bound.get("revoke_form") or (RevokeForm() if live and perm.can_revoke(user, grant) else None),
        "resources": tables if has_department_role(user, grant.consumer_id) else [],
        "log_resources": [r for r in tables if perm.can_see_access_log(user, r)],
        "renewals": _with_deadlines(user, selectors.requests_visible_to(user).filter(renewal_of=grant)),
    }


def _render_grant(request, grant: Grant, **bound):
    return render(request, "sharing/grant_detail.html", _grant_context(request, grant, **bound))


@login_required
def grant_detail(request, pk: int):
    return _render_grant(request, selectors.get_grant(request.user, pk))


@login_required
@require_POST
def grant_accept(request, pk: int):
    grant = selectors.get_grant(request.user, pk)
    try:
        sharing.accept_grant(_actor(request), grant)
    except ValidationError as error:
        _service_error(request, error)
    else:
        messages.success(request, _("The undertaking has been recorded; the data can be used from now on."))
    return redirect(_grant_url(grant))


@login_required
@require_POST
def grant_renew(request, pk: int):
    grant = selectors.get_grant(request.user, pk)
    form = RenewForm(request.POST)
    if form.is_valid():
        try:
            renewal = sharing.renew(_actor(request), grant, **form.service_values())
        except ValidationError as error:
            form.show_service_errors(error, name_fields=False)
        else:
            messages.success(request, _("The renewal has been sent to the provider as a new request."))
            return redirect(_request_url(renewal))
    return _render_grant(request, grant, renew_form=form)


@login_required
@require_POST
def grant_revoke(request, pk: int):
    grant = selectors.get_grant(request.user, pk)
    form = RevokeForm(request.POST)
    if form.is_valid():
        try:
            sharing.revoke(_actor(request), grant, **form.cleaned_data)
        except ValidationError as error:
            form.show_service_errors(error, name_fields=False)
        else:
            messages.success(request, _("The grant has been revoked; it no longer works."))
            return redirect(_grant_url(grant))
    return _render_grant(request, grant, revoke_form=form)


# --- using shared data (R-20.1, R-20.2, R-22.1) --------------------------------------------


def _table(request, pk: int) -> Resource:
    resource = datastore_selectors.get_resource(request.user, pk)
    if resource.kind != Resource.Kind.TABLE:
        raise Http404
    return resource


@dataclass
class DataRequest:
    """One read asked for on the data page: the access decision it is made under, the form,
    and — when there is something to read — the engine's parameters and the stated purpose."""

    decision: perm.Access
    form: UseDataForm
    ready: bool
    params: dict[str, str]
    purpose: str


def _data_request(request, resource: Resource) -> DataRequest:
    decision = perm.decide_for_user(request.user, resource)
    columns = resource.columns.order_by("position")
    if decision.items is not None:
        columns = columns.filter(code__in=decision.items)
    form = UseDataForm(
        request.GET or None, columns=[(c.code, c.name) for c in columns], purpose_fixed=decision.grant is not None
    )
    if not decision:
        # Read all the same: the access service records the refusal and gives its reason.
        return DataRequest(decision, form, True, {}, request.GET.get("purpose", ""))
    if not form.is_bound:
        # A grant's reads need nothing more than the grant; other reads wait for a purpose.
        return DataRequest(decision, form, decision.grant is not None, {}, "")
    if not form.is_valid():
        return DataRequest(decision, form, False, {}, "")
    return DataRequest(decision, form, True, form.params(), form.stated_purpose())


def _refused(request, resource: Resource, refusal: PermissionDenied):
    entry = resource.entry
    return render(
        request,
        "sharing/refused.html",
        {
            "resource": resource,
            "entry": entry,
            "reason": str(refusal),
            "can_request": entry.published is not None
            and entry.published.share_type == ShareType.CONDITIONAL
            and perm.can_request(request.user, entry),
        },
        status=403,
    )


@login_required
def use_data(request, pk: int):
    """A page of rows, projected to the items the reader may use and masked, read for the
    stated (or the grant's) purpose; paged by the engine's cursor."""
    resource = _table(request, pk)
    wanted = _data_request(request, resource)
    result = rows = None
    if wanted.ready:
        cursor = request.GET.get("cursor")
        params = {**wanted.params, **({"cursor": cursor} if cursor else {})}
        try:
            result = access.read_rows(access.reader_for(_actor(request)), resource, params, purpose=wanted.purpose)
        except PermissionDenied as refusal:
            return _refused(request, resource, refusal)
        except ValidationError as error:
            wanted.form.show_service_errors(error, name_fields=False)
        else:
            rows = [[query.as_text(f.data_type, row[f.code]) for f in result.fields] for row in result.rows]
    return render(
        request,
        "sharing/use_data.html",
        {
            "resource": resource,
            "entry": resource.entry,
            "grant": wanted.decision.grant,
            "own": resource.entry.provider_id == request.user.department_id,
            "form": wanted.form,
            "result": result,
            "rows": rows,
            "paged": "cursor" in request.GET,
            "export_formats": exports.FORMATS,
            "can_see_log": perm.can_see_access_log(request.user, resource),
        },
    )


@login_required
def export(request, pk: int):
    """Every row the data page would show, streamed; audited once the last row is out."""
    resource = _table(request, pk)
    wanted = _data_request(request, resource)
    back = reverse("sharing:data", args=[resource.pk])
    if not wanted.ready:
        messages.error(request, _("State the purpose of this use of the data before exporting."))
        return redirect(f"{back}?{request.GET.urlencode()}")
    try:
        stream = access.export_rows(
            access.reader_for(_actor(request)), resource, wanted.params, purpose=wanted.purpose,
            fmt=request.GET.get("format", "csv"),
        )
    except PermissionDenied as refusal:
        return _refused(request, resource, refusal)
    except ValidationError as error:
        _service_error(request, error)
        return redirect(f"{back}?{request.GET.urlencode()}")
    return exports.streaming_response(stream, filename=f"{resource.name}-{clock.today():%Y%m%d}")


# --- the access log of a resource (R-22.1) -------------------------------------------------

ACTION_LABELS = {
    "sharing.read": gettext_lazy("Read"),
    "sharing.export": gettext_lazy("Export"),
    "opendata.read": gettext_lazy("Read on an open-data application"),
    "opendata.export": gettext_lazy("Download on an open-data application"),
}


@dataclass(frozen=True)
class LogRow:
    event: Any
    department: Department | None

    @property
    def label(self) -> str:
        action = self.event.action
        if action.startswith("sharing.gateway."):
            return _("Gateway call")
        return str(ACTION_LABELS.get(action, action))

    @property
    def items(self) -> str:
        return ", ".join(self.event.details.get("items") or ())

    @property
    def allowed(self) -> bool:
        return self.event.details.get("outcome") != "refused"


@login_required
def access_log(request, pk: int):
    user = request.user
    resource = datastore_selectors.get_resource(user, pk)
    require(perm.can_see_access_log(user, resource))
    page = Paginator(selectors.access_log(resource), PER_PAGE).get_page(request.GET.get("page"))
    departments = Department.objects.in_bulk({e.department_id for e in page.object_list if e.department_id})
    # An open-data read is filed under the provider (whose officers review it), not under a
    # using department: its user is a member of the public.
    rows = [
        LogRow(e, departments.get(e.department_id) if e.action.startswith("sharing.") else None)
        for e in page.object_list
    ]
    return render(
        request, "sharing/access_log.html", {"resource": resource, "entry": resource.entry, "page": page, "rows": rows}
    )


# --- the bureau's overview -----------------------------------------------------------------


@login_required
def overview(request):
    user = request.user
    require(can_oversee(user))
    return render(
        request,
        "sharing/overview.html",
        {
            "overdue": _with_deadlines(user, selectors.overdue_requests(user)),
            "records": selectors.answer_records(user),
            "tabs": _tabs(user),
            "tab": "overview",
        },
    )
