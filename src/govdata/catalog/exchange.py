"""Exchange with national and provincial platforms (R-11.2): the national guide's column
layout, for export and for importing an upper-level catalog as read-only entries."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from .spreadsheet import CellError, WorkbookRejected, check_archive
from .vocab import DataType, FormatCategory, PlatformMode, ShareMethod, ShareType, UpdateCycle

# The catalog columns of 《政务信息资源目录编制指南》, in its order and wording. These are a
# data-exchange format defined in Chinese, so they are not translated.
NATIONAL_COLUMNS = (
    "信息资源分类",
    "信息资源名称",
    "信息资源代码",
    "信息资源提供方",
    "信息资源提供方代码",
    "信息资源摘要",
    "信息资源格式",
    "信息项信息",
    "共享类型",
    "共享条件",
    "共享方式",
    "是否向社会开放",
    "开放条件",
    "更新周期",
    "发布日期",
    "关联资源代码",
)
SHEET = "政务信息资源目录"
ITEM_SEPARATOR = "；"


# The guide's own terms for each vocabulary (fixed by the exchange format, not UI labels).
TERMS = {
    ShareType: {"unconditional": "无条件共享", "conditional": "有条件共享", "not_shared": "不予共享"},
    FormatCategory: {
        "document": "电子文件",
        "spreadsheet": "电子表格",
        "database": "数据库",
        "image": "图形图像",
        "streaming": "流媒体",
        "self_describing": "自描述格式",
        "interface": "接口",
    },
    ShareMethod: {"platform": "共享平台方式", "email": "邮件", "media": "介质"},
    PlatformMode: {"table": "库表", "api": "接口", "file": "文件"},
    UpdateCycle: {
        "realtime": "实时",
        "daily": "每日",
        "weekly": "每周",
        "monthly": "每月",
        "quarterly": "每季度",
        "half_yearly": "每半年",
        "yearly": "每年",
        "other": "其他",
    },
}
# Where a rules problem (keyed by field) is shown in the national layout.
FIELD_COLUMNS = {
    "name": "信息资源名称",
    "summary": "信息资源摘要",
    "format_category": "信息资源格式",
    "format_type": "信息资源格式",
    "format_description": "信息资源格式",
    "share_type": "共享类型",
    "share_conditions": "共享条件",
    "share_basis": "共享条件",
    "share_method": "共享方式",
    "platform_mode": "共享方式",
    "open_type": "是否向社会开放",
    "open_conditions": "开放条件",
    "update_cycle": "更新周期",
    "items": "信息项信息",
}


def _zh(choices, value: str) -> str:
    return TERMS[choices].get(value, value)


def _from_zh(choices, label: str) -> str | None:
    label = (label or "").strip()
    table = {term: code for code, term in TERMS[choices].items()}
    return table.get(label) or (label if label in choices.values else None)


def national_row(version: Any) -> list[Any]:
    entry = version.entry
    fmt = _zh(FormatCategory, version.format_category)
    if version.format_type or version.format_description:
        fmt += "/" + (version.format_type or version.format_description)
    method = _zh(ShareMethod, version.share_method)
    if version.platform_mode:
        method += "/" + _zh(PlatformMode, version.platform_mode)
    items = ITEM_SEPARATOR.join(
        f"{i.name}({i.code}:{i.data_type}" + (f":{i.length})" if i.length else ")") for i in version.items.all()
    )
    opens = version.open_type != "not_open"
    return [
        entry.classification.code,
        version.name,
        entry.code,
        entry.origin_provider or entry.provider.name,
        entry.origin_provider_code or entry.provider.credit_code,
        version.summary,
        fmt,
        items,
        _zh(ShareType, version.share_type),
        version.share_conditions or version.share_basis,
        method,
        "是" if opens else "否",
        version.open_conditions if version.open_type == "on_application" else "",
        _zh(UpdateCycle, version.update_cycle),
        version.publish_date.isoformat() if version.publish_date else "",
        ITEM_SEPARATOR.join(version.related_codes),
    ]


def export_national(versions: list[Any]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    sheet.append(list(NATIONAL_COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for version in versions:
        sheet.append(national_row(version))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@dataclass
class UpperLevelEntry:
    row: int
    code: str
    classification: str
    provider: str
    provider_code: str
    values: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)


def _parse_items(text: str) -> list[dict[str, Any]]:
    items = []
    for part in (text or "").replace(";", ITEM_SEPARATOR).split(ITEM_SEPARATOR):
        part = part.strip()
        if not part:
            continue
        # "name(code:type[:length])"
        name, _sep, rest = part.partition("(")
        code, _colon, kind = rest.rstrip(")").partition(":")
        kind, _colon, length = kind.partition(":")
        items.append(
            {
                "name": name.strip(),
                "code": code.strip(),
                "data_type": kind.strip() or DataType.CHAR,
                "length": int(length) if length.strip().isdigit() else None,
            }
        )
    return items


def parse_national(data: bytes) -> tuple[list[UpperLevelEntry], list[CellError]]:
    """Read a catalog in the national layout; problems are reported per cell."""
    check_archive(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise WorkbookRejected(_("The file is not an Excel workbook (.xlsx).")) from None
    sheet = workbook[SHEET] if SHEET in workbook.sheetnames else workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [str(h).strip() if h else "" for h in next(rows, ())]
    missing = [c for c in NATIONAL_COLUMNS if c not in header]
    if missing:
        raise WorkbookRejected(_("The national layout lacks the columns: %(cols)s") % {"cols": "、".join(missing)})
    at = {name: header.index(name) for name in NATIONAL_COLUMNS}
    entries, errors = [], []
    for number, raw in enumerate(rows, start=2):
        raw = tuple(raw) + (None,) * (len(header) - len(raw))
        if all(v in (None, "") for v in raw):
            continue
        cell = {name: ("" if raw[i] is None else str(raw[i]).strip()) for name, i in at.items()}
        problems: list[tuple[str, str]] = []
        category_label, _sep, fmt_type = cell["信息资源格式"].partition("/")
        method_label, _sep, mode_label = cell["共享方式"].partition("/")
        share = _from_zh(ShareType, cell["共享类型"])
        category = _from_zh(FormatCategory, category_label)
        method = _from_zh(ShareMethod, method_label)
        cycle = _from_zh(UpdateCycle, cell["更新周期"])
        for column, value in (("共享类型", share), ("信息资源格式", category), ("共享方式", method), ("更新周期", cycle)):
            if value is None:
                problems.append((column, _("“%(value)s” is not a value of the guide.") % {"value": cell[column]}))
        opens = cell["是否向社会开放"] == "是"
        open_type = ("on_application" if cell["开放条件"] else "unconditional") if opens else "not_open"
        values = {
            "name": cell["信息资源名称"],
            "summary": cell["信息资源摘要"],
            "format_category": category or "",
            "format_type": fmt_type if category != FormatCategory.SELF_DESCRIBING else "",
            "format_description": fmt_type if category == FormatCategory.SELF_DESCRIBING else "",
            "share_type": share or "",
            "share_conditions": cell["共享条件"] if share == ShareType.CONDITIONAL else "",
            "share_basis": cell["共享条件"] if share == ShareType.NOT_SHARED else "",
            "share_method": method or "",
            "platform_mode": _from_zh(PlatformMode, mode_label) or "",
            "open_type": open_type,
            "open_conditions": cell["开放条件"],
            "open_basis": "" if open_type == "unconditional" else _("As decided by the upper-level platform."),
            "update_cycle": cycle or "",
            "related_codes": [],
        }
        if not cell["信息资源代码"]:
            problems.append(("信息资源代码", _("This column is required.")))
        for column, message in problems:
            errors.append(CellError(SHEET, number, column, message))
        entries.append(
            UpperLevelEntry(
                number,
                cell["信息资源代码"],
                cell["信息资源分类"][:3],
                cell["信息资源提供方"],
                cell["信息资源提供方代码"],
                values,
                _parse_items(cell["信息项信息"]),
            )
        )
    workbook.close()
    return entries, errors
