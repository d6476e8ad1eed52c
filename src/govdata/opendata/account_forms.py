"""Forms of the public accounts, applications and feedback pages. They only shape input: the
services own every rule and name the field a problem belongs to (so the field names here are
the services' keys), which is why the fields they check are optional here."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from govdata.datastore.forms import DATE_WIDGET
from govdata.web.forms import BootstrapForm

from .models import Feedback, PublicProfile
from .services.applications import UNDERTAKINGS


NEW_PASSWORD = forms.PasswordInput(attrs={"autocomplete": "new-password"})


def _text(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class RegisterForm(BootstrapForm):
    kind = forms.ChoiceField(
        label=_("I register as"),
        choices=PublicProfile.Kind.choices,
        initial=PublicProfile.Kind.NATURAL,
        widget=forms.RadioSelect,
    )
    username = forms.CharField(label=_("User name"), max_length=150, required=False)
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=NEW_PASSWORD,
        help_text=_("At least 10 characters, not only digits, not a common password."),
    )
    password_again = forms.CharField(label=_("Password again"), required=False, strip=False, widget=NEW_PASSWORD)
    full_name = forms.CharField(
        label=_("Real name"),
        max_length=50,
        required=False,
        help_text=_("For an organisation: the name of the contact person."),
    )
    mobile = forms.CharField(label=_("Mobile"), max_length=11, required=False)
    email = forms.CharField(label=_("E-mail (optional)"), max_length=254, required=False)
    id_number = forms.CharField(label=_("ID number"), max_length=18, required=False)
    organisation = forms.CharField(label=_("Organisation name"), max_length=100, required=False)
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=18, required=False)

    def clean(self):
        data = super().clean()
        if data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        return data

    def service_values(self) -> dict[str, str]:
        """What ``accounts.register`` takes: the fields of the kind chosen only."""
        data = dict(self.cleaned_data)
        data.pop("password_again")
        kind_fields = ("id_number",) if data["kind"] == PublicProfile.Kind.NATURAL else ("organisation", "credit_code")
        for name in ("id_number", "organisation", "credit_code"):
            if name not in kind_fields:
                data.pop(name)
        return data


class ApplicationForm(BootstrapForm):
    purpose = forms.CharField(label=_("Purpose"), required=False, widget=_text(), help_text=_("What the data is for."))
    scenario = forms.CharField(
        label=_("Usage scenario"),
        required=False,
        widget=_text(),
        help_text=_("How, where and by whom the data will be used (e.g. a research project, an app, a service)."),
    )
    period_start = forms.DateField(label=_("Use from"), required=False, widget=DATE_WIDGET)
    period_end = forms.DateField(label=_("Use until"), required=False, widget=DATE_WIDGET)
    undertakings = forms.MultipleChoiceField(
        label=_("Undertakings"), required=False, choices=list(UNDERTAKINGS.items()), widget=forms.CheckboxSelectMultiple
    )


class ApproveForm(BootstrapForm):
    approved_from = forms.DateField(
        label=_("Approved from"), required=False, widget=DATE_WIDGET, help_text=_("Leave empty to start today.")
    )
    approved_until = forms.DateField(
        label=_("Approved until"),
        required=False,
        widget=DATE_WIDGET,
        help_text=_("Leave empty for the end of the period applied for."),
    )
    note = forms.CharField(label=_("Note to the applicant"), required=False, widget=_text(2))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="approve", **kwargs)


class RejectForm(BootstrapForm):
    reasons = forms.CharField(
        label=_("Reasons for refusal"),
        required=False,
        widget=_text(),
        help_text=_("A refusal must state its reasons (Art. 29); the applicant sees them."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="reject", **kwargs)


class FeedbackForm(BootstrapForm):
    """A comment with a rating, or an error report, on a dataset."""

    KINDS = [(Feedback.Kind.COMMENT, _("Comment and rating")), (Feedback.Kind.ERROR_REPORT, _("Report an error"))]

    kind = forms.ChoiceField(label=_("Kind"), choices=KINDS, initial=Feedback.Kind.COMMENT, widget=forms.RadioSelect)
    rating = forms.TypedChoiceField(
        label=_("Rating"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[(n, "★" * n) for n in range(5, 0, -1)],
        widget=forms.RadioSelect,
    )
    title = forms.CharField(
        label=_("Where is the error?"),
        max_length=100,
        required=False,
        help_text=_("The resource, column or row concerned."),
    )
    body = forms.CharField(label=_("Text"), required=False, widget=_text())


class DataRequestForm(BootstrapForm):
    title = forms.CharField(label=_("Data wanted"), max_length=100, required=False)
    body = forms.CharField(
        label=_("Description"),
        required=False,
        widget=_text(),
        help_text=_("What the data should contain, which department may hold it, and what it would be used for."),
    )

