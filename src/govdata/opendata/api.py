"""GovData Open API (issue #6, item 3) at ``/api/open/v1/``, OpenAPI documented at
``/api/open/v1/docs`` (``openapi.json`` beside it): what CKAN's shape cannot express, for
anyone, no sign-in needed.

Same rules and read paths as the portal and the CKAN API: the datasets are
``selectors.datasets`` (opened unconditionally or on application), rows come only through
``services.reads`` (public columns, masked; unreadable rows are a 403, an unknown or hidden
dataset or resource a 404; rows read under an approved application are audited).
Departments are named by their unified social credit code (lower case), regions by their
division code, themes and priority domains by their codes, as in the CKAN API.

Callers and limits: anonymous callers are counted per client address against
``OPEN_API_ANON_RATE``; a personal API token (``opendata.tokens``), sent as
``Authorization: Bearer <token>`` or ``X-Api-Token: <token>``, makes the call its user's
(rows of their approved applications, R-29.2) with its own, higher allowance,
``OPEN_API_TOKEN_RATE``. The session cookie is ignored: a script's identity is its token
alone. Every answer carries ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset``; over the
limit the answer is a 429 with ``Retry-After``; a token that is unknown, revoked or of a
deactivated user is a 401 (counted against the address, so guessing tokens is limited too).
Dataset details and rows count as the dataset's API use (usage statistics). Errors are the
platform's (``common.api``), in the caller's language.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any, Literal

import redis
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Query, Schema

from govdata.catalog.models import CatalogEntry
from govdata.catalog.selectors import facet_labels, theme_choices
from govdata.catalog.vocab import PriorityDomain
from govdata.common.actor import Actor, client_ip
from govdata.common.api import add_error_handlers
from govdata.datastore import query
from govdata.datastore.models import Resource
from govdata.orgs.models import User
from govdata.sharing import ratelimit

from . import permissions as perm
from . import selectors, tokens
from .ckan import LICENCES
from .datapackage import field_type
from .models import UsageStat
from .portal import portal_name
from .services import reads
from .services.usage import record_usage

NAMESPACE = "govdata-open-api"
MAX_PAGE_SIZE = 100
MAX_USAGE_DAYS = 366
# Filter parameters of the dataset search -> the catalog search's facets.
FACETS = {
    "theme": "theme",
    "domain": "domain",
    "department": "provider",
    "region": "region",
    "format_category": "format_category",
    "update_cycle": "update_cycle",
    "open_type": "open_type",
}
SECURITY_SCHEMES = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token (gdo_…) issued at /open/account/token/.",
    },
    "apiTokenHeader": {"type": "apiKey", "in": "header", "name": "X-Api-Token"},
}
DESCRIPTION = (
    "The open data of %(portal)s: datasets, their rows, themes, departments and usage. "
    "Anonymous calls are allowed and rate-limited per address; a personal API token gives its "
    "user's access and a higher limit. Every answer carries X-RateLimit-Limit, "
    "X-RateLimit-Remaining and X-RateLimit-Reset."
)


class OpenApi(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any):
        """The spec, naming the platform (``portal.portal_name``) and saying that a token is
        optional: anonymous calls (``{}``) are allowed."""
        schema = super().get_openapi_schema(**kwargs)
        schema["info"]["description"] = DESCRIPTION % {"portal": portal_name()}
        schema["components"]["securitySchemes"] = SECURITY_SCHEMES
        schema["security"] = [{}, {"bearerToken": []}, {"apiTokenHeader": []}]
        return schema


open_api = OpenApi(title="GovData Open API", version="1", urls_namespace="open_api")
add_error_handlers(open_api)


# --- callers and limits --------------------------------------------------------------------


def _presented_token(request: HttpRequest) -> str | None:
    scheme, _space, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return credentials
    return request.headers.get("X-Api-Token")


def _refusal(request: HttpRequest, status: int, detail: str) -> HttpResponse:
    return open_api.create_response(request, {"detail": detail}, status=status)


def _gate(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Around every operation: who calls (``request.auth``: the token's user or None), their
    rate limit, and the X-RateLimit-* headers on whatever the answer is."""

    @functools.wraps(run)
    def handle(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        raw = _presented_token(request)
        user = tokens.user_for_token(raw) if raw is not None else None
        if user is not None:
            key, rate = f"user:{user.pk}", settings.OPEN_API_TOKEN_RATE
        else:
            key, rate = f"ip:{client_ip(request)}", settings.OPEN_API_ANON_RATE
        try:
            verdict = ratelimit.hit(key, rate, NAMESPACE)
        except redis.RedisError:
            return _refusal(request, 503, _("The API cannot count calls at the moment; try again."))
        if raw is not None and user is None:
            response = _refusal(request, 401, _("The API token is not valid or has been revoked."))
            response["WWW-Authenticate"] = "Bearer"
        elif not verdict.allowed:
            message = _("Too many calls: at most %(n)d per window; try again after the time in X-RateLimit-Reset.")
            response = _refusal(request, 429, message % {"n": verdict.limit})
        else:
            request.auth = user
            response = run(request, *args, **kwargs)
        for name, value in verdict.headers().items():
            response[name] = value
        return response

    return handle


open_api.add_decorator(_gate, mode="view")


def _caller(request: HttpRequest) -> User | None:
    return request.auth


# --- schemas -------------------------------------------------------------------------------


class Term(Schema):
    code: str
    name: str


class CountedTerm(Term):
    datasets: int


class Region(Schema):
    code: str
    name: str


class Department(Schema):
    id: str = Field(description="The unified social credit code, in lower case.")
    name: str


class DepartmentListed(Department):
    region: Region
    datasets: int


class Licence(Schema):
    id: str
    title: str
    url: str


class Column(Schema):
    code: str = Field(description="The name to filter, sort and select by.")
    name: str
    type: str = Field(description="Frictionless type: string, number, integer, date, datetime or boolean.")
    masked: bool = Field(description="Values come masked (as text) and cannot be filtered, sorted or searched.")
    key: bool


class ResourceOut(Schema):
    id: int
    name: str
    description: str
    kind: str
    row_count: int | None
    last_loaded_at: dt.datetime | None
    columns: list[Column]
    rows_url: str | None
    download_url: str | None


class DatasetSummary(Schema):
    id: int
    name: str
    code: str
    title: str
    description: str
    department: Department
    region: Region
    open_type: str
    update_cycle: str
    themes: list[Term]
    domains: list[Term]
    issued: dt.date | None
    modified: dt.datetime
    url: str


class Links(Schema):
    page: str
    turtle: str
    rdf_xml: str
    json_ld: str
    datapackage: str


class DatasetOut(DatasetSummary):
    licence: Licence
    can_read_rows: bool = Field(description="Whether this caller may read the rows (see open_type).")
    open_conditions: str
    open_basis: str
    resources: list[ResourceOut]
    links: Links


class FacetValue(Schema):
    value: str
    label: str
    count: int


class DatasetPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[DatasetSummary]
    facets: dict[str, list[FacetValue]]


class RowField(Schema):
    code: str
    name: str
    type: str
    masked: bool


class RowsOut(Schema):
    resource_id: int
    fields: list[RowField]
    records: list[dict[str, Any]]
    next_cursor: str | None = Field(description="Pass as cursor for the following page; null on the last.")
    total: int | None
    total_kind: str | None


class UsageDay(Schema):
    day: dt.date
    view: int
    download: int
    api: int


class UsageOut(Schema):
    dataset: str
    days: int
    totals: dict[str, int]
    daily: list[UsageDay]


class DatasetQuery(Schema):
    q: str = Field("", description="Chinese full text.")
    theme: list[str] = Field([], description="Theme codes (repeat for several).")
    domain: list[str] = Field([], description="Priority domain codes.")
    department: list[str] = Field([], description="Unified social credit codes.")
    region: list[str] = Field([], description="Division codes.")
    format_category: list[str] = []
    update_cycle: list[str] = []
    open_type: list[str] = Field([], description="unconditional or on_application.")
    sort: Literal["relevance", "newest", "name"] = "relevance"
    page: int = Field(1, ge=1)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)
    facets: bool = Field(True, description="Count the datasets per value of every filter.")


# --- building ------------------------------------------------------------------------------


def _absolute(request: HttpRequest, name: str, *args: Any) -> str:
    return request.build_absolute_uri(reverse(name, args=args))


def _department(department) -> dict[str, Any]:
    return {"id": department.credit_code.lower(), "name": department.name}


def _summary(request: HttpRequest, entry: CatalogEntry) -> dict[str, Any]:
    version = entry.published
    region = entry.provider.region
    return {
        "id": entry.pk,
        "name": selectors.dataset_name(entry),
        "code": entry.code,
        "title": version.name,
        "description": version.summary,
        "department": _department(entry.provider),
        "region": {"code": region.code, "name": region.name},
        "open_type": version.open_type,
        "update_cycle": version.update_cycle,
        "themes": [{"code": t.code, "name": t.name} for t in sorted(version.themes.all(), key=lambda t: t.code)],
        "domains": [
            {"code": d, "name": str(PriorityDomain(d).label)} for d in version.domains if d in PriorityDomain.values
        ],
        "issued": version.publish_date,
        "modified": selectors.dataset_modified(entry),
        "url": _absolute(request, "opendata:dataset", selectors.dataset_name(entry)),
    }


def _resource(request: HttpRequest, resource: Resource) -> dict[str, Any]:
    table = resource.kind == Resource.Kind.TABLE
    columns = [
        {
            "code": c.code,
            "name": c.name,
            "type": field_type(c.data_type, perm.is_masked(c)),
            "masked": perm.is_masked(c),
            "key": c.is_key,
        }
        for c in resource.columns.all()
        if perm.column_is_public(c)
    ]
    return {
        "id": resource.pk,
        "name": resource.name,
        "description": resource.description,
        "kind": resource.kind,
        "row_count": resource.row_count if table else None,
        "last_loaded_at": resource.last_loaded_at,
        "columns": columns,
        "rows_url": _absolute(request, "open_api:resource_rows", resource.pk) if table else None,
        "download_url": _absolute(request, "opendata:download", resource.pk, "csv") if table else None,
    }


def _dataset(request: HttpRequest, name: str) -> CatalogEntry:
    entry = selectors.get_dataset(_caller(request), name)
    if entry is None:
        raise Http404
    return entry


def _facets(counts: dict[str, dict[str, int]]) -> dict[str, list[dict[str, Any]]]:
    labels = facet_labels({facet: counts.get(facet, {}) for facet in FACETS.values()})
    out = {}
    for parameter, facet in FACETS.items():
        values = sorted(counts.get(facet, {}).items(), key=lambda item: (-item[1], item[0]))
        names = selectors.public_facet_names(facet, [v for v, _n in values])
        out[parameter] = [
            {"value": names.get(v, v), "label": labels.get(facet, {}).get(v, v), "count": n} for v, n in values
        ]
    return out


# --- operations ----------------------------------------------------------------------------


@open_api.get("/datasets", response=DatasetPage, tags=["datasets"])
def list_datasets(request: HttpRequest, params: Query[DatasetQuery]):
    """Search the datasets: Chinese full text, filters (repeat a parameter for several
    values), sort, paging, and the facet counts of the matches."""
    filters = {
        FACETS[parameter]: selectors.catalog_facet_values(FACETS[parameter], values)
        for parameter in FACETS
        if (values := getattr(params, parameter))
    }
    result = selectors.search_datasets(
        _caller(request),
        params.q,
        filters,
        sort=params.sort,
        offset=(params.page - 1) * params.page_size,
        limit=params.page_size,
        with_facets=params.facets,
    )
    return {
        "count": result.total,
        "page": params.page,
        "page_size": params.page_size,
        "results": [_summary(request, entry) for entry in result.entries],
        "facets": _facets(result.facets) if params.facets else {},
    }


@open_api.get("/datasets/{name}", response=DatasetOut, tags=["datasets"])
def dataset_detail(request: HttpRequest, name: str):
    """One dataset by name (or id): metadata, licence, whether the caller may read its rows,
    the conditions and basis of an on-application dataset (R-30.1), and its resources with
    their public columns."""
    entry = _dataset(request, name)
    record_usage(entry, UsageStat.Kind.API)
    version = entry.published
    licence_id, licence_title, licence_url = LICENCES[version.open_type]
    dataset_name = selectors.dataset_name(entry)
    return {
        **_summary(request, entry),
        "licence": {"id": licence_id, "title": str(licence_title), "url": licence_url},
        "can_read_rows": perm.can_read_rows(_caller(request), entry),
        "open_conditions": version.open_conditions,
        "open_basis": version.open_basis,
        "resources": [_resource(request, r) for r in entry.public_resources],
        "links": {
            "page": _absolute(request, "opendata:dataset", dataset_name),
            "turtle": _absolute(request, "standards:dataset_as", dataset_name, "ttl"),
            "rdf_xml": _absolute(request, "standards:dataset_as", dataset_name, "rdf"),
            "json_ld": _absolute(request, "standards:dataset_as", dataset_name, "jsonld"),
            "datapackage": _absolute(request, "standards:datapackage", dataset_name),
        },
    }


@open_api.get("/datasets/{name}/usage", response=UsageOut, tags=["datasets"])
def dataset_usage(request: HttpRequest, name: str, days: int = Query(30, ge=1, le=MAX_USAGE_DAYS)):
    """Page views, downloads and API calls of a dataset on each of the last ``days`` days
    (Asia/Shanghai, today last)."""
    entry = _dataset(request, name)
    dates, series = selectors.daily_usage(_caller(request), days, entry)
    return {
        "dataset": selectors.dataset_name(entry),
        "days": days,
        "totals": {kind: sum(counts) for kind, counts in series.items()},
        "daily": [{"day": day, **{kind: series[kind][i] for kind in series}} for i, day in enumerate(dates)],
    }


@open_api.get("/resources/{resource_id}/rows", response=RowsOut, tags=["rows"], url_name="resource_rows")
def resource_rows(
    request: HttpRequest,
    resource_id: int,
    q: str = "",
    sort: str = Query("", description="Columns, - for descending: -ffrq,jzlb"),
    fields: str = Query("", description="Columns to return: jzlb,jzje"),
    limit: int = Query(query.DEFAULT_LIMIT, ge=0, le=query.MAX_LIMIT),
    offset: int = Query(0, ge=0, le=query.MAX_OFFSET),
    cursor: str | None = None,
    total: Literal["none", "estimated"] = Query(
        "none", description="estimated: exact up to 10,000 matching rows, PostgreSQL's estimate above."
    ),
):
    """One page of a table's rows as the public receives them: public columns only, masked.
    Every other query parameter is a filter on a column: ``jzlb=城市低保`` (equals),
    ``ffrq__gte=2026-01-01``, ``jzlb__in=城市低保,农村低保``, ``xm__prefix=张``,
    ``jzje__null=true``; masked columns cannot be filtered. Follow ``next_cursor`` (as
    ``cursor``) for the following pages: deep offsets are limited."""
    resource = selectors.get_resource(_caller(request), str(resource_id))
    if resource is None or resource.kind != Resource.Kind.TABLE:
        raise Http404
    parsed = query.parse_params(request.GET, projection=query.ALL, masked=True)
    rows = reads.read_rows(
        Actor(user=_caller(request), ip=client_ip(request)),
        resource,
        route="open_api",
        filters=parsed.filters,
        q=q,
        sort=sort,
        fields=fields or None,
        limit=limit,
        offset=offset,
        cursor=cursor,
        total=total,
    )
    record_usage(resource.entry, UsageStat.Kind.API)
    return {
        "resource_id": resource.pk,
        "fields": [
            {"code": f.code, "name": f.name, "type": field_type(f.data_type, f.masked), "masked": f.masked}
            for f in rows.fields
        ],
        "records": rows.rows,
        "next_cursor": rows.next_cursor,
        "total": rows.total,
        "total_kind": rows.total_kind,
    }


@open_api.get("/themes", response=list[CountedTerm], tags=["vocabularies"])
def themes(request: HttpRequest):
    """The themes (主题, Art. 19) with how many datasets each has."""
    counts = selectors.dataset_counts(_caller(request)).get("theme", {})
    return [{"code": t.code, "name": t.name, "datasets": counts.get(t.code, 0)} for t in theme_choices()]


@open_api.get("/domains", response=list[CountedTerm], tags=["vocabularies"])
def domains(request: HttpRequest):
    """The priority domains (Art. 31, R-31.1) with how many datasets each has."""
    counts = selectors.dataset_counts(_caller(request)).get("domain", {})
    return [
        {"code": code, "name": str(label), "datasets": counts.get(code, 0)} for code, label in PriorityDomain.choices
    ]


@open_api.get("/departments", response=list[DepartmentListed], tags=["vocabularies"])
def departments(request: HttpRequest):
    """The departments that provide datasets, most datasets first."""
    return [
        {**_department(d), "region": {"code": d.region.code, "name": d.region.name}, "datasets": n}
        for d, n in selectors.providers(_caller(request))
    ]
