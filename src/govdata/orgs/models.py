"""Regions, departments, their contacts and information systems, and the people who act."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from govdata.common.validators import validate_mobile, validate_uscc


class Region(models.Model):
    """The city or one of its county-level units (县(市)区), by administrative division code."""

    class Level(models.TextChoices):
        CITY = "city", _("City")
        COUNTY = "county", _("County-level unit")

    code = models.CharField(_("division code"), max_length=6, unique=True)
    name = models.CharField(_("name"), max_length=50, unique=True)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.name


class DepartmentKind(models.TextChoices):
    # Art. 3: government departments and institutions/organisations authorised by law.
    GOVERNMENT = "government", _("Government department")
    AUTHORISED_INSTITUTION = "authorised_institution", _("Authorised public institution")
    SOCIAL_ORGANISATION = "social_organisation", _("Authorised social organisation")
    # Art. 39: central/provincial units in the city and public enterprises take part too.
    UPPER_LEVEL_UNIT = "upper_level_unit", _("Central or provincial unit in the city")
    PUBLIC_ENTERPRISE = "public_enterprise", _("Public enterprise or institution")


class Sector(models.TextChoices):
    EDUCATION = "education", _("Education")
    HEALTH = "health", _("Health")
    WATER = "water", _("Water supply")
    POWER = "power", _("Power supply")
    GAS = "gas", _("Gas supply")
    HEATING = "heating", _("Heating")
    FINANCE = "finance", _("Finance")
    TELECOM = "telecom", _("Telecommunications")
    PUBLIC_TRANSPORT = "public_transport", _("Public transport")


class Department(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    short_name = models.CharField(_("short name"), max_length=30, blank=True)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, validators=[validate_uscc]
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="departments", verbose_name=_("region"))
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=DepartmentKind.choices, default=DepartmentKind.GOVERNMENT)
    sector = models.CharField(_("sector"), max_length=20, choices=Sector.choices, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["region__code", "name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        constraints = [
            # A public enterprise always states its sector; no one else has one.
            models.CheckConstraint(
                condition=(Q(kind=DepartmentKind.PUBLIC_ENTERPRISE) & ~Q(sector=""))
                | (~Q(kind=DepartmentKind.PUBLIC_ENTERPRISE) & Q(sector="")),
                name="department_sector_iff_public_enterprise",
                violation_error_code="sector",
                violation_error_message=_("A public enterprise states its sector; other kinds of department have none."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ContactRole(models.TextChoices):
    # Art. 7: a leader, a team (专班) or designated staff are filed with the bureau.
    LEADER = "leader", _("Responsible leader")
    TEAM = "team", _("Team member")
    STAFF = "staff", _("Staff contact")


class Contact(models.Model):
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="contacts")
    role = models.CharField(_("role"), max_length=10, choices=ContactRole.choices)
    name = models.CharField(_("name"), max_length=50)
    post = models.CharField(_("post"), max_length=100)
    mobile = models.CharField(_("mobile"), max_length=11, validators=[validate_mobile])
    office_phone = models.CharField(_("office phone"), max_length=30, blank=True)
    email = models.EmailField(_("email"), blank=True)
    is_active = models.BooleanField(default=True)
    # When the department last declared the record correct; staleness is derived from it.
    confirmed_at = models.DateTimeField(_("confirmed at"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["department", "role", "name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"


class ContactChange(models.Model):
    """One filed change of a contact, with the values before and after (Art. 7 history)."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Filed")
        UPDATED = "updated", _("Changed")
        CONFIRMED = "confirmed", _("Confirmed")
        REMOVED = "removed", _("Removed")

    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    changed_by = models.ForeignKey("User", on_delete=models.PROTECT, related_name="+", null=True)
    changed_at = models.DateTimeField()
    old_values = models.JSONField(default=dict)
    new_values = models.JSONField(default=dict)

    class Meta:
        ordering = ["-changed_at", "-id"]


class InformationSystem(models.Model):
    """A government information system (政务信息系统) registered per Art. 9."""

    class Status(models.TextChoices):
        NEW = "new", _("Newly built")
        EXISTING = "existing", _("Existing")

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="systems")
    name = models.CharField(_("name"), max_length=100)
    owner = models.CharField(_("owner (person or division)"), max_length=100)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    connected = models.BooleanField(_("connected to the platform"), default=False)
    interface_notes = models.TextField(_("interface notes"), blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["department", "name"]
        constraints = [models.UniqueConstraint(fields=["department", "name"], name="system_unique_name_per_department")]
        verbose_name = _("information system")
        verbose_name_plural = _("information systems")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    full_name = models.CharField(_("full name"), max_length=50, blank=True)
    mobile = models.CharField(_("mobile"), max_length=11, blank=True, validators=[validate_mobile])
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="users", verbose_name=_("department")
    )
    failed_logins = models.PositiveIntegerField(default=0)
    last_failed_login = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.full_name or self.username


class Role(models.TextChoices):
    BUREAU_ADMIN = "bureau_admin", _("Bureau administrator")
    REGION_ADMIN = "region_admin", _("Region administrator")
    DEPARTMENT_ADMIN = "department_admin", _("Department administrator")
    DEPARTMENT_STAFF = "department_staff", _("Department staff")
    SECURITY_OFFICER = "security_officer", _("Security officer")
    EVALUATOR = "evaluator", _("Evaluator")
    PUBLIC_USER = "public_user", _("Public user")


# Which scope each role carries: the whole city, one region, one department, or none.
ROLE_SCOPE = {
    Role.BUREAU_ADMIN: "city",
    Role.EVALUATOR: "city",
    Role.REGION_ADMIN: "region",
    Role.DEPARTMENT_ADMIN: "department",
    Role.DEPARTMENT_STAFF: "department",
    Role.SECURITY_OFFICER: "department",
    Role.PUBLIC_USER: "none",
}


class RoleAssignment(models.Model):
    """A role held by a user. Department roles act on ``user.department``; a region admin's
    region is stored here; city roles have no scope."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("region")
    )
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="role_assignment_unique"),
            models.CheckConstraint(
                condition=Q(role=Role.REGION_ADMIN, region__isnull=False) | (~Q(role=Role.REGION_ADMIN) & Q(region=None)),
                name="role_assignment_region_iff_region_admin",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.region or ''}".strip()
