"""CSV and JSON exports of catalog versions (the xlsx export is spreadsheet.build_workbook).

CSV: one row per entry, data items summarised in one cell, UTF-8 with a BOM so that Excel
opens the Chinese text correctly; cells that a spreadsheet would read as a formula are
prefixed with an apostrophe. JSON: every field with its stored code and its label, and the
full data items.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from .models import EntryVersion
from .rules import ITEM_FIELDS
from .vocab import DataType, PriorityDomain

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: Any) -> Any:
    """Neutralise CSV formula injection (a cell starting with = + - @ runs in Excel)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _domains(version: EntryVersion) -> str:
    labels = dict(PriorityDomain.choices)
    return "；".join(str(labels.get(d, d)) for d in version.domains or [])


def item_summary(version: EntryVersion) -> str:
    """“姓名(xm, C 字符型, 50)；…” — one cell for all data items."""
    parts = []
    for item in version.items.all():
        detail = [item.code, item.get_data_type_display()]
        if item.length:
            detail.append(str(item.length))
        parts.append(f"{item.name}({', '.join(detail)})")
    return "；".join(parts)


def csv_columns() -> list[tuple[str, Any]]:
    return [
        (_("Resource code"), lambda v: v.entry.code),
        (_("Resource name"), lambda v: v.name),
        (_("Version"), lambda v: v.number),
        (_("Status"), lambda v: v.get_status_display()),
        (_("Provider"), lambda v: v.entry.provider.name),
        (_("Internal division"), lambda v: v.internal_division),
        (_("Classification"), lambda v: str(v.entry.classification)),
        (pgettext("catalog", "Summary"), lambda v: v.summary),
        (_("Format category"), lambda v: v.get_format_category_display()),
        (_("Format type"), lambda v: v.format_type or v.format_description),
        (_("Sharing type"), lambda v: v.get_share_type_display()),
        (_("Sharing conditions"), lambda v: v.share_conditions),
        (_("Legal basis for not sharing"), lambda v: v.share_basis),
        (_("Sharing method"), lambda v: v.get_share_method_display()),
        (_("Platform mode"), lambda v: v.get_platform_mode_display() if v.platform_mode else ""),
        (_("Opening type"), lambda v: v.get_open_type_display()),
        (_("Opening conditions"), lambda v: v.open_conditions),
        (_("Basis for not opening or restricting"), lambda v: v.open_basis),
        (_("Update cycle"), lambda v: v.get_update_cycle_display()),
        (_("Update cycle note"), lambda v: v.update_cycle_note),
        (_("Publish date"), lambda v: v.publish_date.isoformat() if v.publish_date else ""),
        (_("Related resource codes"), lambda v: "；".join(v.related_codes or [])),
        (_("Themes"), lambda v: "；".join(t.name for t in v.themes.all())),
        (_("Priority domains"), _domains),
        (_("Contact"), lambda v: v.contact.name if v.contact_id else ""),
        (_("Data items"), item_summary),
    ]


def to_csv(versions: Iterable[EntryVersion]) -> bytes:
    columns = csv_columns()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(title) for title, _getter in columns])
    for version in versions:
        writer.writerow([_safe(getter(version)) for _title, getter in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _coded(value: str, label: Any) -> dict[str, str]:
    return {"code": value, "label": str(label) if value else ""}


def version_dict(version: EntryVersion) -> dict[str, Any]:
    entry = version.entry
    data_types = dict(DataType.choices)
    return {
        "code": entry.code,
        "classification": {"code": entry.classification.code, "name": entry.classification.name},
        "provider": {"id": entry.provider_id, "name": entry.provider.name},
        "origin": entry.origin,
        "version": version.number,
        "status": _coded(version.status, version.get_status_display()),
        "name": version.name,
        "summary": version.summary,
        "internal_division": version.internal_division,
        "format_category": _coded(version.format_category, version.get_format_category_display()),
        "format_type": version.format_type,
        "format_description": version.format_description,
        "share_type": _coded(version.share_type, version.get_share_type_display()),
        "share_conditions": version.share_conditions,
        "share_basis": version.share_basis,
        "share_method": _coded(version.share_method, version.get_share_method_display()),
        "platform_mode": _coded(version.platform_mode, version.get_platform_mode_display()),
        "open_type": _coded(version.open_type, version.get_open_type_display()),
        "open_conditions": version.open_conditions,
        "open_basis": version.open_basis,
        "update_cycle": _coded(version.update_cycle, version.get_update_cycle_display()),
        "update_cycle_note": version.update_cycle_note,
        "publish_date": version.publish_date.isoformat() if version.publish_date else None,
        "related_codes": list(version.related_codes or []),
        "themes": [{"code": t.code, "name": t.name} for t in version.themes.all()],
        "domains": [_coded(d, dict(PriorityDomain.choices).get(d, d)) for d in version.domains or []],
        "contact": (
            {"name": version.contact.name, "post": version.contact.post, "mobile": version.contact.mobile}
            if version.contact_id
            else None
        ),
        "items": [
            {
                **{name: getattr(item, name) for name in ITEM_FIELDS},
                "position": item.position,
                "data_type_label": str(data_types.get(item.data_type, item.data_type)),
            }
            for item in version.items.all()
        ],
    }


def to_json(versions: Iterable[EntryVersion]) -> bytes:
    payload = {"entries": [version_dict(v) for v in versions]}
    return json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8")
