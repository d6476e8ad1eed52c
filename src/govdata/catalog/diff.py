"""Field-by-field differences between two versions of an entry, data items included."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .models import EntryVersion
from .rules import ITEM_FIELDS, VERSION_FIELDS

COMPARED_FIELDS = (*VERSION_FIELDS, "themes")


@dataclass
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass
class ItemChange:
    code: str
    kind: str  # "added" | "removed" | "changed"
    fields: list[FieldChange] = field(default_factory=list)


@dataclass
class VersionDiff:
    fields: list[FieldChange]
    items: list[ItemChange]

    @property
    def empty(self) -> bool:
        return not self.fields and not self.items


def _value(version: EntryVersion, name: str) -> Any:
    if name == "themes":
        return sorted(t.code for t in version.themes.all())
    if name == "contact":
        return str(version.contact) if version.contact_id else ""
    value = getattr(version, name)
    return value.isoformat() if hasattr(value, "isoformat") else value


def _items(version: EntryVersion) -> dict[str, dict[str, Any]]:
    return {item.code: {f: getattr(item, f) for f in ITEM_FIELDS} for item in version.items.all()}


def diff_versions(old: EntryVersion | None, new: EntryVersion) -> VersionDiff:
    fields = []
    for name in COMPARED_FIELDS:
        before = _value(old, name) if old else None
        after = _value(new, name)
        if before != after:
            fields.append(FieldChange(name, before, after))
    old_items, new_items = (_items(old) if old else {}), _items(new)
    items = [ItemChange(code, "removed") for code in old_items if code not in new_items]
    for code, after in new_items.items():
        before = old_items.get(code)
        if before is None:
            items.append(ItemChange(code, "added", [FieldChange(f, None, v) for f, v in after.items()]))
        else:
            changed = [FieldChange(f, before[f], after[f]) for f in ITEM_FIELDS if before[f] != after[f]]
            if changed:
                items.append(ItemChange(code, "changed", changed))
    return VersionDiff(fields, items)
