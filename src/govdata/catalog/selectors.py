"""Permission-filtered reads of the catalog, and the maintenance obligations derived from it."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from govdata.common import clock
from govdata.orgs.models import Contact, Department, Region, Role, User
from govdata.orgs.permissions import DEPARTMENT_ROLES, has_role, is_bureau_admin, region_ids_of
from govdata.orgs.selectors import department_scope
from govdata.workdays.calendar import Deadline, WorkCalendar

from .models import CatalogEntry, CatalogImport, Classification, EntryVersion, LegalChangeEntry, QuarterlyReview
from .permissions import can_browse_catalog, can_read_version
from .vocab import FormatCategory, OpenType, PriorityDomain, ShareType, UpdateCycle

LEGAL_CHANGE_WORKING_DAYS = 10  # Art. 15


def quarter_of(day: dt.date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_bounds(quarter: str) -> tuple[dt.date, dt.date]:
    year, q = int(quarter[:4]), int(quarter[-1])
    start = dt.date(year, 3 * q - 2, 1)
    end = dt.date(year + (q == 4), (3 * q) % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end


def previous_quarter(quarter: str) -> str:
    year, q = int(quarter[:4]), int(quarter[-1])
    return f"{year - 1}Q4" if q == 1 else f"{year}Q{q - 1}"


# What reviewers see of unpublished work: what was put before them, never plain drafts.
REVIEWER_VISIBLE = (EntryVersion.Status.SUBMITTED, EntryVersion.Status.RETURNED)


def _reviewable_scope(user: User | None) -> Q:
    # Note: an empty Q() would vanish when OR-ed, so "everything" is spelled out explicitly.
    if is_bureau_admin(user):
        return Q(pk__isnull=False)
    return Q(provider__region_id__in=region_ids_of(user))


def entries_visible_to(user: User | None) -> QuerySet[CatalogEntry]:
    """Published entries for every government user, plus unpublished ones of the user's own
    department and of the departments the user reviews. Never another department's drafts."""
    if not can_browse_catalog(user):
        return CatalogEntry.objects.none()
    scope = Q(published__isnull=False)
    if user.department_id and has_role(user, *DEPARTMENT_ROLES):
        scope |= Q(provider_id=user.department_id)
    if is_bureau_admin(user) or region_ids_of(user):
        scope |= _reviewable_scope(user) & Q(working__status__in=REVIEWER_VISIBLE)
    return CatalogEntry.objects.filter(scope).select_related("provider", "classification", "published", "working")


def department_entries(user: User | None, department: Department) -> QuerySet[CatalogEntry]:
    return entries_visible_to(user).filter(provider=department)


def review_queue(user: User | None) -> QuerySet[CatalogEntry]:
    if not (is_bureau_admin(user) or region_ids_of(user)):
        return CatalogEntry.objects.none()
    return (
        CatalogEntry.objects.filter(_reviewable_scope(user), working__status=EntryVersion.Status.SUBMITTED)
        .select_related("provider", "working", "published")
        .order_by("working__submitted_at")
    )


def visible_version(user: User | None, entry: CatalogEntry) -> EntryVersion | None:
    """The version a user should see first: the working one if they may, else the published."""
    from .permissions import can_read_unpublished

    if entry.working is not None and can_read_unpublished(user, entry):
        return entry.working
    return entry.published


@dataclass
class QuarterlyStatus:
    department: Department
    published: int
    confirmed: int
    overdue_previous: int  # entries not confirmed in the quarter that has ended

    @property
    def complete(self) -> bool:
        return self.confirmed >= self.published


def quarterly_status(user: User | None, today: dt.date | None = None) -> list[QuarterlyStatus]:
    """Per department in scope: this quarter's confirmations and last quarter's gaps (Art. 15)."""
    today = today or clock.today()
    current = quarter_of(today)
    previous = previous_quarter(current)
    _prev_start, prev_end = quarter_bounds(previous)
    out = []
    departments = Department.objects.filter(department_scope(user), is_active=True)
    for department in departments:
        published = CatalogEntry.objects.filter(provider=department, published__isnull=False, origin="local")
        confirmed = published.filter(reviews__quarter=current).count()
        due_last_quarter = published.filter(published__reviewed_at__date__lte=prev_end).exclude(
            Exists(QuarterlyReview.objects.filter(entry=OuterRef("pk"), quarter=previous))
        )
        out.append(QuarterlyStatus(department, published.count(), confirmed, due_last_quarter.count()))
    return [s for s in out if s.published]


@dataclass
class LegalObligation:
    link: LegalChangeEntry
    deadline: Deadline
    done: bool

    def overdue(self, now: dt.datetime) -> bool:
        return not self.done and self.deadline.is_overdue(now)


def legal_obligations(user: User | None, *, open_only: bool = True) -> list[LegalObligation]:
    """Entries affected by a legal change, each due 10 working days after the change."""
    links = LegalChangeEntry.objects.filter(department_scope(user, "entry__provider__")).select_related(
        "change", "entry__published", "entry__provider"
    )
    calendar = WorkCalendar.load()
    out = []
    for link in links:
        published = link.entry.published
        # Answered once a version newer than the one in force at the change is published.
        done = published is not None and (link.baseline_number is None or published.number > link.baseline_number)
        if open_only and done:
            continue
        out.append(LegalObligation(link, calendar.deadline(link.change.occurred_on, LEGAL_CHANGE_WORKING_DAYS), done))
    return sorted(out, key=lambda o: o.deadline.due)


# --- read helpers of the catalog pages -----------------------------------------------------


def classification_choices() -> QuerySet:
    """Level-2 classification items (类下的项): what a new entry is filed under."""
    return Classification.objects.filter(level=Classification.Level.ITEM).order_by("code")


def theme_choices() -> QuerySet:
    """The Art. 19 themes (class 2 items)."""
    return Classification.objects.filter(code__startswith="2", level=Classification.Level.ITEM).order_by("code")


def active_contacts(department: Department) -> QuerySet:
    """The provider's active filed contacts: who may be named on an entry."""
    return Contact.objects.filter(department=department, is_active=True).order_by("role", "name")


def readable_versions(user: User | None, entry: CatalogEntry) -> list[EntryVersion]:
    """An entry's versions, newest first, that the user may open."""
    versions = entry.versions.select_related("created_by", "reviewed_by").order_by("-number")
    return [v for v in versions if can_read_version(user, v)]


def unpublished_matching(user: User | None, q: str, limit: int = 20) -> QuerySet[CatalogEntry]:
    """The user's own department's entries being compiled or reviewed whose working name
    contains ``q`` (plain icontains): listed apart from the published search results."""
    q = (q or "").strip()
    if not q or user is None or not user.department_id or not has_role(user, *DEPARTMENT_ROLES):
        return CatalogEntry.objects.none()
    return (
        entries_visible_to(user)
        .filter(provider_id=user.department_id, working__isnull=False, working__name__icontains=q)
        .order_by("code")[:limit]
    )


@dataclass
class ConfirmationRow:
    entry: CatalogEntry
    confirmed: QuarterlyReview | None


def quarterly_confirmations(user: User | None, department: Department, today: dt.date | None = None) -> list[ConfirmationRow]:
    """The department's published local entries and whether each is confirmed this quarter."""
    quarter = quarter_of(today or clock.today())
    entries = department_entries(user, department).filter(published__isnull=False, origin="local").order_by("code")
    reviews = {
        r.entry_id: r
        for r in QuarterlyReview.objects.filter(entry__in=entries, quarter=quarter).select_related("confirmed_by")
    }
    return [ConfirmationRow(entry, reviews.get(entry.pk)) for entry in entries]


def legal_change_candidates(user: User | None) -> QuerySet[CatalogEntry]:
    """Published local entries a user may name in a legal change: all for the bureau, the
    department's own for its admin (mirrors permissions.can_record_legal_change)."""
    published = CatalogEntry.objects.filter(published__isnull=False, origin="local").select_related(
        "published", "provider"
    )
    if is_bureau_admin(user):
        return published.order_by("provider__name", "code")
    if user is not None and user.department_id and has_role(user, Role.DEPARTMENT_ADMIN):
        return published.filter(provider_id=user.department_id).order_by("code")
    return CatalogEntry.objects.none()


def facet_labels(facets: dict[str, dict[str, int]]) -> dict[str, dict[str, str]]:
    """Human labels of the facet values of a search result (names, not ids or codes)."""
    labels: dict[str, dict[str, str]] = {}
    codes = set(facets.get("classification", {})) | set(facets.get("theme", {}))
    names = dict(Classification.objects.filter(code__in=codes).values_list("code", "name"))
    for facet in ("classification", "theme"):
        labels[facet] = {code: f"{code} {names[code]}" if code in names else code for code in facets.get(facet, {})}

    def ids(facet: str) -> list[int]:
        return [int(v) for v in facets.get(facet, {}) if str(v).isdigit()]

    departments = dict(Department.objects.filter(pk__in=ids("provider")).values_list("pk", "name"))
    labels["provider"] = {v: departments.get(int(v), v) if str(v).isdigit() else v for v in facets.get("provider", {})}
    regions = dict(Region.objects.filter(pk__in=ids("region")).values_list("pk", "name"))
    labels["region"] = {v: regions.get(int(v), v) if str(v).isdigit() else v for v in facets.get("region", {})}
    for facet, choices in (
        ("domain", PriorityDomain),
        ("share_type", ShareType),
        ("open_type", OpenType),
        ("format_category", FormatCategory),
        ("update_cycle", UpdateCycle),
    ):
        names_of = dict(choices.choices)
        labels[facet] = {v: str(names_of.get(v, v)) for v in facets.get(facet, {})}
    return labels


def quarterly_confirmation(entry: CatalogEntry, today: dt.date | None = None) -> QuarterlyReview | None:
    """The entry's confirmation for the current quarter, if any."""
    quarter = quarter_of(today or clock.today())
    return QuarterlyReview.objects.filter(entry=entry, quarter=quarter).select_related("confirmed_by").first()


def versions_for_export(version_ids: list[int]) -> list[EntryVersion]:
    """Versions in the given order with everything an export reads, in a handful of queries."""
    by_id = (
        EntryVersion.objects.filter(pk__in=version_ids)
        .select_related("entry__classification", "entry__provider", "contact")
        .prefetch_related("items", "themes")
        .in_bulk()
    )
    return [by_id[pk] for pk in version_ids if pk in by_id]


# --- batch imports (R-13.2) ----------------------------------------------------------------

PROGRESS_TTL = 24 * 3600
# The part of the bar each phase fills, as measured on a 1,000-entry workbook: reading it
# takes about 15% of the time (without progress reports), checking the rows 5%, creating the
# entries the rest.
PHASE_SHARES = {"reading": (0, 0), "validating": (15, 20), "importing": (20, 100), "marking": (20, 20)}


def progress_key(import_id: int) -> str:
    """The cache key of an import's progress. It names the database too: platforms (or test
    runs) that share one cache never read each other's imports."""
    database = hashlib.sha1(str(connection.settings_dict["NAME"]).encode()).hexdigest()[:12]
    return f"catalog:import:{database}:{import_id}:progress"


def imports_visible_to(user: User | None) -> QuerySet[CatalogImport]:
    """Every import of the department for its admins; their own for the staff who uploaded
    them (while they still compile for that department). Nobody else sees an import."""
    if user is None or not user.is_authenticated or not user.department_id:
        return CatalogImport.objects.none()
    imports = CatalogImport.objects.filter(provider_id=user.department_id).select_related("provider", "uploaded_by")
    if has_role(user, Role.DEPARTMENT_ADMIN):
        return imports
    if has_role(user, Role.DEPARTMENT_STAFF):
        return imports.filter(uploaded_by=user)
    return CatalogImport.objects.none()


def recent_imports(user: User | None, limit: int = 10) -> list[CatalogImport]:
    return list(imports_visible_to(user).defer("errors", "created_entries")[:limit])


@dataclass
class ImportProgress:
    phase: str  # queued | reading | validating | importing | marking | finished
    done: int
    total: int
    percent: int  # of the whole job

    @property
    def known(self) -> bool:
        """False while the workbook is read or marked: the bar cannot say how far it is."""
        return self.phase not in ("queued", "reading", "marking")


def import_progress(imp: CatalogImport) -> ImportProgress:
    """How far the job is: from the record once it has finished, else as the job last wrote it."""
    if imp.finished:
        return ImportProgress("finished", imp.total_rows, imp.total_rows, 100)
    if imp.status == CatalogImport.Status.QUEUED:
        return ImportProgress("queued", 0, 0, 0)
    state = cache.get(progress_key(imp.pk)) or {}
    phase = state.get("phase") if state.get("phase") in PHASE_SHARES else "reading"
    done, total = int(state.get("done") or 0), int(state.get("total") or 0)
    low, high = PHASE_SHARES[phase]
    percent = low + (high - low) * done // total if total else low
    return ImportProgress(phase, done, total, min(percent, 99))
