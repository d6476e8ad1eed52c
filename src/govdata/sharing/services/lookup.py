"""No repeated submission (R-25.1): given a person's ID number or an organisation's unified
social credit code, what the platform already holds about them that this department may
obtain — e-licence files by holder, and table records whose key item is that number — each
with the way to get it under the department's access. Only what ``permissions.decide``
allows is even mentioned: that a record exists is itself information. Every lookup is audited."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from govdata.audit.services import record
from govdata.common.validators import id_number_problem
from govdata.datastore import query
from govdata.datastore.models import Check, FileObject, Resource, ResourceColumn
from govdata.datastore.services.files import files_by_holder, holder_id_problem

from .. import permissions as perm
from .access import Reader

@dataclass(frozen=True)
class Holding:
    resource: Resource
    access: perm.Access
    file: FileObject | None = None  # an e-licence / document
    key_column: ResourceColumn | None = None  # a table whose key item holds the number
    records: int = 0


def _tables_keyed_by(holder_id: str) -> list[ResourceColumn]:
    check = Check.ID_NUMBER if id_number_problem(holder_id) is None else Check.CREDIT_CODE
    return list(
        ResourceColumn.objects.filter(
            is_key=True,
            content_check=check,
            resource__kind=Resource.Kind.TABLE,
            resource__status=Resource.Status.PUBLISHED,
        ).select_related("resource__entry__published", "resource__entry__provider")
    )


def lookup_holder(reader: Reader, holder_id: str) -> list[Holding]:
    holder_id = (holder_id or "").strip().upper()
    problem = holder_id_problem(holder_id)
    if problem is not None:
        raise ValidationError({"holder_id": problem})
    found: list[Holding] = []
    for file in files_by_holder(holder_id).select_related("resource__entry__published"):
        access = perm.decide(reader.department, file.resource, application=reader.application)
        if access:
            found.append(Holding(file.resource, access, file=file))
    for column in _tables_keyed_by(holder_id):
        resource = column.resource
        access = perm.decide(reader.department, resource, application=reader.application)
        if not access or (access.items is not None and column.code not in access.items):
            continue
        result = query.run(
            resource,
            query.Query(
                projection=[column.code],
                masked=False,  # only the count leaves here; the key is the reader's own input
                filters=[(column.code, "eq", holder_id)],
                fields=[column.code],
                limit=1,
                total="exact",
            ),
        )
        if result.total:
            found.append(Holding(resource, access, key_column=column, records=result.total))
    record(
        reader.actor,
        "sharing.lookup",
        None,
        department=reader.department,
        details={
            "holder_id": holder_id,
            "files": [h.file.pk for h in found if h.file is not None],
            "tables": [h.resource.pk for h in found if h.key_column is not None],
        },
        rows=len(found),
    )
    return found
