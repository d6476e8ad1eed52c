"""Forms of the datastore pages. They only shape input: every rule is the services' and comes
back as a ValidationError that ``BootstrapForm.add_service_errors`` puts on the field it names
(so the field names here are the services' keys)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from govdata.web.forms import BootstrapForm

from .models import ApiEndpoint, Check, DataVersion, Mask, Resource, ResourceColumn, UpstreamFeed
from .services.feeds import ORIGINS
from .services.files import LICENCE_FIELDS

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
ORIGIN_LABELS = {"provincial": _("Provincial"), "national": _("National")}


class MountForm(BootstrapForm):
    kind = forms.ChoiceField(
        label=_("Kind of resource"), choices=Resource.Kind.choices, initial=Resource.Kind.TABLE, widget=forms.RadioSelect
    )
    name = forms.CharField(label=_("Resource name"), max_length=200, required=False)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ReasonForm(BootstrapForm):
    """The reason of a return or a suspension; the service says when it is missing."""

    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The department sees this text."),
    )


class ColumnRulesForm(BootstrapForm):
    """One column's content check and masking rule (one form per row, prefixed by the column)."""

    content_check = forms.ChoiceField(label=_("Content check"), choices=Check.choices, required=False)
    mask = forms.ChoiceField(label=_("Masking"), choices=Mask.choices, required=False)

    def __init__(self, *args, column: ResourceColumn, **kwargs):
        kwargs.setdefault("initial", {"content_check": column.content_check, "mask": column.mask})
        super().__init__(*args, prefix=f"column-{column.pk}", **kwargs)
        self.column = column
        for field in self.fields.values():
            field.widget.attrs["class"] += " form-select-sm"

    def changed(self) -> bool:
        data = self.cleaned_data
        return (data["content_check"], data["mask"]) != (self.column.content_check, self.column.mask)


class LoadForm(BootstrapForm):
    file = forms.FileField(
        label=_("Data file (CSV, XLSX or JSON lines)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,.jsonl,.json"}),
    )
    mode = forms.ChoiceField(
        label=_("Mode"), choices=DataVersion.Mode.choices, initial=DataVersion.Mode.REPLACE, widget=forms.RadioSelect
    )
    quarantine = forms.BooleanField(
        label=_("Load the valid rows and quarantine the rest"),
        required=False,
        help_text=_("Otherwise any problem rejects the whole file and the table stays as it was."),
    )


class LicenceFields(BootstrapForm):
    """Optional e-licence / e-archive metadata of a file (all or nothing: the service asks for
    the holder once any of it is given)."""

    holder_id = forms.CharField(label=_("Holder's ID number or unified social credit code"), required=False, max_length=30)
    holder_name = forms.CharField(label=_("Holder"), required=False, max_length=200)
    licence_number = forms.CharField(label=_("Licence number"), required=False, max_length=100)
    issuer = forms.CharField(label=_("Issuer"), required=False, max_length=200)
    valid_from = forms.DateField(label=_("Valid from"), required=False, widget=DATE_WIDGET)
    valid_until = forms.DateField(label=_("Valid until"), required=False, widget=DATE_WIDGET)

    def licence(self) -> dict[str, Any] | None:
        values = {name: self.cleaned_data.get(name) for name in LICENCE_FIELDS}
        return values if any(values.values()) else None


class FileUploadForm(LicenceFields):
    file = forms.FileField(label=_("File"))
    field_order = ["file", *LICENCE_FIELDS]


class FileReplaceForm(BootstrapForm):
    file = forms.FileField(label=_("New file"), help_text=_("The licence details are carried over."))


class WithdrawForm(BootstrapForm):
    reason = forms.CharField(
        label=_("Reason for withdrawal"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Recorded in the audit trail; the stored file is kept for verification."),
    )


class ApiForm(BootstrapForm):
    url = forms.CharField(label=_("Interface address"), max_length=500, required=False)
    method = forms.ChoiceField(label=_("Method"), choices=ApiEndpoint.Method.choices)
    parameter_schema = forms.CharField(
        label=_("Parameters (JSON Schema)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "class": "font-monospace", "spellcheck": "false"}),
        help_text=_('For example {"type": "object", "properties": {"sfzh": {"type": "string"}}, "required": ["sfzh"]}'),
    )
    auth = forms.ChoiceField(label=_("Authentication"), choices=ApiEndpoint.Auth.choices)
    auth_name = forms.CharField(
        label=_("Header or parameter name"),
        required=False,
        max_length=100,
        help_text=_("For a header token or a query parameter."),
    )
    credentials = forms.CharField(
        label=_("Credentials"),
        required=False,
        # Write-only: never rendered back into the page.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    timeout_seconds = forms.IntegerField(label=_("Timeout (seconds)"), required=False, initial=10)

    def __init__(self, *args, endpoint: ApiEndpoint | None = None, **kwargs):
        if endpoint is not None:
            kwargs.setdefault(
                "initial",
                {
                    "url": endpoint.url,
                    "method": endpoint.method,
                    "parameter_schema": json.dumps(endpoint.parameter_schema, ensure_ascii=False, indent=2),
                    "auth": endpoint.auth,
                    "auth_name": endpoint.auth_name,
                    "timeout_seconds": endpoint.timeout_seconds,
                },
            )
        super().__init__(*args, **kwargs)
        self.endpoint = endpoint
        credentials = self.fields["credentials"]
        if endpoint is not None and endpoint.credentials:
            credentials.help_text = _("A credential is set; leave this empty to keep it.")
        else:
            credentials.help_text = _("Token or key; for HTTP basic, user:password.")

    def service_values(self) -> dict[str, Any]:
        """The registration as ``register_api``/``update_api`` take it; an empty credential
        field keeps the stored one on update."""
        values = dict(self.cleaned_data)
        values["parameter_schema"] = values["parameter_schema"] or None
        if not values["credentials"]:
            if self.endpoint is not None:
                del values["credentials"]
            else:
                values["credentials"] = None
        return values


class FeedForm(BootstrapForm):
    kind = forms.ChoiceField(label=_("Source"), choices=UpstreamFeed.Kind.choices)
    location = forms.CharField(
        label=_("Folder or URL"),
        max_length=500,
        required=False,
        help_text=_("A drop folder inside the platform's upstream folder, or an http(s) address answering with the current export."),
    )
    mode = forms.ChoiceField(label=_("Mode"), choices=DataVersion.Mode.choices)
    origin = forms.ChoiceField(label=_("Origin"), choices=[(origin, ORIGIN_LABELS[origin]) for origin in ORIGINS])

    def __init__(self, *args, feed: UpstreamFeed | None = None, **kwargs):
        if feed is not None:
            kwargs.setdefault(
                "initial", {"kind": feed.kind, "location": feed.location, "mode": feed.mode, "origin": feed.origin}
            )
        super().__init__(*args, **kwargs)

