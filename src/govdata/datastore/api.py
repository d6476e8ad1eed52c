"""Datastore API (issue #4, item 7): the same services, selectors and permissions as the pages.

Who may do what is decided by the services (changes) and by ``selectors``/``permissions``
(reads): a resource the user may not see is a 404; its rows, exports, files and data versions
are a 403 for those who see the resource but may not read its rows (``can_read_rows``), and a
single version with its report a 404, as ``selectors.get_version`` decides. Credentials of
interface resources are write-only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from govdata.catalog import selectors as catalog_selectors
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.orgs.permissions import check, require
from govdata.orgs.selectors import systems_visible_to

from . import exports, freshness, selectors, services
from . import permissions as perm
from .models import ApiEndpoint, DataVersion, FileObject, Resource, UpstreamFeed
from .services import apis, feeds, files, loads, reads

router = Router(tags=["datastore"])

# Parameters of the rows and export endpoints that are not filters (see ``query.parse_params``).
ROWS_OPTIONS = ("masked",)
EXPORT_OPTIONS = ("masked", "format", "header")
# The HTTP status of a push by the outcome of its load: a refused load changed nothing.
PUSH_STATUS = {DataVersion.Status.DONE: 201, DataVersion.Status.REJECTED: 422, DataVersion.Status.FAILED: 500}


# --- schemas --------------------------------------------------------------------------------


class ResourceIn(Schema):
    entry_id: int
    kind: str
    name: str
    description: str = ""


class ResourceOut(Schema):
    id: int
    entry_id: int
    entry_code: str
    provider_id: int
    kind: str
    name: str
    description: str
    status: str
    return_reason: str
    suspend_reason: str
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    reviewed_at: dt.datetime | None
    last_loaded_at: dt.datetime | None
    row_count: int
    current_version: int | None

    @staticmethod
    def resolve_entry_code(obj: Resource) -> str:
        return obj.entry.code

    @staticmethod
    def resolve_provider_id(obj: Resource) -> int:
        return obj.entry.provider_id

    @staticmethod
    def resolve_current_version(obj: Resource) -> int | None:
        return obj.current_version.number if obj.current_version_id else None


class ColumnOut(Schema):
    position: int
    name: str
    code: str
    data_type: str
    length: int | None
    required: bool
    is_key: bool
    sensitive: bool
    content_check: str
    mask: str


class ColumnRulesIn(Schema):
    content_check: str | None = None
    mask: str | None = None


class FreshnessOut(Schema):
    cycle: str
    last_loaded_at: dt.datetime | None
    next_due: dt.datetime | None
    stale: bool


class EndpointIn(Schema):
    url: str = ""
    method: str = "GET"
    parameter_schema: dict[str, Any] | str | None = None
    auth: str = ApiEndpoint.Auth.NONE
    auth_name: str = ""
    credentials: str | dict[str, str] | None = None
    timeout_seconds: int = 10


class EndpointOut(Schema):
    """``apis.describe``: everything but the credential, which is never returned."""

    url: str
    method: str
    parameter_schema: dict[str, Any]
    auth: str
    auth_name: str
    credentials_set: bool
    timeout_seconds: int
    last_probe_at: dt.datetime | None
    last_probe_ok: bool | None
    last_probe_status: int | None
    last_probe_ms: int | None
    last_probe_error: str


class ProbeOut(Schema):
    ok: bool
    status: int | None
    ms: int
    error: str


class FeedIn(Schema):
    kind: str
    location: str
    mode: str = DataVersion.Mode.REPLACE
    origin: str = "provincial"


class FeedOut(Schema):
    kind: str
    location: str
    mode: str
    origin: str
    last_checked_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_error: str


class ResourceDetailOut(ResourceOut):
    """A resource with its columns and freshness; the upstream interface for those who may
    probe it and the feed for row readers and feed keepers, as the resource page shows them."""

    columns: list[ColumnOut]
    freshness: FreshnessOut | None
    endpoint: EndpointOut | None
    feed: FeedOut | None

    @staticmethod
    def resolve_columns(obj: Resource) -> list:
        return list(obj.columns.all())

    @staticmethod
    def resolve_freshness(obj: Resource) -> freshness.Freshness | None:
        return freshness.freshness(obj) if obj.kind == Resource.Kind.TABLE else None

    @staticmethod
    def resolve_endpoint(obj: Resource, context: dict) -> dict[str, Any] | None:
        endpoint = _related(obj, "endpoint") if apis.can_probe(context["request"].user, obj) else None
        return apis.describe(endpoint) if endpoint is not None else None

    @staticmethod
    def resolve_feed(obj: Resource, context: dict) -> UpstreamFeed | None:
        user = context["request"].user
        shown = feeds.can_configure_feed(user, obj) or perm.can_read_rows(user, obj)
        return _related(obj, "feed") if shown else None


class ReasonIn(Schema):
    reason: str = ""


class VersionOut(Schema):
    number: int
    mode: str
    status: str
    source: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    checksum: str
    quarantine: bool
    message: str


class VersionDetailOut(VersionOut):
    """A load with its report, whose cells carry row values: for row readers only."""

    loaded_by: str | None
    application: str
    report: list[dict[str, Any]]

    @staticmethod
    def resolve_loaded_by(obj: DataVersion) -> str | None:
        return obj.loaded_by.get_username() if obj.loaded_by_id else None


class QuarantinedRowOut(Schema):
    row_number: int
    values: dict[str, Any]
    reasons: list[dict[str, Any]]


class LoadQueuedOut(Schema):
    token: str
    progress: str


class LoadProgressOut(Schema):
    phase: str
    done: int
    total: int
    status: str | None = None
    version: int | None = None
    error: str = ""


class PushIn(Schema):
    mode: str
    rows: list[dict[str, Any]]
    quarantine: bool = False
    system_id: int | None = None


class FieldOut(Schema):
    code: str
    name: str
    data_type: str
    masked: bool


class RowsOut(Schema):
    fields: list[FieldOut]
    records: list[dict[str, Any]]
    next_cursor: str | None
    total: int | None
    total_kind: str | None
    limit: int
    offset: int


class LicenceIn(Schema):
    """E-licence / e-archive metadata of a file (``files.LICENCE_FIELDS``); dates as written."""

    holder_id: str = ""
    holder_name: str = ""
    licence_number: str = ""
    issuer: str = ""
    valid_from: str = ""
    valid_until: str = ""


class FileOut(Schema):
    id: int
    resource_id: int
    name: str
    category: str
    content_type: str
    size: int
    sm3: str
    uploaded_at: dt.datetime
    is_active: bool
    holder_id: str
    holder_name: str
    licence_number: str
    issuer: str
    valid_from: dt.date | None
    valid_until: dt.date | None


class WithdrawIn(Schema):
    reason: str = ""


class DetailOut(Schema):
    detail: str


class FeedRunOut(Schema):
    version: VersionOut | None
    feed: FeedOut


# --- helpers --------------------------------------------------------------------------------


def _actor(request) -> Actor:
    return Actor.from_request(request)


def _resource(request, resource_id: int) -> Resource:
    return selectors.get_resource(request.user, resource_id)


def _readable(request, resource_id: int) -> Resource:
    """A resource whose rows (and files, and data versions) the user may read, else 403."""
    resource = _resource(request, resource_id)
    require(perm.can_read_rows(request.user, resource))
    return resource


def _related(resource: Resource, name: str) -> Any:
    """A one-to-one companion (``endpoint``, ``feed``) or None when there is none."""
    try:
        return getattr(resource, name)
    except ObjectDoesNotExist:
        return None


def _licence(licence: LicenceIn) -> dict[str, str] | None:
    given = {name: value for name, value in licence.dict().items() if value.strip()}
    return given or None


def _file(request, resource_id: int, file_id: int) -> FileObject:
    """An active file of a resource whose contents the user may read."""
    return get_object_or_404(selectors.active_files(_readable(request, resource_id)), pk=file_id)


# --- resources and their re-review (R-18.1) ----------------------------------------------------


@router.get("/resources", response=list[ResourceOut])
def list_resources(
    request,
    entry: int | None = None,
    kind: str = "",
    status: str = "",
    mine: bool = False,
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=500),
):
    """Resources the user may see; ``mine`` keeps those of the user's own department."""
    resources = selectors.department_resources(request.user) if mine else selectors.resources_visible_to(request.user)
    if entry is not None:
        resources = resources.filter(entry_id=entry)
    if kind:
        resources = resources.filter(kind=kind)
    if status:
        resources = resources.filter(status=status)
    return resources.order_by("entry__code", "name", "pk")[offset : offset + limit]


@router.post("/resources", response={201: ResourceDetailOut})
def mount(request, payload: ResourceIn):
    """Mount a table, files or interface resource under a published catalog entry."""
    entry = get_object_or_404(catalog_selectors.entries_visible_to(request.user), pk=payload.entry_id)
    resource = services.mount(
        _actor(request), entry, kind=payload.kind, name=payload.name, description=payload.description
    )
    return Status(201, resource)


@router.get("/resources/{resource_id}", response=ResourceDetailOut)
def get_resource(request, resource_id: int):
    return _resource(request, resource_id)


@router.patch("/resources/{resource_id}/columns/{code}", response=ColumnOut)
def set_column_rules(request, resource_id: int, code: str, payload: ColumnRulesIn):
    """Change a column's content check and masking rule (a field left out keeps its value)."""
    column = get_object_or_404(_resource(request, resource_id).columns, code=code.strip().lower())
    return services.set_column_rules(
        _actor(request),
        column,
        check_rule=column.content_check if payload.content_check is None else payload.content_check,
        mask=column.mask if payload.mask is None else payload.mask,
    )


def _transition(request, resource_id: int, action: Callable[[Actor, Resource], Resource]) -> Resource:
    return action(_actor(request), _resource(request, resource_id))


@router.post("/resources/{resource_id}/submit", response=ResourceDetailOut)
def submit(request, resource_id: int):
    return _transition(request, resource_id, services.submit)


@router.post("/resources/{resource_id}/publish", response=ResourceDetailOut)
def publish(request, resource_id: int):
    return _transition(request, resource_id, services.publish)


@router.post("/resources/{resource_id}/return", response=ResourceDetailOut)
def return_resource(request, resource_id: int, payload: ReasonIn):
    return _transition(request, resource_id, lambda actor, r: services.return_resource(actor, r, payload.reason))


@router.post("/resources/{resource_id}/suspend", response=ResourceDetailOut)
def suspend(request, resource_id: int, payload: ReasonIn):
    return _transition(request, resource_id, lambda actor, r: services.suspend(actor, r, payload.reason))


@router.post("/resources/{resource_id}/resume", response=ResourceDetailOut)
def resume(request, resource_id: int):
    return _transition(request, resource_id, services.resume)


@router.get("/review-queue", response=list[ResourceOut])
def review_queue(request):
    """Resources waiting for the bureau's re-review, oldest first (empty for everyone else)."""
    return selectors.review_queue(request.user)


# --- loads, pushes and data versions (R-21.1, R-9.1) ---------------------------------------------


@router.post("/resources/{resource_id}/loads", response={202: LoadQueuedOut})
def queue_load(
    request, resource_id: int, file: File[UploadedFile], mode: Form[str], quarantine: Form[bool] = False
):
    """Upload a CSV, XLSX or JSON lines file; it is loaded by a background job whose progress
    the returned address reports."""
    resource = _resource(request, resource_id)
    token = loads.queue_load(_actor(request), resource, file, filename=file.name, mode=mode, quarantine=quarantine)
    progress = reverse("api:datastore_load_progress", kwargs={"resource_id": resource.pk, "token": token})
    return Status(202, {"token": token, "progress": progress})


@router.get(
    "/resources/{resource_id}/loads/{token}", response=LoadProgressOut, url_name="datastore_load_progress"
)
def load_progress(request, resource_id: int, token: str):
    """Where a queued load is; once finished, ``version`` is the number of its data version."""
    resource = _resource(request, resource_id)
    require(perm.can_load(request.user, resource))
    progress = loads.load_progress(token)
    if progress is None:
        raise Http404
    version = progress.get("version")
    if version is not None:
        version = get_object_or_404(selectors.versions_of(resource), pk=version).number
    return {**progress, "version": version}


@router.post("/resources/{resource_id}/rows", response={frozenset(PUSH_STATUS.values()): VersionDetailOut})
def push_rows(request, resource_id: int, payload: PushIn):
    """Rows pushed by an information system (R-9.1), checked and loaded like a file: 201 when
    loaded, 422 with the report when refused (nothing changed)."""
    resource = _resource(request, resource_id)
    system = get_object_or_404(systems_visible_to(request.user), pk=payload.system_id) if payload.system_id else None
    version = loads.push_rows(
        _actor(request), resource, payload.rows, mode=payload.mode, quarantine=payload.quarantine, system=system
    )
    return Status(PUSH_STATUS.get(version.status, 500), version)


@router.get("/resources/{resource_id}/versions", response=list[VersionOut])
def list_versions(request, resource_id: int):
    """The loads, newest first. Their messages name source files and errors: row readers only."""
    return selectors.versions_of(_readable(request, resource_id))


@router.get("/resources/{resource_id}/versions/{number}", response=VersionDetailOut)
def get_version(request, resource_id: int, number: int):
    return selectors.get_version(request.user, _resource(request, resource_id), number)


@router.get("/resources/{resource_id}/versions/{number}/quarantined", response=list[QuarantinedRowOut])
def quarantined_rows(
    request, resource_id: int, number: int, offset: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=1000)
):
    version = selectors.get_version(request.user, _resource(request, resource_id), number)
    return selectors.quarantined_rows(version)[offset : offset + limit]


@router.get("/resources/{resource_id}/versions/{number}/report.csv")
def version_report(request, resource_id: int, number: int):
    """The load's problems (row, column, value, reason) as CSV for Excel."""
    resource = _resource(request, resource_id)
    version = selectors.get_version(request.user, resource, number)
    response = HttpResponse(loads.report_csv(version), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{resource.name}-v{number}-report.csv")
    return response


# --- reading rows ------------------------------------------------------------------------------


@router.get("/resources/{resource_id}/rows", response=RowsOut)
def query_rows(request, resource_id: int, masked: bool = True):
    """One page of rows. Besides ``masked`` (the columns' masking rules; only the provider's
    own loaders may turn them off, and each field says whether it is masked), the parameters
    of ``query.parse_params``: ``q``, ``sort=-csrq,xm``,
    ``fields=xm,csrq``, ``limit``, ``offset``, ``cursor``, ``total=exact|estimated|none``, and
    filters ``<column>[__eq|in|gt|gte|lt|lte|prefix|null|notnull]=<value>``. A bad parameter
    is a 422 naming it. Decimals are strings (exact), dates ISO 8601."""
    resource = _readable(request, resource_id)
    result = reads.read_rows(_actor(request), resource, request.GET, unmasked=not masked, ignore=ROWS_OPTIONS)
    return {
        "fields": result.fields,
        "records": result.rows,
        "next_cursor": result.next_cursor,
        "total": result.total,
        "total_kind": result.total_kind,
        "limit": result.limit,
        "offset": result.offset,
    }


@router.get("/resources/{resource_id}/export")
def export_rows(
    request, resource_id: int, fmt: str = Query("csv", alias="format"), header: str = "name", masked: bool = True
):
    """Every row matching the filters, streamed as ``csv``, ``json`` or ``xlsx`` (the rows
    parameters apply but for paging); ``header=name|code`` for CSV and XLSX. The audit trail
    gets the number of rows once the last one has been sent, as for the page's export, and
    the parameters, which say which rows were asked for."""
    resource = _readable(request, resource_id)
    stream = reads.export_rows(
        _actor(request), resource, request.GET, fmt, unmasked=not masked, header=header, ignore=EXPORT_OPTIONS
    )
    return exports.streaming_response(stream, filename=f"{resource.name}-{clock.today():%Y%m%d}")


# --- files (R-3.1, R-25.1) ---------------------------------------------------------------------


@router.get("/resources/{resource_id}/files", response=list[FileOut])
def list_files(request, resource_id: int):
    return selectors.active_files(_readable(request, resource_id))


@router.post("/resources/{resource_id}/files", response={201: FileOut})
def upload_file(request, resource_id: int, file: File[UploadedFile], licence: Form[LicenceIn], name: Form[str] = ""):
    """Add a file to a file resource, with e-licence metadata when it is one."""
    resource = _resource(request, resource_id)
    created = files.upload_file(_actor(request), resource, file, name=name or file.name, licence=_licence(licence))
    return Status(201, created)


@router.get("/files", response=list[FileOut])
def files_by_holder(request, holder: str, valid_on: dt.date | None = None):
    """Licences and documents already on the platform for a person or organisation (by ID
    number or credit code), among the resources whose files the user may read."""
    if not holder.strip():
        raise ValidationError({"holder": _("Enter the holder's ID number or unified social credit code.")})
    found = files.files_by_holder(holder, valid_on=valid_on)
    return [f for f in found if perm.can_read_rows(request.user, f.resource)]


@router.post("/resources/{resource_id}/files/{file_id}/replace", response={201: FileOut})
def replace_file(
    request,
    resource_id: int,
    file_id: int,
    file: File[UploadedFile],
    licence: Form[LicenceIn],
    name: Form[str] = "",
):
    """A new version of a file; licence metadata is carried over unless new metadata is given."""
    current = _file(request, resource_id, file_id)
    replaced = files.replace_file(_actor(request), current, file, name=name or file.name, licence=_licence(licence))
    return Status(201, replaced)


@router.post("/resources/{resource_id}/files/{file_id}/withdraw", response=FileOut)
def withdraw_file(request, resource_id: int, file_id: int, payload: WithdrawIn):
    return files.withdraw_file(_actor(request), _file(request, resource_id, file_id), reason=payload.reason)


@router.get("/resources/{resource_id}/files/{file_id}/download", response={409: DetailOut})
def download_file(request, resource_id: int, file_id: int):
    """The stored file after its SM3 digest was checked; 409 when it is missing or altered."""
    file_object = _file(request, resource_id, file_id)
    try:
        content = files.open_verified(file_object)
    except files.FileIntegrityError as exc:
        return Status(409, {"detail": str(exc)})
    response = FileResponse(
        content, as_attachment=True, filename=file_object.name, content_type=file_object.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- interfaces (R-3.1) ------------------------------------------------------------------------


@router.put("/resources/{resource_id}/endpoint", response={200: EndpointOut, 201: EndpointOut})
def put_endpoint(request, resource_id: int, payload: EndpointIn):
    """Register the upstream interface (201) or change it (200: fields left out keep their
    values, the credential too). The credential is write-only."""
    resource = _resource(request, resource_id)
    if _related(resource, "endpoint") is None:
        return Status(201, apis.describe(apis.register_api(_actor(request), resource, **payload.dict())))
    return apis.describe(apis.update_api(_actor(request), resource, **payload.dict(exclude_unset=True)))


@router.post("/resources/{resource_id}/probe", response=ProbeOut)
def probe(request, resource_id: int):
    """Call the upstream once and record whether it answered."""
    try:
        return apis.probe(_actor(request), _resource(request, resource_id))
    except ApiEndpoint.DoesNotExist:
        raise ValidationError({"endpoint": _("Register the interface first.")}) from None


# --- upper-level feeds (R-26.1) ----------------------------------------------------------------


@router.put("/resources/{resource_id}/feed", response=FeedOut)
def put_feed(request, resource_id: int, payload: FeedIn):
    return feeds.configure_feed(_actor(request), _resource(request, resource_id), **payload.dict())


@router.post("/resources/{resource_id}/feed/run", response=FeedRunOut)
def run_feed(request, resource_id: int):
    """Check the feed now: ``version`` is the load of a new upstream file, or null when there
    was nothing new or the upstream could not be read (the feed's ``last_error`` says why)."""
    resource = _resource(request, resource_id)
    # run_feed is also a job's body and acts as the platform: the person is checked here.
    check(_actor(request), feeds.can_configure_feed, resource)
    try:
        version = feeds.run_feed(resource, actor=_actor(request))
    except UpstreamFeed.DoesNotExist:
        raise ValidationError({"feed": _("Configure the feed first.")}) from None
    return {"version": version, "feed": _related(resource, "feed")}
