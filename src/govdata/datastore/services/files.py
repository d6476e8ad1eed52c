"""File resources (R-3.1): upload, replace and withdraw unstructured files; e-licence and
e-archive metadata so that lookups by holder work (R-25.1); integrity by SM3 (R-24.1).

An upload streams through a local temporary file (on disk, so memory does not grow with the
file) while its SM3 digest and size are computed and the size limit is enforced. Its type is
read from the content (``datastore.sniffing``); only an accepted file is copied into Django's
default storage, under ``datastore/<resource id>/<random>``: a refused upload never reaches
the storage, and a stored file whose database row fails to commit is deleted again.
"""

from __future__ import annotations

import datetime as dt
import secrets
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from govdata.audit.services import record
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.digests import sm3
from govdata.common.parsing import parse_date
from govdata.common.validators import id_number_problem, uscc_problem
from govdata.orgs.permissions import check

from .. import permissions as perm
from .. import sniffing
from ..models import FileObject, Resource

CHUNK = 64 * 1024
LICENCE_FIELDS = ("holder_id", "holder_name", "licence_number", "issuer", "valid_from", "valid_until")


class FileIntegrityError(Exception):
    """A stored file is missing or its content no longer matches the SM3 digest taken at upload."""


def max_bytes(category: str) -> int:
    return int(getattr(settings, "FILE_MAX_BYTES_BY_CATEGORY", {}).get(category, settings.FILE_MAX_BYTES))


def _event(actor: Actor, action: str, file_object: FileObject, **details: Any) -> None:
    record(
        actor,
        f"datastore.file.{action}",
        file_object,
        department=file_object.resource.entry.provider,
        details={"resource": file_object.resource_id, "name": file_object.name, **details},
    )


# --- input checks ---------------------------------------------------------------------------


def clean_name(name: str) -> str:
    """The file's display name: the last path component, no control characters."""
    text = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()
    if not text or text in (".", ".."):
        raise ValidationError({"name": _("Give the file a name.")})
    if len(text) > FileObject._meta.get_field("name").max_length:
        raise ValidationError({"name": _("The file name is too long (at most 255 characters).")})
    return text


def holder_id_problem(value: str) -> str | None:
    """``None`` for a valid ID number (GB 11643) or unified social credit code (GB 32100)."""
    if id_number_problem(value) is None or uscc_problem(value) is None:
        return None
    as_id, as_code = id_number_problem(value), uscc_problem(value)
    if value.isdigit() or (len(value) == 18 and value[:17].isdigit() and value[17] == "X"):
        return _("Neither a valid ID number (%(id)s) nor a valid unified social credit code (%(code)s).") % {
            "id": as_id,
            "code": as_code,
        }
    return as_code


def clean_licence(licence: dict | None) -> dict[str, Any]:
    """E-licence / e-archive metadata, checked field by field. Empty when none is given; when
    any is given the holder's ID number or credit code is required, since lookups use it."""
    if not licence:
        return {}
    problems: dict[str, str] = {}
    unknown = sorted(set(licence) - set(LICENCE_FIELDS))
    for name in unknown:
        problems[name] = _("Unknown licence field.")
    values: dict[str, Any] = {}
    for name in ("holder_id", "holder_name", "licence_number", "issuer"):
        text = licence.get(name)
        text = "" if text is None else str(text).strip()
        limit = FileObject._meta.get_field(name).max_length
        if len(text) > limit:
            problems[name] = _("At most %(n)d characters.") % {"n": limit}
        values[name] = text
    values["holder_id"] = values["holder_id"].upper()
    if not values["holder_id"]:
        problems["holder_id"] = _("Enter the holder's ID number or unified social credit code.")
    elif "holder_id" not in problems:
        problem = holder_id_problem(values["holder_id"])
        if problem:
            problems["holder_id"] = problem
    for name in ("valid_from", "valid_until"):
        raw = licence.get(name)
        if raw in (None, ""):
            values[name] = None
            continue
        try:
            values[name] = parse_date(raw)
        except ValueError as exc:
            problems[name] = str(exc)
    if values.get("valid_from") and values.get("valid_until") and values["valid_from"] > values["valid_until"]:
        problems["valid_until"] = _("The end of validity is before its start.")
    if problems:
        raise ValidationError(problems)
    return values


# --- streaming the upload -------------------------------------------------------------------


@dataclass
class Incoming:
    """An upload spooled to a local temporary file, with what was learnt while reading it."""

    file: IO[bytes]
    size: int
    sm3: str
    file_type: sniffing.FileType
    extension_matches: bool


def _chunks(fileobj: Any) -> Iterator[bytes]:
    if hasattr(fileobj, "chunks"):
        yield from fileobj.chunks(CHUNK)
        return
    while True:
        chunk = fileobj.read(CHUNK)
        if not chunk:
            return
        yield chunk


def _too_big(limit: int) -> ValidationError:
    return ValidationError(
        {"file": _("The file is larger than the limit of %(limit)s for its type.") % {"limit": filesizeformat(limit)}}
    )


@contextmanager
def spool(fileobj: Any, name: str) -> Iterator[Incoming]:
    """Read the upload once into a temporary file, refusing it as soon as the content shows
    an unknown or refused type or the size passes the limit; the temporary file is gone when
    the block ends, whatever happens."""
    digest = sm3()
    size = 0
    head = b""
    with tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as spooled:
        limit = None
        sniffed = None
        for chunk in _chunks(fileobj):
            if limit is None:
                head += chunk
                if len(head) < sniffing.HEAD_BYTES:
                    continue
                sniffed, limit = _judge_head(head)
                chunk, head = head, b""
            size += len(chunk)
            if size > limit:
                raise _too_big(limit)
            digest.update(chunk)
            spooled.write(chunk)
        if limit is None:  # the whole file was shorter than the head
            if not head:
                raise ValidationError({"file": _("The file is empty.")})
            sniffed, limit = _judge_head(head)
            size = len(head)
            if size > limit:
                raise _too_big(limit)
            digest.update(head)
            spooled.write(head)
        spooled.flush()
        try:
            file_type = sniffing.identify(spooled, sniffed)
        except sniffing.UnknownType as exc:
            raise ValidationError({"file": str(exc)}) from None
        if size > max_bytes(file_type.category):
            raise _too_big(max_bytes(file_type.category))
        spooled.seek(0)
        yield Incoming(spooled, size, digest.finalize().hex(), file_type, sniffing.extension_matches(name, file_type))


def _judge_head(head: bytes) -> tuple[str, int]:
    sniffed = sniffing.sniff_head(head[: sniffing.HEAD_BYTES])
    possible = sniffing.candidates(sniffed) if sniffed else ()
    if not possible:
        raise ValidationError({"file": sniffing.refusal(sniffed)})
    return sniffed, max(max_bytes(t.category) for t in possible)


@contextmanager
def stored(incoming: Incoming, folder: str) -> Iterator[str]:
    """The file saved into storage under ``folder`` (with a random name) for the duration of a
    database write; deleted again if the write fails. Also used for sharing's evidence files."""
    name = f"{folder}/{secrets.token_hex(16)}"
    incoming.file.seek(0)
    storage_name = default_storage.save(name, File(incoming.file, name=name))
    try:
        yield storage_name
    except BaseException:
        default_storage.delete(storage_name)
        raise


def _stored(resource: Resource, incoming: Incoming) -> AbstractContextManager[str]:
    return stored(incoming, f"datastore/{resource.pk}")


def _require_file_resource(resource: Resource) -> None:
    if resource.kind != Resource.Kind.FILE:
        raise ValidationError({"resource": _("Files are uploaded to a file resource.")})


def _create(
    actor: Actor, resource: Resource, incoming: Incoming, storage_name: str, name: str, meta: dict
) -> FileObject:
    return FileObject.objects.create(
        resource=resource,
        name=name,
        storage_name=storage_name,
        category=incoming.file_type.category,
        content_type=incoming.file_type.content_type,
        size=incoming.size,
        sm3=incoming.sm3,
        uploaded_by=actor.user,
        uploaded_at=clock.now(),
        **meta,
    )


def _type_details(incoming: Incoming, name: str) -> dict[str, Any]:
    details = {"type": incoming.file_type.code, "size": incoming.size, "sm3": incoming.sm3}
    if not incoming.extension_matches:
        # Stored as what it really is; the event keeps what the name claimed.
        details["claimed_extension"] = sniffing.extension_of(name)
    return details


# --- actions --------------------------------------------------------------------------------


def upload_file(
    actor: Actor, resource: Resource, fileobj: Any, *, name: str, licence: dict | None = None
) -> FileObject:
    """Add a file to a file resource. ``fileobj`` is a Django ``UploadedFile``/``File`` or any
    binary file object. Raises ValidationError with ``name``, ``file`` or licence field keys."""
    check(actor, perm.can_load, resource)
    _require_file_resource(resource)
    name = clean_name(name)
    meta = clean_licence(licence)
    # The row and its event commit together; the stored file is deleted if they do not.
    with spool(fileobj, name) as incoming, _stored(resource, incoming) as storage_name, transaction.atomic():
        file_object = _create(actor, resource, incoming, storage_name, name, meta)
        _event(actor, "upload", file_object, **_type_details(incoming, name), holder=bool(meta))
    return file_object


def replace_file(
    actor: Actor, file_object: FileObject, fileobj: Any, *, name: str | None = None, licence: dict | None = None
) -> FileObject:
    """A new version of a file: a new FileObject (licence metadata carried over unless new
    metadata is given) and the old one withdrawn. The old stored file is kept, so what was
    issued before stays verifiable."""
    resource = file_object.resource
    check(actor, perm.can_load, resource)
    _require_file_resource(resource)
    if not file_object.is_active:
        raise ValidationError({"file": _("A withdrawn file cannot be replaced; upload a new one.")})
    name = clean_name(name if name is not None else file_object.name)
    if licence is not None:
        meta = clean_licence(licence)
    else:
        meta = {field: getattr(file_object, field) for field in LICENCE_FIELDS if getattr(file_object, field)}
    with spool(fileobj, name) as incoming, _stored(resource, incoming) as storage_name, transaction.atomic():
        # Locked and re-read: two concurrent replacements must not both succeed.
        still_active = FileObject.objects.select_for_update().filter(pk=file_object.pk, is_active=True)
        if not list(still_active.values_list("pk", flat=True)):
            raise ValidationError({"file": _("The file was withdrawn or replaced meanwhile.")})
        new = _create(actor, resource, incoming, storage_name, name, meta)
        FileObject.objects.filter(pk=file_object.pk).update(is_active=False)
        _event(actor, "replace", new, **_type_details(incoming, name), replaces=file_object.pk)
    file_object.is_active = False
    return new


@transaction.atomic
def withdraw_file(actor: Actor, file_object: FileObject, *, reason: str = "") -> FileObject:
    """Take a file out of use; its stored content and digest stay for verification."""
    check(actor, perm.can_load, file_object.resource)
    locked = FileObject.objects.select_for_update().get(pk=file_object.pk)
    if not locked.is_active:
        raise ValidationError({"file": _("The file is already withdrawn.")})
    locked.is_active = False
    locked.save(update_fields=["is_active"])
    file_object.is_active = False
    _event(actor, "withdraw", locked, reason=(reason or "").strip())
    return locked


# --- reading --------------------------------------------------------------------------------


def _integrity_failure(file_object: FileObject, problem: str) -> FileIntegrityError:
    record(
        Actor.platform(),
        "datastore.file.integrity_failure",
        file_object,
        department=file_object.resource.entry.provider,
        details={"resource": file_object.resource_id, "name": file_object.name, "problem": problem},
    )
    return FileIntegrityError(
        _("The stored file “%(name)s” (#%(id)s) %(problem)s; it is not served. Restore it from a backup.")
        % {"name": file_object.name, "id": file_object.pk, "problem": problem}
    )


def open_verified(file_object: FileObject) -> File:
    """The stored content, after its SM3 digest and size were checked against the ones taken
    at upload. The bytes are copied while they are verified, so what is returned is exactly
    what was verified (small files in memory, larger ones in a temporary file). Raises
    FileIntegrityError (and records an audit event) on a missing or altered file."""
    digest, size = sm3(), 0
    copy = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, dir=settings.FILE_UPLOAD_TEMP_DIR)  # noqa: SIM115
    try:
        try:
            source = default_storage.open(file_object.storage_name, "rb")
        except (FileNotFoundError, OSError):
            raise _integrity_failure(file_object, _("is missing from the storage")) from None
        with source:
            for chunk in source.chunks(CHUNK) if hasattr(source, "chunks") else iter(lambda: source.read(CHUNK), b""):
                digest.update(chunk)
                size += len(chunk)
                copy.write(chunk)
        if size != file_object.size or digest.finalize().hex() != file_object.sm3:
            raise _integrity_failure(file_object, _("no longer matches its SM3 digest"))
    except BaseException:
        copy.close()
        raise
    copy.seek(0)
    return File(copy, name=file_object.name)


def verify_file(file_object: FileObject) -> bool:
    """True when the stored file still matches its digest (for a periodic integrity sweep)."""
    try:
        open_verified(file_object).close()
    except FileIntegrityError:
        return False
    return True


def files_by_holder(
    holder_id: str, *, valid_on: dt.date | None = None, include_unpublished: bool = False
) -> QuerySet[FileObject]:
    """Licences and documents already on the platform for a person (ID number) or an
    organisation (credit code) — the "no repeated submission" lookup (R-25.1). Active files
    of published resources by default; ``valid_on`` keeps those valid on that day."""
    files = FileObject.objects.filter(holder_id=(holder_id or "").strip().upper(), is_active=True)
    if not include_unpublished:
        files = files.filter(resource__status=Resource.Status.PUBLISHED)
    if valid_on is not None:
        files = files.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=valid_on)).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=valid_on)
        )
    return files.select_related("resource__entry__provider").order_by("-uploaded_at", "-pk")
