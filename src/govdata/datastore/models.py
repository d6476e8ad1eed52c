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
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
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
