"""Catalog pages: the department's catalog, the entry form, entry detail with versions and
diffs, the review queue, the sharing-catalog search, batch import and maintenance (Arts. 11-19).

Thin by rule: reads go through ``selectors``, ``search`` and the permission predicates, every
change through one ``services`` function with the request's Actor. A service's ValidationError
is shown next to the field or data-item row it names; PermissionDenied becomes a 403 page; an
illegal workflow step (common.fsm.IllegalTransition) is shown as an error message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.fsm import IllegalTransition
from govdata.datastore import selectors as datastore_selectors
from govdata.datastore.permissions import can_mount
from govdata.orgs.permissions import require
from govdata.sharing.permissions import can_request

from . import exports, selectors, services
from . import permissions as perm
from . import search as catalog_search
from .diff import diff_versions
from .exchange import export_national
from .facets import facet_panel
from .forms import (
    DATA_TYPE_CHOICES,
    REQUIRED_WHEN,
    ALWAYS_REQUIRED,
    EntryForm,
    ImportForm,
    LegalChangeForm,
    PublishForm,
    ReturnForm,
    SearchForm,
    attach_item_errors,
    item_label,
    item_rows_from_post,
    item_rows_from_version,
    service_items,
)
from .models import CatalogEntry, EntryVersion
from .navigation import can_view_maintenance, is_department_admin, is_department_member, is_reviewer
from .rules import ITEM_FIELDS
from .spreadsheet import build_workbook
from .vocab import DataType, FormatCategory, OpenType, PlatformMode, PriorityDomain, ShareMethod, ShareType, UpdateCycle

Status = EntryVersion.Status
PER_PAGE = 20
EXPORT_LIMIT = 20000
MINE_PER_PAGE = 50
ITEM_LABELS = {name: item_label(name) for name in ITEM_FIELDS}

# --- helpers -------------------------------------------------------------------------------


def _actor(request) -> Actor:
    return Actor.from_request(request)


def _entry(request, pk: int) -> CatalogEntry:
    """The entry if the user may see it at all; another department's draft is a 404."""
    return get_object_or_404(selectors.entries_visible_to(request.user), pk=pk)


def _service_error(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _illegal(request, entry: CatalogEntry) -> None:
    version = entry.working or entry.published
    state = version.get_status_display() if version else "—"
    messages.error(request, _("This action is not possible while the entry is “%(state)s”; the page has been refreshed.") % {"state": state})


def _next_url(request, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _entry_url(entry: CatalogEntry) -> str:
    return reverse("catalog:entry", args=[entry.pk])


# --- presentation of versions and diffs ----------------------------------------------------

CHOICE_FIELDS = {
    "format_category": FormatCategory,
    "share_type": ShareType,
    "share_method": ShareMethod,
    "platform_mode": PlatformMode,
    "open_type": OpenType,
    "update_cycle": UpdateCycle,
}


def _field_label(name: str) -> Any:
    return EntryVersion._meta.get_field(name).verbose_name


def _display(name: str, value: Any, theme_names: dict[str, str]) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if name in CHOICE_FIELDS:
        return str(dict(CHOICE_FIELDS[name].choices).get(value, value))
    if name == "data_type":
        return str(dict(DataType.choices).get(value, value))
    if name == "domains":
        labels = dict(PriorityDomain.choices)
        return "、".join(str(labels.get(v, v)) for v in value)
    if name == "themes":
        return "、".join(theme_names.get(v, v) for v in value)
    if name == "related_codes":
        return "；".join(value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


def _domain_labels(version: EntryVersion) -> list[str]:
    labels = dict(PriorityDomain.choices)
    return [str(labels.get(d, d)) for d in version.domains or []]


@dataclass
class DiffRow:
    label: Any
    old: str
    new: str


@dataclass
class ItemDiffRow:
    code: str
    kind: str
    name: str
    fields: list[DiffRow]


def _present_diff(old: EntryVersion | None, new: EntryVersion) -> dict[str, Any]:
    diff = diff_versions(old, new)
    themes = {c.code: c.name for c in selectors.theme_choices()}
    fields = [
        DiffRow(_field_label(c.field), _display(c.field, c.old, themes), _display(c.field, c.new, themes))
        for c in diff.fields
    ]
    names = {i.code: i.name for i in new.items.all()}
    if old is not None:
        names = {**{i.code: i.name for i in old.items.all()}, **names}
    items = [
        ItemDiffRow(
            change.code,
            change.kind,
            names.get(change.code, ""),
            [
                DiffRow(item_label(f.field), _display(f.field, f.old, themes), _display(f.field, f.new, themes))
                for f in change.fields
                if change.kind == "changed"
            ],
        )
        for change in diff.items
    ]
    return {"fields": fields, "items": items, "empty": diff.empty, "old": old, "new": new}


def _previous_readable(version: EntryVersion, versions: list[EntryVersion]) -> EntryVersion | None:
    """The version a version is compared with: the one it was based on, else the newest older
    readable one."""
    older = [v for v in versions if v.number < version.number]
    if version.based_on_id:
        based = next((v for v in older if v.pk == version.based_on_id), None)
        if based is not None:
            return based
    return older[0] if older else None


# --- the department's catalog --------------------------------------------------------------


STATUS_FILTERS = (
    ("", gettext_lazy("All")),
    ("draft", gettext_lazy("Drafts")),
    ("submitted", gettext_lazy("Under review")),
    ("returned", gettext_lazy("Returned")),
    ("published", gettext_lazy("Published")),
)


def _department_entries(request, status: str = ""):
    user = request.user
    require(is_department_member(user))
    entries = selectors.department_entries(user, user.department).order_by("code")
    if status in (Status.DRAFT, Status.SUBMITTED, Status.RETURNED):
        entries = entries.filter(working__status=status)
    elif status == Status.PUBLISHED:
        entries = entries.filter(published__isnull=False)
    return entries


@login_required
def mine(request):
    user = request.user
    status = request.GET.get("status", "")
    entries = _department_entries(request, status)
    page = Paginator(entries, MINE_PER_PAGE).get_page(request.GET.get("page"))
    all_entries = selectors.department_entries(user, user.department)
    counts = {
        "": all_entries.count(),
        "draft": all_entries.filter(working__status=Status.DRAFT).count(),
        "submitted": all_entries.filter(working__status=Status.SUBMITTED).count(),
        "returned": all_entries.filter(working__status=Status.RETURNED).count(),
        "published": all_entries.filter(published__isnull=False).count(),
    }
    return render(
        request,
        "catalog/mine.html",
        {
            "department": user.department,
            "page": page,
            "entries": page.object_list,
            "status": status,
            "status_filters": [(key, label, counts[key]) for key, label in STATUS_FILTERS],
            "can_draft": perm.can_draft(user, user.department),
        },
    )


EXPORT_TYPES = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "national": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/json; charset=utf-8", "json"),
}


def _export_response(versions: list, fmt: str, stem: str) -> HttpResponse:
    """One download for every export: the template layout (re-importable), the national
    guide's layout (R-11.2), CSV or JSON."""
    fmt = fmt if fmt in EXPORT_TYPES else "xlsx"
    body = {
        "csv": exports.to_csv,
        "json": exports.to_json,
        "national": export_national,
        "xlsx": build_workbook,
    }[fmt](versions)
    content_type, ext = EXPORT_TYPES[fmt]
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{stem}-{clock.today():%Y%m%d}.{ext}"'
    return response


@login_required
def export(request):
    """The user's department's catalog, as its members see it."""
    user = request.user
    entries = _department_entries(request, request.GET.get("status", ""))
    versions = [v for v in (selectors.visible_version(user, e) for e in entries) if v is not None]
    versions = selectors.versions_for_export([v.pk for v in versions])
    return _export_response(versions, request.GET.get("format", "xlsx"), f"catalog-{user.department_id}")


@login_required
def search_export(request):
    """The published sharing catalog, or what the current search selects of it."""
    require(perm.can_browse_catalog(request.user))
    form = SearchForm(request.GET or None)
    valid = form.is_bound and form.is_valid()
    q = (form.cleaned_data["q"] or "") if valid else ""
    filters = form.filters() if form.is_bound else {}
    result = catalog_search.search(q, filters, sort="name", limit=EXPORT_LIMIT, with_facets=False)
    versions = selectors.versions_for_export([e.published_id for e in result.entries if e.published_id])
    return _export_response(versions, request.GET.get("format", "xlsx"), "sharing-catalog")


# --- the entry form ------------------------------------------------------------------------


def _form_context(form: EntryForm, rows, *, entry=None, version=None, item_problems=None, creating=True) -> dict:
    return {
        "form": form,
        "rows": rows,
        "entry": entry,
        "version": version,
        "creating": creating,
        "item_problems": item_problems or [],
        "item_errors": sum(1 for r in rows if r.has_errors),
        "data_types": DATA_TYPE_CHOICES,
        "item_labels": ITEM_LABELS,
        "required_when": REQUIRED_WHEN,
        "always_required": ALWAYS_REQUIRED,
    }


def _form_kwargs(department, creating: bool) -> dict:
    return {
        "classifications": selectors.classification_choices(),
        "contacts": selectors.active_contacts(department),
        "themes": selectors.theme_choices(),
        "creating": creating,
    }


def _submit_after_save(request, entry: CatalogEntry) -> bool:
    try:
        services.submit(_actor(request), entry)
    except ValidationError as error:
        _service_error(request, error)
        return False
    except IllegalTransition:
        _illegal(request, entry)
        return False
    messages.success(request, _("Saved and submitted for review."))
    return True


@login_required
def entry_new(request):
    user = request.user
    require(is_department_member(user) and perm.can_draft(user, user.department))
    department = user.department
    form = EntryForm(request.POST or None, **_form_kwargs(department, True))
    rows = item_rows_from_post(request.POST) if request.method == "POST" else []
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.create_entry(
                _actor(request), department, form.cleaned_data["classification"], form.service_values(), service_items(rows)
            )
        except ValidationError as error:
            problems = attach_item_errors(rows, form.add_service_errors(error))
        else:
            if request.POST.get("action") == "submit":
                _submit_after_save(request, entry)
            else:
                messages.success(request, _("The draft has been saved. Resource code: %(code)s") % {"code": entry.code})
            return redirect(_entry_url(entry))
    context = _form_context(form, rows, item_problems=problems)
    context["can_submit"] = perm.can_submit(user, department)
    return render(request, "catalog/entry_form.html", context)


@login_required
def entry_edit(request, pk: int):
    user = request.user
    entry = _entry(request, pk)
    require(perm.can_draft(user, entry.provider))
    version = entry.working
    if entry.read_only or version is None or not version.editable:
        messages.error(request, _("There is no draft of this entry to edit."))
        return redirect(_entry_url(entry))
    if request.method == "POST":
        form = EntryForm(request.POST, **_form_kwargs(entry.provider, False))
        rows = item_rows_from_post(request.POST)
    else:
        form = EntryForm(initial=EntryForm.initial_from(version), **_form_kwargs(entry.provider, False))
        rows = item_rows_from_version(version)
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            services.save_draft(_actor(request), entry, form.service_values(), service_items(rows))
        except ValidationError as error:
            problems = attach_item_errors(rows, form.add_service_errors(error))
        except IllegalTransition:
            _illegal(request, entry)
            return redirect(_entry_url(entry))
        else:
            if request.POST.get("action") == "submit":
                _submit_after_save(request, CatalogEntry.objects.get(pk=entry.pk))
            else:
                messages.success(request, _("The draft has been saved."))
            return redirect(_entry_url(entry))
    context = _form_context(form, rows, entry=entry, version=version, item_problems=problems, creating=False)
    context["can_submit"] = perm.can_submit(user, entry.provider)
    return render(request, "catalog/entry_form.html", context)


# --- entry detail --------------------------------------------------------------------------


@login_required
def entry_detail(request, pk: int):
    user = request.user
    require(perm.can_browse_catalog(user))
    entry = _entry(request, pk)
    versions = selectors.readable_versions(user, entry)
    wanted = request.GET.get("v")
    if wanted:
        version = next((v for v in versions if str(v.number) == wanted), None)
        if version is None:
            raise Http404
    else:
        version = selectors.visible_version(user, entry)
        if version is None:
            raise Http404
    previous = _previous_readable(version, versions)
    working = entry.working if entry.working in versions else None
    can_draft = perm.can_draft(user, entry.provider) and not entry.read_only
    can_submit = perm.can_submit(user, entry.provider) and not entry.read_only
    reviewer = working is not None and working.status == Status.SUBMITTED and perm.can_review(user, entry)
    context = {
        "entry": entry,
        "version": version,
        "versions": versions,
        "working": working,
        "items": list(version.items.all()),
        "domain_labels": _domain_labels(version),
        "item_labels": ITEM_LABELS,
        "diff": _present_diff(previous, version) if previous else None,
        "can_edit": can_draft and working is not None and working.editable,
        "can_revise": can_draft and entry.working is None and entry.published is not None,
        "can_submit": can_submit and working is not None and working.editable,
        "can_withdraw": can_submit and working is not None and working.status == Status.SUBMITTED,
        "can_confirm": entry.published is not None and perm.can_maintain(user, entry),
        "confirmation": selectors.quarterly_confirmation(entry) if entry.published else None,
        "reviewer": reviewer,
        "return_form": ReturnForm() if reviewer else None,
        "publish_form": PublishForm() if reviewer else None,
        "resources": datastore_selectors.entry_resources(user, entry.pk),
        "can_mount": entry.published is not None and can_mount(user, entry),
        "can_request": entry.published is not None and can_request(user, entry),
        "can_use_data": is_department_member(user),
    }
    return render(request, "catalog/entry_detail.html", context)


def _act(request, pk: int, action, success: str, *, target: str | None = None):
    entry = _entry(request, pk)
    try:
        action(_actor(request), entry)
    except ValidationError as error:
        _service_error(request, error)
    except IllegalTransition:
        _illegal(request, entry)
    else:
        messages.success(request, success)
    return redirect(_next_url(request, target or _entry_url(entry)))


@login_required
@require_POST
def entry_revise(request, pk: int):
    entry = _entry(request, pk)
    try:
        services.start_revision(_actor(request), entry)
    except ValidationError as error:
        _service_error(request, error)
        return redirect(_entry_url(entry))
    messages.info(request, _("A new draft version has been made from the published one; the published version stays visible until the new one is published."))
    return redirect("catalog:edit", entry.pk)


@login_required
@require_POST
def entry_submit(request, pk: int):
    return _act(request, pk, services.submit, _("Submitted for review."))


@login_required
@require_POST
def entry_withdraw(request, pk: int):
    return _act(request, pk, services.withdraw, _("Withdrawn from review; the version is a draft again."))


@login_required
@require_POST
def entry_confirm(request, pk: int):
    return _act(request, pk, services.confirm_quarterly, _("Confirmed as reviewed and correct for this quarter."))


# --- review --------------------------------------------------------------------------------


@login_required
def review_queue(request):
    user = request.user
    require(is_reviewer(user))
    entries = selectors.review_queue(user).select_related("provider__region", "classification")
    return render(request, "catalog/review_queue.html", {"entries": entries})


def _review_context(request, entry: CatalogEntry, **forms) -> dict:
    version = entry.working
    published = entry.published
    return {
        "entry": entry,
        "version": version,
        "published": published,
        "items": list(version.items.all()),
        "domain_labels": _domain_labels(version),
        "item_labels": ITEM_LABELS,
        "diff": _present_diff(published, version) if published else None,
        "return_form": forms.get("return_form") or ReturnForm(),
        "publish_form": forms.get("publish_form") or PublishForm(),
    }


def _reviewable(request, pk: int) -> CatalogEntry:
    entry = _entry(request, pk)
    require(perm.can_review(request.user, entry))
    return entry


@login_required
def review_entry(request, pk: int):
    entry = _reviewable(request, pk)
    if entry.working is None or entry.working.status != Status.SUBMITTED:
        messages.info(request, _("This entry is not awaiting review any more."))
        return redirect(_entry_url(entry))
    return render(request, "catalog/review.html", _review_context(request, entry))


@login_required
@require_POST
def entry_publish(request, pk: int):
    entry = _reviewable(request, pk)
    form = PublishForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.publish(_actor(request), entry, note)
    except ValidationError as error:
        _service_error(request, error)
        return redirect(_entry_url(entry))
    except IllegalTransition:
        _illegal(request, entry)
        return redirect(_entry_url(entry))
    messages.success(request, _("Published in the sharing catalog: %(code)s") % {"code": entry.code})
    return redirect("catalog:review")


@login_required
@require_POST
def entry_return(request, pk: int):
    entry = _reviewable(request, pk)
    form = ReturnForm(request.POST)
    if form.is_valid():
        try:
            services.return_entry(_actor(request), entry, form.cleaned_data["reason"])
        except ValidationError as error:
            form.add_service_errors(error)
        except IllegalTransition:
            _illegal(request, entry)
            return redirect(_entry_url(entry))
        else:
            messages.success(request, _("Returned to the department with your reasons."))
            return redirect("catalog:review")
    if entry.working is None or entry.working.status != Status.SUBMITTED:
        return redirect(_entry_url(entry))
    return render(request, "catalog/review.html", _review_context(request, entry, return_form=form))


# --- sharing-catalog search ----------------------------------------------------------------


@login_required
def search(request):
    user = request.user
    require(perm.can_browse_catalog(user))
    form = SearchForm(request.GET or None)
    q, sort, page_number = "", "", 1
    if form.is_bound and form.is_valid():
        q = form.cleaned_data["q"] or ""
        sort = form.cleaned_data["sort"] or ""
        page_number = form.cleaned_data["page"] or 1
    filters = form.filters() if form.is_bound else {}
    sort = sort or ("relevance" if q.strip() else "newest")
    result = catalog_search.search(q, filters, sort=sort, offset=(page_number - 1) * PER_PAGE, limit=PER_PAGE)
    if not result.entries and result.total and page_number > 1:
        page_number = 1
        result = catalog_search.search(q, filters, sort=sort, offset=0, limit=PER_PAGE)
    page = Paginator(range(result.total), PER_PAGE).get_page(page_number)
    facets = facet_panel(request.GET, result, filters)
    chosen = [
        (facet.title, value.label, value.url)
        for facet in facets
        for value in facet.values + facet.more
        if value.selected
    ]
    sort_links = []
    for key, label in form.fields["sort"].choices:
        query = request.GET.copy()
        query.pop("page", None)
        query["sort"] = key
        sort_links.append((key, label, "?" + query.urlencode()))
    return render(
        request,
        "catalog/search.html",
        {
            "form": form,
            "q": q,
            "sort": sort,
            "sort_links": sort_links,
            "result": result,
            "results": [e for e in result.entries if e.published_id],
            "page": page,
            "facets": facets,
            "chosen": chosen,
            "own_unpublished": selectors.unpublished_matching(user, q),
        },
    )


# --- batch import (R-13.2) -----------------------------------------------------------------
# The upload is accepted (or refused at once when too big or not an .xlsx) and handed to a
# background job; the status page follows the job with a progress bar refreshed by htmx.

ERRORS_SHOWN = 1000
CREATED_SHOWN = 200
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _import(request, pk: int):
    """The import if the user may see it (uploader, department admins); else a 404."""
    return get_object_or_404(selectors.imports_visible_to(request.user), pk=pk)


def _import_context(imp) -> dict[str, Any]:
    context: dict[str, Any] = {"imp": imp, "progress": selectors.import_progress(imp)}
    if imp.status == imp.Status.DONE:
        shown = imp.created_entries[:CREATED_SHOWN]
        by_pk = CatalogEntry.objects.select_related("working", "published").in_bulk(shown)
        context["created"] = [by_pk[pk] for pk in shown if pk in by_pk]
        context["created_more"] = max(imp.created_count - len(shown), 0)
    elif imp.status == imp.Status.REJECTED:
        context["errors"] = imp.errors[:ERRORS_SHOWN]
        context["errors_more"] = max(len(imp.errors) - ERRORS_SHOWN, 0)
    return context


@login_required
def import_page(request):
    user = request.user
    require(is_department_member(user) and perm.can_draft(user, user.department))
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > settings.CATALOG_IMPORT_MAX_BYTES:
            # Refused before reading a large body into memory; the service says the same.
            mb = settings.CATALOG_IMPORT_MAX_BYTES // 1_000_000
            form.add_error("file", _("The file is larger than %(mb)d MB.") % {"mb": mb})
        else:
            try:
                imp = services.start_import(_actor(request), user.department, upload.read(), upload.name)
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                return redirect("catalog:import_status", pk=imp.pk)
        form.mark_invalid()
    return render(
        request,
        "catalog/import.html",
        {
            "form": form,
            "max_mb": settings.CATALOG_IMPORT_MAX_BYTES // 1_000_000,
            "imports": selectors.recent_imports(user),
        },
    )


@login_required
def import_status(request, pk: int):
    return render(request, "catalog/import_status.html", _import_context(_import(request, pk)))


@login_required
def import_progress(request, pk: int):
    """The job panel alone, which htmx fetches every second while the job is not finished."""
    return render(request, "catalog/_import_job.html", _import_context(_import(request, pk)))


@login_required
def import_template(request):
    require(perm.can_browse_catalog(request.user))
    response = HttpResponse(build_workbook(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="catalog-template.xlsx"'
    return response


@login_required
def import_marked(request, pk: int):
    """The rejected workbook with each bad cell marked: for those who may see the import."""
    imp = _import(request, pk)
    if not imp.marked_name:
        raise Http404
    storage = services.import_storage()
    try:
        body = storage.open(imp.marked_name, "rb").read()
    except FileNotFoundError:
        raise Http404 from None
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="catalog-import-{imp.pk}-errors.xlsx"'
    return response


# --- maintenance (Art. 15) -----------------------------------------------------------------


def _maintenance_context(request, legal_form: LegalChangeForm | None = None) -> dict:
    user = request.user
    today = clock.today()
    quarter = selectors.quarter_of(today)
    _start, end = selectors.quarter_bounds(quarter)
    candidates = selectors.legal_change_candidates(user)
    may_record = perm.can_record_legal_change(user, []) or is_department_admin(user)
    now = clock.now()
    obligations = selectors.legal_obligations(user)
    for obligation in obligations:
        obligation.overdue_now = obligation.overdue(now)
    context: dict[str, Any] = {
        "quarter": quarter,
        "quarter_end": end,
        "previous_quarter": selectors.previous_quarter(quarter),
        "now": now,
        "obligations": obligations,
        "is_department_admin": is_department_admin(user),
        "is_reviewer": is_reviewer(user),
        "legal_form": None,
    }
    if is_department_admin(user):
        rows = selectors.quarterly_confirmations(user, user.department, today)
        context["confirmations"] = rows
        context["to_confirm"] = sum(1 for r in rows if r.confirmed is None)
    if is_reviewer(user):
        context["status"] = selectors.quarterly_status(user, today)
    if may_record and candidates.exists():
        context["legal_form"] = legal_form or LegalChangeForm(candidates=candidates)
    context["days_left"] = (end - today).days
    return context


@login_required
def maintenance(request):
    require(can_view_maintenance(request.user))
    return render(request, "catalog/maintenance.html", _maintenance_context(request))


@login_required
@require_POST
def legal_change(request):
    user = request.user
    require(can_view_maintenance(user))
    form = LegalChangeForm(request.POST, candidates=selectors.legal_change_candidates(user))
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.record_legal_change(
                _actor(request),
                title=data["title"] or "",
                occurred_on=data["occurred_on"],
                entries=list(data["entries"]),
                description=data["description"] or "",
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("The change has been recorded; the providers have been notified."))
            return redirect("catalog:maintenance")
    return render(request, "catalog/maintenance.html", _maintenance_context(request, form))
