"""Resources mounted under catalog entries (注册挂载, Art. 18): tables, files and APIs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from govdata.catalog.vocab import DataType


class Resource(models.Model):
    class Kind(models.TextChoices):
        TABLE = "table", _("Table")
        FILE = "file", _("Files")
        API = "api", _("Interface")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted for re-review")
        PUBLISHED = "published", _("Published")
        RETURNED = "returned", _("Returned")
        SUSPENDED = "suspended", _("Suspended")

    entry = models.ForeignKey("catalog.CatalogEntry", on_delete=models.PROTECT, related_name="resources")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    return_reason = models.TextField(_("reason for return"), blank=True)
    suspend_reason = models.TextField(_("reason for suspension"), blank=True)
    # Empty when the platform itself mounted the resource (the demo loader, a job).
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Table resources: the current data version and when data last arrived (freshness, R-21.1).
    current_version = models.ForeignKey(
        "DataVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_loaded_at = models.DateTimeField(null=True, blank=True)
    row_count = models.BigIntegerField(default=0)
    # The due date the provider was last told it missed: one notice per missed load, not one a day.
    stale_notice_for = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["entry", "name"]
        verbose_name = _("resource")
        verbose_name_plural = _("resources")

    def __str__(self) -> str:
        return self.name

    @property
    def provider(self):
        return self.entry.provider

    @property
    def table_name(self) -> str:
        """The SQL table holding a table resource's rows (in schema "datastore" on PostgreSQL)."""
        return f"ds_{self.pk}"


class Mask(models.TextChoices):
    """How a sensitive column is shown when masking is asked for (issue #4, item 5)."""

    NONE = "", _("No masking")
    ID_NUMBER = "id_number", _("ID number: first 6 and last 4")
    MOBILE = "mobile", _("Mobile: first 3 and last 4")
    NAME = "name", _("Name: surname only")
    BANK_CARD = "bank_card", _("Bank card: first 6 and last 4")


class Check(models.TextChoices):
    """Content checks beyond the data type, chosen per column."""

    NONE = "", _("None")
    ID_NUMBER = "id_number", _("ID number (GB 11643)")
    CREDIT_CODE = "credit_code", _("Unified social credit code (GB 32100)")
    MOBILE = "mobile", _("Mobile number")


class ResourceColumn(models.Model):
    """A column of a table resource, taken from the entry's data items when it is mounted."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="columns")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(_("item name"), max_length=100)
    code = models.CharField(_("column"), max_length=64)
    data_type = models.CharField(_("data type"), max_length=1, choices=DataType.choices)
    length = models.PositiveIntegerField(_("length"), null=True, blank=True)
    required = models.BooleanField(_("required"), default=False)
    is_key = models.BooleanField(_("key"), default=False)
    sensitive = models.BooleanField(_("personal information"), default=False)
    content_check = models.CharField(_("content check"), max_length=12, choices=Check.choices, blank=True)
    mask = models.CharField(_("masking"), max_length=12, choices=Mask.choices, blank=True)

    class Meta:
        ordering = ["resource", "position"]
        constraints = [
            models.UniqueConstraint(fields=["resource", "code"], name="resource_column_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class DataVersion(models.Model):
    """One load into a table resource (R-21.1 history): who, when, how, how many, checksum."""

    class Mode(models.TextChoices):
        REPLACE = "replace", _("Replace")
        APPEND = "append", _("Append")
        UPSERT = "upsert", _("Update or insert by key")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Loaded")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed")

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    mode = models.CharField(_("mode"), max_length=8, choices=Mode.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    source = models.CharField(_("source"), max_length=200, blank=True)
    loaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    application = models.CharField(_("pushing system"), max_length=64, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_read = models.BigIntegerField(default=0)
    rows_loaded = models.BigIntegerField(default=0)
    rows_rejected = models.BigIntegerField(default=0)
    checksum = models.CharField(_("SM3 of the input"), max_length=64, blank=True)
    quarantine = models.BooleanField(_("valid rows loaded, the rest quarantined"), default=False)
    report = models.JSONField(_("validation report"), default=list, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["resource", "-number"]
        constraints = [models.UniqueConstraint(fields=["resource", "number"], name="data_version_unique_number")]


class QuarantinedRow(models.Model):
    """An input row refused by validation when the provider chose to load the valid rows."""

    version = models.ForeignKey(DataVersion, on_delete=models.CASCADE, related_name="quarantined")
    row_number = models.BigIntegerField()
    values = models.JSONField()
    reasons = models.JSONField()  # [{"column": ..., "reason": ...}]

    class Meta:
        ordering = ["version", "row_number"]


class FileObject(models.Model):
    """An unstructured file of a file resource (R-3.1), with e-licence / e-archive metadata so
    that lookups by holder work (R-25.1)."""

    class Category(models.TextChoices):
        DOCUMENT = "document", _("Document")
        SPREADSHEET = "spreadsheet", _("Spreadsheet")
        IMAGE = "image", _("Image")
        AUDIO = "audio", _("Audio")
        VIDEO = "video", _("Video")
        ARCHIVE = "archive", _("Archive")

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="files")
    name = models.CharField(_("file name"), max_length=255)
    storage_name = models.CharField(max_length=300, unique=True)
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.BigIntegerField(_("size"))
    sm3 = models.CharField(_("SM3 digest"), max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)
    # E-licence / e-archive metadata (all optional for plain documents).
    holder_id = models.CharField(_("holder ID number or credit code"), max_length=18, blank=True, db_index=True)
    holder_name = models.CharField(_("holder"), max_length=200, blank=True)
    licence_number = models.CharField(_("licence number"), max_length=100, blank=True)
    issuer = models.CharField(_("issuer"), max_length=200, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        ordering = ["resource", "-uploaded_at"]


class ApiEndpoint(models.Model):
    """An upstream HTTP interface registered as an API resource; credentials are encrypted."""

    class Method(models.TextChoices):
        GET = "GET", "GET"
        POST = "POST", "POST"

    class Auth(models.TextChoices):
        NONE = "none", _("None")
        HEADER = "header", _("Header token")
        BASIC = "basic", _("HTTP basic")
        QUERY = "query", _("Query parameter")

    resource = models.OneToOneField(Resource, on_delete=models.CASCADE, related_name="endpoint")
    url = models.URLField(_("URL"), max_length=500)
    method = models.CharField(_("method"), max_length=6, choices=Method.choices, default=Method.GET)
    parameter_schema = models.JSONField(_("parameters (JSON Schema)"), default=dict, blank=True)
    auth = models.CharField(_("authentication"), max_length=8, choices=Auth.choices, default=Auth.NONE)
    auth_name = models.CharField(_("header or parameter name"), max_length=100, blank=True)
    credentials = models.TextField(blank=True)  # encrypted; never shown again
    timeout_seconds = models.PositiveSmallIntegerField(default=10)
    last_probe_at = models.DateTimeField(null=True, blank=True)
    last_probe_ok = models.BooleanField(null=True)
    last_probe_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_probe_ms = models.PositiveIntegerField(null=True, blank=True)
    last_probe_error = models.CharField(max_length=300, blank=True)


class UpstreamFeed(models.Model):
    """Where a table resource's national or provincial data comes from (R-26.1)."""

    class Kind(models.TextChoices):
        FOLDER = "folder", _("Drop folder")
        HTTP = "http", _("HTTP endpoint")

    resource = models.OneToOneField(Resource, on_delete=models.CASCADE, related_name="feed")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    location = models.CharField(_("folder or URL"), max_length=500)
    mode = models.CharField(_("mode"), max_length=8, choices=DataVersion.Mode.choices, default=DataVersion.Mode.REPLACE)
    origin = models.CharField(_("origin"), max_length=12, default="provincial")
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
