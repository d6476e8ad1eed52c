"""CKAN-compatible Action API (issue #6, item 2) at ``/api/3/action/{name}`` (and CKAN's
unversioned ``/api/action/{name}``, which the ``ckanapi`` client calls), so that CKAN clients
and harvesters work unchanged. Read-only and anonymous: what is shown is decided by
``permissions`` and read through ``selectors``; rows come only from the datastore query engine.

Envelope and errors as CKAN sends them: ``{"help", "success": true, "result"}``; failures
``{"help", "success": false, "error": {"__type", "message", <parameter>: [messages]}}`` with
404 "Not Found Error", 403 "Authorization Error", 409 "Validation Error"; an unknown action
(``datastore_search_sql`` among them: there is no SQL endpoint) is HTTP 400 with the JSON
string "Bad request - Action name not known: …", and a body that is not a JSON object is a 400
"Bad request - JSON Error: …". Parameters come from the query string (GET), a JSON body or a
form (POST); lists and objects may be given as JSON text, as CKAN accepts them.

How GovData maps onto CKAN's model:

- package = a dataset (a published catalog entry opened unconditionally or on application);
  ``id`` is the entry's id, ``name`` its resource code with "-" for "/" (``package_show``
  also takes the code itself). ``organization`` = the providing department, named by its
  unified social credit code in lower case; ``groups`` = the entry's themes (主题, class 2
  items, named by code); ``tags`` = its priority domains (R-31.1, named by their stable code,
  the Chinese label in ``display_name``); ``extras`` carry the resource code, classification,
  opening type (with the conditions and the basis of an on-application dataset, R-30.1),
  update cycle, provider credit code, region and origin.
- Licence: unconditionally open datasets are CC BY 4.0 ("cc-by", ``isopen`` true): use is
  free with attribution of the providing department, as the open-data rules require the
  source to be named. On-application datasets are "other-closed" (``isopen`` false): their
  terms are set by each approved application.
- resources = the dataset's published resources. A table's ``url`` is its
  ``datastore_search`` call (format "JSON") until the portal's downloads exist; files and
  interfaces have an empty ``url`` for now.
- ``package_search``: ``q`` is the catalog's Chinese full-text search (jieba). ``fq`` takes
  ``field:value`` terms joined by spaces, ``AND`` or ``+``, values quoted or as
  ``field:(a OR b)``, for the facet fields: organization, groups, tags, res_format, and
  GovData's classification, region (division code), open_type, update_cycle and
  format_category. ``res_format`` is the entry's format category of the 2017 guide
  (document, spreadsheet, database, image, streaming, self_describing, interface): the
  search index knows no per-resource format. Sorts: "score desc[, metadata_modified desc]",
  "metadata_modified desc", "title_string asc" and "name asc" (both by title: the
  catalog's 资源名称). ``rows`` is capped at 1000 as CKAN caps it.
- ``datastore_search``: the public projection (personal-information columns without a
  masking rule are left out; masked columns come masked, typed "text", and cannot be
  filtered on, sorted or searched). ``limit`` defaults to 100 and is capped at 32000;
  ``offset`` is served up to the engine's 10,000. ``_links.next`` follows the engine's keyset
  cursor (a GovData parameter ``cursor``) while rows follow, so link-following clients page
  through tables of any size; on the last page it leads to an empty page. ``include_total``
  gives an exact total up to 10,000 matching rows (always on SQLite) and PostgreSQL's
  estimate above, flagged by ``total_was_estimated``: exact counts of millions of rows on
  every call would cost a second each. Records carry no ``_id``. ``records_format``: objects,
  lists, csv or tsv.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from govdata.catalog.models import Classification
from govdata.catalog.selectors import facet_labels, theme_choices
from govdata.catalog.vocab import DataType, OpenType, PriorityDomain
from govdata.common.actor import Actor
from govdata.datastore import query
from govdata.datastore.models import Resource
from govdata.orgs.models import Department

from . import permissions as perm
from . import selectors
from .models import UsageStat
from .portal import portal_name
from .selectors import DatasetRecord, ProviderRecord, ResourceRecord, ThemeRecord
from .services import reads
from .services.usage import record_usage

# The CKAN release whose Action API shapes these follow.
CKAN_VERSION = "2.10.4"
DEFAULT_ROWS, MAX_ROWS = 10, 1000
DEFAULT_FACET_LIMIT = 50
DEFAULT_SORT = "score desc, metadata_modified desc"
DEFAULT_LIMIT, MAX_LIMIT = 100, 32000
RECORDS_FORMATS = ("objects", "lists", "csv", "tsv")
LICENCES = {
    OpenType.UNCONDITIONAL: (
        "cc-by",
        gettext_lazy("Creative Commons Attribution 4.0"),
        "https://creativecommons.org/licenses/by/4.0/",
    ),
    OpenType.ON_APPLICATION: ("other-closed", gettext_lazy("Open on application"), ""),
}
# CKAN's column types for the guide's data types.
FIELD_TYPES = {
    DataType.CHAR: "text",
    DataType.MEMO: "text",
    DataType.GENERAL: "text",
    DataType.NUMBER: "numeric",
    DataType.CURRENCY: "numeric",
    DataType.INTEGER: "int",
    DataType.DOUBLE: "float8",
    DataType.FLOAT: "float8",
    DataType.LOGICAL: "bool",
    DataType.DATE: "date",
    DataType.DATETIME: "timestamp",
}
RESOURCE_FORMATS = {Resource.Kind.TABLE: "JSON", Resource.Kind.API: "API"}
SORTS = {
    "score desc, metadata_modified desc": "relevance",
    "score desc": "relevance",
    "rank": "relevance",
    "metadata_modified desc": "newest",
    "title_string asc": "name",
    "name asc": "name",
}
# Facet and fq fields -> the catalog search's facets.
FACETS = {
    "organization": "provider",
    "groups": "theme",
    "tags": "domain",
    "res_format": "format_category",
    "classification": "classification",
    "region": "region",
    "open_type": "open_type",
    "update_cycle": "update_cycle",
    "format_category": "format_category",
}
FQ_TERM = re.compile(r'\s*(?:(?:AND|&&)\s+)?\+?([A-Za-z_][\w.]*):("[^"]*"|\([^)]*\)|[^\s()"]+)\s*')


# --- errors -----------------------------------------------------------------------------------


class ActionError(Exception):
    status = 400
    kind = ""

    def __init__(self, message: str = "", fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    def error(self) -> dict[str, Any]:
        return {"__type": self.kind, "message": self.message, **self.fields}


class NotFound(ActionError):
    status, kind = 404, "Not Found Error"

    def __init__(self, detail: str = ""):
        super().__init__(_("Not found") + (f": {detail}" if detail else ""))


class NotAuthorized(ActionError):
    status, kind = 403, "Authorization Error"

    def __init__(self, detail: str = ""):
        super().__init__(_("Access denied") + (f": {detail}" if detail else ""))


class Invalid(ActionError):
    status, kind = 409, "Validation Error"

    def __init__(self, fields: dict[str, list[str]]):
        first = next(iter(fields.values()), [""])
        super().__init__(str(first[0]) if first else "", {k: [str(m) for m in v] for k, v in fields.items()})


class BadRequest(Exception):
    """CKAN answers these with a bare JSON string, not the envelope."""


def _invalid(key: str, message: str) -> Invalid:
    return Invalid({key: [message]})


# --- parameters -------------------------------------------------------------------------------


class Params:
    """An action's parameters with CKAN's conversions: text from a query string or form, or
    typed values from a JSON body."""

    TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")

    def __init__(self, data: dict[str, Any]):
        self.data = data

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = None) -> Any:
        value = self.data.get(key, default)
        # A repeated query parameter arrives as a list; a scalar reads its last value.
        return value[-1] if isinstance(value, list) and value else value

    def text(self, key: str, default: str = "") -> str:
        value = self.raw(key)
        if value is None or value == "":
            return default
        if isinstance(value, dict | list):
            raise _invalid(key, _("Give text."))
        return str(value)

    def required(self, key: str) -> str:
        value = self.text(key)
        if not value:
            raise _invalid(key, _("Missing value"))
        return value

    def integer(self, key: str, default: int, *, cap: int | None = None, minimum: int | None = 0) -> int:
        value = self.raw(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise _invalid(key, _("Invalid integer"))
        try:
            number = int(str(value).strip())
        except ValueError:
            raise _invalid(key, _("Invalid integer")) from None
        if minimum is not None and number < minimum:
            raise _invalid(key, _("Must be a natural number"))
        return min(number, cap) if cap is not None else number

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in self.TRUE or text in self.FALSE:
            return text in self.TRUE
        raise _invalid(key, _("Give true or false."))

    def json(self, key: str, kind: type, default: Any) -> Any:
        """A list or an object, given as such or as JSON text."""
        value = self.data.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, list) and kind is not list:
            value = value[-1]
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                if kind is list:  # CKAN also takes a single name, or names separated by commas
                    value = [part.strip() for part in value.split(",") if part.strip()]
                else:
                    raise _invalid(key, _("Give a JSON object.")) from None
        if not isinstance(value, kind):
            raise _invalid(key, _("Give a JSON object.") if kind is dict else _("Give a list."))
        return value

    def names(self, key: str) -> list[str]:
        values = self.json(key, list, [])
        if not all(isinstance(v, str) for v in values):
            raise _invalid(key, _("Give a list of names."))
        return values


# Built once: ``PriorityDomain.values`` builds its list at every use.
DOMAIN_CODES = frozenset(PriorityDomain.values)


# --- dictization -------------------------------------------------------------------------------


def _iso(moment: dt.datetime | None) -> str | None:
    """CKAN's timestamps: UTC without an offset."""
    if moment is None:
        return None
    # ``timezone.make_naive`` asks the zone for the offset four times: a page has hundreds.
    offset = moment.utcoffset()
    if offset is None:
        return moment.isoformat()
    return (moment - offset if offset else moment).replace(tzinfo=None).isoformat()


def organization_dict(department: Department | ProviderRecord, package_count: int | None = None) -> dict[str, Any]:
    out = {
        "id": str(department.pk),
        "name": department.credit_code.lower(),
        "title": department.name,
        "display_name": department.name,
        "description": "",
        "image_url": "",
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
        "created": _iso(department.created_at),
    }
    if package_count is not None:
        out["package_count"] = package_count
    return out


def group_dict(theme: Classification | ThemeRecord, package_count: int | None = None) -> dict[str, Any]:
    out = {
        "id": theme.code,
        "name": theme.code,
        "title": theme.name,
        "display_name": theme.name,
        "description": "",
        "image_display_url": "",
        "type": "group",
        "is_organization": False,
        "state": "active",
        "approval_status": "approved",
    }
    if package_count is not None:
        out["package_count"] = package_count
    return out


def tag_dict(domain: str) -> dict[str, Any]:
    return {
        "id": domain,
        "name": domain,
        "display_name": str(PriorityDomain(domain).label),
        "state": "active",
        "vocabulary_id": None,
    }


def _datastore_base(request: HttpRequest) -> str:
    """The address of ``datastore_search`` up to a resource's id."""
    return request.build_absolute_uri(_action_path("datastore_search")) + "?resource_id="


def datastore_url(request: HttpRequest, resource: Resource) -> str:
    """The ``datastore_search`` call that reads a table resource's rows."""
    return _datastore_base(request) + str(resource.pk)


class Dictization:
    """What the dictionaries of one response share, worked out once for it: the
    ``datastore_search`` address (``reverse`` and ``build_absolute_uri`` cost 70 µs a table
    resource, four times a whole dataset's dictionary), and the organizations, groups, tags
    and licence titles (translated at each ``str``) that a page's datasets repeat. Each
    dictionary gets its own copy of a shared part, so changing one changes no other."""

    def __init__(self, request: HttpRequest):
        self.datastore_base = _datastore_base(request)
        self._organizations: dict[int, dict[str, Any]] = {}
        self._groups: dict[str, dict[str, Any]] = {}
        self._tags: dict[str, dict[str, Any]] = {}
        self._licences: dict[str, tuple[str, str, str]] = {}

    def organization(self, provider: ProviderRecord) -> dict[str, Any]:
        found = self._organizations.get(provider.pk)
        if found is None:
            found = self._organizations[provider.pk] = organization_dict(provider)
        return found.copy()

    def group(self, theme: ThemeRecord) -> dict[str, Any]:
        found = self._groups.get(theme.code)
        if found is None:
            found = self._groups[theme.code] = group_dict(theme)
        return found.copy()

    def tag(self, domain: str) -> dict[str, Any]:
        found = self._tags.get(domain)
        if found is None:
            found = self._tags[domain] = tag_dict(domain)
        return found.copy()

    def licence(self, open_type: str) -> tuple[str, str, str]:
        found = self._licences.get(open_type)
        if found is None:
            licence_id, title, url = LICENCES[open_type]
            found = self._licences[open_type] = (licence_id, str(title), url)
        return found


def resource_dict(
    dictization: Dictization, dataset: DatasetRecord, resource: ResourceRecord, position: int = 0
) -> dict[str, Any]:
    table = resource.kind == Resource.Kind.TABLE
    return {
        "id": str(resource.pk),
        "package_id": str(resource.entry_id),
        "name": resource.name,
        "description": resource.description,
        "format": RESOURCE_FORMATS.get(resource.kind) or dataset.format_type.upper(),
        "url": dictization.datastore_base + str(resource.pk) if table else "",
        "url_type": "datastore" if table else None,
        "datastore_active": table,
        "resource_type": resource.kind,
        "mimetype": "application/json" if table else None,
        "size": None,
        "hash": "",
        "state": "active",
        "position": position,
        "created": _iso(resource.created_at),
        "metadata_modified": _iso(resource.reviewed_at),
        "last_modified": _iso(resource.last_loaded_at),
    }


def package_dict(dictization: Dictization, dataset: DatasetRecord) -> dict[str, Any]:
    """A dataset as CKAN describes one, from its ``selectors.dataset_records`` record."""
    provider = dataset.provider
    licence_id, licence_title, licence_url = dictization.licence(dataset.open_type)
    themes = sorted(dataset.themes, key=lambda t: t.code)
    domains = [d for d in dataset.domains if d in DOMAIN_CODES]
    extras = {
        "resource_code": dataset.code,
        "classification": dataset.classification_code,
        "open_type": dataset.open_type,
        "update_cycle": dataset.update_cycle,
        "format_category": dataset.format_category,
        "provider_credit_code": provider.credit_code,
        "region": provider.region_code,
        "origin": dataset.origin,
        "publish_date": dataset.publish_date.isoformat() if dataset.publish_date else "",
    }
    if dataset.open_type == OpenType.ON_APPLICATION:
        extras["open_conditions"] = dataset.open_conditions
        extras["open_basis"] = dataset.open_basis
    if dataset.read_only:
        extras["origin_provider"] = dataset.origin_provider
    resources = [resource_dict(dictization, dataset, r, i) for i, r in enumerate(dataset.resources)]
    return {
        "id": str(dataset.pk),
        "name": selectors.dataset_name(dataset),
        "title": dataset.name,
        "notes": dataset.summary,
        "type": "dataset",
        "state": "active",
        "private": False,
        "url": "",
        "version": str(dataset.number),
        "author": provider.name,
        "author_email": None,
        "maintainer": None,
        "maintainer_email": None,
        "license_id": licence_id,
        "license_title": licence_title,
        "license_url": licence_url,
        "isopen": dataset.open_type == OpenType.UNCONDITIONAL,
        "metadata_created": _iso(dataset.created_at),
        "metadata_modified": _iso(dataset.reviewed_at),
        "owner_org": str(provider.pk),
        "organization": dictization.organization(provider),
        "groups": [dictization.group(t) for t in themes],
        "tags": [dictization.tag(d) for d in domains],
        "num_tags": len(domains),
        "resources": resources,
        "num_resources": len(resources),
        "extras": [{"key": k, "value": v} for k, v in extras.items()],
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }


def package_dicts(request: HttpRequest, datasets: Iterable[DatasetRecord]) -> list[dict[str, Any]]:
    """The CKAN dictionaries of ``datasets``, one response's worth."""
    dictization = Dictization(request)
    return [package_dict(dictization, dataset) for dataset in datasets]


# --- facets ------------------------------------------------------------------------------------


def parse_fq(fq: str) -> dict[str, list[str]]:
    """``organization:a +tags:credit AND groups:(201 OR 202)`` -> catalog search filters."""
    filters: dict[str, list[str]] = {}
    fq, position = fq.strip(), 0
    while position < len(fq):
        term = FQ_TERM.match(fq, position)
        if term is None or term.end() == position:
            raise _invalid("fq", _("Write filters as field:value terms, such as tags:credit."))
        position = term.end()
        field, value = term.group(1), term.group(2)
        if field not in FACETS:
            message = _("Unknown field “%(field)s”; use one of %(fields)s.")
            raise _invalid("fq", message % {"field": field, "fields": ", ".join(FACETS)})
        if value.startswith("("):
            values = [v.strip().strip('"') for v in re.split(r"\s+OR\s+", value[1:-1]) if v.strip()]
        else:
            values = [value.strip('"')]
        if not values or not all(values):
            raise _invalid("fq", _("Write filters as field:value terms, such as tags:credit."))
        facet = FACETS[field]
        if facet in filters:
            message = _("Give %(field)s once; for several values write %(field)s:(a OR b).")
            raise _invalid("fq", message % {"field": field})
        filters[facet] = selectors.catalog_facet_values(facet, values)
    return filters


def search_facets(fields: list[str], counts: dict[str, dict[str, int]], limit: int) -> tuple[dict, dict]:
    """CKAN's ``facets`` and ``search_facets`` of the requested fields: the most frequent
    values (``facet.limit``, negative for all), listed by display name as CKAN lists them."""
    labels = facet_labels({FACETS[f]: counts.get(FACETS[f], {}) for f in fields})
    facets, restructured = {}, {}
    for field in fields:
        facet = FACETS[field]
        values = sorted(counts.get(facet, {}).items(), key=lambda item: (-item[1], item[0]))
        if limit >= 0:
            values = values[:limit]
        names = selectors.public_facet_names(facet, [v for v, _n in values])
        items = [
            {"name": names.get(v, v), "display_name": labels.get(facet, {}).get(v, v), "count": n} for v, n in values
        ]
        facets[field] = {item["name"]: item["count"] for item in items}
        restructured[field] = {"title": field, "items": sorted(items, key=lambda i: i["display_name"], reverse=True)}
    return facets, restructured


# --- actions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    run: Callable[[HttpRequest, Params], Any]
    # The parameters an action accepts when it refuses any other (as CKAN's search does).
    strict: frozenset[str] | None = None


ACTIONS: dict[str, Action] = {}


def action(strict: tuple[str, ...] | None = None):
    def register(function: Callable[[HttpRequest, Params], Any]) -> Callable[[HttpRequest, Params], Any]:
        ACTIONS[function.__name__] = Action(function, frozenset(strict) if strict is not None else None)
        return function

    return register


@action()
def status_show(request: HttpRequest, params: Params) -> dict[str, Any]:
    """The site and the CKAN API version it follows."""
    return {
        "site_title": portal_name(),
        "site_description": "",
        "site_url": request.build_absolute_uri("/").rstrip("/"),
        "ckan_version": CKAN_VERSION,
        "error_emails_to": None,
        "locale_default": settings.LANGUAGE_CODE,
        "extensions": ["datastore"],
    }


@action()
def help_show(request: HttpRequest, params: Params) -> str:
    """The help text of an action (``name``)."""
    found = ACTIONS.get(params.required("name"))
    if found is None:
        raise NotFound(_("Action function not found"))
    return found.run.__doc__ or ""


@action()
def package_list(request: HttpRequest, params: Params) -> list[str]:
    """The names of the datasets in name order (``limit``, ``offset``)."""
    limit = params.integer("limit", 0) or None
    offset = params.integer("offset", 0)
    codes = selectors.datasets(request.user).order_by("code").values_list("code", flat=True)
    page = codes[offset : offset + limit] if limit else codes[offset:]
    return [code.replace("/", "-").lower() for code in page]


@action(
    strict=(
        "q", "fq", "fq_list", "sort", "rows", "start", "facet", "facet.field", "facet.limit", "facet.mincount",
        "include_private", "include_drafts", "include_deleted", "use_default_schema",
    )
)  # fmt: skip
def package_search(request: HttpRequest, params: Params) -> dict[str, Any]:
    """Search the datasets: q (Chinese full text), fq, sort, rows, start, facet.field,
    facet.limit."""
    rows = params.integer("rows", DEFAULT_ROWS, cap=MAX_ROWS)
    start = params.integer("start", 0)
    sort = params.text("sort", DEFAULT_SORT)
    order = SORTS.get(", ".join(" ".join(part.split()) for part in sort.lower().split(",")))
    if order is None:
        raise _invalid("sort", _("Sort by one of: %(sorts)s.") % {"sorts": "; ".join(SORTS)})
    filters = parse_fq(" ".join([params.text("fq"), *params.names("fq_list")]))
    fields = params.names("facet.field") if params.boolean("facet", True) else []
    unknown = [f for f in fields if f not in FACETS]
    if unknown:
        message = _("Unknown facet “%(field)s”; use one of %(fields)s.")
        raise _invalid("facet.field", message % {"field": unknown[0], "fields": ", ".join(FACETS)})
    facet_limit = params.integer("facet.limit", DEFAULT_FACET_LIMIT, minimum=None)
    params.integer("facet.mincount", 1)  # validated only: only values that occur are counted
    result = selectors.search_datasets(
        request.user,
        params.text("q"),
        filters,
        sort=order,
        offset=start,
        limit=rows,
        with_facets=bool(fields),
        records=True,
    )
    facets, restructured = search_facets(fields, result.facets, facet_limit)
    return {
        "count": result.total,
        "sort": sort,
        "facets": facets,
        "search_facets": restructured,
        "results": package_dicts(request, result.entries),
    }


@action()
def package_show(request: HttpRequest, params: Params) -> dict[str, Any]:
    """One dataset by ``id``: its id, name or resource code."""
    entry = selectors.get_dataset(request.user, params.required("id"), related=False)
    if entry is None:
        raise NotFound()
    record_usage(entry, UsageStat.Kind.API)
    return package_dicts(request, selectors.dataset_records(request.user, [entry.pk]).values())[0]


def _departments(request: HttpRequest) -> tuple[list[Department], dict[str, int]]:
    counts = selectors.dataset_counts(request.user).get("provider", {})
    departments = Department.objects.filter(pk__in=[int(pk) for pk in counts]).order_by("name")
    return list(departments), counts


def _listing(params: Params, items: list[tuple[Any, int]], dictize: Callable[..., dict], name_of: Callable) -> list:
    """CKAN's organization_list / group_list options: sort, limit, offset, all_fields."""
    sort = " ".join(params.text("sort", "title asc").split()).lower()
    keys = {
        "title asc": lambda i: (dictize(i[0])["title"],),
        "name asc": lambda i: (name_of(i[0]),),
        "package_count desc": lambda i: (-i[1], name_of(i[0])),
    }
    if sort not in keys:
        raise _invalid("sort", _("Sort by one of: %(sorts)s.") % {"sorts": "; ".join(keys)})
    items = sorted(items, key=keys[sort])
    limit = params.integer("limit", 0)
    offset = params.integer("offset", 0)
    items = items[offset : offset + limit] if limit else items[offset:]
    if params.boolean("all_fields", False):
        return [dictize(obj, count) for obj, count in items]
    return [name_of(obj) for obj, _count in items]


@action()
def organization_list(request: HttpRequest, params: Params) -> list:
    """The departments that provide datasets (``all_fields``, ``sort``, ``limit``, ``offset``)."""
    departments, counts = _departments(request)
    items = [(d, counts[str(d.pk)]) for d in departments]
    return _listing(params, items, organization_dict, lambda d: d.credit_code.lower())


@action()
def organization_show(request: HttpRequest, params: Params) -> dict[str, Any]:
    """A department by ``id`` (its id or name); ``include_datasets`` lists its datasets."""
    ref = params.required("id").strip()
    departments, counts = _departments(request)
    found = next((d for d in departments if ref in (str(d.pk), d.credit_code.lower(), d.credit_code)), None)
    if found is None:
        raise NotFound()
    out = organization_dict(found, counts[str(found.pk)])
    if params.boolean("include_datasets", False):
        result = selectors.search_datasets(
            request.user,
            filters={"provider": [str(found.pk)]},
            sort="name",
            limit=MAX_ROWS,
            with_facets=False,
            records=True,
        )
        out["packages"] = package_dicts(request, result.entries)
    return out


@action()
def group_list(request: HttpRequest, params: Params) -> list:
    """The themes (主题, Art. 19) as groups (``all_fields``, ``sort``, ``limit``, ``offset``)."""
    counts = selectors.dataset_counts(request.user).get("theme", {})
    items = [(theme, counts.get(theme.code, 0)) for theme in theme_choices()]
    return _listing(params, items, group_dict, lambda t: t.code)


@action()
def tag_list(request: HttpRequest, params: Params) -> list:
    """The priority domains (R-31.1) that datasets are marked with (``query``,
    ``all_fields``)."""
    counts = selectors.dataset_counts(request.user).get("domain", {})
    words = params.text("query").strip().lower()
    tags = [tag_dict(d) for d in PriorityDomain.values if counts.get(d)]
    tags = [t for t in tags if words in t["name"] or words in t["display_name"].lower()]
    if params.boolean("all_fields", False):
        return tags
    return [t["name"] for t in tags]


def _resource(request: HttpRequest, params: Params, key: str = "id") -> Resource:
    ref = params.required(key)
    resource = selectors.get_resource(request.user, ref)
    if resource is None:
        raise NotFound(_("Resource “%(id)s” was not found.") % {"id": ref})
    return resource


@action()
def resource_show(request: HttpRequest, params: Params) -> dict[str, Any]:
    """One resource of a dataset by ``id``."""
    resource = _resource(request, params)
    dataset = selectors.dataset_records(request.user, [resource.entry_id])[resource.entry_id]
    position = [r.pk for r in dataset.resources].index(resource.pk)
    return resource_dict(Dictization(request), dataset, dataset.resources[position], position)


def _json_value(value: Any) -> Any:
    """A value in a JSON record: numbers stay JSON numbers (a decimal that no float holds
    exactly comes as its text), dates and times in ISO form."""
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return query.as_text(DataType.DOUBLE, value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _records(rows: selectors.Rows, records_format: str) -> Any:
    codes = [f.code for f in rows.fields]
    if records_format == "objects":
        return [{code: _json_value(row[code]) for code in codes} for row in rows.rows]
    if records_format == "lists":
        return [[_json_value(row[code]) for code in codes] for row in rows.rows]
    out = io.StringIO()
    writer = csv.writer(out, delimiter="," if records_format == "csv" else "\t", lineterminator="\n")
    for row in rows.rows:
        writer.writerow([query.as_text(f.data_type, row[f.code]) for f in rows.fields])
    return out.getvalue()


def _filters(params: Params) -> list[query.Filter]:
    out = []
    for name, value in params.json("filters", dict, {}).items():
        if isinstance(value, list):
            out.append(query.Filter(name, "in", value))
        elif value is None or isinstance(value, dict):
            raise _invalid("filters", _("%(field)s: give a value or a list of values.") % {"field": name})
        else:
            out.append(query.Filter(name, "eq", value))
    return out


def _sort(params: Params) -> list[str]:
    """CKAN's "a desc, b" (or a list of such) as the engine's ["-a", "b"]."""
    value = params.data.get("sort") or ""
    clauses = value if isinstance(value, list) else str(value).split(",")
    out = []
    for clause in clauses:
        words = str(clause).strip().rsplit(None, 1)
        if not words:
            continue
        direction = words[1].lower() if len(words) == 2 else "asc"
        if len(words) == 2 and direction not in ("asc", "desc"):
            words, direction = [str(clause).strip()], "asc"
        name = words[0].strip('"')
        out.append(("-" if direction == "desc" else "") + name)
    return out


def _link(params: Params, **changes: Any) -> str:
    """The action's path with the request's parameters, some changed (None drops one)."""
    values = {
        key: value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        for key, value in {**params.data, **changes}.items()
        if value is not None
    }
    return _action_path("datastore_search") + "?" + urlencode(values)


@action(
    strict=(
        "resource_id", "filters", "q", "plain", "language", "distinct", "limit", "offset", "fields", "sort",
        "include_total", "total_estimation_threshold", "records_format", "cursor",
    )
)  # fmt: skip
def datastore_search(request: HttpRequest, params: Params) -> dict[str, Any]:
    """Rows of a table resource: resource_id, filters, q, fields, sort, limit, offset,
    include_total, records_format (objects, lists, csv, tsv); cursor follows _links.next."""
    resource = _resource(request, params, "resource_id")
    if resource.kind != Resource.Kind.TABLE:
        raise NotFound(_("Resource “%(id)s” was not found.") % {"id": resource.pk})
    if not perm.can_read_resource_rows(request.user, resource):
        raise NotAuthorized(_("the data of a dataset opened on application is given to approved applicants only"))
    q = params.raw("q", "")
    if not isinstance(q, str):
        raise _invalid("q", _("Give the words to search for as text; use filters for single columns."))
    if params.boolean("distinct", False):
        raise _invalid("distinct", _("Distinct rows are not offered."))
    records_format = params.text("records_format", "objects")
    if records_format not in RECORDS_FORMATS:
        raise _invalid("records_format", _("Use one of: %(formats)s.") % {"formats": ", ".join(RECORDS_FORMATS)})
    limit = params.integer("limit", DEFAULT_LIMIT, cap=MAX_LIMIT)
    offset = params.integer("offset", 0)
    cursor = params.text("cursor") or None
    include_total = params.boolean("include_total", True)
    filters = _filters(params)
    sort = _sort(params)
    rows = reads.read_rows(
        Actor.from_request(request),
        resource,
        route="ckan",
        filters=filters,
        q=q,
        sort=sort,
        fields=params.names("fields") or None,
        limit=limit,
        offset=offset,
        cursor=cursor,
        total="estimated" if include_total else "none",
    )
    record_usage(resource.entry, UsageStat.Kind.API)
    if rows.next_cursor is not None:
        following = _link(params, offset=None, cursor=rows.next_cursor)
    elif cursor is None and offset + limit <= query.MAX_OFFSET:
        following = _link(params, offset=offset + limit)  # CKAN's own form
    else:
        following = _link(params, limit=0)  # an empty page: nothing follows
    out: dict[str, Any] = {
        "resource_id": str(resource.pk),
        "include_total": include_total,
        "limit": limit,
        "records_format": records_format,
        "total_estimation_threshold": params.raw("total_estimation_threshold"),
        **({"offset": offset} if "offset" in params else {}),
        **({"filters": {f.field: f.value for f in filters}} if filters else {}),
        **({"q": q} if q else {}),
        **({"sort": params.data["sort"]} if sort else {}),
        "fields": [
            {"id": f.code, "type": "text" if f.masked else FIELD_TYPES[f.data_type], "info": {"label": f.name}}
            for f in rows.fields
        ],
        "records": _records(rows, records_format),
        "_links": {"start": _link(params, offset=None, cursor=None), "next": following},
    }
    if include_total:
        out["total"] = rows.total
        out["total_was_estimated"] = rows.total_kind == "estimated"
    return out


# --- the view ----------------------------------------------------------------------------------


def _action_path(name: str) -> str:
    return reverse("ckan:action", args=[name])


def _request_data(request: HttpRequest) -> dict[str, Any]:
    def plain(values) -> dict[str, Any]:
        return {key: items[0] if len(items) == 1 else items for key, items in values.lists()}

    if request.method == "GET":
        return plain(request.GET)
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return plain(request.POST)
    if not request.body.strip():
        return {}
    try:
        data = json.loads(request.body)
    except ValueError as exc:
        raise BadRequest(_("JSON Error: %(error)s") % {"error": exc}) from None
    if not isinstance(data, dict):
        raise BadRequest(_("JSON Error: %(error)s") % {"error": _("the request body is not a JSON object")})
    return data


def _respond(body: Any, status: int = 200) -> JsonResponse:
    # Bodies are trees built here, never cyclic: the encoder's check would remember every dict
    # and list of a result page (a tenth of its encoding time).
    params = {"ensure_ascii": False, "check_circular": False}
    return JsonResponse(body, status=status, safe=False, json_dumps_params=params)


@csrf_exempt  # read-only actions: a forged request can change nothing
@require_http_methods(["GET", "POST"])
def dispatch(request: HttpRequest, name: str) -> JsonResponse:
    found = ACTIONS.get(name)
    if found is None:
        return _respond(_("Bad request - Action name not known: %(name)s") % {"name": name}, 400)
    envelope: dict[str, Any] = {
        "help": request.build_absolute_uri(_action_path("help_show") + "?" + urlencode({"name": name}))
    }
    try:
        params = Params(_request_data(request))
        if found.strict is not None:
            extra = sorted(set(params.data) - found.strict)
            if extra:
                raise Invalid({key: [_("invalid value “%(value)s”") % {"value": params.raw(key)}] for key in extra})
        result = found.run(request, params)
    except BadRequest as exc:
        return _respond(_("Bad request - %(reason)s") % {"reason": exc}, 400)
    except PermissionDenied:
        error: ActionError = NotAuthorized()
    except ValidationError as exc:
        error = Invalid(exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages})
    except ActionError as exc:
        error = exc
    else:
        return _respond({**envelope, "success": True, "result": result})
    return _respond({**envelope, "success": False, "error": error.error()}, error.status)
