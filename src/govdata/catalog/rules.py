"""The catalog's validation rules, in one place: the form, the API and the spreadsheet import
all call :func:`check_version`, which returns every problem keyed by field."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from django.utils.translation import gettext as _

from .vocab import (
    FORMAT_TYPES,
    DataType,
    FormatCategory,
    OpenType,
    PlatformMode,
    PriorityDomain,
    ShareMethod,
    ShareType,
    UpdateCycle,
)

FIELD_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
# The stored content of a version (what the form, the import and the diff deal with).
VERSION_FIELDS = (
    "name",
    "summary",
    "internal_division",
    "format_category",
    "format_type",
    "format_description",
    "share_type",
    "share_conditions",
    "share_basis",
    "share_method",
    "platform_mode",
    "open_type",
    "open_conditions",
    "open_basis",
    "update_cycle",
    "update_cycle_note",
    "publish_date",
    "related_codes",
    "contact",
    "domains",
)
ITEM_FIELDS = ("name", "code", "data_type", "length", "required", "is_key", "sensitive", "description")


class Problems(defaultdict):
    def __init__(self):
        super().__init__(list)

    def add(self, field: str, message: str) -> None:
        self[field].append(message)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _choice(problems: Problems, values: dict, field: str, choices: type) -> str | None:
    value = values.get(field)
    if _blank(value):
        problems.add(field, _("This field is required."))
        return None
    if value not in choices.values:
        problems.add(field, _("“%(value)s” is not one of the allowed values.") % {"value": value})
        return None
    return value


def check_version(values: dict[str, Any], items: list[dict[str, Any]], classification: Any) -> dict[str, list[str]]:
    """All problems of an entry version; empty when it may be saved. Item problems are keyed
    ``items.<n>.<field>`` with n counted from 1 as the user sees them."""
    p = Problems()
    for field in ("name", "summary"):
        if _blank(values.get(field)):
            p.add(field, _("This field is required."))
    if values.get("is_classified"):
        p.add("is_classified", _("Classified (涉密) data must never be catalogued on this platform."))

    category = _choice(p, values, "format_category", FormatCategory)
    if category:
        types = FORMAT_TYPES[category]
        if category == FormatCategory.SELF_DESCRIBING:
            if _blank(values.get("format_description")):
                p.add("format_description", _("Describe the self-describing format."))
        elif values.get("format_type") not in types:
            p.add("format_type", _("Choose one of: %(types)s.") % {"types": ", ".join(types)})

    share = _choice(p, values, "share_type", ShareType)
    if share == ShareType.CONDITIONAL and _blank(values.get("share_conditions")):
        p.add("share_conditions", _("Conditional sharing needs its conditions."))
    if share == ShareType.NOT_SHARED and _blank(values.get("share_basis")):
        p.add("share_basis", _("Not sharing needs the law, regulation or rule it relies on."))
    if classification is not None and share and share != ShareType.UNCONDITIONAL and must_share(classification):
        p.add(
            "share_type",
            _("Base resources (%(name)s) must be shared unconditionally (Art. 19).")
            % {"name": base_ancestor(classification).name},
        )

    method = _choice(p, values, "share_method", ShareMethod)
    mode = values.get("platform_mode") or ""
    if method == ShareMethod.PLATFORM and mode not in PlatformMode.values:
        p.add("platform_mode", _("Sharing through the platform needs a mode: table, interface or file."))
    if method and method != ShareMethod.PLATFORM and mode:
        p.add("platform_mode", _("A platform mode only applies to sharing through the platform."))

    opening = _choice(p, values, "open_type", OpenType)
    if opening and opening != OpenType.UNCONDITIONAL and _blank(values.get("open_basis")):
        p.add("open_basis", _("State the basis for not opening or for restricting opening (Art. 30)."))
    if opening == OpenType.ON_APPLICATION and _blank(values.get("open_conditions")):
        p.add("open_conditions", _("Opening on application needs its conditions."))
    if share == ShareType.NOT_SHARED and opening and opening != OpenType.NOT_OPEN:
        p.add("open_type", _("Data not shared with departments cannot be opened to the public."))

    cycle = _choice(p, values, "update_cycle", UpdateCycle)
    if cycle == UpdateCycle.OTHER and _blank(values.get("update_cycle_note")):
        p.add("update_cycle_note", _("Describe the update cycle."))

    for domain in values.get("domains") or []:
        if domain not in PriorityDomain.values:
            p.add("domains", _("“%(value)s” is not a priority domain.") % {"value": domain})
    for theme in values.get("themes") or []:
        if not getattr(theme, "is_theme", False):
            p.add("themes", _("“%(value)s” is not a theme.") % {"value": theme})

    _check_items(p, items)
    return dict(p)


def _check_items(p: Problems, items: list[dict[str, Any]]) -> None:
    if not items:
        p.add("items", _("List at least one data item."))
    seen: dict[str, int] = {}
    for n, item in enumerate(items, start=1):
        key = f"items.{n}"
        if _blank(item.get("name")):
            p.add(f"{key}.name", _("This field is required."))
        code = (item.get("code") or "").strip()
        if not FIELD_CODE.match(code):
            p.add(f"{key}.code", _("A field code starts with a letter and has only letters, digits and _."))
        elif code.lower() in seen:
            p.add(f"{key}.code", _("Field code “%(code)s” repeats item %(n)d.") % {"code": code, "n": seen[code.lower()]})
        else:
            seen[code.lower()] = n
        data_type = item.get("data_type")
        if data_type not in DataType.values:
            p.add(f"{key}.data_type", _("Use one of the guide's type codes: %(codes)s.") % {"codes": " ".join(DataType.values)})
        length = item.get("length")
        if length is not None and (not isinstance(length, int) or isinstance(length, bool) or not 0 < length <= 100000):
            p.add(f"{key}.length", _("The length is a whole number between 1 and 100000."))
        if data_type == DataType.CHAR and length is None:
            p.add(f"{key}.length", _("A character item needs its length."))
        if item.get("is_key") and not item.get("required"):
            p.add(f"{key}.required", _("A key item must be required."))


def base_ancestor(classification: Any) -> Any:
    node = classification
    while node is not None and not node.must_share_unconditionally:
        node = node.parent
    return node


def must_share(classification: Any) -> bool:
    return base_ancestor(classification) is not None
