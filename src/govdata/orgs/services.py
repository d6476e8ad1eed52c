"""Every change to organisations, contacts, systems and people (one function per action)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from govdata.audit.services import record
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.notifications.services import notify

from . import permissions as perm
from .models import (
    ROLE_SCOPE,
    Contact,
    ContactChange,
    Department,
    DepartmentKind,
    InformationSystem,
    Region,
    Role,
    RoleAssignment,
    User,
)
from .selectors import overseers_of

DEPARTMENT_FIELDS = ("name", "short_name", "credit_code", "region", "parent", "kind", "sector", "is_active")
CONTACT_FIELDS = ("role", "name", "post", "mobile", "office_phone", "email")
SYSTEM_FIELDS = ("name", "owner", "status", "connected", "interface_notes", "is_active")


# --- helpers -------------------------------------------------------------------------------


def _clean_text(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}


def _apply(instance: Model, allowed: tuple[str, ...], values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Set ``values`` on ``instance`` and return {field: (old, new)} for what really changed."""
    unknown = set(values) - set(allowed)
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in sorted(unknown)})
    changed = {}
    for name, value in _clean_text(values).items():
        try:
            old = getattr(instance, name)
        except ObjectDoesNotExist:  # a foreign key not set yet on a new instance
            old = None
        if old != value:
            changed[name] = (old, value)
            setattr(instance, name, value)
    return changed


def _plain(value: Any) -> Any:
    return value.pk if isinstance(value, Model) else value


def _plain_values(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(value) for name, value in values.items()}


def _saved_values(instance: Model, values: dict[str, Any]) -> dict[str, Any]:
    """The given fields as saved (trimmed, normalised), for the audit trail."""
    return {name: _plain(getattr(instance, name)) for name in values}


def _diff_details(changed: dict[str, tuple[Any, Any]]) -> dict[str, dict[str, Any]]:
    return {name: {"old": _plain(old), "new": _plain(new)} for name, (old, new) in changed.items()}


# --- authentication ------------------------------------------------------------------------


class LoginRefused(Exception):
    """Wrong credentials or a locked account; the message is safe to show."""


def authenticate(username: str, password: str, *, ip: str | None = None) -> User:
    """Check a password with lockout: after LOGIN_MAX_FAILURES failures the account is locked
    for LOGIN_LOCK_MINUTES. Every attempt is audited."""
    now = clock.now()
    # Failures are committed before the refusal is raised: the count and the audit must stay.
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username.strip()).first()
        refusal = _check_credentials(user, username, password, ip, now)
    if refusal:
        raise LoginRefused(refusal)
    return user


def _check_credentials(user: User | None, username: str, password: str, ip: str | None, now: dt.datetime) -> str:
    """Return why the login is refused, or "" when it succeeds."""
    generic = _("The user name or password is incorrect.")
    if user is None:
        User().set_password(password)  # spend the same time as a real check
        record(Actor(ip=ip), "auth.login.failed", details={"username": username[:150], "reason": "unknown user"})
        return generic
    actor = Actor(user=user, ip=ip)
    if user.locked_until and user.locked_until > now:
        record(actor, "auth.login.refused", user, details={"reason": "locked"})
        local = user.locked_until.astimezone(clock.SHANGHAI)
        return _("Too many failed attempts: the account is locked until %(time)s.") % {"time": f"{local:%H:%M}"}
    if not user.is_active or not user.check_password(password):
        window = dt.timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
        if user.last_failed_login and now - user.last_failed_login > window:
            user.failed_logins = 0  # only failures within the window count towards a lock
        user.failed_logins += 1
        user.last_failed_login = now
        if user.failed_logins >= settings.LOGIN_MAX_FAILURES:
            user.locked_until = now + dt.timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
            user.failed_logins = 0
            record(actor, "auth.lockout", user, details={"until": user.locked_until})
        else:
            record(actor, "auth.login.failed", user, details={"reason": "bad password"})
        user.save(update_fields=["failed_logins", "last_failed_login", "locked_until"])
        return generic
    user.failed_logins, user.locked_until, user.last_login = 0, None, now
    user.save(update_fields=["failed_logins", "locked_until", "last_login"])
    record(actor, "auth.login", user)
    return ""


def record_logout(actor: Actor) -> None:
    record(actor, "auth.logout", actor.user)


# --- departments ---------------------------------------------------------------------------


def _clean_department(department: Department) -> None:
    department.credit_code = department.credit_code.upper()
    # The database constraint says the same; checked first so the error names the field.
    if (department.kind == DepartmentKind.PUBLIC_ENTERPRISE) != bool(department.sector):
        raise ValidationError(
            {"sector": _("A public enterprise states its sector; other kinds of department have none.")}
        )
    department.full_clean()


@transaction.atomic
def create_department(actor: Actor, **values: Any) -> Department:
    department = Department()
    _apply(department, DEPARTMENT_FIELDS, values)
    region = values.get("region")
    if region is None:
        raise ValidationError({"region": _("Choose the region the department belongs to.")})
    perm.check(actor, perm.can_create_department, region)
    _clean_department(department)
    department.save()
    details = _saved_values(department, values)
    record(actor, "orgs.department.create", department, department=department, details=details)
    return department


@transaction.atomic
def update_department(actor: Actor, department: Department, **values: Any) -> Department:
    perm.check(actor, perm.can_edit_department, department)
    if "region" in values:
        # Moving a department is only possible for someone who oversees the target region too.
        perm.check(actor, perm.can_create_department, values["region"])
    changed = _apply(department, DEPARTMENT_FIELDS, values)
    if changed:
        _clean_department(department)
        department.save()
        record(actor, "orgs.department.update", department, department=department, details=_diff_details(changed))
    return department


# --- contacts (Art. 7) ---------------------------------------------------------------------


def _contact_values(contact: Contact) -> dict[str, Any]:
    return {name: getattr(contact, name) for name in CONTACT_FIELDS}


def _file_change(actor: Actor, contact: Contact, kind: str, old: dict, new: dict) -> ContactChange:
    change = ContactChange.objects.create(
        contact=contact, kind=kind, changed_by=actor.user, changed_at=clock.now(), old_values=old, new_values=new
    )
    record(actor, f"orgs.contact.{kind}", contact, department=contact.department, details={"old": old, "new": new})
    if kind != ContactChange.Kind.CONFIRMED:
        notify(
            subject=_("Contacts of %(department)s changed") % {"department": contact.department},
            body=f"{contact.get_role_display()}: {contact.name}",
            link=f"/orgs/departments/{contact.department_id}/",
            category="orgs.contact",
            users=overseers_of(contact.department).exclude(pk=getattr(actor.user, "pk", None)),
        )
    return change


@transaction.atomic
def file_contact(actor: Actor, department: Department, **values: Any) -> Contact:
    perm.check(actor, perm.can_manage_department_records, department)
    contact = Contact(department=department, confirmed_at=clock.now())
    _apply(contact, CONTACT_FIELDS, values)
    contact.full_clean()
    contact.save()
    _file_change(actor, contact, ContactChange.Kind.CREATED, {}, _contact_values(contact))
    return contact


@transaction.atomic
def update_contact(actor: Actor, contact: Contact, **values: Any) -> Contact:
    """Change a contact; the old values are kept in its history. Filing a change also counts
    as confirming the record."""
    perm.check(actor, perm.can_manage_department_records, contact.department)
    if not contact.is_active:
        raise ValidationError(_("This contact has been removed."))
    old = _contact_values(contact)
    changed = _apply(contact, CONTACT_FIELDS, values)
    if not changed:
        return contact
    contact.confirmed_at = clock.now()
    contact.full_clean()
    contact.save()
    _file_change(
        actor,
        contact,
        ContactChange.Kind.UPDATED,
        {k: old[k] for k in changed},
        {k: new for k, (_old, new) in changed.items()},
    )
    return contact


@transaction.atomic
def confirm_contact(actor: Actor, contact: Contact) -> Contact:
    perm.check(actor, perm.can_manage_department_records, contact.department)
    if not contact.is_active:
        raise ValidationError(_("This contact has been removed."))
    contact.confirmed_at = clock.now()
    contact.save(update_fields=["confirmed_at"])
    _file_change(actor, contact, ContactChange.Kind.CONFIRMED, {}, {})
    return contact


@transaction.atomic
def confirm_all_contacts(actor: Actor, department: Department) -> int:
    perm.check(actor, perm.can_manage_department_records, department)
    contacts = list(department.contacts.filter(is_active=True))
    for contact in contacts:
        confirm_contact(actor, contact)
    return len(contacts)


@transaction.atomic
def remove_contact(actor: Actor, contact: Contact) -> Contact:
    perm.check(actor, perm.can_manage_department_records, contact.department)
    if not contact.is_active:
        raise ValidationError(_("This contact has been removed."))
    contact.is_active = False
    contact.save(update_fields=["is_active"])
    _file_change(actor, contact, ContactChange.Kind.REMOVED, _contact_values(contact), {})
    return contact


# --- information systems (Art. 9) ----------------------------------------------------------


@transaction.atomic
def register_system(actor: Actor, department: Department, **values: Any) -> InformationSystem:
    perm.check(actor, perm.can_manage_department_records, department)
    system = InformationSystem(department=department)
    _apply(system, SYSTEM_FIELDS, values)
    system.full_clean()
    system.save()
    record(actor, "orgs.system.register", system, department=department, details=_saved_values(system, values))
    return system


@transaction.atomic
def update_system(actor: Actor, system: InformationSystem, **values: Any) -> InformationSystem:
    perm.check(actor, perm.can_manage_department_records, system.department)
    changed = _apply(system, SYSTEM_FIELDS, values)
    if changed:
        system.full_clean()
        system.save()
        record(actor, "orgs.system.update", system, department=system.department, details=_diff_details(changed))
    return system


# --- people and roles ----------------------------------------------------------------------


def _check_role_scope(role: str, department: Department | None, region: Region | None) -> None:
    scope = ROLE_SCOPE.get(role)
    if scope is None:
        raise ValidationError({"role": _("Unknown role.")})
    if scope == "department" and department is None:
        raise ValidationError({"department": _("This role needs the user's department.")})
    if scope == "region" and region is None:
        raise ValidationError({"region": _("A region administrator needs a region.")})


@transaction.atomic
def create_user(
    actor: Actor,
    *,
    username: str,
    password: str,
    full_name: str,
    department: Department | None = None,
    role: str,
    region: Region | None = None,
    email: str = "",
    mobile: str = "",
) -> User:
    perm.check(actor, perm.can_grant_role, role, department=department, region=region)
    _check_role_scope(role, department, region)
    user = User(username=username.strip(), full_name=full_name.strip(), department=department, email=email, mobile=mobile)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.full_clean()
    user.save()
    RoleAssignment.objects.create(user=user, role=role, region=region if role == Role.REGION_ADMIN else None)
    record(
        actor,
        "orgs.user.create",
        user,
        department=department,
        details={"username": user.username, "role": role, "region": region.pk if region else None},
    )
    return user


@transaction.atomic
def grant_role(actor: Actor, user: User, role: str, region: Region | None = None) -> RoleAssignment:
    perm.check(actor, perm.can_grant_role, role, department=user.department, region=region)
    _check_role_scope(role, user.department, region)
    assignment, created = RoleAssignment.objects.get_or_create(
        user=user, role=role, defaults={"region": region if role == Role.REGION_ADMIN else None}
    )
    if created:
        record(actor, "orgs.role.grant", user, department=user.department, details={"role": role})
    return assignment


@transaction.atomic
def revoke_role(actor: Actor, user: User, role: str) -> None:
    assignment = RoleAssignment.objects.filter(user=user, role=role).first()
    if assignment is None:
        raise ValidationError({"role": _("The user does not hold this role.")})
    perm.check(actor, perm.can_grant_role, role, department=user.department, region=assignment.region)
    assignment.delete()
    record(actor, "orgs.role.revoke", user, department=user.department, details={"role": role})


@transaction.atomic
def set_user_active(actor: Actor, user: User, active: bool) -> User:
    perm.check(actor, perm.can_manage_user, user)
    user.is_active = active
    user.save(update_fields=["is_active"])
    record(actor, "orgs.user.activate" if active else "orgs.user.deactivate", user, department=user.department)
    return user
