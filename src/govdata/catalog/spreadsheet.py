"""The offline batch workbook (R-13.2): template, parsing with per-cell errors, marking a
rejected workbook, and export in the same layout (so an export can be edited and re-imported).

The workbook has an entries sheet, a data-items sheet linked to it by the row number column,
and a notes sheet. Every vocabulary column carries a dropdown of the Chinese labels; codes
are accepted too.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from govdata.common.parsing import parse_bool, parse_date, parse_int

from .vocab import DataType, FormatCategory, OpenType, PlatformMode, PriorityDomain, ShareMethod, ShareType, UpdateCycle

MAX_ROWS = 20000
BAD_FILL = PatternFill("solid", fgColor="FFC7CE")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


@dataclass(frozen=True)
class Column:
    key: str
    header: Any  # lazy translated text
    kind: str = "text"  # text | choice | bool | int | date | list
    choices: type[models.TextChoices] | None = None
    width: int = 16
    required: bool = False


ENTRY_SHEET = gettext_lazy("Catalog entries")
ITEM_SHEET = gettext_lazy("Data items")
NOTES_SHEET = gettext_lazy("Notes")

ENTRY_COLUMNS = [
    Column("ref", gettext_lazy("Row no."), "int", width=8, required=True),
    Column("classification", gettext_lazy("Classification code"), width=12, required=True),
    Column("name", gettext_lazy("Resource name"), width=28, required=True),
    Column("summary", pgettext_lazy("catalog", "Summary"), width=40, required=True),
    Column("internal_division", gettext_lazy("Internal division")),
    Column("format_category", gettext_lazy("Format category"), "choice", FormatCategory, required=True),
    Column("format_type", gettext_lazy("Format type"), width=12),
    Column("format_description", gettext_lazy("Format description")),
    Column("share_type", gettext_lazy("Sharing type"), "choice", ShareType, required=True),
    Column("share_conditions", gettext_lazy("Sharing conditions"), width=24),
    Column("share_basis", gettext_lazy("Legal basis for not sharing"), width=24),
    Column("share_method", gettext_lazy("Sharing method"), "choice", ShareMethod, required=True),
    Column("platform_mode", gettext_lazy("Platform mode"), "choice", PlatformMode),
    Column("open_type", gettext_lazy("Opening type"), "choice", OpenType, required=True),
    Column("open_conditions", gettext_lazy("Opening conditions"), width=24),
    Column("open_basis", gettext_lazy("Basis for not opening or restricting"), width=24),
    Column("update_cycle", gettext_lazy("Update cycle"), "choice", UpdateCycle, required=True),
    Column("update_cycle_note", gettext_lazy("Update cycle note")),
    Column("publish_date", gettext_lazy("Publish date"), "date", width=12),
    Column("related_codes", gettext_lazy("Related resource codes"), "list", width=20),
    Column("themes", gettext_lazy("Themes"), "list", width=20),
    Column("domains", gettext_lazy("Priority domains"), "list", width=20),
    Column("contact", gettext_lazy("Contact name")),
    Column("is_classified", gettext_lazy("Classified"), "bool", width=8),
]
ITEM_COLUMNS = [
    Column("ref", gettext_lazy("Entry row no."), "int", width=10, required=True),
    Column("name", gettext_lazy("Item name"), width=20, required=True),
    Column("code", gettext_lazy("Field code"), width=16, required=True),
    Column("data_type", gettext_lazy("Data type"), "choice", DataType, width=14, required=True),
    Column("length", gettext_lazy("Length"), "int", width=8),
    Column("required", gettext_lazy("Required"), "bool", width=8),
    Column("is_key", gettext_lazy("Key"), "bool", width=8),
    Column("sensitive", gettext_lazy("Personal information"), "bool", width=10),
    Column("description", gettext_lazy("Description"), width=30),
]
YES_NO = ("是", "否")
EMPTY: dict[str, Any] = {"text": "", "choice": "", "list": [], "bool": False, "int": None, "date": None}
LIST_SEPARATORS = (";", "；", ",", "，", "、")


@dataclass
class CellError:
    sheet: str
    row: int
    column: str
    reason: str


@dataclass
class ParsedEntry:
    row: int
    ref: int
    classification: str
    values: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)
    item_rows: list[int] = field(default_factory=list)


class WorkbookRejected(Exception):
    """The file as a whole cannot be read as the template (not its rows)."""


# --- labels --------------------------------------------------------------------------------


def _labels(choices: type[models.TextChoices]) -> dict[str, str]:
    """Chinese label → code (the template's dropdown shows labels)."""
    with translation.override("zh-hans"):
        return {str(label): value for value, label in choices.choices}


def _label_of(choices: type[models.TextChoices], value: str) -> str:
    with translation.override("zh-hans"):
        return str(dict(choices.choices).get(value, value))


def _headers(columns: list[Column]) -> list[str]:
    with translation.override("zh-hans"):
        return [str(c.header) for c in columns]


# --- template and export -------------------------------------------------------------------


def _sheet(workbook: Workbook, title: Any, columns: list[Column], first: bool = False):
    with translation.override("zh-hans"):
        sheet = workbook.active if first else workbook.create_sheet()
        sheet.title = str(title)
    sheet.append(_headers(columns))
    for n, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=n)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        sheet.column_dimensions[get_column_letter(n)].width = column.width
        options = list(_labels(column.choices)) if column.kind == "choice" else YES_NO if column.kind == "bool" else None
        if options:
            letter = get_column_letter(n)
            validation = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True)
            validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"
    return sheet


NOTES = [
    gettext_lazy("How to fill in this workbook"),
    gettext_lazy("One row per catalog entry on the entries sheet; give each a row number."),
    gettext_lazy("Data items go on the items sheet, each with the row number of its entry."),
    gettext_lazy("Choose vocabulary values from the dropdowns; codes are accepted too."),
    gettext_lazy("Base classes 101 population, 102 legal entities, 103 natural resources, 105 e-licences must be shared unconditionally."),
    gettext_lazy("Conditional sharing needs conditions; not sharing needs its legal basis."),
    gettext_lazy("Anything but unconditional opening needs the basis for not opening or restricting."),
    gettext_lazy("Separate several themes, domains or related codes with ；"),
    gettext_lazy("Dates: 2024-01-02, 2024/1/2, 2024年1月2日 or 20240102. Formulas are not accepted."),
    gettext_lazy("If any row has an error nothing is imported, and you get this workbook back with each bad cell marked."),
]


def build_workbook(versions: Iterable[Any] = ()) -> bytes:
    """The template, filled with ``versions`` (EntryVersion objects) when exporting."""
    workbook = Workbook()
    entries = _sheet(workbook, ENTRY_SHEET, ENTRY_COLUMNS, first=True)
    items = _sheet(workbook, ITEM_SHEET, ITEM_COLUMNS)
    with translation.override("zh-hans"):
        notes = workbook.create_sheet(str(NOTES_SHEET))
        for line in NOTES:
            notes.append([str(line)])
        notes.column_dimensions["A"].width = 100
        themes = ", ".join(f"{c}" for c in _theme_hint())
        notes.append([_("Themes: %(themes)s") % {"themes": themes}])
    for ref, version in enumerate(versions, start=1):
        entries.append([_export_value(ref, version, c) for c in ENTRY_COLUMNS])
        for item in version.items.all():
            items.append(
                [
                    ref,
                    item.name,
                    item.code,
                    _label_of(DataType, item.data_type),
                    item.length,
                    _yes_no(item.required),
                    _yes_no(item.is_key),
                    _yes_no(item.sensitive),
                    item.description,
                ]
            )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _theme_hint() -> list[str]:
    from .models import Classification

    return [f"{c.code} {c.name}" for c in Classification.objects.filter(code__startswith="2", level=2)]


def _yes_no(flag: bool) -> str:
    return YES_NO[0] if flag else YES_NO[1]


def _export_value(ref: int, version: Any, column: Column) -> Any:
    key = column.key
    if key == "ref":
        return ref
    if key == "classification":
        return version.entry.classification.code
    if key == "themes":
        return "；".join(t.code for t in version.themes.all())
    if key == "domains":
        return "；".join(_label_of(PriorityDomain, d) for d in version.domains)
    if key == "related_codes":
        return "；".join(version.related_codes)
    if key == "contact":
        return version.contact.name if version.contact_id else ""
    if key == "is_classified":
        return YES_NO[1]
    value = getattr(version, key)
    if column.kind == "choice":
        return _label_of(column.choices, value) if value else ""
    return value


# --- parsing -------------------------------------------------------------------------------


def check_archive(data: bytes) -> None:
    """Refuse what is not an xlsx, and zip bombs, before openpyxl inflates anything."""
    limit = settings.CATALOG_IMPORT_MAX_BYTES
    if len(data) > limit:
        raise WorkbookRejected(_("The file is larger than %(mb)d MB.") % {"mb": limit // 1_000_000})
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise WorkbookRejected(_("The file is not an Excel workbook (.xlsx).")) from None
    with archive:
        names = set(archive.namelist())
        if "xl/workbook.xml" not in names:
            raise WorkbookRejected(_("The file is not an Excel workbook (.xlsx).")) from None
        inflated = sum(info.file_size for info in archive.infolist())
        if inflated > 20 * limit:
            raise WorkbookRejected(_("The workbook expands to an implausible size; it is refused."))


def _parse_cell(column: Column, raw: Any) -> Any:
    if isinstance(raw, str) and raw.startswith("="):
        raise ValueError(_("Formulas are not accepted; paste the value instead."))
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if column.required:
            raise ValueError(_("This column is required."))
        return EMPTY[column.kind]
    if column.kind == "int":
        return parse_int(raw)
    if column.kind == "bool":
        return parse_bool(raw)
    if column.kind == "date":
        return parse_date(raw)
    if column.kind == "choice":
        text = str(raw).strip()
        labels = _labels(column.choices)
        if text in labels:
            return labels[text]
        if text in column.choices.values:
            return text
        raise ValueError(_("“%(value)s” is not in the list: %(options)s") % {"value": text, "options": "、".join(labels)})
    if column.kind == "list":
        text = str(raw)
        for sep in LIST_SEPARATORS[1:]:
            text = text.replace(sep, LIST_SEPARATORS[0])
        return [part.strip() for part in text.split(LIST_SEPARATORS[0]) if part.strip()]
    text = str(raw).strip() if not isinstance(raw, float | int) else str(raw)
    if len(text) > 2000:
        raise ValueError(_("The text is longer than 2000 characters."))
    return text


def _rows(workbook: Any, title: Any, columns: list[Column], errors: list[CellError]):
    with translation.override("zh-hans"):
        name = str(title)
    if name not in workbook.sheetnames:
        raise WorkbookRejected(_("The sheet “%(sheet)s” is missing; start from the template.") % {"sheet": name})
    sheet = workbook[name]
    rows = sheet.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
    expected = _headers(columns)
    missing = [h for h in expected if h not in header]
    if missing:
        raise WorkbookRejected(
            _("Sheet “%(sheet)s” lacks the columns: %(cols)s") % {"sheet": name, "cols": "、".join(missing)}
        )
    positions = [header.index(h) for h in expected]
    for number, raw_row in enumerate(rows, start=2):
        if number > MAX_ROWS + 1:
            raise WorkbookRejected(_("At most %(n)d rows per sheet.") % {"n": MAX_ROWS})
        raw_row = tuple(raw_row) + (None,) * (len(header) - len(raw_row))
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in raw_row):
            continue
        values: dict[str, Any] = {}
        for column, position in zip(columns, positions, strict=True):
            try:
                values[column.key] = _parse_cell(column, raw_row[position])
            except ValueError as exc:
                errors.append(CellError(name, number, header[position], str(exc)))
        yield number, values


def parse_workbook(data: bytes) -> tuple[list[ParsedEntry], list[CellError]]:
    check_archive(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise WorkbookRejected(_("The workbook cannot be read: %(error)s") % {"error": exc.__class__.__name__}) from None
    errors: list[CellError] = []
    entries: dict[int, ParsedEntry] = {}
    with translation.override("zh-hans"):
        entry_sheet, item_sheet, ref_header = str(ENTRY_SHEET), str(ITEM_SHEET), str(ENTRY_COLUMNS[0].header)
    for number, values in _rows(workbook, ENTRY_SHEET, ENTRY_COLUMNS, errors):
        ref = values.pop("ref", None)
        if ref is None:
            continue
        if ref in entries:
            errors.append(
                CellError(entry_sheet, number, ref_header, _("Row number %(ref)s is used twice.") % {"ref": ref})
            )
            continue
        entries[ref] = ParsedEntry(number, ref, values.pop("classification", "") or "", values)
    for number, values in _rows(workbook, ITEM_SHEET, ITEM_COLUMNS, errors):
        ref = values.pop("ref", None)
        if ref is None:
            continue
        if ref not in entries:
            errors.append(
                CellError(item_sheet, number, str(ITEM_COLUMNS[0].header), _("No entry has row number %(ref)s.") % {"ref": ref})
            )
            continue
        entries[ref].items.append(values)
        entries[ref].item_rows.append(number)
    workbook.close()
    if not entries and not errors:
        errors.append(CellError(entry_sheet, 2, ref_header, _("The workbook has no entries.")))
    return list(entries.values()), errors


def field_error_cells(parsed: ParsedEntry, problems: dict[str, list[str]]) -> list[CellError]:
    """Turn a rules problem dict (field or items.N.field keys) into cell errors."""
    with translation.override("zh-hans"):
        entry_sheet, item_sheet = str(ENTRY_SHEET), str(ITEM_SHEET)
        entry_headers = {c.key: str(c.header) for c in ENTRY_COLUMNS}
        item_headers = {c.key: str(c.header) for c in ITEM_COLUMNS}
    out = []
    for key, messages in problems.items():
        for message in messages:
            if key.startswith("items."):
                parts = key.split(".")
                n = int(parts[1])
                row = parsed.item_rows[n - 1] if n <= len(parsed.item_rows) else parsed.row
                out.append(CellError(item_sheet, row, item_headers.get(parts[2], parts[2]), message))
            elif key == "items":
                out.append(CellError(entry_sheet, parsed.row, entry_headers["ref"], message))
            else:
                out.append(CellError(entry_sheet, parsed.row, entry_headers.get(key, key), message))
    return out


def mark_workbook(data: bytes, errors: list[CellError]) -> bytes | None:
    """The uploaded workbook with each bad cell filled and commented and a reason column."""
    try:
        workbook = load_workbook(io.BytesIO(data))
    except Exception:
        return None
    with translation.override("zh-hans"):
        reason_header = _("Reasons for rejection")
    by_sheet: dict[str, dict[int, list[CellError]]] = {}
    for error in errors:
        by_sheet.setdefault(error.sheet, {}).setdefault(error.row, []).append(error)
    for sheet_name, rows in by_sheet.items():
        if sheet_name not in workbook.sheetnames:
            continue
        sheet = workbook[sheet_name]
        header = [str(c.value).strip() if c.value is not None else "" for c in sheet[1]]
        reason_column = len(header) + 1
        sheet.cell(row=1, column=reason_column, value=reason_header).font = Font(bold=True, color="C00000")
        for row, row_errors in rows.items():
            for error in row_errors:
                if error.column in header:
                    cell = sheet.cell(row=row, column=header.index(error.column) + 1)
                    cell.fill = BAD_FILL
                    cell.comment = Comment(error.reason, "GovData")
            sheet.cell(row=row, column=reason_column, value="；".join(f"{e.column}: {e.reason}" for e in row_errors))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()

