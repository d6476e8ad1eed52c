"""Organisation pages: departments, their contacts (Art. 7), information systems (Art. 9) and
users.

Thin by rule: reads go through ``selectors`` and ``permissions``, every change through one
``services`` function. A service's ValidationError is shown on the form; its PermissionDenied
becomes a 403 page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from govdata.common import clock
from govdata.common.actor import Actor

from . import permissions as perm
from . import selectors, services
from .forms import (
    ContactForm,
    DepartmentFilterForm,
    DepartmentForm,
    SystemForm,
    UserCreateForm,
)
from .models import Contact, ContactChange, ContactRole, Department, Role

# --- helpers -------------------------------------------------------------------------------


def _actor(request) -> Actor:
    return Actor.from_request(request)


def _department(request, pk: int) -> Department:
    """The department, if the user may see it (404 when it does not exist, 403 otherwise)."""
    department = get_object_or_404(Department.objects.select_related("region", "parent"), pk=pk)
    perm.require(perm.can_view_department(request.user, department))
    return department


def _contact(request, pk: int) -> Contact:
    return get_object_or_404(selectors.contacts_visible_to(request.user).select_related("department__region"), pk=pk)


def _error_message(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _department_url(department_id: int, anchor: str = "") -> str:
    url = reverse("orgs:department", args=[department_id])
    return f"{url}#{anchor}" if anchor else url


# --- departments ---------------------------------------------------------------------------


LIST_ROLES = (Role.BUREAU_ADMIN, Role.REGION_ADMIN, Role.EVALUATOR)


@login_required
def department_list(request):
    user = request.user
    perm.require(perm.has_role(user, *LIST_ROLES))
    filters = DepartmentFilterForm(request.GET or None, regions=selectors.regions_in_scope(user))
    region = kind = None
    if filters.is_bound and filters.is_valid():
        region, kind = filters.cleaned_data["region"], filters.cleaned_data["kind"]
    departments = list(selectors.department_list(user, region_id=region.pk if region else None, kind=kind or ""))
    for department in departments:
        department.can_edit = perm.can_edit_department(user, department)
    return render(
        request,
        "orgs/department_list.html",
        {
            "departments": departments,
            "filters": filters,
            "can_create": selectors.regions_creatable_by(user).exists(),
        },
    )


@login_required
def department_create(request):
    regions = selectors.regions_creatable_by(request.user)
    perm.require(regions.exists())
    form = DepartmentForm(request.POST or None, regions=regions, parents=selectors.parent_candidates())
    if request.method == "POST" and form.is_valid():
        try:
            department = services.create_department(_actor(request), **form.cleaned_data)
        except ValidationError as error:
            form.show_service_errors(error)
        else:
            messages.success(request, _("The department has been created."))
            return redirect("orgs:department", department.pk)
    return render(request, "orgs/department_form.html", {"form": form, "department": None})


@login_required
def department_edit(request, pk: int):
    department = _department(request, pk)
    perm.require(perm.can_edit_department(request.user, department))
    initial = {name: getattr(department, name) for name in services.DEPARTMENT_FIELDS}
    form = DepartmentForm(
        request.POST or None,
        initial=initial,
        regions=selectors.regions_creatable_by(request.user),
        parents=selectors.parent_candidates(department),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_department(_actor(request), department, **form.cleaned_data)
        except ValidationError as error:
            form.show_service_errors(error)
        else:
            messages.success(request, _("Saved."))
            return redirect("orgs:department", department.pk)
    return render(request, "orgs/department_form.html", {"form": form, "department": department})


@dataclass
class ContactRow:
    contact: Contact
    stale: bool
    confirm_by: Any


@dataclass
class ContactGroup:
    role: str
    label: str
    rows: list[ContactRow] = field(default_factory=list)


@dataclass
class UserRow:
    user: Any
    roles: list[str]
    can_manage: bool


@login_required
def department_detail(request, pk: int):
    user = request.user
    department = _department(request, pk)
    now = clock.now()
    contacts = list(selectors.contacts_visible_to(user).filter(department=department))
    groups = [ContactGroup(role.value, role.label) for role in ContactRole]
    by_role = {group.role: group for group in groups}
    for contact in contacts:
        if contact.is_active:
            by_role[contact.role].rows.append(
                ContactRow(contact, selectors.is_stale(contact, now), selectors.stale_since(contact))
            )
    removed = [c for c in contacts if not c.is_active]
    people = selectors.users_visible_to(user).filter(department=department).prefetch_related("roles").order_by("username")
    user_rows = [
        UserRow(person, [a.get_role_display() for a in person.roles.all()], perm.can_manage_user(user, person))
        for person in people
    ]
    stale_count = sum(row.stale for group in groups for row in group.rows)
    return render(
        request,
        "orgs/department_detail.html",
        {
            "department": department,
            "groups": groups,
            "removed": removed,
            "active_count": sum(len(group.rows) for group in groups),
            "stale_count": stale_count,
            "missing_roles": [
                ContactRole(r).label for r in selectors.REQUIRED_CONTACT_ROLES if not by_role[r].rows
            ],
            "systems": selectors.systems_visible_to(user).filter(department=department),
            "user_rows": user_rows,
            "can_manage": perm.can_manage_department_records(user, department),
            "can_edit": perm.can_edit_department(user, department),
            "can_manage_users": perm.can_manage_users(user, department),
            "can_list": perm.has_role(user, *LIST_ROLES),
            "stale_after_months": selectors.STALE_AFTER_MONTHS,
        },
    )


# --- contacts (Art. 7) ---------------------------------------------------------------------


@login_required
def contact_create(request, pk: int):
    department = _department(request, pk)
    perm.require(perm.can_manage_department_records(request.user, department))
    form = ContactForm(request.POST or None, initial={"role": request.GET.get("role", "")})
    if request.method == "POST" and form.is_valid():
        try:
            services.file_contact(_actor(request), department, **form.cleaned_data)
        except ValidationError as error:
            form.show_service_errors(error)
        else:
            messages.success(request, _("The contact has been filed."))
            return redirect(_department_url(department.pk, "contacts"))
    return render(request, "orgs/contact_form.html", {"form": form, "department": department, "contact": None})


@login_required
def contact_edit(request, pk: int):
    contact = _contact(request, pk)
    department = contact.department
    perm.require(perm.can_manage_department_records(request.user, department))
    if not contact.is_active:
        messages.error(request, _("This contact has been removed."))
        return redirect(_department_url(department.pk, "contacts"))
    initial = {name: getattr(contact, name) for name in services.CONTACT_FIELDS}
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_contact(_actor(request), contact, **form.cleaned_data)
        except ValidationError as error:
            form.show_service_errors(error)
        else:
            messages.success(request, _("Saved."))
            return redirect(_department_url(department.pk, "contacts"))
    return render(request, "orgs/contact_form.html", {"form": form, "department": department, "contact": contact})


@require_POST
@login_required
def contact_confirm(request, pk: int):
    contact = _contact(request, pk)
    try:
        services.confirm_contact(_actor(request), contact)
    except ValidationError as error:
        _error_message(request, error)
    else:
        messages.success(request, _("%(name)s has been confirmed as correct.") % {"name": contact.name})
    return redirect(_department_url(contact.department_id, "contacts"))


@require_POST
@login_required
def contact_remove(request, pk: int):
    contact = _contact(request, pk)
    try:
        services.remove_contact(_actor(request), contact)
    except ValidationError as error:
        _error_message(request, error)
    else:
        messages.success(request, _("%(name)s has been removed from the filed contacts.") % {"name": contact.name})
    return redirect(_department_url(contact.department_id, "contacts"))


@require_POST
@login_required
def contact_confirm_all(request, pk: int):
    department = _department(request, pk)
    try:
        count = services.confirm_all_contacts(_actor(request), department)
    except ValidationError as error:
        _error_message(request, error)
    else:
        messages.success(
            request,
            ngettext(
                "%(n)d contact has been confirmed as correct.", "%(n)d contacts have been confirmed as correct.", count
            )
            % {"n": count},
        )
    return redirect(_department_url(department.pk, "contacts"))


def _display(name: str, value: Any) -> str:
    if value in (None, ""):
        return "—"
    if name == "role" and value in ContactRole.values:
        return str(ContactRole(value).label)
    return str(value)


@dataclass
class ChangeRow:
    change: ContactChange
    fields: list[tuple[str, str, str]]


@login_required
def contact_history(request, pk: int):
    contact = _contact(request, pk)
    perm.require(perm.can_view_department(request.user, contact.department))
    rows = []
    for change in selectors.contact_history(contact):
        names = [n for n in services.CONTACT_FIELDS if n in change.old_values or n in change.new_values]
        rows.append(
            ChangeRow(
                change,
                [
                    (
                        str(ContactForm.base_fields[n].label),
                        _display(n, change.old_values.get(n)) if change.old_values else "",
                        _display(n, change.new_values.get(n)) if change.new_values else "",
                    )
                    for n in names
                ],
            )
        )
    return render(
        request,
        "orgs/contact_history.html",
        {"contact": contact, "department": contact.department, "rows": rows},
    )


@dataclass
class ReportRow:
    department: Department
    active_count: int
    missing: list[str]
    stale: list[tuple[Contact, Any]]
    oldest: Any

    @property
    def needs_attention(self) -> bool:
        return bool(self.missing or self.stale)


@login_required
def contact_report(request):
    user = request.user
    perm.require(perm.can_view_contact_report(user))
    show_all = request.GET.get("all") == "1"
    now = clock.now()
    statuses = selectors.contact_status(user, now)
    rows = [
        ReportRow(
            status.department,
            status.active_count,
            [str(ContactRole(r).label) for r in status.missing_roles],
            sorted(((c, selectors.stale_since(c)) for c in status.stale), key=lambda item: item[0].confirmed_at),
            min((c.confirmed_at for c in status.stale), default=None),
        )
        for status in statuses
    ]
    attention = [row for row in rows if row.needs_attention]
    shown = rows if show_all else attention
    # Worst first: missing roles weigh most, then the number of stale contacts, then how long
    # the oldest one has gone unconfirmed.
    shown.sort(
        key=lambda row: (
            -len(row.missing),
            -len(row.stale),
            row.oldest or now,
            row.department.region.code,
            row.department.name,
        )
    )
    return render(
        request,
        "orgs/contact_report.html",
        {
            "rows": shown,
            "show_all": show_all,
            "total": len(rows),
            "attention_count": len(attention),
            "stale_after_months": selectors.STALE_AFTER_MONTHS,
        },
    )


# --- information systems (Art. 9) ----------------------------------------------------------


@login_required
def system_create(request, pk: int):
    department = _department(request, pk)
    perm.require(perm.can_manage_department_records(request.user, department))
    form = SystemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.register_system(_actor(request), department, **form.cleaned_data)
        except ValidationError as error:
            form.show_service_errors(error)
        else:
            messages.success(request, _("The information system has been registered."))
            return redirect(_department_url(department.pk, "systems"))
    return render(request, "orgs/system_form.html", {"form": form, "department": department, "system": None})


@login_required
def system_edit(request, pk: int):
    system = get_object_or_404(selectors.systems_visible_to(request.user).select_related("department__region"), pk=pk)
    department = system.department
    perm.require(perm.can_manage_department_records(request.user, department))
    initial = {name: getattr(system, name) for name in services.SYSTEM_FIELDS}
    form = SystemForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_system(_actor(request), system, **form.cleaned_data)
        except ValidationError as error:
            form.show_service_errors(error)
        else:
            messages.success(request, _("Saved."))
            return redirect(_department_url(department.pk, "systems"))
    return render(request, "orgs/system_form.html", {"form": form, "department": department, "system": system})


# --- people --------------------------------------------------------------------------------


@login_required
def user_create(request, pk: int):
    department = _department(request, pk)
    perm.require(perm.can_manage_users(request.user, department))
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = services.create_user(_actor(request), department=department, **form.service_values())
        except ValidationError as error:
            form.show_service_errors(error)
        else:
            messages.success(request, _("The account %(username)s has been created.") % {"username": person.username})
            return redirect(_department_url(department.pk, "users"))
    return render(request, "orgs/user_form.html", {"form": form, "department": department})


@require_POST
@login_required
def user_set_active(request, pk: int):
    person = get_object_or_404(selectors.users_visible_to(request.user), pk=pk)
    active = request.POST.get("active") == "1"
    services.set_user_active(_actor(request), person, active)
    if active:
        messages.success(request, _("The account %(username)s has been activated.") % {"username": person.username})
    else:
        messages.success(request, _("The account %(username)s has been deactivated.") % {"username": person.username})
    if person.department_id:
        return redirect(_department_url(person.department_id, "users"))
    return redirect("orgs:departments")
