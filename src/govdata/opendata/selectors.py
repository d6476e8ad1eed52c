"""The public's reads (rules in ``permissions``): datasets, their resources, search restricted
to open datasets, and rows through the datastore query engine with the public projection."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, NamedTuple

from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Case, Count, Prefetch, Q, QuerySet, Sum, Value, When
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from govdata.catalog import search
from govdata.catalog.models import CatalogEntry, DataItem, EntryVersion
from govdata.catalog.navigation import is_department_member
from govdata.catalog.vocab import OpenType, PriorityDomain
from govdata.common import clock
from govdata.datastore import exports, query
from govdata.datastore.models import Resource, ResourceColumn
from govdata.orgs.models import Department, Region, Role, User
from govdata.orgs.permissions import has_department_role, is_bureau_admin
from govdata.orgs.selectors import department_scope
from govdata.workdays.calendar import WorkCalendar, local_date

from . import permissions as perm
from .models import Feedback, OpenApplication, UsageStat


def dataset_name(entry: CatalogEntry) -> str:
    """The URL-safe name of a dataset: its resource code with "/" as "-" (101/000123 →
    101-000123), as stable as the code itself."""
    return entry.code.replace("/", "-").lower()


def dataset_scope(user: User | None) -> QuerySet[CatalogEntry]:
    """The datasets of the open platform, nothing loaded beside them."""
    return CatalogEntry.objects.filter(published__open_type__in=perm.LISTED)


def datasets(user: User | None) -> QuerySet[CatalogEntry]:
    """The datasets of the open platform, with what their public description reads."""
    return (
        dataset_scope(user)
        .select_related("published", "provider", "provider__region", "classification")
        .prefetch_related(
            "published__themes",
            Prefetch(
                "resources",
                queryset=Resource.objects.filter(status=Resource.Status.PUBLISHED).order_by("pk"),
                to_attr="public_resources",
            ),
        )
    )


class ProviderRecord(NamedTuple):
    pk: int
    name: str
    credit_code: str
    created_at: dt.datetime
    region_code: str


class ThemeRecord(NamedTuple):
    code: str
    name: str


class ResourceRecord(NamedTuple):
    pk: int
    entry_id: int
    kind: str
    name: str
    description: str
    created_at: dt.datetime
    reviewed_at: dt.datetime | None
    last_loaded_at: dt.datetime | None


class DatasetRecord(NamedTuple):
    """A dataset's published description as plain values (``dataset_records``): what the
    CKAN dictionaries read, without model instances. Attribute names follow the models'."""

    pk: int
    code: str
    origin: str
    origin_provider: str
    created_at: dt.datetime
    classification_code: str
    # The published version.
    name: str
    summary: str
    number: int
    open_type: str
    open_conditions: str
    open_basis: str
    update_cycle: str
    format_category: str
    format_type: str
    publish_date: dt.date | None
    reviewed_at: dt.datetime | None
    domains: list[str]
    provider: ProviderRecord
    themes: list[ThemeRecord]
    resources: list[ResourceRecord]  # the published ones, by id

    # The entry's own rule, read from the same field.
    read_only = property(CatalogEntry.read_only.fget)


# DatasetRecord's own fields as columns of the entries' query, in its order; those not named
# here are the published version's.
_ENTRY_COLUMNS = {name: name for name in ("pk", "code", "origin", "origin_provider", "created_at")}
_DATASET_COLUMNS = tuple(
    (_ENTRY_COLUMNS | {"classification_code": "classification__code"}).get(name, f"published__{name}")
    for name in DatasetRecord._fields[: DatasetRecord._fields.index("provider")]
)
# ProviderRecord's fields, in its order.
_PROVIDER_COLUMNS = (
    "provider_id",
    "provider__name",
    "provider__credit_code",
    "provider__created_at",
    "provider__region__code",
)


def dataset_records(user: User | None, ids: Sequence[int]) -> dict[int, DatasetRecord]:
    """The datasets among ``ids`` as ``DatasetRecord``s, by id, in three queries whatever
    their number (the entries with their published version, provider, region and
    classification; the themes; the published resources). Plain values, because model
    instances cost a result page about 0.3 ms of CPU a dataset, most of it the ORM's."""
    entries = dataset_scope(user).filter(pk__in=ids).order_by()
    rows = list(entries.values_list(*_DATASET_COLUMNS, *_PROVIDER_COLUMNS, "published_id"))
    if not rows:
        return {}
    themes: dict[int, list[ThemeRecord]] = defaultdict(list)
    links = EntryVersion.themes.through.objects.filter(entryversion_id__in=[row[-1] for row in rows])
    for version_id, code, name in links.values_list("entryversion_id", "classification__code", "classification__name"):
        themes[version_id].append(ThemeRecord(code, name))
    resources: dict[int, list[ResourceRecord]] = defaultdict(list)
    published = Resource.objects.filter(entry_id__in=[row[0] for row in rows], status=Resource.Status.PUBLISHED)
    for values in published.order_by("pk").values_list(*ResourceRecord._fields):
        resources[values[1]].append(ResourceRecord._make(values))
    own, provider = len(_DATASET_COLUMNS), slice(len(_DATASET_COLUMNS), -1)
    return {
        row[0]: DatasetRecord(*row[:own], ProviderRecord._make(row[provider]), themes[row[-1]], resources[row[0]])
        for row in rows
    }


def get_dataset(user: User | None, ref: str, *, related: bool = True) -> CatalogEntry | None:
    """A dataset by id, resource code or name; None for anything the public may not see.
    ``related=False``: the entry alone, for callers that describe it from ``dataset_records``."""
    ref = str(ref).strip()
    if not ref:
        return None
    match = Q(code__iexact=ref) | Q(code__iexact=ref.replace("-", "/"))
    if ref.isdigit():
        match |= Q(pk=int(ref))
    return (datasets(user) if related else dataset_scope(user)).filter(match).first()


def get_resource(user: User | None, ref: str) -> Resource | None:
    ref = str(ref).strip()
    if not ref.isdigit():
        return None
    resource = Resource.objects.select_related("entry__published").filter(pk=int(ref)).first()
    return resource if resource is not None and perm.can_see_resource(user, resource) else None


def search_datasets(
    user: User | None,
    q: str = "",
    filters: dict[str, list[str]] | None = None,
    *,
    records: bool = False,
    **options: Any,
) -> search.SearchResult:
    """The catalog search (``catalog.search.search``, same options) within the datasets: a
    filter on the opening type can only narrow them. The page's entries are ``datasets``
    instances, or with ``records`` ``DatasetRecord``s."""
    filters = dict(filters or {})
    asked = filters.get("open_type")
    filters["open_type"] = [t for t in asked if t in perm.LISTED] if asked else list(perm.LISTED)
    if not filters["open_type"]:
        # The search drops empty filters, which here would mean "everything".
        return search.SearchResult(0, [])
    # The index follows publication in the same transaction; loading the page within
    # ``dataset_scope`` still makes sure nothing else is ever described.
    if records:
        return search.search(q, filters, load=partial(dataset_records, user), **options)
    return search.search(q, filters, load=datasets(user).in_bulk, **options)


def dataset_counts(user: User | None) -> dict[str, dict[str, int]]:
    """Datasets per value of every search facet (provider, theme, domain …)."""
    return search_datasets(user, limit=0).facets


def dataset_modified(entry: CatalogEntry) -> dt.datetime:
    """When a dataset (loaded by ``datasets``) last changed: its published metadata or the
    latest load of one of its resources."""
    loads = [r.last_loaded_at for r in entry.public_resources if r.last_loaded_at]
    return max([entry.published.reviewed_at or entry.created_at, *loads])


def public_facet_names(facet: str, values: list[str]) -> dict[str, str]:
    """The names the public APIs use for a catalog facet's values: ids become stable codes
    (a department's unified social credit code in lower case, a region's division code)."""
    ids = [int(v) for v in values if v.isdigit()]
    if facet == "provider":
        codes = Department.objects.filter(pk__in=ids).values_list("pk", "credit_code")
        return {str(pk): code.lower() for pk, code in codes}
    if facet == "region":
        return {str(pk): code for pk, code in Region.objects.filter(pk__in=ids).values_list("pk", "code")}
    return {v: v for v in values}


def catalog_facet_values(facet: str, names: list[str]) -> list[str]:
    """The catalog facet's values for the public APIs' names; names that match nothing become
    a value that matches nothing (no row has id 0), never a dropped filter."""
    if facet in ("provider", "region"):
        if facet == "provider":
            ids = Department.objects.filter(credit_code__in=[n.upper() for n in names])
        else:
            ids = Region.objects.filter(code__in=names)
        return [str(pk) for pk in ids.values_list("pk", flat=True)] or ["0"]
    if facet == "format_category":
        return [n.lower() for n in names]
    return names


# --- rows --------------------------------------------------------------------------------------


def _require_rows(user: User | None, resource: Resource) -> None:
    if not perm.can_read_resource_rows(user, resource):
        raise PermissionDenied(
            _(
                "The rows of a dataset opened on application are given to approved applicants "
                "only, within the approved period."
            )
        )


@dataclass
class Rows:
    fields: list[query.Field]
    rows: list[dict[str, Any]]
    next_cursor: str | None  # where the following page starts, if any row follows
    total: int | None
    total_kind: str | None


def read_rows(
    user: User | None,
    resource: Resource,
    *,
    filters: Sequence[query.Filter] = (),
    q: str = "",
    sort: Sequence[str] | str = (),
    fields: Sequence[str] | str | None = None,
    limit: int = query.DEFAULT_LIMIT,
    offset: int = 0,
    cursor: str | None = None,
    total: str = "none",
) -> Rows:
    """One page of a resource's rows as the public sees them: public columns only, masked
    (see ``permissions``). A page longer than the engine's is read as consecutive engine
    pages. Masked columns cannot be filtered on either: an equality filter on an ID number
    would tell anyone whether a given person is in the data."""
    _require_rows(user, resource)
    columns = list(resource.columns.all())
    masked = {c.code for c in columns if perm.is_masked(c)}
    for item in filters:
        name = str(item.field).strip().lower()
        if name in masked:
            raise query.QueryError(
                "filters", _("%(field)s is masked: it cannot be filtered on here.") % {"field": name}, name
            )
    base = query.Query(
        projection=[c.code for c in columns if perm.column_is_public(c)],
        masked=True,
        filters=filters,
        q=q,
        sort=sort,
        fields=fields,
    )
    first = page = query.run(
        resource, replace(base, limit=min(limit, query.MAX_LIMIT), offset=offset, cursor=cursor, total=total)
    )
    rows = list(page.rows)
    while len(rows) < limit and page.next_cursor is not None:
        following = replace(base, limit=min(limit - len(rows), query.MAX_LIMIT), cursor=page.next_cursor)
        page = query.run(resource, following)
        rows += page.rows
    return Rows(first.fields, rows, page.next_cursor, first.total, first.total_kind)


# --- portal pages ------------------------------------------------------------------------------


@dataclass
class Overview:
    datasets: int
    departments: int
    resources: int
    rows: int  # rows anyone may download


def overview(user: User | None) -> Overview:
    listed = datasets(user).values("pk")
    resources = Resource.objects.filter(status=Resource.Status.PUBLISHED, entry__in=listed)
    downloadable = resources.filter(kind=Resource.Kind.TABLE, entry__published__open_type=OpenType.UNCONDITIONAL)
    return Overview(
        datasets=datasets(user).count(),
        departments=datasets(user).values("provider").distinct().count(),
        resources=resources.count(),
        rows=downloadable.aggregate(n=Sum("row_count"))["n"] or 0,
    )


def providers(user: User | None) -> list[tuple[Department, int]]:
    """The departments that provide datasets, with how many each, most first."""
    counts = dataset_counts(user).get("provider", {})
    departments = Department.objects.filter(pk__in=[int(pk) for pk in counts]).select_related("region")
    return sorted(((d, counts[str(d.pk)]) for d in departments), key=lambda item: (-item[1], item[0].name))


def related_datasets(user: User | None, entry: CatalogEntry, limit: int = 6) -> list[CatalogEntry]:
    """Datasets sharing a theme or the provider with ``entry``, newest first."""
    near = Q(provider_id=entry.provider_id) | Q(published__themes__in=entry.published.themes.all())
    candidates = CatalogEntry.objects.filter(near).exclude(pk=entry.pk).values("pk")
    return list(datasets(user).filter(pk__in=candidates).order_by("-published__reviewed_at", "-pk")[:limit])


def data_items(user: User | None, entry: CatalogEntry) -> list[tuple[DataItem, str]]:
    """The published data items and how each reaches the public: "public"; "masked" when a
    table resource serves a personal-information item through its masking rule; else
    "withheld"."""
    columns = ResourceColumn.objects.filter(
        resource__in=entry.public_resources, resource__kind=Resource.Kind.TABLE, sensitive=True
    )
    masked = {c.code for c in columns if perm.column_is_public(c)}

    def exposure(item: DataItem) -> str:
        if not item.sensitive:
            return "public"
        return "masked" if item.code in masked else "withheld"

    return [(item, exposure(item)) for item in entry.published.items.all()]


def export_rows(
    user: User | None, resource: Resource, fmt: str, *, on_complete: Callable[[int], Any] | None = None
) -> exports.Export:
    """Every row of a table resource as ``read_rows`` shows them (public columns, masked),
    streamed in ``fmt``."""
    _require_rows(user, resource)
    projection = [c.code for c in resource.columns.all() if perm.column_is_public(c)]
    return exports.export(resource, query.Query(projection=projection, masked=True), fmt, on_complete=on_complete)


def restricted_entries(open_type: str) -> QuerySet[CatalogEntry]:
    """Published entries not opened (or opened on application only), whose basis the public
    is told (R-30.1): metadata, never data."""
    return (
        CatalogEntry.objects.filter(published__open_type=open_type)
        .select_related("published", "provider")
        .order_by("provider__name", "code")
    )


@dataclass
class DomainProgress:
    """How far a priority domain (Art. 31) is opened: its published entries by opening type."""

    domain: str
    label: str
    unconditional: int
    on_application: int
    not_open: int

    @property
    def total(self) -> int:
        return self.unconditional + self.on_application + self.not_open

    @property
    def opened(self) -> int:
        return self.unconditional + self.on_application

    @property
    def shares(self) -> dict[str, float]:
        """Per opening type and for "opened", the percentage of the domain's entries."""
        counts = {t: getattr(self, t) for t in OpenType.values} | {"opened": self.opened}
        return {key: round(100 * n / self.total, 1) if self.total else 0 for key, n in counts.items()}


def domain_progress() -> list[DomainProgress]:
    """Every priority domain, counted over all published entries (not-open ones included:
    progress is measured against everything the domain holds)."""
    per_type = {
        open_type: search.search(filters={"open_type": [open_type]}, limit=0).facets.get("domain", {})
        for open_type in OpenType.values
    }
    return [
        DomainProgress(domain, str(label), *(per_type[t].get(domain, 0) for t in OpenType.values))
        for domain, label in PriorityDomain.choices
    ]


@dataclass
class Usage:
    entry: CatalogEntry
    views: int
    downloads: int
    api_calls: int

    @property
    def total(self) -> int:
        return self.views + self.downloads + self.api_calls


def _usage(user: User | None, since: dt.date | None) -> QuerySet[UsageStat]:
    # Only datasets still listed: an entry since closed must not appear by its use.
    stats = UsageStat.objects.filter(entry__in=datasets(user).values("pk"))
    return stats.filter(day__gte=since) if since else stats


def usage_ranking(user: User | None, *, since: dt.date | None = None, limit: int = 10) -> list[Usage]:
    """The most used datasets (views, downloads and API calls together) since ``since``."""
    kinds = {kind: Sum("count", filter=Q(kind=kind)) for kind in UsageStat.Kind.values}
    totals = list(
        _usage(user, since).values("entry").annotate(total=Sum("count"), **kinds).order_by("-total", "entry")[:limit]
    )
    entries = datasets(user).in_bulk([t["entry"] for t in totals])
    return [
        Usage(entries[t["entry"]], *(t[kind] or 0 for kind in UsageStat.Kind.values))
        for t in totals
        if t["entry"] in entries
    ]


def daily_usage(
    user: User | None, days: int, entry: CatalogEntry | None = None
) -> tuple[list[dt.date], dict[str, list[int]]]:
    """The last ``days`` days (today last) and the uses of each kind on each of them, of
    every dataset or of ``entry``."""
    today = clock.today()
    dates = [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    stats = _usage(user, dates[0]) if entry is None else _usage(user, dates[0]).filter(entry=entry)
    counts = stats.values_list("day", "kind").annotate(n=Sum("count")).order_by()
    found = {(day, kind): n for day, kind, n in counts}
    return dates, {kind: [found.get((day, kind), 0) for day in dates] for kind in UsageStat.Kind.values}


# --- applications (R-29.2) ---------------------------------------------------------------------


def applications_visible_to(user: User | None) -> QuerySet[OpenApplication]:
    """Who sees an application: the applicant; the providing department's users, the bureau,
    the admin of the department's region and the evaluators (``orgs.selectors.department_scope``)."""
    base = OpenApplication.objects.select_related("entry__published", "provider", "applicant__public_profile")
    own = Q(applicant_id=user.pk) if user is not None and user.is_authenticated else Q(pk__in=[])
    return base.filter(own | department_scope(user, "provider__"))


def get_application(user: User | None, pk: int) -> OpenApplication:
    return get_object_or_404(applications_visible_to(user), pk=pk)


def applications_of(user: User | None) -> QuerySet[OpenApplication]:
    """An applicant's own applications, the newest first."""
    if user is None or not user.is_authenticated:
        return OpenApplication.objects.none()
    return applications_visible_to(user).filter(applicant_id=user.pk)


def applications_received(user: User | None) -> QuerySet[OpenApplication]:
    """The providing department's applications: those awaiting an answer first, the nearest
    deadline first."""
    if not is_department_member(user):
        return OpenApplication.objects.none()
    waiting = Case(When(status=OpenApplication.Status.SUBMITTED, then=Value(0)), default=Value(1))
    return applications_visible_to(user).filter(provider_id=user.department_id).order_by(waiting, "due_at", "pk")


def is_overdue(application: OpenApplication) -> bool:
    return application.status == OpenApplication.Status.SUBMITTED and clock.now() > application.due_at


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


@dataclass(frozen=True)
class ProviderAnswers:
    provider: Department
    received: int
    answered: int
    overdue: int
    average_working_days: float | None


@dataclass(frozen=True)
class ApplicationStats:
    """The public statistics of applications (R-29.2): how many, how they were answered and
    how fast, in working days counted as the deadline is (the day of receipt not included)."""

    total: int
    by_status: list[StatusCount]
    on_the_spot: int  # answered on the day of receipt
    overdue: int  # awaiting an answer past the deadline now
    average_working_days: float | None
    providers: list[ProviderAnswers]


def _average(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def application_stats() -> ApplicationStats:
    calendar = WorkCalendar.load()
    now = clock.now()
    counts: dict[str, int] = defaultdict(int)
    received: dict[int, int] = defaultdict(int)
    overdue: dict[int, int] = defaultdict(int)
    days: dict[int, list[int]] = defaultdict(list)
    on_the_spot = 0
    rows = OpenApplication.objects.order_by().values_list(
        "provider_id", "status", "received_at", "due_at", "decided_at"
    )
    for provider_id, status, received_at, due_at, decided_at in rows:
        counts[status] += 1
        received[provider_id] += 1
        if decided_at is None:
            overdue[provider_id] += now > due_at
            continue
        taken = calendar.working_days_between(local_date(received_at), local_date(decided_at))
        days[provider_id].append(taken)
        on_the_spot += local_date(received_at) == local_date(decided_at)
    departments = Department.objects.in_bulk(list(received))
    providers = [
        ProviderAnswers(departments[pk], n, len(days[pk]), overdue[pk], _average(days[pk]))
        for pk, n in received.items()
    ]
    return ApplicationStats(
        total=sum(counts.values()),
        by_status=[StatusCount(s.value, s.label, counts[s.value]) for s in OpenApplication.Status],
        on_the_spot=on_the_spot,
        overdue=sum(overdue.values()),
        average_working_days=_average([d for taken in days.values() for d in taken]),
        providers=sorted(providers, key=lambda p: (-p.received, p.provider.name)),
    )


# --- feedback ----------------------------------------------------------------------------------


def public_feedback(entry: CatalogEntry) -> QuerySet[Feedback]:
    """A dataset's published comments and error reports, with their answers."""
    return Feedback.objects.filter(entry=entry, status=Feedback.Status.PUBLISHED).select_related(
        "author__public_profile"
    )


def rating_of(entry: CatalogEntry) -> dict[str, Any]:
    """The average of the published ratings ({"average": None, "count": 0} before any)."""
    return Feedback.objects.filter(entry=entry, status=Feedback.Status.PUBLISHED, kind=Feedback.Kind.COMMENT).aggregate(
        average=Avg("rating"), count=Count("pk")
    )


def data_request_board() -> QuerySet[Feedback]:
    return Feedback.objects.filter(kind=Feedback.Kind.DATA_REQUEST, status=Feedback.Status.PUBLISHED).select_related(
        "author__public_profile"
    )


def feedback_to_moderate(user: User | None) -> QuerySet[Feedback]:
    """What ``user`` moderates (``permissions.can_moderate``, as a query): the feedback on
    their department's datasets; data requests for the bureau. Awaiting moderation first."""
    scope = Q(pk__in=[])
    if user is not None and has_department_role(user, user.department_id, Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_STAFF):
        scope |= Q(entry__provider_id=user.department_id)
    if is_bureau_admin(user):
        scope |= Q(kind=Feedback.Kind.DATA_REQUEST)
    waiting = Case(When(status=Feedback.Status.PENDING, then=Value(0)), default=Value(1))
    return (
        Feedback.objects.filter(scope)
        .select_related("entry__published", "author__public_profile")
        .order_by(waiting, "-created_at", "-pk")
    )
