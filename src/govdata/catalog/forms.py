"""Forms of the catalog pages.

They only shape input into what the services take; every rule about an entry lives in
``rules.py`` and ``services.py``, whose ValidationErrors (keyed by field, data-item problems
by ``items.<n>.<field>``) are put back next to the field or item row they concern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from . import search as catalog_search
from govdata.web.forms import BootstrapForm

from .models import DataItem, EntryVersion
from .rules import ITEM_FIELDS, VERSION_FIELDS
from .vocab import FORMAT_TYPES, DataType, FormatCategory, OpenType, PlatformMode, PriorityDomain, ShareMethod, ShareType, UpdateCycle

BLANK = [("", "—")]
LIST_SPLIT = re.compile(r"[;；,，、\s]+")


def _label(name: str) -> Any:
    return EntryVersion._meta.get_field(name).verbose_name


# --- the entry form -------------------------------------------------------------------------


def _format_type_choices() -> list:
    groups = [("", "—")]
    for category, types in FORMAT_TYPES.items():
        if types:
            groups.append((FormatCategory(category).label, [(t, t) for t in types]))
    return groups


# Which fields become required by which choice (shown as hints, and marked live by the form's
# script); the rules themselves are in rules.check_version.
CONDITIONAL_HINTS = {
    "format_type": _("Required unless the format is self-describing; the choices depend on the format category."),
    "format_description": _("Required for a self-describing format."),
    "share_conditions": _("Required for conditional sharing: who may use the data, for what."),
    "share_basis": _("Required when not shared: the law, regulation or rule relied on."),
    "platform_mode": _("Required when shared through the platform: database table, interface or file."),
    "open_conditions": _("Required for opening on application."),
    "open_basis": _("Required unless opened unconditionally (Art. 30)."),
    "update_cycle_note": _("Required when the update cycle is “other”."),
    "related_codes": _("Resource codes of related entries, separated by ；"),
}
# Field → {controlling field: values that make it required}; read by static/catalog/entry_form.js.
REQUIRED_WHEN = {
    "format_type": {"format_category": [c for c in FormatCategory.values if c != FormatCategory.SELF_DESCRIBING]},
    "format_description": {"format_category": [FormatCategory.SELF_DESCRIBING]},
    "share_conditions": {"share_type": [ShareType.CONDITIONAL]},
    "share_basis": {"share_type": [ShareType.NOT_SHARED]},
    "platform_mode": {"share_method": [ShareMethod.PLATFORM]},
    "open_conditions": {"open_type": [OpenType.ON_APPLICATION]},
    "open_basis": {"open_type": [OpenType.ON_APPLICATION, OpenType.NOT_OPEN]},
    "update_cycle_note": {"update_cycle": [UpdateCycle.OTHER]},
}
ALWAYS_REQUIRED = ("classification", "name", "summary", "format_category", "share_type", "share_method", "open_type", "update_cycle")


class EntryForm(BootstrapForm):
    classification = forms.ModelChoiceField(
        label=_("Classification"),
        queryset=None,
        empty_label="—",
        help_text=_("The resource code is issued from it and cannot change later."),
    )
    name = forms.CharField(label=_label("name"), max_length=200, required=False)
    summary = forms.CharField(label=_label("summary"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    internal_division = forms.CharField(label=_label("internal_division"), max_length=100, required=False)
    format_category = forms.ChoiceField(label=_label("format_category"), choices=BLANK + FormatCategory.choices, required=False)
    format_type = forms.ChoiceField(label=_label("format_type"), choices=_format_type_choices, required=False)
    format_description = forms.CharField(label=_label("format_description"), max_length=200, required=False)
    share_type = forms.ChoiceField(label=_label("share_type"), choices=BLANK + ShareType.choices, required=False)
    share_conditions = forms.CharField(label=_label("share_conditions"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    share_basis = forms.CharField(label=_label("share_basis"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    share_method = forms.ChoiceField(label=_label("share_method"), choices=BLANK + ShareMethod.choices, required=False)
    platform_mode = forms.ChoiceField(label=_label("platform_mode"), choices=BLANK + PlatformMode.choices, required=False)
    open_type = forms.ChoiceField(label=_label("open_type"), choices=BLANK + OpenType.choices, required=False)
    open_conditions = forms.CharField(label=_label("open_conditions"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    open_basis = forms.CharField(label=_label("open_basis"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    update_cycle = forms.ChoiceField(label=_label("update_cycle"), choices=BLANK + UpdateCycle.choices, required=False)
    update_cycle_note = forms.CharField(label=_label("update_cycle_note"), max_length=100, required=False)
    publish_date = forms.DateField(
        label=_label("publish_date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Left empty, the date of publication is used."),
    )
    related_codes = forms.CharField(label=_label("related_codes"), required=False)
    contact = forms.ModelChoiceField(label=_label("contact"), queryset=None, required=False, empty_label="—")
    themes = forms.ModelMultipleChoiceField(
        label=_label("themes"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )
    domains = forms.MultipleChoiceField(
        label=_label("domains"), choices=PriorityDomain.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    SECTIONS = (
        (_("Basic information"), ("classification", "name", "summary", "internal_division", "contact")),
        (_("Resource format"), ("format_category", "format_type", "format_description")),
        (_("Sharing"), ("share_type", "share_method", "platform_mode", "share_conditions", "share_basis")),
        (_("Opening"), ("open_type", "open_conditions", "open_basis")),
        (_("Updating and publication"), ("update_cycle", "update_cycle_note", "publish_date", "related_codes")),
        (_("Themes and priority domains"), ("themes", "domains")),
    )

    def __init__(self, *args, classifications=None, contacts=None, themes=None, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if creating:
            self.fields["classification"].queryset = classifications
        else:
            del self.fields["classification"]
        self.fields["contact"].queryset = contacts
        self.fields["contact"].label_from_instance = lambda c: f"{c.name}（{c.post}）"
        self.fields["themes"].queryset = themes
        self.fields["themes"].label_from_instance = lambda c: c.name
        for name, hint in CONDITIONAL_HINTS.items():
            self.fields[name].help_text = hint
        for name in ALWAYS_REQUIRED:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-required"] = "true"

    def sections(self):
        for title, names in self.SECTIONS:
            yield title, [self[name] for name in names if name in self.fields]

    @staticmethod
    def initial_from(version: EntryVersion) -> dict[str, Any]:
        initial = {name: getattr(version, name) for name in VERSION_FIELDS}
        initial["related_codes"] = "；".join(version.related_codes or [])
        initial["themes"] = list(version.themes.all())
        return initial

    def service_values(self) -> dict[str, Any]:
        """The cleaned data as the services take it."""
        data = self.cleaned_data
        values = {name: data.get(name) for name in VERSION_FIELDS}
        values["related_codes"] = [c for c in LIST_SPLIT.split(data.get("related_codes") or "") if c]
        values["themes"] = list(data.get("themes") or [])
        values["domains"] = list(data.get("domains") or [])
        for name in VERSION_FIELDS:
            if values[name] is None and name not in ("publish_date", "contact"):
                values[name] = ""
        return values


# --- data items (plain indexed inputs: items-0-name, items-0-code, ...) ---------------------

ITEM_KEY = re.compile(r"^items-(\d+)-(" + "|".join(ITEM_FIELDS) + r")$")
ITEM_FLAGS = ("required", "is_key", "sensitive")


def item_label(name: str) -> Any:
    return DataItem._meta.get_field(name).verbose_name


@dataclass
class ItemRow:
    """One row of the items table as shown: raw values and the problems found with them."""

    values: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)

    def all_errors(self) -> list[tuple[Any, str]]:
        return [
            (item_label(name) if name in ITEM_FIELDS else _("Data item"), m) for name, ms in self.errors.items() for m in ms
        ]


def item_rows_from_post(data) -> list[ItemRow]:
    """The rows posted, in index order, leaving out rows left completely blank."""
    rows: dict[int, dict[str, Any]] = {}
    for key in data:
        match = ITEM_KEY.match(key)
        if match:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = data.get(key)
    out = []
    for index in sorted(rows):
        raw = rows[index]
        values = {name: (raw.get(name) or "").strip() for name in ITEM_FIELDS if name not in ITEM_FLAGS}
        for flag in ITEM_FLAGS:
            values[flag] = bool(raw.get(flag))
        if not any(values[name] for name in ("name", "code", "data_type", "length", "description")):
            continue
        out.append(ItemRow(values))
    return out


def item_rows_from_version(version: EntryVersion | None) -> list[ItemRow]:
    if version is None:
        return []
    return [
        ItemRow({**{name: getattr(item, name) for name in ITEM_FIELDS}, "length": item.length or ""})
        for item in version.items.all()
    ]


def _length(raw: Any) -> Any:
    text = str(raw).strip() if raw is not None else ""
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text  # the rules report it as not a whole number


def service_items(rows: list[ItemRow]) -> list[dict[str, Any]]:
    return [{**row.values, "length": _length(row.values.get("length"))} for row in rows]


def attach_item_errors(rows: list[ItemRow], problems: dict[str, list[str]]) -> list[str]:
    """Put ``items.<n>.<field>`` problems on row n; return the rest (e.g. "items")."""
    rest = []
    for key, messages in problems.items():
        parts = key.split(".")
        if parts[0] == "items" and len(parts) >= 2 and parts[1].isdigit() and 0 < int(parts[1]) <= len(rows):
            name = parts[2] if len(parts) > 2 else "row"
            rows[int(parts[1]) - 1].errors.setdefault(name, []).extend(messages)
        else:
            rest.extend(messages)
    return rest


DATA_TYPE_CHOICES = DataType.choices


# --- small forms ----------------------------------------------------------------------------


class ReturnForm(BootstrapForm):
    reason = forms.CharField(
        label=_("Reason for return"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Say what must be corrected; the department sees this text."),
    )


class PublishForm(BootstrapForm):
    note = forms.CharField(label=_("Note to the department (optional)"), required=False, max_length=500)


class ImportForm(BootstrapForm):
    file = forms.FileField(
        label=_("Filled-in workbook (.xlsx)"),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        ),
    )


class LegalChangeForm(BootstrapForm):
    title = forms.CharField(label=_("Change of law or duties"), max_length=200, required=False)
    occurred_on = forms.DateField(
        label=_("Date of the change"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    entries = forms.ModelMultipleChoiceField(
        label=_("Affected entries"),
        queryset=None,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("Hold Ctrl to choose several. Each is due within 10 working days of the change."),
    )

    def __init__(self, *args, candidates=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entries"].queryset = candidates
        self.fields["entries"].label_from_instance = lambda e: f"{e.code} {e.published.name if e.published else ''} · {e.provider.short_name or e.provider.name}"


# --- search ---------------------------------------------------------------------------------

SORTS = (
    ("relevance", pgettext_lazy("catalog sort", "Relevance")),
    ("newest", pgettext_lazy("catalog sort", "Newest")),
    ("name", pgettext_lazy("catalog sort", "Name")),
)


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Keywords"), required=False, max_length=100)
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORTS, required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=500)

    def filters(self) -> dict[str, list[str]]:
        return {facet: [v for v in self.data.getlist(facet) if v][:20] for facet in catalog_search.FACETS}
