"""The public's reads of a table's rows (R-29.1, R-29.2) for every route — the portal's
preview and download, the CKAN API's ``datastore_search``, the open API's rows — with the
audit record that reads under an application owe.

Rows of an on-application dataset are read under the reader's approved application
(``permissions.approval``), and every such read is audited as the platform's other reads of
government data are: who (the applicant, their address), which resource, the application's
purpose, the items and query, how many rows, by which route; the providing department is the
event's department, so its security officer sees who read its data. Reads of unconditionally
open data are anyone's without asking (Art. 29) and are counted in the usage statistics
instead, not audited one by one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from govdata.audit.services import record_standalone
from govdata.catalog.vocab import OpenType
from govdata.common.actor import Actor
from govdata.datastore import exports
from govdata.datastore.models import Resource

from .. import permissions as perm
from .. import selectors
from ..models import OpenApplication


def _applied(resource: Resource) -> bool:
    """Whether reading the rows takes an approved application (an on-application dataset)."""
    return resource.entry.published.open_type == OpenType.ON_APPLICATION


def _audit(
    actor: Actor, action: str, resource: Resource, application: OpenApplication | None, rows: int, **details: Any
) -> None:
    record_standalone(
        actor,
        f"opendata.{action}",
        resource,
        department=resource.entry.provider,
        # None only if the approval ended between the read and this record (at midnight).
        purpose=application.purpose if application is not None else "",
        details={"application": application.pk if application is not None else None, **details},
        rows=rows,
    )


def read_rows(actor: Actor, resource: Resource, *, route: str, **options: Any) -> selectors.Rows:
    """One page of rows (``selectors.read_rows``, same options) for ``actor``, by ``route``
    ("portal", "ckan" or "open_api"); audited when read under an application."""
    rows = selectors.read_rows(actor.user, resource, **options)
    if _applied(resource):
        asked = {key: options[key] for key in ("q", "sort", "fields", "limit", "offset", "cursor") if options.get(key)}
        filters = [{"field": f.field, "op": f.op, "value": f.value} for f in options.get("filters", ())]
        application = perm.approval(actor.user, resource.entry)
        items = [f.code for f in rows.fields]
        _audit(actor, "read", resource, application, len(rows.rows), route=route, items=items, filters=filters, **asked)
    return rows


def export_rows(
    actor: Actor,
    resource: Resource,
    fmt: str,
    *,
    route: str,
    on_complete: Callable[[int], Any] | None = None,
) -> exports.Export:
    """The whole table (``selectors.export_rows``) for ``actor``, streamed; once the last row
    is out, ``on_complete(rows)``. Read under an application, it is audited with the number of
    rows once the last is out — or, for a download stopped early (closed before its end),
    with the rows read until then, as not complete."""
    applied = _applied(resource)
    application = None
    recorded = False

    def audit(rows: int, complete: bool) -> None:
        nonlocal recorded
        if applied and not recorded:
            recorded = True
            items = [f.code for f in stream.plan.fields]
            details = {"route": route, "format": fmt, "items": items, "complete": complete}
            _audit(actor, "export", resource, application, rows, **details)

    def done(rows: int) -> None:
        audit(rows, complete=True)
        if on_complete is not None:
            on_complete(rows)

    stream = selectors.export_rows(actor.user, resource, fmt, on_complete=done)
    if applied:  # the export is permitted: it was made
        application = perm.approval(actor.user, resource.entry)
        close = stream.close

        def close_early() -> None:
            close()
            if not stream.complete:
                audit(stream.rows, complete=False)

        # The response closes its content when it ends, however it ends (WSGI's close()).
        stream.close = close_early
    return stream
