"""Every change to the catalog: compile, submit, review, revise, maintain (Arts. 11-15)."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from govdata.audit.services import record
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.fsm import IllegalTransition, next_state
from govdata.notifications.services import notify
from govdata.orgs.models import Contact, Department
from govdata.orgs.permissions import check
from govdata.orgs.selectors import overseers_of
from govdata.workdays.calendar import local_date

from . import permissions as perm
from .diff import diff_versions
from .models import (
    CatalogEntry,
    CatalogImport,
    Classification,
    DataItem,
    EntryVersion,
    LegalChange,
    LegalChangeEntry,
    QuarterlyReview,
)
from .search import index_entry
from .rules import ITEM_FIELDS, VERSION_FIELDS, check_version
from .selectors import quarter_of
from .spreadsheet import (
    CellError,
    ParsedEntry,
    WorkbookRejected,
    check_archive,
    field_error_cells,
    mark_workbook,
    parse_workbook,
)
from .exchange import FIELD_COLUMNS, SHEET, parse_national
from .vocab import Origin, PriorityDomain

logger = logging.getLogger(__name__)

Status = EntryVersion.Status

# The review workflow as data: (state, action) -> next state.
TRANSITIONS = {
    (Status.DRAFT, "submit"): Status.SUBMITTED,
    (Status.RETURNED, "submit"): Status.SUBMITTED,
    (Status.SUBMITTED, "publish"): Status.PUBLISHED,
    (Status.SUBMITTED, "return"): Status.RETURNED,
    (Status.SUBMITTED, "withdraw"): Status.DRAFT,
    (Status.PUBLISHED, "supersede"): Status.SUPERSEDED,
}

# Accepted by the services but not stored as such.
INPUT_ONLY = ("themes", "is_classified")


def _normalise(values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(VERSION_FIELDS) - set(INPUT_ONLY)
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in sorted(unknown)})
    out = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    out.setdefault("related_codes", [])
    out.setdefault("domains", [])
    out.setdefault("themes", [])
    return out


def _normalise_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        extra = set(item) - set(ITEM_FIELDS)
        if extra:
            raise ValidationError({f"items.{len(out) + 1}": _("Unknown item fields: %(f)s") % {"f": ", ".join(extra)}})
        clean = {k: v.strip() if isinstance(v, str) else v for k, v in item.items()}
        for flag in ("required", "is_key", "sensitive"):
            clean[flag] = bool(clean.get(flag))
        clean.setdefault("description", "")
        clean.setdefault("length", None)
        out.append(clean)
    return out


def _validate(values: dict, items: list[dict], classification: Classification, provider: Department) -> None:
    problems = _problems(values, items, classification, provider)
    if problems:
        raise ValidationError(problems)


def _problems(values: dict, items: list[dict], classification: Classification, provider: Department) -> dict:
    problems = check_version(values, items, classification)
    contact = values.get("contact")
    if contact is not None and (
        not isinstance(contact, Contact) or contact.department_id != provider.pk or not contact.is_active
    ):
        problems.setdefault("contact", []).append(_("Choose an active contact of the providing department."))
    codes = [c for c in values.get("related_codes") or [] if c]
    if codes:
        known = set(CatalogEntry.objects.filter(code__in=codes).values_list("code", flat=True))
        missing = [c for c in codes if c not in known]
        if missing:
            problems.setdefault("related_codes", []).append(
                _("Unknown resource codes: %(codes)s") % {"codes": ", ".join(missing)}
            )
    return problems


def _write_content(version: EntryVersion, values: dict, items: list[dict]) -> None:
    for name in VERSION_FIELDS:
        if name in values:
            setattr(version, name, values[name])
    version.save()
    version.themes.set(values.get("themes") or [])
    version.items.all().delete()
    DataItem.objects.bulk_create(
        [DataItem(version=version, position=n, **item) for n, item in enumerate(items, start=1)]
    )


def _next_code(classification: Classification) -> str:
    # Locked so two entries never share a serial; serials are never handed out twice.
    locked = Classification.objects.select_for_update().get(pk=classification.pk)
    locked.last_serial += 1
    locked.save(update_fields=["last_serial"])
    return f"{locked.code}/{locked.last_serial:06d}"


def _event(actor: Actor, action: str, version: EntryVersion, **details: Any) -> None:
    record(
        actor,
        f"catalog.entry.{action}",
        version.entry,
        department=version.entry.provider,
        details={"version": version.number, "name": version.name, **details},
    )


@transaction.atomic
def create_entry(
    actor: Actor,
    provider: Department,
    classification: Classification,
    values: dict[str, Any],
    items: list[dict[str, Any]],
) -> CatalogEntry:
    """Compile a new entry: version 1 as a draft, with its resource code issued."""
    check(actor, perm.can_draft, provider)
    values, items = _normalise(values), _normalise_items(items)
    _validate(values, items, classification, provider)
    now = clock.now()
    entry = CatalogEntry.objects.create(
        code=_next_code(classification), classification=classification, provider=provider, created_at=now
    )
    version = EntryVersion(entry=entry, number=1, created_by=actor.user, created_at=now)
    _write_content(version, values, items)
    entry.working = version
    entry.save(update_fields=["working"])
    _event(actor, "create", version)
    return entry


def _working(entry: CatalogEntry) -> EntryVersion:
    if entry.working is None:
        raise ValidationError(_("There is no version being edited; start a revision first."))
    return entry.working


@transaction.atomic
def save_draft(actor: Actor, entry: CatalogEntry, values: dict[str, Any], items: list[dict[str, Any]]) -> EntryVersion:
    check(actor, perm.can_draft, entry.provider)
    _refuse_read_only(entry)
    version = _working(entry)
    if not version.editable:
        raise ValidationError(_("A version under review cannot be edited; withdraw it first."))
    values, items = _normalise(values), _normalise_items(items)
    _validate(values, items, entry.classification, entry.provider)
    _write_content(version, values, items)
    _event(actor, "edit", version)
    return version


@transaction.atomic
def start_revision(actor: Actor, entry: CatalogEntry) -> EntryVersion:
    """Editing a published entry: copy it into a new draft; the published one stays visible."""
    check(actor, perm.can_draft, entry.provider)
    _refuse_read_only(entry)
    if entry.working is not None:
        return entry.working
    if entry.published is None:
        raise ValidationError(_("The entry has no published version to revise."))
    source = entry.published
    version = EntryVersion(
        entry=entry,
        number=entry.versions.order_by("-number").values_list("number", flat=True).first() + 1,
        based_on=source,
        created_by=actor.user,
        created_at=clock.now(),
    )
    values = {name: getattr(source, name) for name in VERSION_FIELDS}
    values["themes"] = list(source.themes.all())
    items = [{f: getattr(item, f) for f in ITEM_FIELDS} for item in source.items.all()]
    _write_content(version, values, items)
    entry.working = version
    entry.save(update_fields=["working"])
    _event(actor, "revise", version, based_on=source.number)
    return version


def _move(version: EntryVersion, action: str) -> None:
    version.status = next_state(TRANSITIONS, version.status, action)


@transaction.atomic
def submit(actor: Actor, entry: CatalogEntry) -> EntryVersion:
    check(actor, perm.can_submit, entry.provider)
    _refuse_read_only(entry)
    version = _working(entry)
    _move(version, "submit")
    # Re-check: a rule may have changed since the draft was saved (e.g. a base class rule).
    values = {name: getattr(version, name) for name in VERSION_FIELDS}
    values["themes"] = list(version.themes.all())
    items = [{f: getattr(item, f) for f in ITEM_FIELDS} for item in version.items.all()]
    _validate(values, items, entry.classification, entry.provider)
    version.submitted_at = clock.now()
    version.return_reason = ""
    version.save(update_fields=["status", "submitted_at", "return_reason"])
    _event(actor, "submit", version)
    notify(
        subject=_("Catalog entry submitted for review: %(name)s") % {"name": version.name},
        body=f"{entry.provider} · {entry.code}",
        link=f"/catalog/review/{entry.pk}/",
        category="catalog.review",
        users=overseers_of(entry.provider),
    )
    return version


@transaction.atomic
def withdraw(actor: Actor, entry: CatalogEntry) -> EntryVersion:
    check(actor, perm.can_submit, entry.provider)
    version = _working(entry)
    _move(version, "withdraw")
    version.save(update_fields=["status"])
    _event(actor, "withdraw", version)
    return version


@transaction.atomic
def publish(actor: Actor, entry: CatalogEntry, note: str = "") -> EntryVersion:
    check(actor, perm.can_review, entry)
    version = _working(entry)
    _move(version, "publish")
    now = clock.now()
    previous = entry.published
    if previous is not None:
        _move(previous, "supersede")
        previous.save(update_fields=["status"])
    version.reviewed_by, version.reviewed_at = actor.user, now
    if version.publish_date is None:
        version.publish_date = local_date(now)
    version.save(update_fields=["status", "reviewed_by", "reviewed_at", "publish_date"])
    entry.published, entry.working = version, None
    entry.save(update_fields=["published", "working"])
    index_entry(entry)
    changes = diff_versions(previous, version) if previous else None
    _event(actor, "publish", version, note=note, changes=len(changes.fields) + len(changes.items) if changes else None)
    notify(
        subject=_("Catalog entry published: %(name)s") % {"name": version.name},
        body=note,
        link=f"/catalog/entries/{entry.pk}/",
        category="catalog.published",
        departments=[entry.provider],
    )
    return version


@transaction.atomic
def return_entry(actor: Actor, entry: CatalogEntry, reason: str) -> EntryVersion:
    check(actor, perm.can_review, entry)
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the entry is returned.")})
    version = _working(entry)
    _move(version, "return")
    version.reviewed_by, version.reviewed_at, version.return_reason = actor.user, clock.now(), reason.strip()
    version.save(update_fields=["status", "reviewed_by", "reviewed_at", "return_reason"])
    _event(actor, "return", version, reason=reason.strip())
    notify(
        subject=_("Catalog entry returned: %(name)s") % {"name": version.name},
        body=reason.strip(),
        link=f"/catalog/entries/{entry.pk}/",
        category="catalog.returned",
        departments=[entry.provider],
    )
    return version


def _refuse_read_only(entry: CatalogEntry) -> None:
    if entry.read_only:
        raise ValidationError(_("Entries imported from an upper-level platform are maintained there."))


# --- maintenance (Art. 15) -----------------------------------------------------------------


@transaction.atomic
def confirm_quarterly(actor: Actor, entry: CatalogEntry) -> QuarterlyReview:
    """The department declares the entry reviewed and correct for the current quarter."""
    check(actor, perm.can_maintain, entry)
    if entry.published is None:
        raise ValidationError(_("Only published entries take part in the quarterly review."))
    quarter = quarter_of(clock.today())
    review, created = QuarterlyReview.objects.get_or_create(
        entry=entry, quarter=quarter, defaults={"confirmed_by": actor.user, "confirmed_at": clock.now()}
    )
    if created:
        record(actor, "catalog.entry.quarterly_confirm", entry, department=entry.provider, details={"quarter": quarter})
    return review


@transaction.atomic
def record_legal_change(
    actor: Actor, *, title: str, occurred_on: Any, entries: list[CatalogEntry], description: str = ""
) -> LegalChange:
    """Record a change of law or duties; each affected entry is then due within 10 working days."""
    check(actor, perm.can_record_legal_change, entries)
    problems = {}
    if not (title or "").strip():
        problems["title"] = _("Name the change of law or duties.")
    if not entries:
        problems["entries"] = _("Choose the affected entries.")
    if occurred_on is None or occurred_on > clock.today():
        problems["occurred_on"] = _("The date of the change cannot be in the future.")
    if problems:
        raise ValidationError(problems)
    change = LegalChange.objects.create(
        title=title.strip(),
        occurred_on=occurred_on,
        description=description.strip(),
        recorded_by=actor.user,
        recorded_at=clock.now(),
    )
    LegalChangeEntry.objects.bulk_create(
        [
            LegalChangeEntry(change=change, entry=e, baseline_number=e.published.number if e.published else None)
            for e in entries
        ]
    )
    record(actor, "catalog.legal_change.record", change, details={"title": change.title, "entries": [e.code for e in entries]})
    providers = {e.provider_id: e.provider for e in entries}
    notify(
        subject=_("Catalog entries must be updated after a legal change: %(title)s") % {"title": change.title},
        body=", ".join(e.code for e in entries),
        link="/catalog/maintenance/",
        category="catalog.legal_change",
        departments=list(providers.values()),
    )
    return change



# --- offline batch import (R-13.2) ---------------------------------------------------------


@dataclass
class ImportResult:
    created: list[CatalogEntry]
    errors: list[CellError]
    marked_workbook: bytes | None = None
    rows: int = 0  # entries found in the workbook

    @property
    def ok(self) -> bool:
        return not self.errors


def _resolve_references(parsed: ParsedEntry, provider: Department, lookups: dict) -> tuple[Classification | None, dict]:
    """Classification, themes, domains and contact named in a row, as problems by field."""
    problems: dict[str, list[str]] = {}
    classification = lookups["classifications"].get(parsed.classification)
    if classification is None or classification.level < Classification.Level.ITEM:
        problems["classification"] = [_("Unknown classification code “%(code)s”.") % {"code": parsed.classification}]
        classification = None
    themes = []
    for name in parsed.values.get("themes") or []:
        theme = lookups["themes"].get(name)
        if theme is None:
            problems.setdefault("themes", []).append(_("Unknown theme “%(name)s”.") % {"name": name})
        else:
            themes.append(theme)
    parsed.values["themes"] = themes
    domains = []
    for name in parsed.values.get("domains") or []:
        code = lookups["domains"].get(name, name)
        domains.append(code)
    parsed.values["domains"] = domains
    contact_name = parsed.values.get("contact") or ""
    if contact_name:
        matches = lookups["contacts"].get(contact_name, [])
        if len(matches) != 1:
            problems["contact"] = [
                _("“%(name)s” is not one active contact of the department.") % {"name": contact_name}
            ]
        parsed.values["contact"] = matches[0] if len(matches) == 1 else None
    else:
        parsed.values["contact"] = None
    return classification, problems


# Called as progress(phase, done, total) while an import works through the rows.
Progress = Callable[[str, int, int], None]
PROGRESS_EVERY = 50


def _report(progress: Progress | None, phase: str, done: int, total: int) -> None:
    if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
        progress(phase, done, total)


def import_workbook(actor: Actor, provider: Department, data: bytes, progress: Progress | None = None) -> ImportResult:
    """Validate every row; import all of them, or none and return each error with its cell.

    ``progress``, when given, is told every ``PROGRESS_EVERY`` rows how far the phase
    ("validating", then "importing") has come: ``progress(phase, done, total)``; a rejected
    workbook's errors are then marked in a copy of it (phase "marking", no counts)."""
    check(actor, perm.can_draft, provider)
    try:
        parsed_entries, errors = parse_workbook(data)
    except WorkbookRejected as exc:
        raise ValidationError({"file": str(exc)}) from None
    with translation.override("zh-hans"):
        lookups = {
            "classifications": {c.code: c for c in Classification.objects.all()},
            "themes": {
                key: c
                for c in Classification.objects.filter(code__startswith="2", level=Classification.Level.ITEM)
                for key in (c.code, c.name)
            },
            "domains": {str(label): code for code, label in PriorityDomain.choices},
            "contacts": {},
        }
    for contact in provider.contacts.filter(is_active=True):
        lookups["contacts"].setdefault(contact.name, []).append(contact)
    total = len(parsed_entries)
    _report(progress, "validating", 0, total)
    for done, parsed in enumerate(parsed_entries, start=1):
        classification, problems = _resolve_references(parsed, provider, lookups)
        items = _normalise_items(parsed.items)
        found = _problems(_normalise(parsed.values), items, classification, provider)
        for key, messages in problems.items():
            found.setdefault(key, []).extend(messages)
        errors += field_error_cells(parsed, found)
        _report(progress, "validating", done, total)
    if errors:
        errors.sort(key=lambda e: (e.sheet, e.row))
        record(actor, "catalog.import.rejected", department=provider, details={"errors": len(errors)}, rows=total)
        if progress is not None:
            progress("marking", 0, 0)
        return ImportResult([], errors, mark_workbook(data, errors), rows=total)
    created = []
    _report(progress, "importing", 0, total)
    with transaction.atomic():
        for parsed in parsed_entries:
            created.append(
                create_entry(
                    actor,
                    provider,
                    lookups["classifications"][parsed.classification],
                    parsed.values,
                    parsed.items,
                )
            )
            _report(progress, "importing", len(created), total)
        record(actor, "catalog.import", department=provider, rows=len(created), details={"codes": [e.code for e in created][:50]})
    return ImportResult(created, [], rows=total)


# --- the import as a background job (R-13.2) -------------------------------------------------

ImportStatus = CatalogImport.Status

# An import's life as data: (state, action) -> next state.
IMPORT_TRANSITIONS = {
    (ImportStatus.QUEUED, "start"): ImportStatus.RUNNING,
    (ImportStatus.QUEUED, "fail"): ImportStatus.FAILED,  # the job could not even be queued
    (ImportStatus.RUNNING, "reject"): ImportStatus.REJECTED,
    (ImportStatus.RUNNING, "finish"): ImportStatus.DONE,
    (ImportStatus.RUNNING, "fail"): ImportStatus.FAILED,
}


def import_storage():
    """Where uploads and marked workbooks are kept: shared by web servers and job consumers."""
    return storages["imports"]


def _clean_file_name(filename: str) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[-200:] or "workbook.xlsx"


@transaction.atomic
def start_import(actor: Actor, provider: Department, data: bytes, filename: str) -> CatalogImport:
    """Accept a workbook for import and queue the job that checks and imports it.

    What can be refused at once (too big, not an .xlsx) is refused here, naming ``file``; the
    rows are checked by the job (``run_import``), which reports its progress and outcome."""
    check(actor, perm.can_draft, provider)
    limit = settings.CATALOG_IMPORT_MAX_BYTES
    if len(data) > limit:
        raise ValidationError({"file": _("The file is larger than %(mb)d MB.") % {"mb": limit // 1_000_000}})
    try:
        check_archive(data)
    except WorkbookRejected as exc:
        raise ValidationError({"file": str(exc)}) from None
    name = _clean_file_name(filename)
    stored = import_storage().save(f"{secrets.token_hex(16)}.xlsx", ContentFile(data))
    imp = CatalogImport.objects.create(
        provider=provider,
        uploaded_by=actor.user,
        file_name=name,
        size=len(data),
        stored_name=stored,
        language=translation.get_language() or settings.LANGUAGE_CODE,
        created_at=clock.now(),
    )
    record(actor, "catalog.import.start", imp, department=provider, details={"file": name, "bytes": len(data)})
    # After commit: a consumer must find the row it is given.
    transaction.on_commit(lambda: _enqueue(imp.pk))
    return imp


def _enqueue(import_id: int) -> None:
    from .tasks import run_catalog_import

    try:
        run_catalog_import(import_id)
    except Exception as exc:  # the queue (Redis, the tasks file) cannot be reached
        logger.exception("catalog import %s could not be queued", import_id)
        imp = CatalogImport.objects.filter(pk=import_id).first()
        if imp is not None and imp.status == ImportStatus.QUEUED:
            with translation.override(imp.language or settings.LANGUAGE_CODE):
                message = _("The import could not be queued (%(error)s); please try again later.") % {
                    "error": exc.__class__.__name__
                }
                _conclude(imp, "fail", Actor.platform(), message=message)


def _advance(import_id: int, action: str, **fields: Any) -> CatalogImport | None:
    """Move the import along the table (locked), with ``fields``; None when it is gone or the
    move is not possible any more (e.g. another consumer took the job first)."""
    with transaction.atomic():
        imp = (
            CatalogImport.objects.select_for_update(of=("self",))
            .select_related("provider", "uploaded_by")
            .filter(pk=import_id)
            .first()
        )
        if imp is None:
            return None
        try:
            imp.status = next_state(IMPORT_TRANSITIONS, imp.status, action)
        except IllegalTransition:
            return None
        for name, value in fields.items():
            setattr(imp, name, value)
        imp.save(update_fields=["status", *fields])
        return imp


def run_import(import_id: int, progress: Progress | None = None) -> CatalogImport | None:
    """The job: check and import a queued workbook as its uploader, and record the outcome.

    ``import_workbook`` does the work in one transaction, so an unexpected error leaves nothing
    half-written: the import is then marked failed with the error. Returns the import, or None
    when there was nothing to do (unknown id, or already taken by another consumer)."""
    imp = _advance(import_id, "start", started_at=clock.now())
    if imp is None:
        logger.warning("catalog import %s: not queued any more, nothing to do", import_id)
        return None
    if progress is not None:
        progress("reading", 0, 0)
    actor = Actor(user=imp.uploaded_by)
    with translation.override(imp.language or settings.LANGUAGE_CODE):
        try:
            with import_storage().open(imp.stored_name, "rb") as upload:
                data = upload.read()
            result = import_workbook(actor, imp.provider, data, progress=progress)
        except ValidationError as exc:  # the workbook as a whole is refused
            message = "；".join(exc.messages)
            record(actor, "catalog.import.rejected", imp, department=imp.provider, details={"reason": message})
            return _conclude(imp, "reject", actor, message=message)
        except PermissionDenied:
            message = _("The uploader may no longer compile catalog entries for this department.")
            return _conclude(imp, "fail", actor, message=message)
        except Exception as exc:
            logger.exception("catalog import %s failed", imp.pk)
            return _conclude(imp, "fail", actor, message=f"{exc.__class__.__name__}: {exc}"[:2000])
        return _conclude(imp, "reject" if result.errors else "finish", actor, result=result)


def _conclude(
    imp: CatalogImport, action: str, actor: Actor, *, result: ImportResult | None = None, message: str = ""
) -> CatalogImport | None:
    storage = import_storage()
    fields: dict[str, Any] = {"finished_at": clock.now(), "message": message}
    if result is not None:
        fields["total_rows"] = result.rows
        fields["errors"] = [asdict(error) for error in result.errors]
        fields["created_count"] = len(result.created)
        fields["created_entries"] = [entry.pk for entry in result.created]
        if result.marked_workbook:
            fields["marked_name"] = storage.save(
                f"{imp.pk}-{secrets.token_hex(8)}-marked.xlsx", ContentFile(result.marked_workbook)
            )
    with transaction.atomic():
        done = _advance(imp.pk, action, **fields)
        if done is None:
            return None
        if action == "fail":
            record(actor, "catalog.import.failed", done, department=done.provider, details={"error": message})
        _notify_uploader(done)
    if action != "fail" and done.stored_name:
        # The upload has been read; what remains is the outcome (and the marked copy).
        storage.delete(done.stored_name)
        CatalogImport.objects.filter(pk=done.pk).update(stored_name="")
        done.stored_name = ""
    return done


# Uploads kept after a failure, and marked workbooks, are removed this long after the job.
IMPORT_FILES_KEEP_DAYS = 30


def prune_import_files(days: int = IMPORT_FILES_KEEP_DAYS) -> int:
    """Remove the files of imports finished more than ``days`` ago (the records stay, with
    their errors); returns how many imports had files removed. Run daily by the consumer."""
    storage = import_storage()
    cutoff = clock.now() - dt.timedelta(days=days)
    old = CatalogImport.objects.filter(finished_at__lt=cutoff).exclude(stored_name="", marked_name="")
    count = 0
    for imp in old.only("pk", "stored_name", "marked_name"):
        for name in (imp.stored_name, imp.marked_name):
            if name:
                storage.delete(name)
        CatalogImport.objects.filter(pk=imp.pk).update(stored_name="", marked_name="")
        count += 1
    return count


def _notify_uploader(imp: CatalogImport) -> None:
    file_name = imp.file_name if len(imp.file_name) <= 80 else imp.file_name[:77] + "…"
    if imp.status == ImportStatus.DONE:
        subject = translation.ngettext(
            "Import finished: %(n)d entry of %(file)s created as a draft",
            "Import finished: %(n)d entries of %(file)s created as drafts",
            imp.created_count,
        ) % {"n": imp.created_count, "file": file_name}
    elif imp.status == ImportStatus.REJECTED:
        subject = _("Import rejected, nothing was imported: %(file)s") % {"file": file_name}
    else:
        subject = _("Import failed, nothing was imported: %(file)s") % {"file": file_name}
    body = imp.message
    if imp.errors:
        body = translation.ngettext("%(n)d problem found.", "%(n)d problems found.", len(imp.errors)) % {"n": len(imp.errors)}
    notify(
        subject=subject,
        body=body,
        link=reverse("catalog:import_status", args=[imp.pk]),
        category="catalog.import",
        users=[imp.uploaded_by],
    )


# --- upper-level exchange (R-11.2) ---------------------------------------------------------


@dataclass
class UpperLevelResult:
    created: int
    updated: int
    errors: list[CellError]


def import_upper_level(actor: Actor, data: bytes, origin: str) -> UpperLevelResult:
    """Import a national or provincial catalog (national layout) as read-only published
    entries, kept under the bureau and marked with their origin. All rows or none."""
    check(actor, perm.can_import_upper_level)
    if origin not in (Origin.PROVINCIAL, Origin.NATIONAL):
        raise ValidationError({"origin": _("Choose the provincial or the national platform.")})
    holder = actor.user.department if actor.user is not None else None
    if holder is None:
        raise ValidationError(_("Upper-level entries are kept by the importing bureau's department."))
    try:
        parsed, errors = parse_national(data)
    except WorkbookRejected as exc:
        raise ValidationError({"file": str(exc)}) from None
    classifications = {c.code: c for c in Classification.objects.all()}
    existing = {e.code: e for e in CatalogEntry.objects.filter(code__in=[p.code for p in parsed])}
    for row in parsed:
        classification = classifications.get(row.classification)
        if classification is None:
            errors.append(CellError(SHEET, row.row, "信息资源分类", _("Unknown classification code “%(code)s”.") % {"code": row.classification}))
        other = existing.get(row.code)
        if other is not None and other.origin != origin:
            errors.append(CellError(SHEET, row.row, "信息资源代码", _("The code is already used by an entry of this city.")))
        for key, messages in check_version(row.values, _normalise_items(row.items), classification).items():
            column = FIELD_COLUMNS.get(key.split(".")[0], key)
            errors += [CellError(SHEET, row.row, column, message) for message in messages]
    if errors:
        return UpperLevelResult(0, 0, errors)
    created = updated = 0
    with transaction.atomic():
        for row in parsed:
            entry = existing.get(row.code)
            if entry is None:
                entry = CatalogEntry.objects.create(
                    code=row.code,
                    classification=classifications[row.classification],
                    provider=holder,
                    origin=origin,
                    origin_provider=row.provider,
                    origin_provider_code=row.provider_code,
                    created_at=clock.now(),
                )
                created += 1
            elif entry.published is not None and _same_content(entry.published, row):
                continue
            else:
                updated += 1
            _publish_upper_level(actor, entry, row)
        record(actor, "catalog.upper_level.import", details={"origin": origin, "created": created, "updated": updated})
    return UpperLevelResult(created, updated, [])


def _same_content(version: EntryVersion, row: Any) -> bool:
    keys = ("name", "code", "data_type", "length")
    items = [{k: getattr(i, k) for k in keys} for i in version.items.all()]
    return items == [{k: i[k] for k in keys} for i in row.items] and all(
        getattr(version, k) == v for k, v in row.values.items()
    )


def _publish_upper_level(actor: Actor, entry: CatalogEntry, row: Any) -> None:
    now = clock.now()
    previous = entry.published
    number = (entry.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    version = EntryVersion(
        entry=entry, number=number, status=Status.PUBLISHED, created_by=actor.user, created_at=now,
        reviewed_by=actor.user, reviewed_at=now, publish_date=local_date(now), based_on=previous,
    )
    _write_content(version, row.values, _normalise_items(row.items))
    if previous is not None:
        _move(previous, "supersede")
        previous.save(update_fields=["status"])
    entry.published = version
    entry.save(update_fields=["published"])
    index_entry(entry)
