"""Datastore pages (Art. 18, 21; R-3.1, R-18.1, R-21.1): the department's data resources,
mounting under a published catalog entry, the resource page (re-review workflow, columns and
their rules, loads followed by a progress bar, load history and validation reports, a masked
preview and exports, files, the upstream interface, the upper-level feed), and the bureau's
re-review queue and list of stale resources.

Thin by rule, as the catalog's pages: reads go through ``selectors``, ``freshness``, ``query``
and the permission predicates, every change through one service with the request's Actor. A
service's ValidationError is shown next to the field it names; PermissionDenied is a 403; a
resource the user may not see is a 404 (``selectors.get_resource``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from govdata.catalog import selectors as catalog_selectors
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.fsm import IllegalTransition, allowed_actions
from govdata.orgs.permissions import is_bureau_admin, require

from . import exports, query, selectors, services
from . import permissions as perm
from .forms import (
    ApiForm,
    ColumnRulesForm,
    FeedForm,
    FileReplaceForm,
    FileUploadForm,
    LoadForm,
    MountForm,
    ReasonForm,
    WithdrawForm,
)
from .freshness import freshness, stale_resources
from .models import DataVersion, FileObject, Resource
from .services import apis, feeds, files, loads, reads

Status = Resource.Status
Kind = Resource.Kind
PER_PAGE = 50
HISTORY_SHOWN = 50
REPORT_SHOWN = 1000
QUARANTINE_PER_PAGE = 50


# --- helpers -------------------------------------------------------------------------------


def _actor(request) -> Actor:
    return Actor.from_request(request)


def _resource_url(resource: Resource, anchor: str = "") -> str:
    url = reverse("datastore:resource", args=[resource.pk])
    return f"{url}#{anchor}" if anchor else url


def _service_error(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _illegal(request, resource: Resource) -> None:
    messages.error(
        request,
        _("This action is not possible while the resource is “%(state)s”; the page has been refreshed.")
        % {"state": resource.get_status_display()},
    )


def _unmasked(request) -> bool:
    """Asked for the values whole; ``services.reads`` decides whether the user may."""
    return request.GET.get("unmasked") == "1"


# --- our data resources --------------------------------------------------------------------

STATUS_FILTERS = (
    ("", gettext_lazy("All")),
    (Status.DRAFT, gettext_lazy("Drafts")),
    (Status.SUBMITTED, gettext_lazy("Under re-review")),
    (Status.RETURNED, gettext_lazy("Returned")),
    (Status.PUBLISHED, gettext_lazy("Published")),
    (Status.SUSPENDED, gettext_lazy("Suspended")),
)


def _freshness(resource: Resource):
    """Only table resources are loaded on a cycle."""
    return freshness(resource) if resource.kind == Kind.TABLE else None


@login_required
def mine(request):
    user = request.user
    require(perm.can_open_resources(user))
    bureau = is_bureau_admin(user)
    resources = selectors.resources_visible_to(user) if bureau else selectors.department_resources(user)
    resources = resources.select_related("entry__published")
    counts = dict(resources.order_by().values_list("status").annotate(n=Count("pk")))
    status = request.GET.get("status", "")
    shown = resources.filter(status=status) if status in Status.values else resources
    page = Paginator(shown.order_by("entry__code", "name", "pk"), PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "datastore/mine.html",
        {
            "bureau": bureau,
            "department": user.department,
            "page": page,
            "rows": [(r, _freshness(r)) for r in page.object_list],
            "status": status,
            "status_filters": [
                (key, label, sum(counts.values()) if not key else counts.get(key, 0)) for key, label in STATUS_FILTERS
            ],
            "review_count": selectors.review_queue(user).count() if bureau else 0,
            "stale_count": len(stale_resources(user)),
        },
    )


@login_required
def stale(request):
    require(perm.can_open_resources(request.user))
    return render(request, "datastore/stale.html", {"stale": stale_resources(request.user), "now": clock.now()})


@login_required
def review_queue(request):
    user = request.user
    require(is_bureau_admin(user))
    return render(request, "datastore/review_queue.html", {"resources": selectors.review_queue(user)})


# --- mounting ------------------------------------------------------------------------------


@login_required
def mount(request, entry_pk: int):
    user = request.user
    entry = get_object_or_404(
        catalog_selectors.entries_visible_to(user).select_related("published", "provider"), pk=entry_pk
    )
    require(perm.can_mount(user, entry))
    initial = {"name": entry.published.name if entry.published else ""}
    form = MountForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            resource = services.mount(_actor(request), entry, **form.cleaned_data)
        except ValidationError as error:
            form.show_service_errors(error, name_fields=False)
        else:
            messages.success(request, _("The resource has been mounted as a draft; submit it for re-review when it is ready."))
            return redirect(_resource_url(resource))
    return render(
        request,
        "datastore/mount.html",
        {"entry": entry, "form": form, "resources": selectors.entry_resources(user, entry.pk)},
    )


# --- the resource page ---------------------------------------------------------------------


@dataclass
class Preview:
    fields: list[query.Field]
    rows: list[list[str | None]]
    masked: bool


def _preview(request, resource: Resource) -> Preview:
    unmasked = _unmasked(request)
    result = reads.read_rows(_actor(request), resource, {"limit": str(selectors.PREVIEW_ROWS)}, unmasked=unmasked)
    rows = [[query.as_text(f.data_type, row[f.code]) for f in result.fields] for row in result.rows]
    return Preview(result.fields, rows, not (unmasked and perm.can_unmask(request.user, resource)))


def _table_context(request, resource: Resource, can_load: bool, can_read: bool, bound: dict) -> dict[str, Any]:
    user = request.user
    columns = list(resource.columns.order_by("position"))
    column_forms = bound.get("column_forms") or ([ColumnRulesForm(column=c) for c in columns] if can_load else [])
    feed = getattr(resource, "feed", None)
    can_feed = feeds.can_configure_feed(user, resource)
    return {
        "fresh": freshness(resource),
        "column_rows": list(zip(columns, column_forms, strict=True)) if column_forms else [(c, None) for c in columns],
        "load_form": bound.get("load_form") or (LoadForm() if can_load else None),
        "versions": selectors.versions_of(resource)[:HISTORY_SHOWN] if can_read else None,
        "preview": _preview(request, resource) if can_read else None,
        "export_formats": exports.FORMATS if can_read else (),
        "feed": feed if can_feed or can_read else None,
        "feed_form": bound.get("feed_form") or (FeedForm(feed=feed) if can_feed else None),
    }


def _files_context(request, resource: Resource, can_load: bool, can_read: bool, bound: dict) -> dict[str, Any]:
    return {
        "files": selectors.active_files(resource) if can_read else None,
        "file_form": bound.get("file_form") or (FileUploadForm() if can_load else None),
    }


def _api_context(request, resource: Resource, can_load: bool, can_read: bool, bound: dict) -> dict[str, Any]:
    endpoint = getattr(resource, "endpoint", None)
    can_probe = apis.can_probe(request.user, resource)
    shown = None
    if endpoint is not None and can_probe:
        schema = endpoint.parameter_schema or {}
        required = set(schema.get("required") or ())
        shown = {
            **apis.describe(endpoint),
            "auth_label": endpoint.get_auth_display(),
            "parameters": [
                (name, spec.get("type", ""), name in required)
                for name, spec in (schema.get("properties") or {}).items()
            ],
        }
    return {
        "endpoint": shown,
        "api_form": bound.get("api_form") or (ApiForm(endpoint=endpoint) if can_load else None),
        "can_probe": can_probe and endpoint is not None,
    }


KIND_CONTEXT = {Kind.TABLE: _table_context, Kind.FILE: _files_context, Kind.API: _api_context}


def _detail_context(request, resource: Resource, **bound) -> dict[str, Any]:
    """Everything the resource page shows to this user; ``bound`` holds forms posted with
    errors, shown instead of empty ones."""
    user = request.user
    can_load = perm.can_load(user, resource)
    can_read = perm.can_read_rows(user, resource)
    can_review = perm.can_review(user, resource)
    actions = set(allowed_actions(services.TRANSITIONS, resource.status))
    decisions = actions if can_review else set()
    context = {
        "resource": resource,
        "entry": resource.entry,
        "can_load": can_load,
        "can_read": can_read,
        "can_submit": "submit" in actions and perm.can_submit(user, resource),
        "can_publish": "publish" in decisions,
        "can_resume": "resume" in decisions,
        "return_form": None,
        "suspend_form": None,
    }
    for action in ("return", "suspend"):
        if action in decisions:
            context[f"{action}_form"] = bound.get(f"{action}_form") or ReasonForm(prefix=action)
    context["reviewing"] = bool(decisions & {"publish", "return", "suspend", "resume"})
    context.update(KIND_CONTEXT[resource.kind](request, resource, can_load, can_read, bound))
    return context


def _render_detail(request, resource: Resource, **bound):
    return render(request, "datastore/resource.html", _detail_context(request, resource, **bound))


@login_required
def resource_detail(request, pk: int):
    return _render_detail(request, selectors.get_resource(request.user, pk))


# --- workflow ------------------------------------------------------------------------------


def _act(request, pk: int, action, success: str, *, target: str | None = None):
    resource = selectors.get_resource(request.user, pk)
    try:
        action(_actor(request), resource)
    except ValidationError as error:
        _service_error(request, error)
    except IllegalTransition:
        _illegal(request, resource)
    else:
        messages.success(request, success)
        return redirect(target or _resource_url(resource))
    return redirect(_resource_url(resource))


def _act_with_reason(request, pk: int, action, prefix: str, success: str, *, target: str | None = None):
    resource = selectors.get_resource(request.user, pk)
    form = ReasonForm(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            action(_actor(request), resource, form.cleaned_data["reason"])
        except ValidationError as error:
            form.show_service_errors(error, name_fields=False)
        except IllegalTransition:
            _illegal(request, resource)
            return redirect(_resource_url(resource))
        else:
            messages.success(request, success)
            return redirect(target or _resource_url(resource))
    return _render_detail(request, resource, **{f"{prefix}_form": form})


@login_required
@require_POST
def resource_submit(request, pk: int):
    return _act(request, pk, services.submit, _("Submitted to the bureau for re-review."))


@login_required
@require_POST
def resource_publish(request, pk: int):
    return _act(
        request, pk, services.publish, _("Published for sharing."), target=reverse("datastore:review")
    )


@login_required
@require_POST
def resource_return(request, pk: int):
    return _act_with_reason(
        request,
        pk,
        services.return_resource,
        "return",
        _("Returned to the department with your reasons."),
        target=reverse("datastore:review"),
    )


@login_required
@require_POST
def resource_suspend(request, pk: int):
    return _act_with_reason(request, pk, services.suspend, "suspend", _("The resource is suspended."))


@login_required
@require_POST
def resource_resume(request, pk: int):
    return _act(request, pk, services.resume, _("The resource is published again."))


# --- columns -------------------------------------------------------------------------------


@login_required
@require_POST
def column_rules(request, pk: int):
    resource = selectors.get_resource(request.user, pk)
    require(perm.can_load(request.user, resource))
    forms = [ColumnRulesForm(request.POST, column=c) for c in resource.columns.order_by("position")]
    changed = 0
    for form in forms:
        if form.is_valid() and form.changed():
            data = form.cleaned_data
            try:
                services.set_column_rules(_actor(request), form.column, check_rule=data["content_check"], mask=data["mask"])
            except ValidationError as error:
                form.show_service_errors(error, name_fields=False)
            else:
                changed += 1
    if any(form.errors for form in forms):
        return _render_detail(request, resource, column_forms=forms)
    if changed:
        messages.success(
            request,
            ngettext("The rules of %(n)d column have been saved.", "The rules of %(n)d columns have been saved.", changed)
            % {"n": changed},
        )
    else:
        messages.info(request, _("Nothing has changed."))
    return redirect(_resource_url(resource, "columns"))


# --- loads (R-21.1) ------------------------------------------------------------------------
# The upload is kept and loaded by a background job; the load's page follows the job with a
# progress bar that htmx refreshes, as the catalog's batch import does.

# Share of the bar per phase: reading the file fills most of it, the key check and the swap
# are single steps.
PHASE_SHARES = {"queued": (0, 0), "reading": (0, 80), "checking": (85, 85), "saving": (95, 95)}


@dataclass
class LoadJob:
    token: str
    phase: str  # queued | reading | checking | saving | finished | failed
    percent: int
    version: DataVersion | None
    error: str

    @property
    def finished(self) -> bool:
        return self.phase in ("finished", "failed")

    @property
    def known(self) -> bool:
        """False while queued: the bar cannot say how far it is."""
        return self.phase != "queued"


def _load_job(resource: Resource, token: str) -> LoadJob:
    state = loads.load_progress(token)
    if state is None:
        raise Http404
    phase = state.get("phase", "")
    if phase == "finished":
        version = selectors.versions_of(resource).filter(pk=state.get("version")).first()
        if version is not None:
            return LoadJob(token, phase, 100, version, "")
        phase = "failed"  # a token of another resource's load shows nothing of it
    if phase == "failed" or phase not in PHASE_SHARES:
        return LoadJob(token, "failed", 100, None, state.get("error", ""))
    low, high = PHASE_SHARES[phase]
    done, total = int(state.get("done") or 0), int(state.get("total") or 0)
    percent = low + (high - low) * min(done, total) // total if total else low
    return LoadJob(token, phase, percent, None, "")


def _loadable(request, pk: int) -> Resource:
    resource = selectors.get_resource(request.user, pk)
    require(perm.can_load(request.user, resource))
    return resource


@login_required
@require_POST
def load(request, pk: int):
    resource = _loadable(request, pk)
    form = LoadForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            token = loads.queue_load(
                _actor(request),
                resource,
                data["file"],
                filename=data["file"].name,
                mode=data["mode"],
                quarantine=data["quarantine"],
            )
        except ValidationError as error:
            form.show_service_errors(error, name_fields=False)
        else:
            return redirect("datastore:load_status", pk=resource.pk, token=token)
    return _render_detail(request, resource, load_form=form)


@login_required
def load_status(request, pk: int, token: str):
    resource = _loadable(request, pk)
    return render(request, "datastore/load_status.html", {"resource": resource, "job": _load_job(resource, token)})


@login_required
def load_progress(request, pk: int, token: str):
    """The job panel alone, which htmx fetches every second until the load has finished."""
    resource = _loadable(request, pk)
    return render(request, "datastore/_load_job.html", {"resource": resource, "job": _load_job(resource, token)})


@login_required
def version_detail(request, pk: int, number: int):
    user = request.user
    resource = selectors.get_resource(user, pk)
    version = selectors.get_version(user, resource, number)
    report = version.report or []
    return render(
        request,
        "datastore/version.html",
        {
            "resource": resource,
            "version": version,
            "report": report[:REPORT_SHOWN],
            "report_more": max(len(report) - REPORT_SHOWN, 0),
            "page": Paginator(selectors.quarantined_rows(version), QUARANTINE_PER_PAGE).get_page(request.GET.get("page")),
        },
    )


@login_required
def report_csv(request, pk: int, number: int):
    user = request.user
    resource = selectors.get_resource(user, pk)
    version = selectors.get_version(user, resource, number)
    response = HttpResponse(loads.report_csv(version), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{resource.name}-v{version.number}-report.csv")
    return response


@login_required
def export(request, pk: int):
    """The resource's rows, whole, streamed; masked as the preview is. The audit trail gets
    the number of rows once the last one has been sent."""
    user = request.user
    resource = selectors.get_resource(user, pk)
    fmt = request.GET.get("format", "csv")
    try:
        stream = reads.export_rows(_actor(request), resource, {}, fmt, unmasked=_unmasked(request))
    except query.QueryError as error:
        _service_error(request, error)
        return redirect(_resource_url(resource, "preview"))
    return exports.streaming_response(stream, filename=f"{resource.name}-{clock.today():%Y%m%d}")


# --- upper-level feed (R-26.1) -------------------------------------------------------------


@login_required
@require_POST
def feed_configure(request, pk: int):
    resource = selectors.get_resource(request.user, pk)
    require(feeds.can_configure_feed(request.user, resource))
    feed = getattr(resource, "feed", None)
    form = FeedForm(request.POST, feed=feed)
    if form.is_valid():
        try:
            feeds.configure_feed(_actor(request), resource, **form.cleaned_data)
        except ValidationError as error:
            form.show_service_errors(error, name_fields=False)
        else:
            messages.success(request, _("The upstream feed has been saved."))
            return redirect(_resource_url(resource, "feed"))
    return _render_detail(request, resource, feed_form=form)


@login_required
@require_POST
def feed_run(request, pk: int):
    resource = selectors.get_resource(request.user, pk)
    require(feeds.can_configure_feed(request.user, resource))
    feed = getattr(resource, "feed", None)
    if feed is None:
        raise Http404
    version = feeds.run_feed(resource, actor=_actor(request))
    if version is not None:
        return redirect("datastore:version", pk=resource.pk, number=version.number)
    feed.refresh_from_db()
    if feed.last_error:
        messages.error(request, feed.last_error)
    else:
        messages.info(request, _("No new upstream file since the last load."))
    return redirect(_resource_url(resource, "feed"))


# --- files (R-3.1) -------------------------------------------------------------------------


def _file(request, pk: int, file_pk: int) -> tuple[Resource, FileObject]:
    """An active file of a resource whose contents the user may read."""
    resource = selectors.get_resource(request.user, pk)
    require(perm.can_read_rows(request.user, resource))
    return resource, get_object_or_404(selectors.active_files(resource), pk=file_pk)


def _changeable_file(request, pk: int, file_pk: int) -> tuple[Resource, FileObject]:
    resource, file_object = _file(request, pk, file_pk)
    require(perm.can_load(request.user, resource))
    return resource, file_object


def _render_file(request, resource: Resource, file_object: FileObject, **bound):
    can_load = perm.can_load(request.user, resource)
    return render(
        request,
        "datastore/file.html",
        {
            "resource": resource,
            "file": file_object,
            "replace_form": bound.get("replace_form") or (FileReplaceForm() if can_load else None),
            "withdraw_form": bound.get("withdraw_form") or (WithdrawForm() if can_load else None),
        },
    )


@login_required
@require_POST
def file_upload(request, pk: int):
    resource = _loadable(request, pk)
    form = FileUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            file_object = files.upload_file(_actor(request), resource, upload, name=upload.name, licence=form.licence())
        except ValidationError as error:
            form.show_service_errors(error, name_fields=False)
        else:
            messages.success(request, _("“%(name)s” has been uploaded.") % {"name": file_object.name})
            return redirect(_resource_url(resource, "files"))
    return _render_detail(request, resource, file_form=form)


@login_required
def file_detail(request, pk: int, file_pk: int):
    return _render_file(request, *_file(request, pk, file_pk))


@login_required
def file_download(request, pk: int, file_pk: int):
    resource, file_object = _file(request, pk, file_pk)
    try:
        content = files.open_verified(file_object)
    except files.FileIntegrityError as error:
        messages.error(request, str(error))
        return redirect("datastore:file", pk=resource.pk, file_pk=file_object.pk)
    return FileResponse(content, as_attachment=True, filename=file_object.name, content_type=file_object.content_type)


@login_required
@require_POST
def file_replace(request, pk: int, file_pk: int):
    resource, file_object = _changeable_file(request, pk, file_pk)
    form = FileReplaceForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            new = files.replace_file(_actor(request), file_object, upload, name=upload.name)
        except ValidationError as error:
            form.show_service_errors(error, name_fields=False)
        else:
            messages.success(request, _("The file has been replaced; the previous one is kept for verification."))
            return redirect("datastore:file", pk=resource.pk, file_pk=new.pk)
    return _render_file(request, resource, file_object, replace_form=form)


@login_required
@require_POST
def file_withdraw(request, pk: int, file_pk: int):
    resource, file_object = _changeable_file(request, pk, file_pk)
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            files.withdraw_file(_actor(request), file_object, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            form.show_service_errors(error, name_fields=False)
        else:
            messages.success(request, _("“%(name)s” has been withdrawn.") % {"name": file_object.name})
            return redirect(_resource_url(resource, "files"))
    return _render_file(request, resource, file_object, withdraw_form=form)


# --- interfaces (R-3.1) --------------------------------------------------------------------


@login_required
@require_POST
def api_save(request, pk: int):
    resource = _loadable(request, pk)
    endpoint = getattr(resource, "endpoint", None)
    form = ApiForm(request.POST, endpoint=endpoint)
    if form.is_valid():
        values = form.service_values()
        try:
            if endpoint is None:
                apis.register_api(_actor(request), resource, **values)
            else:
                apis.update_api(_actor(request), resource, **values)
        except ValidationError as error:
            form.show_service_errors(error, name_fields=False)
        else:
            messages.success(request, _("The interface has been saved."))
            return redirect(_resource_url(resource, "api"))
    return _render_detail(request, resource, api_form=form)


@login_required
@require_POST
def api_probe(request, pk: int):
    resource = selectors.get_resource(request.user, pk)
    if getattr(resource, "endpoint", None) is None:
        raise Http404
    try:
        result = apis.probe(_actor(request), resource)
    except ValidationError as error:
        _service_error(request, error)
    else:
        if result.ok:
            messages.success(
                request,
                _("The interface answered HTTP %(status)s in %(ms)d ms.") % {"status": result.status, "ms": result.ms},
            )
        else:
            messages.error(request, _("The interface did not answer correctly: %(error)s") % {"error": result.error})
    return redirect(_resource_url(resource, "api"))
