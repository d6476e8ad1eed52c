"""Catalog entries (政务数据资源目录) per the 2017 national guide, with every version kept."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .vocab import DataType, FormatCategory, OpenType, Origin, PlatformMode, ShareMethod, ShareType, UpdateCycle


class Classification(models.Model):
    """The guide's 类/项/目/细目 tree. Class 1 基础, 2 主题 (the Art. 19 themes), 3 部门.

    Codes nest: class "1", item "101", category "101001", sub-category "101001001". The
    resource code of an entry is its classification code + "/" + a serial that is never reused.
    """

    class Level(models.IntegerChoices):
        CLASS = 1, _("Class")
        ITEM = 2, _("Item")
        CATEGORY = 3, _("Category")
        SUBCATEGORY = 4, _("Sub-category")

    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=50)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    # base resources (population, legal entities, natural resources and spatial
    # geography, e-licences) are unconditionally shared.
    must_share_unconditionally = models.BooleanField(default=False)
    last_serial = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["code"]
        verbose_name = _("classification")
        verbose_name_plural = _("classifications")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def root_code(self) -> str:
        return self.code[0]

    @property
    def is_theme(self) -> bool:
        return self.code.startswith("2") and self.level == self.Level.ITEM


class CatalogEntry(models.Model):
    """One data resource of a provider; what it says lives in its versions."""

    code = models.CharField(_("resource code"), max_length=40, unique=True)
    classification = models.ForeignKey(Classification, on_delete=models.PROTECT, related_name="entries")
    provider = models.ForeignKey("orgs.Department", on_delete=models.PROTECT, related_name="catalog_entries")
    origin = models.CharField(_("origin"), max_length=12, choices=Origin.choices, default=Origin.LOCAL)
    # For entries imported from an upper-level platform: the provider as that platform names it.
    origin_provider = models.CharField(_("upper-level provider"), max_length=200, blank=True)
    origin_provider_code = models.CharField(_("upper-level provider code"), max_length=30, blank=True)
    # The version the sharing catalog shows, and the one being edited or reviewed (if any).
    published = models.OneToOneField(
        "EntryVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    working = models.OneToOneField("EntryVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["code"]
        verbose_name = _("catalog entry")
        verbose_name_plural = _("catalog entries")

    def __str__(self) -> str:
        current = self.published or self.working
        return f"{self.code} {current.name if current else ''}".strip()

    @property
    def read_only(self) -> bool:
        """Entries imported from upper-level platforms are maintained there, not here."""
        return self.origin != Origin.LOCAL


class EntryVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted for review")
        RETURNED = "returned", _("Returned")
        PUBLISHED = "published", _("Published")
        SUPERSEDED = "superseded", _("Superseded")

    entry = models.ForeignKey(CatalogEntry, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)

    name = models.CharField(_("resource name"), max_length=200)
    summary = models.TextField(_("summary"))
    internal_division = models.CharField(_("internal division"), max_length=100, blank=True)
    format_category = models.CharField(_("format category"), max_length=20, choices=FormatCategory.choices)
    format_type = models.CharField(_("format type"), max_length=20, blank=True)
    format_description = models.CharField(_("format description"), max_length=200, blank=True)
    share_type = models.CharField(_("sharing type"), max_length=16, choices=ShareType.choices)
    share_conditions = models.TextField(_("sharing conditions"), blank=True)
    share_basis = models.TextField(_("legal basis for not sharing"), blank=True)
    share_method = models.CharField(_("sharing method"), max_length=10, choices=ShareMethod.choices)
    platform_mode = models.CharField(_("platform mode"), max_length=10, choices=PlatformMode.choices, blank=True)
    open_type = models.CharField(_("opening type"), max_length=16, choices=OpenType.choices)
    open_conditions = models.TextField(_("opening conditions"), blank=True)
    open_basis = models.TextField(_("basis for not opening or restricting"), blank=True)
    update_cycle = models.CharField(_("update cycle"), max_length=12, choices=UpdateCycle.choices)
    update_cycle_note = models.CharField(_("update cycle note"), max_length=100, blank=True)
    publish_date = models.DateField(_("publish date"), null=True, blank=True)
    related_codes = models.JSONField(_("related resource codes"), default=list, blank=True)
    contact = models.ForeignKey(
        "orgs.Contact", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("contact")
    )
    themes = models.ManyToManyField(Classification, blank=True, related_name="+", verbose_name=_("themes"))
    domains = models.JSONField(_("priority domains"), default=list, blank=True)

    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    return_reason = models.TextField(_("reason for return"), blank=True)

    class Meta:
        ordering = ["entry", "-number"]
        constraints = [models.UniqueConstraint(fields=["entry", "number"], name="entry_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.name} v{self.number}"

    @property
    def editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.RETURNED)


class DataItem(models.Model):
    """An information item (信息项) of one version."""

    version = models.ForeignKey(EntryVersion, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(_("item name"), max_length=100)
    code = models.CharField(_("field code"), max_length=64)
    data_type = models.CharField(_("data type"), max_length=1, choices=DataType.choices)
    length = models.PositiveIntegerField(_("length"), null=True, blank=True)
    required = models.BooleanField(_("required"), default=False)
    is_key = models.BooleanField(_("key"), default=False)
    sensitive = models.BooleanField(_("personal information"), default=False)
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="data_item_unique_code"),
            models.UniqueConstraint(fields=["version", "position"], name="data_item_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class QuarterlyReview(models.Model):
    """A department's confirmation that an entry is still right, once per quarter (Art. 15)."""

    entry = models.ForeignKey(CatalogEntry, on_delete=models.CASCADE, related_name="reviews")
    quarter = models.CharField(max_length=7)  # "2026Q1"
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry", "quarter"], name="quarterly_review_once")]


class LegalChange(models.Model):
    """A change of law or duties that obliges updates within 10 working days (Art. 15)."""

    title = models.CharField(_("change"), max_length=200)
    occurred_on = models.DateField(_("date of the change"))
    description = models.TextField(_("description"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    entries = models.ManyToManyField(CatalogEntry, through="LegalChangeEntry", related_name="legal_changes")

    class Meta:
        ordering = ["-occurred_on", "-id"]


class LegalChangeEntry(models.Model):
    change = models.ForeignKey(LegalChange, on_delete=models.CASCADE)
    entry = models.ForeignKey(CatalogEntry, on_delete=models.CASCADE)
    # The entry's published version number when the change was recorded: a later published
    # version answers the obligation.
    baseline_number = models.PositiveIntegerField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["change", "entry"], name="legal_change_entry_once")]
        indexes = [models.Index(fields=["entry"], name="legal_change_entry_idx")]



class SearchEntry(models.Model):
    """The search index row of a published entry: jieba tokens plus facet columns.

    Its words are indexed in ``SearchTerm`` (kept in step by ``search.index_entry``).
    """

    entry = models.OneToOneField(CatalogEntry, on_delete=models.CASCADE, related_name="search_row")
    version = models.ForeignKey(EntryVersion, on_delete=models.CASCADE, related_name="+")
    document = models.TextField()
    name = models.CharField(max_length=200)
    class_root = models.CharField(max_length=1, db_index=True)
    class_item = models.CharField(max_length=3, db_index=True)
    themes = models.CharField(max_length=200)
    domains = models.CharField(max_length=300)
    provider_id = models.BigIntegerField(db_index=True)
    region_id = models.BigIntegerField(db_index=True)
    share_type = models.CharField(max_length=16, db_index=True)
    open_type = models.CharField(max_length=16, db_index=True)
    format_category = models.CharField(max_length=20, db_index=True)
    update_cycle = models.CharField(max_length=12, db_index=True)
    published_at = models.DateTimeField(db_index=True)


class SearchTerm(models.Model):
    """The search rows holding one word at one impact level (``search`` explains the levels):
    a zlib-compressed little-endian bit set of ``SearchEntry`` ids."""

    word = models.CharField(max_length=100)
    level = models.PositiveSmallIntegerField()
    rows = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["word", "level"], name="catalog_searchterm_word_level")]


class SearchIndexState(models.Model):
    """A counter bumped on every index change: each process reloads its facet table when it
    differs. The token is new whenever the row is (re)created, so a rebuilt database never
    matches a table loaded from an older one."""

    version = models.BigIntegerField(default=0)
    token = models.CharField(max_length=32, default="")


class CatalogImport(models.Model):
    """One offline batch import (R-13.2), run as a background job: the uploaded workbook, where
    the job is, and what came of it (the created entries, or every error with its cell)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        REJECTED = "rejected", _("Rejected")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    FINISHED = (Status.REJECTED, Status.DONE, Status.FAILED)

    provider = models.ForeignKey("orgs.Department", on_delete=models.PROTECT, related_name="catalog_imports")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveIntegerField(_("size"), default=0)
    # Names in the "imports" storage: the upload (removed once the job has read it) and the
    # workbook with the errors marked.
    stored_name = models.CharField(max_length=255, blank=True)
    marked_name = models.CharField(max_length=255, blank=True)
    # The uploader's language: the job writes its messages in it.
    language = models.CharField(max_length=12, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    created_count = models.PositiveIntegerField(_("entries created"), default=0)
    created_entries = models.JSONField(default=list, blank=True)  # ids of the created entries
    errors = models.JSONField(default=list, blank=True)  # [{sheet, row, column, reason}]
    message = models.TextField(_("message"), blank=True)  # the file refused as a whole, or the failure
    created_at = models.DateTimeField(_("uploaded at"))
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["provider", "-created_at"], name="catalog_import_recent_idx")]
        verbose_name = _("catalog import")
        verbose_name_plural = _("catalog imports")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED
