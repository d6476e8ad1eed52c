"""Builders of the ingest tests' input files, generated rather than committed: CSV in any
encoding, XLSX (with formulas when asked), JSON lines, an xlsx zip bomb, and valid
identifiers (ID numbers with their check character and birth date, credit codes)."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook

from govdata import testing
from govdata.common.validators import id_check_char

PERSON_HEADER = ["公民身份号码", "姓名", "手机号码", "出生日期", "月收入", "家庭人数", "是否在册"]
COMPANY_ITEMS = [
    {"name": "统一社会信用代码", "code": "tyshxydm", "data_type": "C", "length": 18, "required": True, "is_key": True},
    {"name": "单位名称", "code": "dwmc", "data_type": "C", "length": 100, "required": True},
    {"name": "注册资本", "code": "zczb", "data_type": "N"},
    {"name": "成立日期", "code": "clrq", "data_type": "D"},
    {"name": "更新时间", "code": "gxsj", "data_type": "T"},
    {"name": "经度", "code": "jd", "data_type": "B"},
    {"name": "纬度", "code": "wd", "data_type": "F"},
    {"name": "是否有效", "code": "sfyx", "data_type": "L"},
    {"name": "备注", "code": "bz", "data_type": "M"},
]
COMPANY_HEADER = [item["name"] for item in COMPANY_ITEMS]


def id_number(serial: int, birth: str = "", division: str = "210802") -> str:
    """A valid citizen ID number (GB 11643): division, birth date (one day per thousand
    serials from 1980-01-01 unless given), serial, check character."""
    birth = birth or f"{dt.date(1980, 1, 1) + dt.timedelta(days=serial // 1000):%Y%m%d}"
    first17 = f"{division}{birth}{serial % 1000:03d}"
    return first17 + id_check_char(first17)


def bad_check(number: str) -> str:
    """``number`` with a wrong check character."""
    return number[:17] + ("0" if number[17] != "0" else "1")


def credit_code(serial: int) -> str:
    return testing.credit_code("210800", serial)


def person(serial: int, name: str = "", **overrides: Any) -> list[str]:
    """A valid row of the person table, in PERSON_HEADER's order."""
    row = {
        "公民身份号码": id_number(serial),
        "姓名": name or f"张{serial}",
        "手机号码": f"1390417{serial % 10000:04d}",
        "出生日期": "1990-01-01",
        "月收入": "3500.00",
        "家庭人数": "3",
        "是否在册": "是",
    }
    row.update(overrides)
    return [row[h] for h in PERSON_HEADER]


def company(serial: int, **overrides: Any) -> list[str]:
    row = {
        "统一社会信用代码": credit_code(serial),
        "单位名称": f"营口市第{serial}有限公司",
        "注册资本": "1,000,000.50",
        "成立日期": "2010年5月4日",
        "更新时间": "2025-11-02 08:30:00",
        "经度": "122.2352",
        "纬度": "40.6671",
        "是否有效": "是",
        "备注": "鲅鱼圈区",
    }
    row.update(overrides)
    return [row[h] for h in COMPANY_HEADER]


def csv_text(header: Sequence[str] | None, rows: Iterable[Sequence[Any]], newline: str = "\r\n") -> str:
    lines = [] if header is None else [",".join(header)]
    for row in rows:
        cells = []
        for value in row:
            text = "" if value is None else str(value)
            if any(ch in text for ch in ',"\r\n'):
                text = '"' + text.replace('"', '""') + '"'
            cells.append(text)
        lines.append(",".join(cells))
    return newline.join(lines) + newline


def csv_bytes(header: Sequence[str] | None, rows: Iterable[Sequence[Any]], encoding: str = "utf-8", bom: bool = False) -> bytes:
    data = csv_text(header, rows).encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]], title: str = "数据") -> bytes:
    """A workbook whose first sheet has the header and rows; a str starting with "=" is
    written as a formula (as Excel stores it)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def jsonl_bytes(objects: Iterable[Any], broken: dict[int, str] | None = None) -> bytes:
    """One JSON value per line; ``broken`` replaces line N (from 1) by the given text."""
    lines = [json.dumps(obj, ensure_ascii=False) for obj in objects]
    for number, text in (broken or {}).items():
        lines[number - 1] = text
    return ("\n".join(lines) + "\n").encode()


def zip_bomb_xlsx(inflated: int = 64 * 1024 * 1024) -> bytes:
    """A small xlsx whose sheet inflates to ``inflated`` bytes (blank padding inside the XML):
    a few hundred KB on disk."""
    valid = io.BytesIO(xlsx_bytes(PERSON_HEADER, [person(1)]))
    out = io.BytesIO()
    with zipfile.ZipFile(valid) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                with bomb.open(info.filename, "w", force_zip64=True) as member:
                    head, tail = data.split(b"<sheetData>", 1)
                    member.write(head + b"<sheetData>")
                    chunk = b" " * (1 << 20)
                    for _ in range(inflated // len(chunk)):
                        member.write(chunk)
                    member.write(tail)
            else:
                bomb.writestr(info, data)
    return out.getvalue()


def docx_like_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return out.getvalue()


PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
