"""Sharing API for signed-in government users: the same services, selectors and access path
as the pages. Consuming systems call the signed gateway instead."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from ninja import File, Query, Router, Schema
from ninja.responses import Status
from ninja.files import UploadedFile

from govdata.catalog.selectors import entries_visible_to
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.datastore import selectors as datastore_selectors
from govdata.datastore.models import FileObject
from govdata.orgs.models import InformationSystem

from . import selectors
from .models import Grant, Receipt, ShareRequest
from .services import access, lookup, receipts
from .services import requests as services

router = Router(tags=["sharing"])


class RequestIn(Schema):
    entry_id: int
    system_id: int | None = None
    items: list[str] = []
    purpose: str = ""
    legal_duty: str = ""
    scope: str = ""
    period_start: dt.date | None = None
    period_end: dt.date | None = None


class RequestOut(Schema):
    id: int
    entry_id: int
    entry_code: str
    consumer_id: int
    provider_id: int
    system_id: int
    items: list[str]
    purpose: str
    legal_duty: str
    scope: str
    period_start: dt.date
    period_end: dt.date
    status: str
    received_at: dt.datetime
    due_at: dt.datetime
    overdue: bool
    decided_at: dt.datetime | None
    approved_items: list[str]
    rejection_basis: str
    note: str
    grant_id: int | None

    @staticmethod
    def resolve_entry_code(obj: ShareRequest) -> str:
        return obj.entry.code

    @staticmethod
    def resolve_overdue(obj: ShareRequest) -> bool:
        return obj.status == ShareRequest.Status.SUBMITTED and obj.due_at < clock.now()

    @staticmethod
    def resolve_grant_id(obj: ShareRequest) -> int | None:
        return getattr(getattr(obj, "grant", None), "pk", None)


class GrantOut(Schema):
    id: int
    request_id: int
    entry_id: int
    consumer_id: int
    system_id: int
    items: list[str]
    purpose: str
    scope: str
    valid_from: dt.date
    valid_until: dt.date
    accepted_at: dt.datetime | None
    undertaking: str
    revoked_at: dt.datetime | None
    revoke_reason: str


class ApproveIn(Schema):
    items: list[str] | None = None
    valid_until: dt.date | None = None
    note: str = ""


class RejectIn(Schema):
    basis: str = ""
    note: str = ""


class ReasonIn(Schema):
    reason: str = ""


class RenewIn(Schema):
    period_end: dt.date
    purpose: str | None = None


class RowsOut(Schema):
    fields: list[dict[str, Any]]
    records: list[dict[str, Any]]
    next_cursor: str | None
    total: int | None
    total_kind: str | None


def _actor(request) -> Actor:
    return Actor.from_request(request)


@router.get("/requests", response=list[RequestOut])
def list_requests(request, role: str = Query("all", pattern="^(all|received|made|overdue)$")):
    user = request.user
    chosen = {
        "all": selectors.requests_visible_to,
        "received": selectors.requests_received,
        "made": selectors.requests_made,
        "overdue": selectors.overdue_requests,
    }[role](user)
    return list(chosen.select_related("grant")[:500])


@router.post("/requests", response={201: RequestOut})
def submit_request(request, payload: RequestIn):
    entry = get_object_or_404(entries_visible_to(request.user), pk=payload.entry_id)
    system = InformationSystem.objects.filter(pk=payload.system_id).first() if payload.system_id else None
    created = services.submit_request(
        _actor(request),
        entry,
        system=system,
        items=payload.items,
        purpose=payload.purpose,
        legal_duty=payload.legal_duty,
        scope=payload.scope,
        period_start=payload.period_start,
        period_end=payload.period_end,
    )
    return Status(201, created)


@router.get("/requests/{request_id}", response=RequestOut)
def get_request(request, request_id: int):
    return selectors.get_request(request.user, request_id)


@router.post("/requests/{request_id}/approve", response=GrantOut)
def approve(request, request_id: int, payload: ApproveIn):
    share_request = selectors.get_request(request.user, request_id)
    return services.approve(
        _actor(request), share_request, items=payload.items, valid_until=payload.valid_until, note=payload.note
    )


@router.post("/requests/{request_id}/reject", response=RequestOut)
def reject(request, request_id: int, payload: RejectIn):
    share_request = selectors.get_request(request.user, request_id)
    return services.reject(_actor(request), share_request, basis=payload.basis, note=payload.note)


@router.post("/requests/{request_id}/withdraw", response=RequestOut)
def withdraw(request, request_id: int):
    return services.withdraw(_actor(request), selectors.get_request(request.user, request_id))


@router.get("/grants", response=list[GrantOut])
def list_grants(request):
    return list(selectors.grants_visible_to(request.user)[:500])


@router.get("/grants/{grant_id}", response=GrantOut)
def get_grant(request, grant_id: int):
    return selectors.get_grant(request.user, grant_id)


@router.post("/grants/{grant_id}/accept", response=GrantOut)
def accept(request, grant_id: int):
    return services.accept_grant(_actor(request), selectors.get_grant(request.user, grant_id))


@router.post("/grants/{grant_id}/revoke", response=GrantOut)
def revoke(request, grant_id: int, payload: ReasonIn):
    return services.revoke(_actor(request), selectors.get_grant(request.user, grant_id), reason=payload.reason)


@router.post("/grants/{grant_id}/renew", response={201: RequestOut})
def renew(request, grant_id: int, payload: RenewIn):
    grant: Grant = selectors.get_grant(request.user, grant_id)
    return Status(201, services.renew(_actor(request), grant, period_end=payload.period_end, purpose=payload.purpose))


@router.get("/resources/{resource_id}/records", response=RowsOut)
def records(request, resource_id: int, purpose: str = ""):
    """Rows of a shared table resource within the caller's access: the datastore query
    parameters (filters as ``code=value`` or ``code__op=value``, q, sort, fields, limit, cursor,
    total), masked and audited; refused (403, audited) without access."""
    resource = datastore_selectors.get_resource(request.user, resource_id)
    result = access.read_rows(access.reader_for(_actor(request)), resource, request.GET, purpose=purpose)
    return {
        "fields": [
            {"code": f.code, "name": f.name, "data_type": f.data_type, "masked": f.masked} for f in result.fields
        ],
        "records": result.rows,
        "next_cursor": result.next_cursor,
        "total": result.total,
        "total_kind": result.total_kind,
    }


# --- documents with legal effect and no repeated submission (R-25.1) ---------------


class HolderIn(Schema):
    holder_id: str


class HoldingOut(Schema):
    resource_id: int
    resource_name: str
    kind: str
    provider: str
    access: str  # "own", "direct" (unconditional) or "grant"
    grant_id: int | None
    file_id: int | None
    file_name: str
    records: int
    obtain: str  # where to get it


class VerdictOut(Schema):
    valid: bool
    problems: list[str]
    number: str
    metadata: dict[str, Any] | None


def _holding(holding: lookup.Holding, department_id: int | None) -> dict[str, Any]:
    resource, grant = holding.resource, holding.access.grant
    kind = "own" if resource.entry.provider_id == department_id else ("grant" if grant else "direct")
    if holding.file is not None:
        obtain = f"/api/v1/sharing/files/{holding.file.pk}"
    else:
        obtain = f"/api/v1/sharing/resources/{resource.pk}/extract?{holding.key_column.code}="
    return {
        "resource_id": resource.pk,
        "resource_name": resource.name,
        "kind": resource.kind,
        "provider": resource.entry.provider.name,
        "access": kind,
        "grant_id": grant.pk if grant else None,
        "file_id": holding.file.pk if holding.file else None,
        "file_name": holding.file.name if holding.file else "",
        "records": holding.records,
        "obtain": obtain,
    }


@router.post("/lookup", response=list[HoldingOut])
def lookup_holder(request, payload: HolderIn):
    """What the platform holds about a person or organisation that your department may
    obtain, so they need not submit it again. Audited."""
    reader = access.reader_for(_actor(request))
    found = lookup.lookup_holder(reader, payload.holder_id)
    return [_holding(h, reader.department.pk if reader.department else None) for h in found]


def _receipt_headers(response, receipt: Receipt) -> None:
    response["X-GovData-Receipt"] = receipt.number
    response["X-GovData-Receipt-Url"] = f"/api/v1/sharing/receipts/{receipt.number}"


@router.get("/files/{file_id}")
def obtain_file(request, file_id: int, purpose: str = ""):
    """A file with legal effect: its receipt's number is in the ``X-GovData-Receipt`` header."""
    file_object = get_object_or_404(FileObject.objects.select_related("resource__entry"), pk=file_id, is_active=True)
    content, receipt = access.obtain_file(access.reader_for(_actor(request)), file_object, purpose=purpose)
    response = FileResponse(content, as_attachment=True, filename=file_object.name, content_type=file_object.content_type)
    _receipt_headers(response, receipt)
    return response


@router.get("/resources/{resource_id}/extract")
def extract(request, resource_id: int, purpose: str = ""):
    """A record extract (CSV) with legal effect: the filters select the records."""
    resource = datastore_selectors.get_resource(request.user, resource_id)
    content, receipt = access.extract_records(access.reader_for(_actor(request)), resource, request.GET, purpose=purpose)
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{resource.name}-{receipt.number}.csv")
    _receipt_headers(response, receipt)
    return response


@router.post("/receipts/verify", response=VerdictOut)
def verify_receipt(request, file: UploadedFile = File(...), receipt: UploadedFile = File(...)):
    """Check a file against its receipt: the content's SM3 and the platform's SM2 signature."""
    verdict = receipts.verify(file.chunks(), receipt.read())
    return {"valid": verdict.valid, "problems": verdict.problems, "number": verdict.number, "metadata": verdict.metadata}


@router.get("/receipts/{number}", response=dict[str, Any])
def receipt_document(request, number: str):
    """The signed receipt (JSON), for the department it was issued to and the bureau."""
    receipt = get_object_or_404(selectors.receipts_visible_to(request.user), number=number)
    return receipts.document(receipt)
