"""Frictionless Data Package descriptors (issue #6, item 4): ``datapackage.json`` of a dataset
at ``/open/datasets/<name>/datapackage.json``, so that Frictionless tools validate and load
the portal's CSV downloads with their types.

A *tabular data package* (v1 spec): one resource per published table resource of the
dataset, whose ``path`` is the portal's CSV download. Each resource's Table Schema
describes exactly the columns that download holds, in its order, named as its header names
them (the item names): public columns only (``permissions.column_is_public``); a masked
column is typed ``string``, since its values are masked text whatever the item's type. The
primary key is given when every key item is served unmasked: masked values may coincide.
Files and interfaces are not tabular and are left out; a dataset without a table has no
descriptor (404). On-application datasets are described too (metadata is public, R-30.1);
their downloads answer only approved applicants.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from govdata.catalog.models import CatalogEntry
from govdata.catalog.vocab import DataType, PriorityDomain
from govdata.datastore.models import Resource

from . import permissions as perm
from . import selectors
from .ckan import LICENCES

# Frictionless Table Schema types of the guide's data types.
FIELD_TYPES = {
    DataType.CHAR: "string",
    DataType.MEMO: "string",
    DataType.GENERAL: "string",
    DataType.NUMBER: "number",
    DataType.CURRENCY: "number",
    DataType.DOUBLE: "number",
    DataType.FLOAT: "number",
    DataType.INTEGER: "integer",
    DataType.DATE: "date",
    DataType.DATETIME: "datetime",
    DataType.LOGICAL: "boolean",
}
# The downloads write date-times as "2026-03-02 09:30:00" (``query.as_text``), not ISO 8601's
# "T" form that Frictionless assumes by default.
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def field_type(data_type: str, masked: bool) -> str:
    """The type of a column's values as the public receives them."""
    return "string" if masked else FIELD_TYPES[data_type]


def table_schema(resource: Resource) -> dict[str, Any]:
    columns = list(resource.columns.all())
    fields = []
    for column in filter(perm.column_is_public, columns):
        field: dict[str, Any] = {"name": column.name, "type": field_type(column.data_type, perm.is_masked(column))}
        if field["type"] == "datetime":
            field["format"] = DATETIME_FORMAT
        constraints: dict[str, Any] = {}
        if column.required:
            constraints["required"] = True
        if column.length and field["type"] == "string" and not perm.is_masked(column):
            constraints["maxLength"] = column.length
        if constraints:
            field["constraints"] = constraints
        fields.append(field)
    schema: dict[str, Any] = {"fields": fields}
    keys = [c for c in columns if c.is_key]
    if keys and all(perm.column_is_public(c) and not perm.is_masked(c) for c in keys):
        schema["primaryKey"] = [c.name for c in keys]
    return schema


def descriptor(request: HttpRequest, entry: CatalogEntry) -> dict[str, Any]:
    """The data package of a dataset loaded by ``selectors.datasets``."""
    version = entry.published
    page = request.build_absolute_uri(reverse("opendata:dataset", args=[selectors.dataset_name(entry)]))
    licence_id, licence_title, licence_url = LICENCES[version.open_type]
    licence = {"name": licence_id, "title": str(licence_title), **({"path": licence_url} if licence_url else {})}
    tables = [r for r in entry.public_resources if r.kind == Resource.Kind.TABLE]
    keywords = [t.name for t in sorted(version.themes.all(), key=lambda t: t.code)]
    keywords += [str(PriorityDomain(d).label) for d in version.domains if d in PriorityDomain.values]
    keywords = list(dict.fromkeys(keywords))  # a theme and a domain may share a name
    return {
        "profile": "tabular-data-package",
        "id": page,
        "name": selectors.dataset_name(entry),
        "title": version.name,
        "description": version.summary,
        "homepage": page,
        "version": str(version.number),
        **({"created": version.reviewed_at.isoformat()} if version.reviewed_at else {}),
        "keywords": keywords,
        "licenses": [licence],
        "contributors": [{"title": entry.provider.name, "role": "publisher"}],
        "resources": [
            {
                "profile": "tabular-data-resource",
                "name": f"resource-{resource.pk}",
                "title": resource.name,
                "description": resource.description,
                "path": request.build_absolute_uri(reverse("opendata:download", args=[resource.pk, "csv"])),
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": table_schema(resource),
            }
            for resource in tables
        ],
    }


@require_safe
def datapackage(request: HttpRequest, name: str) -> JsonResponse:
    entry = selectors.get_dataset(request.user, name)
    if entry is None:
        raise Http404(_("No such dataset."))
    if not any(r.kind == Resource.Kind.TABLE for r in entry.public_resources):
        raise Http404(_("This dataset has no table to describe as a data package."))
    return JsonResponse(
        descriptor(request, entry),
        json_dumps_params={"ensure_ascii": False, "indent": 2},
        content_type="application/json",
    )
