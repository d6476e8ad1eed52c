"""Forms of the working-day calendar pages (input shape only; the services decide)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CalendarOverride

MAX_WORKING_DAYS = 365


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs={"class": "form-control", **(attrs or {})}, format="%Y-%m-%d")


def _text(attrs=None):
    return forms.TextInput(attrs={"class": "form-control", **(attrs or {})})


class DeadlineForm(forms.Form):
    received = forms.DateField(label=_("Date of receipt"), widget=DateInput())
    days = forms.IntegerField(
        label=_("Working days"),
        min_value=1,
        max_value=MAX_WORKING_DAYS,
        initial=5,
        widget=forms.NumberInput(attrs={"class": "form-control", "min": 1, "max": MAX_WORKING_DAYS}),
    )


class OverrideForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=DateInput())
    kind = forms.ChoiceField(
        label=_("Day type"), choices=CalendarOverride.Kind.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    name = forms.CharField(
        label=_("Note"), max_length=50, required=False, widget=_text({"placeholder": _("e.g. Spring Festival")})
    )


class RemoveOverrideForm(forms.Form):
    date = forms.DateField(widget=forms.HiddenInput)


class ConfirmYearForm(forms.Form):
    year = forms.IntegerField(
        label=_("Year"), min_value=2000, max_value=2100, widget=forms.NumberInput(attrs={"class": "form-control"})
    )
    source = forms.CharField(
        label=_("State Council notice"),
        max_length=200,
        widget=_text({"placeholder": _("e.g. the State Council General Office notice on the holidays of 2027")}),
    )
