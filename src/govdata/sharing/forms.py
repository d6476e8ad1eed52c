"""Forms of the sharing pages. They only shape input: every rule is the services' and comes
back as a ValidationError that ``BootstrapForm.add_service_errors`` puts on the field it names
(so the field names here are the services' keys). Fields the services check are therefore
optional here, so that their messages are the ones shown."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from govdata.datastore.forms import DATE_WIDGET
from govdata.orgs.models import InformationSystem
from govdata.web.forms import BootstrapForm


def _text(rows: int = 2) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


def _item_choices(items: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(code, f"{name} ({code})" if name else code) for code, name in items]


class RequestForm(BootstrapForm):
    """A share request for a conditional entry (R-20.2)."""

    items = forms.MultipleChoiceField(label=_("Data items wanted"), required=False, widget=forms.CheckboxSelectMultiple)
    purpose = forms.CharField(label=_("Purpose"), required=False, widget=_text())
    legal_duty = forms.CharField(
        label=_("Legal duty served"),
        required=False,
        widget=_text(),
        help_text=_("The law, regulation or official duty the use of the data serves."),
    )
    scope = forms.CharField(
        label=_("Scope of use"), required=False, widget=_text(), help_text=_("Which offices and staff use the data.")
    )
    period_start = forms.DateField(label=_("Use from"), required=False, widget=DATE_WIDGET)
    period_end = forms.DateField(label=_("Use until"), required=False, widget=DATE_WIDGET)
    system = forms.ModelChoiceField(
        label=_("Consuming system"),
        queryset=InformationSystem.objects.none(),
        required=False,
        help_text=_("The information system of our department that will use the data."),
    )

    def __init__(self, *args, items: Iterable[tuple[str, str]], systems: QuerySet[InformationSystem], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = _item_choices(items)
        self.fields["system"].queryset = systems


class ApproveForm(BootstrapForm):
    """The provider's approval: some or all of the items asked for, possibly a shorter period."""

    items = forms.MultipleChoiceField(label=_("Items granted"), required=False, widget=forms.CheckboxSelectMultiple)
    valid_until = forms.DateField(
        label=_("Valid until"),
        required=False,
        widget=DATE_WIDGET,
        help_text=_("Leave empty for the whole period asked for."),
    )
    note = forms.CharField(label=_("Note to the requesting department"), required=False, widget=_text())

    def __init__(self, *args, items: Iterable[tuple[str, str]], **kwargs):
        items = list(items)
        kwargs.setdefault("initial", {"items": [code for code, _name in items]})
        super().__init__(*args, prefix="approve", **kwargs)
        self.fields["items"].choices = _item_choices(items)


class RejectForm(BootstrapForm):
    basis = forms.CharField(
        label=_("Law, regulation or rule relied on"),
        required=False,
        widget=_text(),
        help_text=_("A refusal must cite its legal basis; the requesting department sees it."),
    )
    note = forms.CharField(label=_("Explanation"), required=False, widget=_text())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="reject", **kwargs)


class RevokeForm(BootstrapForm):
    reason = forms.CharField(
        label=_("Reason for revocation"),
        required=False,
        widget=_text(),
        help_text=_("The consuming department is told; the grant stops working at once."),
    )


class RenewForm(BootstrapForm):
    period_end = forms.DateField(label=_("Use until"), required=False, widget=DATE_WIDGET)
    purpose = forms.CharField(
        label=_("Purpose"),
        required=False,
        widget=_text(),
        help_text=_("Leave empty to keep the grant's purpose."),
    )

    def service_values(self) -> dict[str, Any]:
        """``renew`` keeps the grant's purpose when given none (rather than an empty one)."""
        return {"period_end": self.cleaned_data["period_end"], "purpose": self.cleaned_data["purpose"] or None}


class UseDataForm(BootstrapForm):
    """What to read: the purpose (fixed by a grant, so absent then) and one filter on an item
    the reader may see."""

    purpose = forms.CharField(
        label=_("Purpose of this use"),
        max_length=500,
        help_text=_("Recorded with every read and export."),
    )
    field = forms.ChoiceField(label=_("Filter on"), required=False)
    value = forms.CharField(label=_("Equal to"), required=False, max_length=1000)

    def __init__(self, *args, columns: Iterable[tuple[str, str]], purpose_fixed: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if purpose_fixed:
            del self.fields["purpose"]
        self.fields["field"].choices = [("", _("(no filter)")), *_item_choices(columns)]

    def clean(self):
        data = super().clean()
        if (data.get("value") or "").strip() and not data.get("field"):
            self.add_error("field", _("Choose the item to filter on."))
        return data

    def stated_purpose(self) -> str:
        """Empty under a grant: the access service reads for the grant's purpose."""
        return self.cleaned_data.get("purpose", "")

    def params(self) -> dict[str, str]:
        """The query engine's parameters, spelled ``<code>__eq`` so that no item code can be
        taken for one of the engine's own parameters (``q``, ``sort``, ``limit`` …)."""
        field, value = self.cleaned_data.get("field"), (self.cleaned_data.get("value") or "").strip()
        return {f"{field}__eq": value} if field and value else {}
