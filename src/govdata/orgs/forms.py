"""Forms of the organisation pages.

They only shape and check input; every rule about the data itself (uniqueness, credit code and
mobile checks, permissions) lives in ``services.py``, whose ValidationErrors are put back on the
form by ``BootstrapForm.show_service_errors``.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from govdata.common.validators import validate_mobile
from govdata.web.forms import BootstrapForm

from .models import ContactRole, DepartmentKind, InformationSystem, Role, Sector

DEPARTMENT_USER_ROLES = [
    (Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_ADMIN.label),
    (Role.DEPARTMENT_STAFF, Role.DEPARTMENT_STAFF.label),
    (Role.SECURITY_OFFICER, Role.SECURITY_OFFICER.label),
]


class DepartmentForm(BootstrapForm):
    name = forms.CharField(label=_("name"), max_length=100)
    short_name = forms.CharField(label=_("short name"), max_length=30, required=False)
    credit_code = forms.CharField(
        label=_("unified social credit code"),
        max_length=18,
        help_text=_("18 characters, GB 32100-2015."),
    )
    region = forms.ModelChoiceField(label=_("region"), queryset=None, empty_label=None)
    parent = forms.ModelChoiceField(
        label=_("parent department"), queryset=None, required=False, empty_label=_("(none)")
    )
    kind = forms.ChoiceField(label=_("kind"), choices=DepartmentKind.choices)
    sector = forms.ChoiceField(
        label=_("sector"),
        choices=[("", _("(not a public enterprise)")), *Sector.choices],
        required=False,
        help_text=_("Only public enterprises and institutions state a sector."),
    )
    is_active = forms.BooleanField(label=pgettext_lazy("orgs", "active"), required=False, initial=True)

    def __init__(self, *args, regions, parents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions
        self.fields["parent"].queryset = parents

    def clean(self):
        cleaned = super().clean()
        kind, sector = cleaned.get("kind"), cleaned.get("sector")
        # The model's check constraint would only say "constraint violated"; name the field.
        if kind == DepartmentKind.PUBLIC_ENTERPRISE and not sector:
            self.add_error("sector", _("A public enterprise or institution must state its sector."))
        elif kind and kind != DepartmentKind.PUBLIC_ENTERPRISE and sector:
            self.add_error("sector", _("Only public enterprises and institutions state a sector."))
        return cleaned


class ContactForm(BootstrapForm):
    role = forms.ChoiceField(label=_("contact type"), choices=ContactRole.choices)
    name = forms.CharField(label=pgettext_lazy("person", "name"), max_length=50)
    post = forms.CharField(label=_("post"), max_length=100)
    mobile = forms.CharField(
        label=_("mobile"),
        max_length=30,
        help_text=_("11 digits, for example 13912345678."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    office_phone = forms.CharField(label=_("office phone"), max_length=30, required=False)
    email = forms.EmailField(label=_("email"), required=False)


class SystemForm(BootstrapForm):
    name = forms.CharField(label=_("name"), max_length=100)
    owner = forms.CharField(label=_("owner (person or division)"), max_length=100)
    status = forms.ChoiceField(label=_("status"), choices=InformationSystem.Status.choices)
    connected = forms.BooleanField(label=_("connected to the platform"), required=False)
    interface_notes = forms.CharField(
        label=_("interface notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    is_active = forms.BooleanField(label=_("in service"), required=False, initial=True)


class UserCreateForm(BootstrapForm):
    username = forms.CharField(label=_("user name"), max_length=150)
    full_name = forms.CharField(label=_("full name"), max_length=50)
    role = forms.ChoiceField(label=_("role"), choices=DEPARTMENT_USER_ROLES)
    # The user model itself does not check the number, so the form does.
    mobile = forms.CharField(label=_("mobile"), max_length=11, required=False, validators=[validate_mobile])
    email = forms.EmailField(label=_("email"), required=False)
    password = forms.CharField(
        label=_("initial password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters, not only digits, not a common password."),
    )
    password2 = forms.CharField(
        label=_("repeat the password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("password2") and cleaned["password"] != cleaned["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return cleaned

    def service_values(self) -> dict:
        values = dict(self.cleaned_data)
        values.pop("password2", None)
        return values


class DepartmentFilterForm(BootstrapForm):
    region = forms.ModelChoiceField(label=_("region"), queryset=None, required=False, empty_label=_("All regions"))
    kind = forms.ChoiceField(label=_("kind"), choices=[("", _("All kinds")), *DepartmentKind.choices], required=False)

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions
