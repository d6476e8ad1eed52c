"""The open platform's own state. Datasets and their rows are the catalog's and the
datastore's; what opening adds here is how much each dataset is used (issue #6, item 8), who
the public users are, their applications for on-application data (R-29.2) and their
feedback."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from govdata.common.validators import validate_id_number, validate_uscc
from govdata.datastore.masking import mask_value
from govdata.datastore.models import Mask


class UsageStat(models.Model):
    """One counter per dataset, day and kind of use: a hit is an UPDATE of one row, so the
    table grows with datasets × days, not with traffic, and the statistics page sums rows."""

    class Kind(models.TextChoices):
        VIEW = "view", _("Page views")
        DOWNLOAD = "download", _("Downloads")
        API = "api", _("API calls")

    entry = models.ForeignKey("catalog.CatalogEntry", on_delete=models.CASCADE, related_name="usage")
    day = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    count = models.PositiveBigIntegerField(_("count"), default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry", "day", "kind"], name="usage_stat_once_a_day")]
        indexes = [models.Index(fields=["day", "kind"], name="usage_stat_day_idx")]
        verbose_name = _("usage statistic")
        verbose_name_plural = _("usage statistics")

    def __str__(self) -> str:
        return f"{self.entry_id} {self.day} {self.kind}: {self.count}"


# --- public accounts (issue #6, item 5) --------------------------------------------------------


class PublicProfile(models.Model):
    """Who a public user is (Art. 29: natural persons, legal persons and other organisations).
    The real name (for an organisation: the contact's name) and the mobile are the user's own
    fields; what differs by kind lives here."""

    class Kind(models.TextChoices):
        NATURAL = "natural", _("Natural person")
        LEGAL = "legal", _("Legal person or other organisation")

    user = models.OneToOneField("orgs.User", on_delete=models.CASCADE, related_name="public_profile")
    kind = models.CharField(_("applicant type"), max_length=8, choices=Kind.choices)
    id_number = models.CharField(_("ID number"), max_length=18, blank=True, validators=[validate_id_number])
    organisation = models.CharField(_("organisation name"), max_length=100, blank=True)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, blank=True, validators=[validate_uscc]
    )
    registered_at = models.DateTimeField(_("registered"))

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="natural", organisation="", credit_code="") & ~Q(id_number="")
                | Q(kind="legal", id_number="") & ~Q(organisation="") & ~Q(credit_code=""),
                name="public_profile_fields_of_kind",
            ),
            # One account per person; an organisation may register several contacts.
            models.UniqueConstraint(
                fields=["id_number"], condition=~Q(id_number=""), name="public_profile_one_per_person"
            ),
        ]
        verbose_name = _("public profile")
        verbose_name_plural = _("public profiles")

    def __str__(self) -> str:
        return self.organisation or str(self.user)

    @property
    def public_name(self) -> str:
        """How feedback is signed in public: an organisation by its name, a person by the
        surname only (张**), as the datastore masks names."""
        if self.kind == self.Kind.LEGAL:
            return self.organisation
        return mask_value(Mask.NAME, self.user.full_name)


# --- open on application (R-29.2) --------------------------------------------------------------


class OpenApplication(models.Model):
    """A public applicant's application for an on-application dataset (Art. 29). Receipt
    starts the provider's 10-working-day deadline; overdue is derived from ``due_at``. Once
    approved, the applicant reads the dataset's rows from ``approved_from`` to
    ``approved_until`` (``permissions.can_read_rows``)."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Awaiting answer")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Refused")

    entry = models.ForeignKey("catalog.CatalogEntry", on_delete=models.PROTECT, related_name="open_applications")
    provider = models.ForeignKey("orgs.Department", on_delete=models.PROTECT, related_name="open_applications")
    applicant = models.ForeignKey("orgs.User", on_delete=models.PROTECT, related_name="open_applications")
    purpose = models.TextField(_("purpose"))
    scenario = models.TextField(_("usage scenario"))
    period_start = models.DateField(_("use from"))
    period_end = models.DateField(_("use until"))
    undertaking = models.TextField(_("undertakings given"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    received_at = models.DateTimeField(_("received"))
    due_at = models.DateTimeField(_("answer due"))
    decided_at = models.DateTimeField(_("answered"), null=True, blank=True)
    decided_by = models.ForeignKey("orgs.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_from = models.DateField(_("approved from"), null=True, blank=True)
    approved_until = models.DateField(_("approved until"), null=True, blank=True)
    reasons = models.TextField(_("reasons for refusal"), blank=True)
    note = models.TextField(_("answer"), blank=True)
    reminded = models.JSONField(default=list, blank=True)  # reminder kinds already sent

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="open_application_due_idx"),
            models.Index(fields=["applicant", "entry", "status"], name="open_application_access_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(approved_from__isnull=False, approved_until__isnull=False),
                name="open_application_approved_has_period",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(reasons=""), name="open_application_refusal_has_reasons"
            ),
        ]
        verbose_name = _("open-data application")
        verbose_name_plural = _("open-data applications")

    def __str__(self) -> str:
        return f"{self.applicant} → {self.entry.code}"

    @property
    def consumer(self):
        """The one waiting for the answer, as the shared deadline reminders
        (``sharing.services.requests.remind_due``) name it."""
        return self.applicant


# --- feedback (issue #6, item 7) ---------------------------------------------------------------


class Feedback(models.Model):
    """What the public says: a rated comment or an error report on a dataset (moderated and
    answered by its provider), or a request for data not open yet (no dataset; the bureau
    moderates and answers). Only published items, with their answers, are shown publicly."""

    class Kind(models.TextChoices):
        COMMENT = "comment", _("Comment")
        ERROR_REPORT = "error_report", _("Error report")
        DATA_REQUEST = "data_request", _("Data request")

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting moderation")
        PUBLISHED = "published", _("Published")
        HIDDEN = "hidden", _("Hidden")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    entry = models.ForeignKey(
        "catalog.CatalogEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="feedback"
    )
    author = models.ForeignKey("orgs.User", on_delete=models.PROTECT, related_name="open_feedback")
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=100, blank=True)
    body = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("submitted"))
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderated_by = models.ForeignKey("orgs.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    answer = models.TextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answered_by = models.ForeignKey("orgs.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["entry", "status"], name="feedback_entry_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="comment", rating__gte=1, rating__lte=5) | (~Q(kind="comment") & Q(rating=None)),
                name="feedback_rating_iff_comment",
            ),
            models.CheckConstraint(
                condition=Q(kind="data_request", entry=None) | (~Q(kind="data_request") & Q(entry__isnull=False)),
                name="feedback_dataset_unless_data_request",
            ),
        ]
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk}"


class ApiToken(models.Model):
    """A public user's personal token for the open API (``opendata.tokens``). Only the
    token's SHA-256 is stored: the secret is shown once, when issued. A fast hash suffices
    because the secret is 256 random bits (nothing to guess from a dictionary), and it keeps
    the check on every API call cheap. A user holds at most one live token."""

    user = models.ForeignKey("orgs.User", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=50, blank=True)
    # The token's first characters, shown so its holder can tell tokens apart, and the index
    # the check looks candidates up by.
    prefix = models.CharField(_("prefix"), max_length=12, db_index=True)
    sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(revoked_at=None), name="api_token_one_live_per_user"
            ),
        ]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
