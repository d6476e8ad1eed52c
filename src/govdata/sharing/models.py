"""Sharing between departments (Chapter 3): requests for conditional data and the grants they
produce, consumer applications calling the gateway, verification, disputes and demands, and
the signed receipts that give extracts their legal effect."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL


class ShareRequest(models.Model):
    """A consumer department's request for a conditional catalog entry (R-20.2). Receipt
    starts the provider's 5-working-day deadline; overdue is derived from ``due_at``."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Awaiting answer")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    entry = models.ForeignKey("catalog.CatalogEntry", on_delete=models.PROTECT, related_name="share_requests")
    consumer = models.ForeignKey("orgs.Department", on_delete=models.PROTECT, related_name="share_requests_made")
    provider = models.ForeignKey("orgs.Department", on_delete=models.PROTECT, related_name="share_requests_received")
    system = models.ForeignKey(
        "orgs.InformationSystem", on_delete=models.PROTECT, related_name="+", verbose_name=_("consuming system")
    )
    items = models.JSONField(_("data items wanted"), default=list)  # item codes
    purpose = models.TextField(_("purpose"))
    legal_duty = models.TextField(_("legal duty served"))
    scope = models.TextField(_("scope of use"))
    period_start = models.DateField(_("use from"))
    period_end = models.DateField(_("use until"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    renewal_of = models.ForeignKey(
        "Grant", null=True, blank=True, on_delete=models.PROTECT, related_name="renewals", verbose_name=_("renews")
    )
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(_("received"))
    due_at = models.DateTimeField(_("answer due"))
    decided_at = models.DateTimeField(_("answered"), null=True, blank=True)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_items = models.JSONField(_("items approved"), default=list)
    rejection_basis = models.TextField(_("law, regulation or rule relied on"), blank=True)
    note = models.TextField(_("answer"), blank=True)
    reminded = models.JSONField(default=list, blank=True)  # reminder kinds already sent

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["status", "due_at"], name="share_request_due_idx")]
        verbose_name = _("share request")
        verbose_name_plural = _("share requests")

    def __str__(self) -> str:
        return f"{self.consumer} → {self.entry.code}"


class Grant(models.Model):
    """Permission for one consumer department, through one system, to use some items of an
    entry for one purpose and period. Usable once the consumer accepts the usage undertaking
    (R-22.1); checked at every call, so expiry and revocation take effect at once."""

    request = models.OneToOneField(ShareRequest, on_delete=models.PROTECT, related_name="grant")
    entry = models.ForeignKey("catalog.CatalogEntry", on_delete=models.PROTECT, related_name="grants")
    consumer = models.ForeignKey("orgs.Department", on_delete=models.PROTECT, related_name="grants")
    system = models.ForeignKey("orgs.InformationSystem", on_delete=models.PROTECT, related_name="grants")
    items = models.JSONField(_("items"), default=list)
    purpose = models.TextField(_("purpose"))
    scope = models.TextField(_("scope of use"))
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    created_at = models.DateTimeField()
    accepted_at = models.DateTimeField(_("undertaking accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    undertaking = models.TextField(_("undertaking"), blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    revoke_reason = models.TextField(_("reason for revocation"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["consumer", "entry"], name="grant_consumer_entry_idx")]
        verbose_name = _("grant")
        verbose_name_plural = _("grants")

    def __str__(self) -> str:
        return f"{self.consumer} · {self.entry.code}"


class ConsumerApplication(models.Model):
    """A consuming system's credential for the gateway. The secret is shown once; the platform
    keeps only the signing key derived from it (SHA-256 of the secret), encrypted at rest."""

    department = models.ForeignKey("orgs.Department", on_delete=models.PROTECT, related_name="applications")
    system = models.ForeignKey("orgs.InformationSystem", on_delete=models.PROTECT, related_name="applications")
    name = models.CharField(_("name"), max_length=100)
    app_id = models.CharField(_("app id"), max_length=40, unique=True)
    signing_key = models.TextField()  # encrypted SHA-256 of the secret
    rate_limit = models.CharField(_("rate limit"), max_length=40, default="600/minute")
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["department", "name"]
        verbose_name = _("consumer application")
        verbose_name_plural = _("consumer applications")

    def __str__(self) -> str:
        return f"{self.name} ({self.app_id})"


class UsedNonce(models.Model):
    """Nonces seen within the signature window, when Redis is not configured: the unique
    constraint makes a replay fail on every app server sharing the database.

    UNLOGGED on PostgreSQL (migration 0003): a row matters for ``2 × window`` seconds only, so
    the insert every gateway call makes need not wait for the write-ahead log to reach the
    disk. The price is the rows themselves after a database crash or on a promoted replica
    (the table comes back empty): requests signed in the minutes before could be replayed
    once more — the same bargain as Redis without an append-only file."""

    app_id = models.CharField(max_length=40)
    nonce = models.CharField(max_length=64)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app_id", "nonce"], name="used_nonce_unique")]


class VerificationRequest(models.Model):
    """A consumer's challenge of one value of a record (校核, R-23), possibly on behalf of a
    citizen or organisation; the provider answers within 5 working days."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Awaiting answer")
        CONFIRMED = "confirmed", _("Confirmed correct")
        CORRECTED = "corrected", _("Corrected")
        ORDERED = "ordered", _("Correction ordered by the bureau")  # after a dispute

    resource = models.ForeignKey("datastore.Resource", on_delete=models.PROTECT, related_name="verifications")
    consumer = models.ForeignKey("orgs.Department", on_delete=models.PROTECT, related_name="verifications_made")
    provider = models.ForeignKey("orgs.Department", on_delete=models.PROTECT, related_name="verifications_received")
    key = models.JSONField(_("record key"))  # {key column code: value}
    item = models.CharField(_("data item"), max_length=64)
    recorded_value = models.TextField(_("value on record"), blank=True)
    claimed_value = models.TextField(_("value believed correct"))
    explanation = models.TextField(_("explanation"), blank=True)
    on_behalf_name = models.CharField(_("on behalf of"), max_length=200, blank=True)
    on_behalf_id = models.CharField(_("their ID number or credit code"), max_length=18, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField()
    due_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    answer = models.TextField(_("answer"), blank=True)
    correction = models.ForeignKey(
        "datastore.DataVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reminded = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("verification request")
        verbose_name_plural = _("verification requests")


class Evidence(models.Model):
    """A file backing a verification request, an override or a dispute."""

    verification = models.ForeignKey(
        VerificationRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    override = models.ForeignKey("Override", null=True, blank=True, on_delete=models.CASCADE, related_name="evidence")
    name = models.CharField(max_length=255)
    storage_name = models.CharField(max_length=300, unique=True)
    content_type = models.CharField(max_length=100)
    size = models.BigIntegerField()
    sm3 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()


class Override(models.Model):
    """The consumer proceeds on a citizen's valid proof instead of the record (R-23.3)."""

    verification = models.ForeignKey(
        VerificationRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="overrides"
    )
    resource = models.ForeignKey("datastore.Resource", on_delete=models.PROTECT, related_name="+")
    consumer = models.ForeignKey("orgs.Department", on_delete=models.PROTECT, related_name="+")
    key = models.JSONField()
    item = models.CharField(max_length=64)
    value_used = models.TextField(_("value used"))
    proof = models.TextField(_("proof presented"))
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()


class Dispute(models.Model):
    """A rejection or a verification answer escalated to the bureau (R-27.1)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting mediation")
        DECIDED = "decided", _("Decided")

    class Outcome(models.TextChoices):
        UPHELD = "upheld", _("Answer upheld")
        GRANT = "grant", _("Access to be granted")
        CORRECT = "correct", _("Correction ordered")

    share_request = models.ForeignKey(
        ShareRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="disputes"
    )
    verification = models.ForeignKey(
        VerificationRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="disputes"
    )
    raised_by = models.ForeignKey("orgs.Department", on_delete=models.PROTECT, related_name="disputes_raised")
    other_party = models.ForeignKey("orgs.Department", on_delete=models.PROTECT, related_name="disputes_against")
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField()
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices, blank=True)
    decision = models.TextField(_("decision"), blank=True)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(share_request__isnull=False, verification__isnull=True)
                | models.Q(share_request__isnull=True, verification__isnull=False),
                name="dispute_one_subject",
            )
        ]


class Demand(models.Model):
    """A data need registered by a consumer (供需对接, R-4.1), routed by the bureau."""

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting routing")
        ROUTED = "routed", _("With the provider")
        ANSWERED = "answered", _("Answered")
        DECLINED = "declined", _("Declined with a reason")

    consumer = models.ForeignKey("orgs.Department", on_delete=models.PROTECT, related_name="demands_made")
    title = models.CharField(_("data needed"), max_length=200)
    description = models.TextField(_("description"))
    purpose = models.TextField(_("purpose"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    raised_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField()
    provider = models.ForeignKey(
        "orgs.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="demands_received"
    )
    routed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    routed_at = models.DateTimeField(null=True, blank=True)
    entry = models.ForeignKey(
        "catalog.CatalogEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="demands"
    )
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-pk"]


class Receipt(models.Model):
    """The platform's signed statement that a document or extract came through it (R-24.1):
    SM2 over the SM3 digest of the content and its metadata."""

    number = models.CharField(max_length=40, unique=True)
    content_sm3 = models.CharField(max_length=64)
    metadata = models.JSONField()
    signature = models.TextField()
    issued_at = models.DateTimeField()
    issued_to = models.ForeignKey("orgs.Department", null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-issued_at"]
