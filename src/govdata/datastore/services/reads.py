"""The provider's and the bureau's own reads of a table resource (preview, query, export):
permission, masking and the audit record in one place for the pages and the API. Other
departments read through ``sharing.services.access``, which decides by grants."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govdata.audit.services import record
from govdata.common.actor import Actor
from govdata.orgs.permissions import check

from .. import exports, query
from .. import permissions as perm
from ..models import Resource


def _masked(actor: Actor, resource: Resource, unmasked: bool) -> bool:
    """Masked unless the provider's own officers ask for the values whole."""
    return not (unmasked and perm.can_unmask(actor.user, resource))


def _parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    return dict(params.lists()) if hasattr(params, "lists") else dict(params)


def read_rows(
    actor: Actor, resource: Resource, params: Mapping[str, Any], *, unmasked: bool = False, ignore: tuple[str, ...] = ()
) -> query.Result:
    """One page of rows as ``query.parse_params`` reads ``params``; audited with its size."""
    check(actor, perm.can_read_rows, resource)
    masked = _masked(actor, resource, unmasked)
    result = query.run(resource, query.parse_params(params, projection=query.ALL, masked=masked, ignore=ignore))
    record(
        actor,
        "datastore.read",
        resource,
        department=resource.entry.provider,
        details={"masked": masked, "items": result.codes, "parameters": _parameters(params)},
        rows=len(result.rows),
    )
    return result


def export_rows(
    actor: Actor,
    resource: Resource,
    params: Mapping[str, Any],
    fmt: str,
    *,
    unmasked: bool = False,
    header: str = "name",
    ignore: tuple[str, ...] = (),
) -> exports.Export:
    """Every matching row, streamed; the audit record gets the number of rows once the last
    one is out."""
    check(actor, perm.can_read_rows, resource)
    masked = _masked(actor, resource, unmasked)
    rows_query = query.parse_params(params, projection=query.ALL, masked=masked, ignore=ignore)
    details = {"format": fmt, "masked": masked, "parameters": _parameters(params)}

    def audit(rows: int) -> None:
        record(actor, "datastore.export", resource, department=resource.entry.provider, details=details, rows=rows)

    return exports.export(resource, rows_query, fmt, header=header, on_complete=audit)
