"""Controlled vocabularies of 《政务信息资源目录编制指南》(发改高技〔2017〕1272号) and the
Yingkou measures. Stored values are stable English codes; labels are translated."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class FormatCategory(models.TextChoices):
    DOCUMENT = "document", _("Electronic document")
    SPREADSHEET = "spreadsheet", _("Spreadsheet")
    DATABASE = "database", _("Database")
    IMAGE = "image", _("Graphics and images")
    STREAMING = "streaming", _("Streaming media")
    SELF_DESCRIBING = "self_describing", _("Self-describing format")
    INTERFACE = "interface", _("Interface")


# The guide's format types per category (values as the guide writes them).
FORMAT_TYPES: dict[str, tuple[str, ...]] = {
    FormatCategory.DOCUMENT: ("OFD", "wps", "xml", "txt", "doc", "docx", "html", "pdf", "ppt"),
    FormatCategory.SPREADSHEET: ("et", "xls", "xlsx"),
    FormatCategory.DATABASE: ("Dm", "KingbaseES", "access", "dbf", "dbase", "sysbase", "oracle", "sql server", "db2"),
    FormatCategory.IMAGE: ("jpg", "gif", "bmp"),
    FormatCategory.STREAMING: ("swf", "rm", "mpg"),
    FormatCategory.SELF_DESCRIBING: (),  # described in free text
    FormatCategory.INTERFACE: ("api",),
}


class DataType(models.TextChoices):
    CHAR = "C", _("C character")
    NUMBER = "N", _("N numeric")
    CURRENCY = "Y", _("Y currency")
    DATE = "D", _("D date")
    DATETIME = "T", _("T date and time")
    LOGICAL = "L", _("L logical")
    MEMO = "M", _("M memo")
    GENERAL = "G", _("G general")
    DOUBLE = "B", _("B double precision")
    INTEGER = "I", _("I integer")
    FLOAT = "F", _("F floating point")


class ShareType(models.TextChoices):
    UNCONDITIONAL = "unconditional", _("Unconditional sharing")
    CONDITIONAL = "conditional", _("Conditional sharing")
    NOT_SHARED = "not_shared", _("Not shared")


class ShareMethod(models.TextChoices):
    PLATFORM = "platform", _("Through the sharing platform")
    EMAIL = "email", _("E-mail")
    MEDIA = "media", _("Storage media")


class PlatformMode(models.TextChoices):
    TABLE = "table", _("Database table")
    API = "api", _("Interface")
    FILE = "file", _("File")


class OpenType(models.TextChoices):
    UNCONDITIONAL = "unconditional", _("Unconditional opening")
    ON_APPLICATION = "on_application", _("Open on application")
    NOT_OPEN = "not_open", _("Not open")


class UpdateCycle(models.TextChoices):
    REALTIME = "realtime", _("Real time")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    HALF_YEARLY = "half_yearly", _("Half-yearly")
    YEARLY = "yearly", _("Yearly")
    OTHER = "other", _("Other")


class PriorityDomain(models.TextChoices):
    """Art. 31: domains whose data is opened first."""

    CREDIT = "credit", _("Credit")
    TRANSPORT = "transport", _("Transport")
    MEDICAL = "medical", _("Medical care")
    EMPLOYMENT = "employment", _("Employment")
    SOCIAL_SECURITY = "social_security", _("Social security")
    EDUCATION = "education", _("Education")
    ENVIRONMENT = "environment", _("Environment")
    METEOROLOGY = "meteorology", _("Meteorology")
    ENTERPRISE_REGISTRATION = "enterprise_registration", _("Enterprise registration and supervision")


class Origin(models.TextChoices):
    LOCAL = "local", _("This city")
    PROVINCIAL = "provincial", _("Provincial platform")
    NATIONAL = "national", _("National platform")
