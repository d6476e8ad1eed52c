"""Every read of shared data goes through here (R-20.1, R-20.2, R-22.1): the access decision,
the purpose, the items, masking, and the audit record — for the pages, the API and the gateway
alike. A refusal is audited too, then raised as PermissionDenied with the reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.utils.translation import gettext as _

from govdata.audit.services import record
from govdata.common.actor import Actor
from govdata.common.digests import sm3_hex
from govdata.datastore import exports, query
from govdata.datastore.models import FileObject, Resource
from govdata.datastore.services.files import open_verified
from govdata.orgs.models import Department
from govdata.orgs.permissions import DEPARTMENT_ROLES, has_role

from .. import permissions as perm
from ..models import ConsumerApplication, Grant, Receipt
from . import receipts

# Parameters of a read that are not query parameters of the engine.
OWN_PARAMS = ("purpose", "format", "masked", "unmasked")


@dataclass(frozen=True)
class Reader:
    """Who reads: a department, through one of its applications for gateway calls."""

    actor: Actor
    department: Department | None
    application: ConsumerApplication | None = None


def reader_for(actor: Actor) -> Reader:
    """A signed-in person reads for their department (if they hold a department role)."""
    user = actor.user
    has_department = user is not None and user.department_id and has_role(user, *DEPARTMENT_ROLES)
    return Reader(actor, user.department if has_department else None)


@dataclass(frozen=True)
class Granted:
    access: perm.Access
    purpose: str
    projection: Any  # the items the reader may see, or query.ALL
    masked: bool


class Refused(Exception):
    """A use that may not happen: a code for programs, the reason for people, and the
    parameter it is about, if any."""

    def __init__(self, code: str, reason: str, parameter: str | None = None):
        super().__init__(reason)
        self.code, self.reason, self.parameter = code, reason, parameter


def decide_use(
    department: Department | None,
    resource: Resource,
    *,
    purpose: str,
    application: ConsumerApplication | None = None,
    on: dt.date | None = None,
    grants: Sequence[Grant] | None = None,
) -> Granted:
    """The decision for one use of ``resource``'s data (``permissions.decide``) with its
    purpose: a grant's data serves the grant's purpose alone; other data needs the user to
    state one. Raises ``Refused``. The pages, the API and the gateway all decide with it."""
    access = perm.decide(department, resource, application=application, on=on, grants=grants)
    if not access:
        raise Refused("access_denied", access.reason)
    purpose = (purpose or "").strip()
    if access.grant is not None:
        if purpose and purpose != access.grant.purpose.strip():
            raise Refused(
                "purpose_not_granted",
                _("The grant is for its stated purpose only: %(purpose)s") % {"purpose": access.grant.purpose},
                "purpose",
            )
        purpose = access.grant.purpose
    elif not purpose:
        raise Refused("purpose_required", _("State the purpose of this use of the data."), "purpose")
    own = department is not None and resource.entry.provider_id == department.pk
    projection = query.ALL if access.items is None else sorted(access.items)
    return Granted(access, purpose, projection, masked=not own)


def _refuse(reader: Reader, resource: Resource, kind: str, reason: str, purpose: str, **details: Any) -> None:
    record(
        reader.actor,
        f"sharing.{kind}",
        resource,
        department=reader.department,
        purpose=purpose,
        details={"outcome": "refused", "reason": reason, **details},
        rows=0,
    )
    raise PermissionDenied(reason)


def authorise(reader: Reader, resource: Resource, *, purpose: str, kind: str) -> Granted:
    """``decide_use`` for a reader; a refusal is audited, then raised as PermissionDenied."""
    try:
        return decide_use(reader.department, resource, purpose=purpose, application=reader.application)
    except Refused as refused:
        details = {"parameter": refused.parameter} if refused.parameter else {}
        _refuse(reader, resource, kind, refused.reason, (purpose or "").strip(), **details)


def _audit(reader: Reader, resource: Resource, kind: str, granted: Granted, codes: list[str], rows: int, **details) -> None:
    record(
        reader.actor,
        f"sharing.{kind}",
        resource,
        department=reader.department,
        purpose=granted.purpose,
        details={
            "outcome": "allowed",
            "items": codes,
            "grant": granted.access.grant.pk if granted.access.grant else None,
            **details,
        },
        rows=rows,
    )


def _filters_of(params: Mapping[str, Any]) -> dict[str, Any]:
    keys = [k for k in params if k not in OWN_PARAMS and k != "cursor"]
    getter = params.getlist if hasattr(params, "getlist") else (lambda k: params[k])
    return {k: getter(k) for k in keys}


def read_rows(reader: Reader, resource: Resource, params: Mapping[str, Any], *, purpose: str, kind: str = "read") -> query.Result:
    """A page of a table resource's rows, as ``query.parse_params`` reads ``params``, limited
    to what the reader may see and masked unless the reader is the provider."""
    granted = authorise(reader, resource, purpose=purpose, kind=kind)
    try:
        result = query.run(
            resource,
            query.parse_params(params, projection=granted.projection, masked=granted.masked, ignore=OWN_PARAMS),
        )
    except query.QueryError as exc:
        if exc.field is not None and granted.projection is not query.ALL and exc.field not in granted.projection:
            _refuse(
                reader, resource, kind, _("“%(field)s” is not among the items you may use.") % {"field": exc.field},
                granted.purpose, parameter=exc.parameter,
            )
        raise
    _audit(reader, resource, kind, granted, result.codes, len(result.rows), filters=_filters_of(params))
    return result


def export_rows(
    reader: Reader, resource: Resource, params: Mapping[str, Any], *, purpose: str, fmt: str
) -> exports.Export:
    """The full result as a stream; the audit record is written when the last row is out."""
    granted = authorise(reader, resource, purpose=purpose, kind="export")
    parsed = query.parse_params(params, projection=granted.projection, masked=granted.masked, ignore=OWN_PARAMS)

    def done(rows: int) -> None:
        codes = [f.code for f in stream.plan.fields]
        _audit(reader, resource, "export", granted, codes, rows, filters=_filters_of(params), format=fmt)

    stream = exports.export(resource, parsed, fmt, on_complete=done)
    return stream


# --- documents with legal effect (R-24.1) -----------------------------------------------------

EXTRACT_MAX_ROWS = 1000


def _receipt_metadata(reader: Reader, resource: Resource, granted: Granted, **what: Any) -> dict[str, Any]:
    return {
        **what,
        "resource": resource.pk,
        "resource_name": resource.name,
        "entry": resource.entry.code,
        "provider": resource.entry.provider.name,
        "obtained_by": reader.department.name if reader.department else "",
        "application": reader.application.app_id if reader.application else "",
        "grant": granted.access.grant.pk if granted.access.grant else None,
        "purpose": granted.purpose,
    }


def obtain_file(reader: Reader, file_object: FileObject, *, purpose: str) -> tuple[File, Receipt]:
    """A file of a file resource, checked against its SM3 digest, with the platform's signed
    receipt (its verified digest and what it is). Decided, purposed and audited like a read."""
    resource = file_object.resource
    granted = authorise(reader, resource, purpose=purpose, kind="file")
    content = open_verified(file_object)
    metadata = _receipt_metadata(
        reader, resource, granted, kind="file", file=file_object.pk, name=file_object.name, holder=file_object.holder_id
    )
    receipt = receipts.issue(reader.actor, file_object.sm3, metadata, issued_to=reader.department)
    _audit(reader, resource, "file", granted, [], 1, file=file_object.pk, receipt=receipt.number)
    return content, receipt


def extract_records(reader: Reader, resource: Resource, params: Mapping[str, Any], *, purpose: str) -> tuple[bytes, Receipt]:
    """A record extract (CSV of the records the filters select, at most EXTRACT_MAX_ROWS) with
    its signed receipt. An extract certifies records; bulk data is exported instead."""
    granted = authorise(reader, resource, purpose=purpose, kind="extract")
    parsed = query.parse_params(params, projection=granted.projection, masked=granted.masked, ignore=OWN_PARAMS)
    stream = exports.export(resource, parsed, "csv", use_copy=False)
    chunks = []
    for chunk in stream:
        chunks.append(chunk)
        if stream.rows > EXTRACT_MAX_ROWS:
            stream.close()
            raise ValidationError(
                {"filters": _("An extract holds at most %(n)d records: narrow the filters.") % {"n": EXTRACT_MAX_ROWS}}
            )
    content = b"".join(chunks)
    codes = [f.code for f in stream.plan.fields]
    metadata = _receipt_metadata(
        reader, resource, granted, kind="extract", items=codes, rows=stream.rows, parameters=_filters_of(params)
    )
    receipt = receipts.issue(reader.actor, sm3_hex(content), metadata, issued_to=reader.department)
    _audit(reader, resource, "extract", granted, codes, stream.rows, filters=_filters_of(params), receipt=receipt.number)
    return content, receipt
