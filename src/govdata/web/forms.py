"""Form plumbing shared by every app's pages: Bootstrap classes, and putting a service's
ValidationError back on the form (the services own the rules; forms only shape input)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def _css_for(widget: forms.Widget) -> str:
    if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
        return "form-check-input"
    if isinstance(widget, forms.Select):
        return "form-select"
    return "form-control"


class BootstrapForm(forms.Form):
    """Bootstrap 5 classes on every widget, and ``is-invalid`` on fields with errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {_css_for(widget)}".strip()

    def full_clean(self):
        super().full_clean()
        self.mark_invalid()

    def mark_invalid(self) -> None:
        for name in getattr(self, "_errors", None) or {}:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()

    def add_service_errors(self, error: ValidationError) -> dict[str, list[str]]:
        """Put a service's errors on the form's fields; return those the form has no field
        for (e.g. data items) for the caller to show where they belong."""
        rest: dict[str, list[str]] = {}
        if hasattr(error, "error_dict"):
            for name, messages in error.message_dict.items():
                if name in self.fields:
                    self.add_error(name, messages)
                elif name == NON_FIELD_ERRORS:
                    self.add_error(None, messages)
                else:
                    rest.setdefault(name, []).extend(messages)
        else:
            self.add_error(None, error.messages)
        self.mark_invalid()
        return rest

    def show_service_errors(self, error: ValidationError, *, name_fields: bool = True) -> None:
        """Like :meth:`add_service_errors`, with errors on fields the form lacks shown
        form-wide, naming the field — or, with ``name_fields=False``, as they are (for
        messages that already say what they are about, e.g. the resource or entry as a whole)."""
        rest = self.add_service_errors(error)
        if rest:
            self.add_error(
                None,
                [f"{name}: {message}" if name_fields else message for name, messages in rest.items() for message in messages],
            )
