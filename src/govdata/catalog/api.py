"""Catalog API: the same services, selectors and permissions as the pages."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from govdata.common.actor import Actor
from govdata.orgs.models import Contact, Department

from . import search as catalog_search
from . import selectors, services
from .models import CatalogEntry, Classification, EntryVersion
from .permissions import can_browse_catalog, can_read_version

router = Router(tags=["catalog"])


class ItemSchema(Schema):
    name: str
    code: str
    data_type: str
    length: int | None = None
    required: bool = False
    is_key: bool = False
    sensitive: bool = False
    description: str = ""


class VersionIn(Schema):
    name: str = ""
    summary: str = ""
    internal_division: str = ""
    format_category: str = ""
    format_type: str = ""
    format_description: str = ""
    share_type: str = ""
    share_conditions: str = ""
    share_basis: str = ""
    share_method: str = ""
    platform_mode: str = ""
    open_type: str = ""
    open_conditions: str = ""
    open_basis: str = ""
    update_cycle: str = ""
    update_cycle_note: str = ""
    publish_date: dt.date | None = None
    related_codes: list[str] = []
    contact_id: int | None = None
    themes: list[str] = Field(default=[], description="theme classification codes, e.g. 201")
    domains: list[str] = []
    is_classified: bool = False
    items: list[ItemSchema] = []


class EntryIn(VersionIn):
    provider_id: int
    classification: str


class VersionOut(Schema):
    number: int
    status: str
    name: str
    summary: str
    format_category: str
    format_type: str
    share_type: str
    share_conditions: str
    share_basis: str
    share_method: str
    platform_mode: str
    open_type: str
    open_conditions: str
    open_basis: str
    update_cycle: str
    publish_date: dt.date | None
    domains: list[str]
    themes: list[str]
    return_reason: str
    items: list[ItemSchema]

    @staticmethod
    def resolve_themes(obj: EntryVersion) -> list[str]:
        return [t.code for t in obj.themes.all()]

    @staticmethod
    def resolve_items(obj: EntryVersion) -> list[dict]:
        return list(obj.items.values(*ItemSchema.model_fields))


class EntryOut(Schema):
    id: int
    code: str
    classification: str
    provider_id: int
    origin: str
    version: VersionOut | None


class SearchOut(Schema):
    total: int
    results: list[EntryOut]
    facets: dict[str, dict[str, int]]


class ReasonIn(Schema):
    reason: str


def _entry_out(request, entry: CatalogEntry) -> dict:
    version = selectors.visible_version(request.user, entry)
    return {
        "id": entry.pk,
        "code": entry.code,
        "classification": entry.classification.code,
        "provider_id": entry.provider_id,
        "origin": entry.origin,
        "version": version,
    }


def _split(payload: VersionIn, provider: Department) -> tuple[dict, list[dict]]:
    data = payload.dict(exclude={"items", "contact_id", "themes", "provider_id", "classification"})
    data["contact"] = (
        get_object_or_404(Contact, pk=payload.contact_id, department=provider) if payload.contact_id else None
    )
    data["themes"] = list(Classification.objects.filter(code__in=payload.themes))
    return data, [item.dict() for item in payload.items]


def _visible_entry(request, entry_id: int) -> CatalogEntry:
    return get_object_or_404(selectors.entries_visible_to(request.user), pk=entry_id)


@router.get("/search", response=SearchOut)
def search_catalog(
    request,
    q: str = "",
    theme: list[str] = Query([]),
    domain: list[str] = Query([]),
    classification: list[str] = Query([]),
    provider: list[str] = Query([]),
    region: list[str] = Query([]),
    share_type: list[str] = Query([]),
    open_type: list[str] = Query([]),
    format_category: list[str] = Query([]),
    update_cycle: list[str] = Query([]),
    sort: str = "relevance",
    offset: int = Query(0, ge=0, le=10000),
    limit: int = Query(20, ge=1, le=100),
):
    """Search the published sharing catalog (Chinese full text and facets)."""
    if not can_browse_catalog(request.user):
        raise PermissionDenied
    filters = {
        "theme": theme,
        "domain": domain,
        "classification": classification,
        "provider": provider,
        "region": region,
        "share_type": share_type,
        "open_type": open_type,
        "format_category": format_category,
        "update_cycle": update_cycle,
    }
    result = catalog_search.search(q, filters, sort=sort, offset=offset, limit=limit)
    return {"total": result.total, "results": [_entry_out(request, e) for e in result.entries], "facets": result.facets}


@router.get("/entries", response=list[EntryOut])
def list_entries(request, provider_id: int | None = None, offset: int = Query(0, ge=0), limit: int = Query(50, le=500)):
    entries = selectors.entries_visible_to(request.user)
    if provider_id:
        entries = entries.filter(provider_id=provider_id)
    return [_entry_out(request, e) for e in entries.order_by("code")[offset : offset + limit]]


@router.get("/entries/{entry_id}", response=EntryOut)
def get_entry(request, entry_id: int):
    return _entry_out(request, _visible_entry(request, entry_id))


@router.get("/entries/{entry_id}/versions", response=list[VersionOut])
def list_versions(request, entry_id: int):
    entry = _visible_entry(request, entry_id)
    return [v for v in entry.versions.all() if can_read_version(request.user, v)]


@router.post("/entries", response={201: EntryOut})
def create_entry(request, payload: EntryIn):
    provider = get_object_or_404(Department, pk=payload.provider_id)
    classification = get_object_or_404(Classification, code=payload.classification)
    values, items = _split(payload, provider)
    entry = services.create_entry(Actor.from_request(request), provider, classification, values, items)
    return Status(201, _entry_out(request, entry))


@router.put("/entries/{entry_id}/draft", response=EntryOut)
def save_draft(request, entry_id: int, payload: VersionIn):
    entry = _visible_entry(request, entry_id)
    values, items = _split(payload, entry.provider)
    services.save_draft(Actor.from_request(request), entry, values, items)
    return _entry_out(request, CatalogEntry.objects.get(pk=entry.pk))


def _action(request, entry_id: int, action):
    entry = _visible_entry(request, entry_id)
    action(Actor.from_request(request), entry)
    return _entry_out(request, CatalogEntry.objects.get(pk=entry.pk))


@router.post("/entries/{entry_id}/revise", response=EntryOut)
def revise(request, entry_id: int):
    return _action(request, entry_id, services.start_revision)


@router.post("/entries/{entry_id}/submit", response=EntryOut)
def submit(request, entry_id: int):
    return _action(request, entry_id, services.submit)


@router.post("/entries/{entry_id}/withdraw", response=EntryOut)
def withdraw(request, entry_id: int):
    return _action(request, entry_id, services.withdraw)


@router.post("/entries/{entry_id}/publish", response=EntryOut)
def publish(request, entry_id: int):
    return _action(request, entry_id, services.publish)


@router.post("/entries/{entry_id}/return", response=EntryOut)
def return_entry(request, entry_id: int, payload: ReasonIn):
    return _action(request, entry_id, lambda actor, entry: services.return_entry(actor, entry, payload.reason))


@router.post("/entries/{entry_id}/confirm-quarterly", response=EntryOut)
def confirm_quarterly(request, entry_id: int):
    return _action(request, entry_id, services.confirm_quarterly)
