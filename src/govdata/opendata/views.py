"""The public open-data portal (issue #6, items 1 and 8; Arts. 28-31) at /open/, no login:
the home page, dataset search, dataset pages with a paged preview, streamed downloads and API
examples, departments, the notices of not-open and restricted data (R-30.1), the priority
domains' opening progress (R-31.1) and usage statistics.

Thin by rule: what the public may see and read is decided by ``permissions`` for the
request's user (approved applicants read more, with no change here) and read through
``selectors``; rows only through ``services.reads`` (``selectors.read_rows`` and
``selectors.export_rows``: public columns, masked; audited when read under an application).
A dataset or resource the user may not see is a 404; rows of one they may see but not read
are a 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from govdata.catalog.facets import facet_panel
from govdata.catalog.forms import SearchForm
from govdata.catalog.models import CatalogEntry
from govdata.catalog.search import SearchResult
from govdata.catalog.selectors import theme_choices
from govdata.catalog.vocab import OpenType, PriorityDomain
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.datastore import exports, query
from govdata.datastore.models import Resource
from govdata.orgs.models import Department

from . import permissions as perm
from . import selectors
from .ckan import LICENCES
from .models import UsageStat
from .services import reads
from .services.usage import record_usage

PER_PAGE = 20
PREVIEW_ROWS = 20
HOME_LISTS = 6
TOP_DEPARTMENTS = 8
NOTICES_PER_PAGE = 50
STATS_DAYS = 30
STATS_TOP = 10
# The search facets the public filters by; sharing types and the classification tree are
# the government side's.
PUBLIC_FACETS = ("theme", "domain", "provider", "region", "open_type", "format_category", "update_cycle")
NOTICE_TYPES = (OpenType.NOT_OPEN, OpenType.ON_APPLICATION)


def _dataset_url(entry: CatalogEntry) -> str:
    return reverse("opendata:dataset", args=[selectors.dataset_name(entry)])


def _dataset(request, name: str) -> CatalogEntry:
    entry = selectors.get_dataset(request.user, name)
    if entry is None:
        raise Http404
    return entry


def _table(request, pk: int) -> Resource:
    resource = selectors.get_resource(request.user, str(pk))
    if resource is None or resource.kind != Resource.Kind.TABLE:
        raise Http404
    return resource


def _page_number(value: Any) -> int:
    try:
        return max(int(value), 1)
    except (TypeError, ValueError):
        return 1


def _search_page(request, q: str, filters: dict[str, list[str]], sort: str, number: int) -> tuple[SearchResult, Page]:
    """One page of datasets; a page past the end shows the last one."""

    def run(number: int) -> SearchResult:
        offset = (number - 1) * PER_PAGE
        return selectors.search_datasets(request.user, q, filters, sort=sort, offset=offset, limit=PER_PAGE)

    result = run(number)
    page = Paginator(range(result.total), PER_PAGE).get_page(number)
    if page.number != number:
        result = run(page.number)
    return result, page


# --- home ------------------------------------------------------------------------------------


@require_safe
def home(request):
    user = request.user
    counts = selectors.dataset_counts(user)
    themes, domains = counts.get("theme", {}), counts.get("domain", {})
    return render(
        request,
        "opendata/home.html",
        {
            "overview": selectors.overview(user),
            "themes": [(theme, themes.get(theme.code, 0)) for theme in theme_choices()],
            "domains": [(value, label, domains.get(value, 0)) for value, label in PriorityDomain.choices],
            "providers": selectors.providers(user)[:TOP_DEPARTMENTS],
            "newest": selectors.search_datasets(user, sort="newest", limit=HOME_LISTS, with_facets=False).entries,
            "most_used": selectors.usage_ranking(user, limit=HOME_LISTS),
        },
    )


# --- search ----------------------------------------------------------------------------------


@require_safe
def search(request):
    form = SearchForm(request.GET or None)
    q, sort, number = "", "", 1
    if form.is_bound and form.is_valid():
        q = form.cleaned_data["q"] or ""
        sort = form.cleaned_data["sort"] or ""
        number = form.cleaned_data["page"] or 1
    filters = {k: v for k, v in form.filters().items() if k in PUBLIC_FACETS} if form.is_bound else {}
    sort = sort or ("relevance" if q.strip() else "newest")
    result, page = _search_page(request, q, filters, sort, number)
    facets = facet_panel(request.GET, result, filters, PUBLIC_FACETS)
    return render(
        request,
        "opendata/search.html",
        {
            "q": q,
            "sort": sort,
            "sorts": form.fields["sort"].choices,
            "result": result,
            "page": page,
            "facets": facets,
            "filtered": bool(filters),
        },
    )


# --- dataset page ----------------------------------------------------------------------------


@dataclass
class Preview:
    """One page of a table's rows as the public sees them, as display text."""

    resource: Resource
    fields: list[query.Field]
    rows: list[list[str | None]]
    page: Page

    @property
    def capped(self) -> bool:
        """The table holds more rows than the preview pages through (the download has all)."""
        return self.resource.row_count > self.page.paginator.count


def _preview(request, resource: Resource, number: Any) -> Preview:
    # Offset pages, as far as the engine serves offsets.
    shown = min(resource.row_count, query.MAX_OFFSET + PREVIEW_ROWS)
    page = Paginator(range(shown), PREVIEW_ROWS).get_page(number)
    offset = (page.number - 1) * PREVIEW_ROWS
    rows = reads.read_rows(Actor.from_request(request), resource, route="portal", limit=PREVIEW_ROWS, offset=offset)
    text = [[query.as_text(f.data_type, row[f.code]) for f in rows.fields] for row in rows.rows]
    return Preview(resource, rows.fields, text, page)


@dataclass
class ResourceView:
    resource: Resource
    preview: Preview | None  # only where the user may read the rows
    api_url: str = ""

    @property
    def downloads(self) -> list[tuple[str, str]]:
        if self.preview is None:
            return []
        return [(fmt, reverse("opendata:download", args=[self.resource.pk, fmt])) for fmt in exports.FORMATS]


def _resource_view(request, resource: Resource) -> ResourceView:
    if resource.kind != Resource.Kind.TABLE or not perm.can_read_resource_rows(request.user, resource):
        return ResourceView(resource, None)
    action = reverse("ckan:action", args=["datastore_search"])
    api_url = request.build_absolute_uri(f"{action}?{urlencode({'resource_id': resource.pk, 'limit': 5})}")
    return ResourceView(resource, _preview(request, resource, 1), api_url)


@require_safe
def dataset(request, name: str):
    user = request.user
    entry = _dataset(request, name)
    canonical = selectors.dataset_name(entry)
    if name != canonical:
        return redirect("opendata:dataset", name=canonical, permanent=True)
    version = entry.published
    record_usage(entry, UsageStat.Kind.VIEW)
    licence_id, licence_title, licence_url = LICENCES[version.open_type]
    loaded = [r.last_loaded_at for r in entry.public_resources if r.last_loaded_at]
    package_show = reverse("ckan:action", args=["package_show"]) + "?" + urlencode({"id": canonical})
    return render(
        request,
        "opendata/dataset.html",
        {
            "entry": entry,
            "version": version,
            "name": canonical,
            "can_read": perm.can_read_rows(user, entry),
            "themes": sorted(version.themes.all(), key=lambda t: t.code),
            "domains": [PriorityDomain(d).label for d in version.domains if d in PriorityDomain.values],
            "licence": {"id": licence_id, "title": licence_title, "url": licence_url},
            "last_update": max(loaded, default=None),
            "items": selectors.data_items(user, entry),
            "resources": [_resource_view(request, r) for r in entry.public_resources],
            "site": request.build_absolute_uri("/").rstrip("/"),
            "package_show_url": request.build_absolute_uri(package_show),
            "apply_url": _dataset_url(entry) + "apply/",
            "related": selectors.related_datasets(user, entry),
        },
    )


@require_safe
def preview(request, pk: int):
    """A page of a table's preview: the panel alone for htmx, else a page of its own."""
    resource = _table(request, pk)
    context = {
        "preview": _preview(request, resource, request.GET.get("page")),
        "entry": resource.entry,
        "dataset_url": _dataset_url(resource.entry),
    }
    template = "opendata/_preview.html" if request.headers.get("HX-Request") else "opendata/preview.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])  # a cache must not give the panel for the page
    return response


@require_safe
def download(request, pk: int, fmt: str):
    """The whole table, streamed; counted as a download once the last row is out."""
    resource = _table(request, pk)
    entry = resource.entry

    def count(_rows: int) -> None:
        record_usage(entry, UsageStat.Kind.DOWNLOAD)

    stream = reads.export_rows(Actor.from_request(request), resource, fmt, route="portal", on_complete=count)
    return exports.streaming_response(stream, filename=f"{resource.name}-{clock.today():%Y%m%d}")


# --- departments -----------------------------------------------------------------------------


@require_safe
def departments(request):
    return render(request, "opendata/departments.html", {"providers": selectors.providers(request.user)})


@require_safe
def department(request, pk: int):
    found = get_object_or_404(Department.objects.select_related("region"), pk=pk, is_active=True)
    filters = {"provider": [str(found.pk)]}
    result, page = _search_page(request, "", filters, "newest", _page_number(request.GET.get("page")))
    open_types = result.facets.get("open_type", {})
    return render(
        request,
        "opendata/department.html",
        {
            "department": found,
            "result": result,
            "page": page,
            "by_open_type": [(label, open_types.get(value, 0)) for value, label in OpenType.choices if value in perm.LISTED],
        },
    )


# --- notices and priority domains (R-31.1) ------------------------------------------


@require_safe
def notices(request):
    chosen = request.GET.get("type")
    chosen = chosen if chosen in NOTICE_TYPES else OpenType.NOT_OPEN
    entries = selectors.restricted_entries(chosen)
    return render(
        request,
        "opendata/notices.html",
        {
            "chosen": chosen,
            "tabs": [(t, OpenType(t).label, selectors.restricted_entries(t).count()) for t in NOTICE_TYPES],
            "page": Paginator(entries, NOTICES_PER_PAGE).get_page(request.GET.get("page")),
        },
    )


@require_safe
def domains(request):
    return render(request, "opendata/domains.html", {"domains": selectors.domain_progress()})


# --- usage statistics ------------------------------------------------------------------------


def _usage(request) -> dict[str, Any]:
    dates, series = selectors.daily_usage(request.user, STATS_DAYS)
    return {
        "dates": dates,
        "series": [(kind, label, series[kind]) for kind, label in UsageStat.Kind.choices],
        "top": selectors.usage_ranking(request.user, since=dates[0], limit=STATS_TOP),
    }


@require_safe
def stats(request):
    usage = _usage(request)
    totals = [(label, sum(counts)) for _kind, label, counts in usage["series"]]
    return render(request, "opendata/stats.html", {**usage, "totals": totals, "days": STATS_DAYS})


@require_safe
def stats_json(request):
    """The statistics page's charts: uses per day and kind, and the most used datasets."""
    usage = _usage(request)
    return JsonResponse(
        {
            "days": [day.isoformat() for day in usage["dates"]],
            "series": [{"kind": kind, "name": str(label), "data": counts} for kind, label, counts in usage["series"]],
            "top": [
                {
                    "name": selectors.dataset_name(u.entry),
                    "title": u.entry.published.name,
                    "url": _dataset_url(u.entry),
                    **{kind: n for kind, n in zip(UsageStat.Kind.values, (u.views, u.downloads, u.api_calls), strict=True)},
                    "total": u.total,
                }
                for u in usage["top"]
            ],
        },
        json_dumps_params={"ensure_ascii": False},
    )
