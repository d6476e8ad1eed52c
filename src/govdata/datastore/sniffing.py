"""What a file really is, read from its content (magic numbers), never from its name.

Two steps, so an upload can be refused before it is read to the end:

* :func:`sniff_head` looks at the first bytes and names either one type or a *family* whose
  members only the rest of the file tells apart (ZIP containers: OFD, DOCX, XLSX, PPTX or a
  plain archive; OLE2 compound files: DOC, XLS, PPT). The family bounds the size limit while
  the upload streams.
* :func:`identify` opens the whole (spooled) file when the family needs it: the ZIP central
  directory or the OLE2 directory, read without decompressing anything.

Types the platform refuses on purpose (programs, web pages) are recognised too, so the
message can say what the file is instead of "unknown".
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from django.utils.translation import gettext as _

HEAD_BYTES = 8192


@dataclass(frozen=True)
class FileType:
    code: str
    label: str
    category: str  # a FileObject.Category value
    content_type: str
    extensions: tuple[str, ...]


_ALL = (
    FileType("pdf", "PDF", "document", "application/pdf", ("pdf",)),
    FileType("ofd", "OFD", "document", "application/ofd", ("ofd",)),
    FileType("doc", "Word 97-2003", "document", "application/msword", ("doc", "dot", "wps")),
    FileType(
        "docx",
        "Word",
        "document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ("docx", "docm", "dotx"),
    ),
    FileType("ppt", "PowerPoint 97-2003", "document", "application/vnd.ms-powerpoint", ("ppt", "pps", "dps")),
    FileType(
        "pptx",
        "PowerPoint",
        "document",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ("pptx", "ppsx", "pptm"),
    ),
    FileType("xls", "Excel 97-2003", "spreadsheet", "application/vnd.ms-excel", ("xls", "xlt", "et")),
    FileType(
        "xlsx",
        "Excel",
        "spreadsheet",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ("xlsx", "xlsm", "xltx"),
    ),
    FileType("png", "PNG", "image", "image/png", ("png",)),
    FileType("jpeg", "JPEG", "image", "image/jpeg", ("jpg", "jpeg", "jpe", "jfif")),
    FileType("gif", "GIF", "image", "image/gif", ("gif",)),
    FileType("bmp", "BMP", "image", "image/bmp", ("bmp", "dib")),
    FileType("tiff", "TIFF", "image", "image/tiff", ("tif", "tiff")),
    FileType("mp3", "MP3", "audio", "audio/mpeg", ("mp3",)),
    FileType("wav", "WAV", "audio", "audio/wav", ("wav",)),
    FileType("m4a", "MPEG-4 audio", "audio", "audio/mp4", ("m4a", "m4b", "mp4")),
    FileType("mp4", "MP4", "video", "video/mp4", ("mp4", "m4v", "3gp")),
    FileType("mov", "QuickTime", "video", "video/quicktime", ("mov", "qt")),
    FileType("avi", "AVI", "video", "video/x-msvideo", ("avi",)),
    FileType("zip", "ZIP", "archive", "application/zip", ("zip",)),
    FileType("rar", "RAR", "archive", "application/vnd.rar", ("rar",)),
    FileType("7z", "7-Zip", "archive", "application/x-7z-compressed", ("7z",)),
    FileType("gzip", "gzip", "archive", "application/gzip", ("gz", "tgz")),
)
TYPES: dict[str, FileType] = {t.code: t for t in _ALL}

# Families decided only by the whole file, and the types each may turn out to be.
ZIP_FAMILY = ("ofd", "docx", "xlsx", "pptx", "zip")
OLE2_FAMILY = ("doc", "xls", "ppt")
FAMILIES = {"zip-family": ZIP_FAMILY, "ole2-family": OLE2_FAMILY}

# Recognised so the refusal can name them; never stored.
REFUSED_LABELS = {
    "exe": "Windows program (EXE/DLL)",
    "elf": "Linux program (ELF)",
    "html": "web page (HTML)",
    "xml": "XML or SVG markup file",
    "script": "script",
    "heif": "HEIF/AVIF image",
    "webp": "WebP image",
    "ole2": "Office compound file of an unsupported kind",
}


class UnknownType(Exception):
    """The content is not one of the allowed types; ``str()`` is a message for the user."""


def _riff(head: bytes) -> str | None:
    if head[:4] != b"RIFF" or len(head) < 12:
        return None
    form = head[8:12]
    if form == b"WAVE":
        return "wav"
    if form == b"AVI ":
        return "avi"
    if form == b"WEBP":
        return "!webp"
    return None


def _ftyp(head: bytes) -> str | None:
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    brand = head[8:12]
    if brand in (b"M4A ", b"M4B ", b"M4P "):
        return "m4a"
    if brand == b"qt  ":
        return "mov"
    if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"):
        return "!heif"
    return "mp4"


def _mp3_frame(head: bytes) -> bool:
    """An MPEG audio layer III frame header at the very start (files without an ID3 tag)."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0x3
    layer = (head[1] >> 1) & 0x3
    bitrate = head[2] >> 4
    sample_rate = (head[2] >> 2) & 0x3
    return version != 1 and layer == 1 and bitrate not in (0, 15) and sample_rate != 3


def _bmp(head: bytes) -> bool:
    if len(head) < 18 or head[:2] != b"BM":
        return False
    (dib_size,) = struct.unpack_from("<I", head, 14)
    return dib_size in (12, 40, 52, 56, 64, 108, 124)


def _markup(head: bytes) -> str | None:
    text = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "!html"
    if text.startswith((b"<svg", b"<?xml")):
        return "!xml"
    if text.startswith(b"<script") or text.startswith(b"#!"):
        return "!script"
    return None


def sniff_head(head: bytes) -> str | None:
    """A type code, a family ("zip-family", "ole2-family"), a refused kind ("!exe"…) or None."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip-family"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole2-family"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if _bmp(head):
        return "bmp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"ID3") or _mp3_frame(head):
        return "mp3"
    riff = _riff(head)
    if riff:
        return riff
    ftyp = _ftyp(head)
    if ftyp:
        return ftyp
    if head.startswith((b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01\x00")):
        return "rar"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"\x1f\x8b\x08"):
        return "gzip"
    if head.startswith(b"MZ"):
        return "!exe"
    if head.startswith(b"\x7fELF"):
        return "!elf"
    if b"%PDF-" in head[:1024]:
        return "pdf"  # readers accept a PDF header anywhere in the first 1024 bytes
    return _markup(head)


def candidates(sniffed: str) -> tuple[FileType, ...]:
    """The types a head-sniff result may still turn out to be (for the size limit while
    streaming); empty when the content is refused."""
    if sniffed in FAMILIES:
        return tuple(TYPES[code] for code in FAMILIES[sniffed])
    if sniffed in TYPES:
        return (TYPES[sniffed],)
    return ()


def refusal(sniffed: str | None) -> str:
    """The message for a head whose type is refused or unknown."""
    if sniffed and sniffed.startswith("!"):
        return _("The file is a %(kind)s, which cannot be stored as a data resource.") % {
            "kind": REFUSED_LABELS.get(sniffed[1:], sniffed[1:])
        }
    return _(
        "The file's content is not a recognised document, spreadsheet, image, audio, video or archive "
        "format (PDF, OFD, Word, Excel, PowerPoint, PNG, JPEG, GIF, BMP, TIFF, MP3, WAV, MP4, AVI, "
        "ZIP, RAR, 7z, gzip)."
    )


# --- ZIP containers ---------------------------------------------------------------------


def _zip_type(fh: BinaryIO) -> str:
    fh.seek(0)
    try:
        with zipfile.ZipFile(fh) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise UnknownType(_("The file starts like a ZIP archive but is damaged.")) from None
    root = {name.lstrip("/") for name in names}
    if any(name.upper() == "OFD.XML" for name in root):
        return "ofd"
    opc = "[Content_Types].xml" in root
    for part, code, main in (
        ("word/", "docx", "word/document.xml"),
        ("xl/", "xlsx", "xl/workbook.xml"),
        ("ppt/", "pptx", "ppt/presentation.xml"),
    ):
        if main in root or (opc and any(name.startswith(part) for name in root)):
            return code
    return "zip"


# --- OLE2 compound files (MS-CFB) ------------------------------------------------------

_FREESECT = 0xFFFFFFFF
_ENDOFCHAIN = 0xFFFFFFFE
_MAX_DIRECTORY_SECTORS = 512
_MAX_DIFAT_SECTORS = 4096


class _Cfb:
    """Just enough of a compound-file reader to list the directory's stream names."""

    def __init__(self, fh: BinaryIO):
        self.fh = fh
        fh.seek(0)
        header = fh.read(512)
        if len(header) < 512:
            raise ValueError("short header")
        shift = struct.unpack_from("<H", header, 30)[0]
        if shift not in (9, 12):
            raise ValueError("bad sector size")
        self.sector_size = 1 << shift
        self.first_directory = struct.unpack_from("<I", header, 48)[0]
        self.first_difat, self.difat_count = struct.unpack_from("<II", header, 68)
        self.difat = [s for s in struct.unpack_from("<109I", header, 76)]
        self._fat_cache: dict[int, tuple[int, ...]] = {}
        self._difat_loaded = False

    def sector(self, number: int) -> bytes:
        self.fh.seek((number + 1) * self.sector_size)
        data = self.fh.read(self.sector_size)
        if len(data) < self.sector_size:
            raise ValueError("sector beyond end of file")
        return data

    def _load_difat(self) -> None:
        per_sector = self.sector_size // 4 - 1
        sector, seen = self.first_difat, 0
        while sector not in (_ENDOFCHAIN, _FREESECT) and seen < min(self.difat_count, _MAX_DIFAT_SECTORS):
            values = struct.unpack(f"<{per_sector + 1}I", self.sector(sector))
            self.difat.extend(values[:per_sector])
            sector = values[per_sector]
            seen += 1
        self._difat_loaded = True

    def next_sector(self, number: int) -> int:
        per_sector = self.sector_size // 4
        index, offset = divmod(number, per_sector)
        if index >= len(self.difat) and not self._difat_loaded:
            self._load_difat()
        if index >= len(self.difat) or self.difat[index] in (_FREESECT, _ENDOFCHAIN):
            raise ValueError("FAT sector missing")
        if index not in self._fat_cache:
            self._fat_cache[index] = struct.unpack(f"<{per_sector}I", self.sector(self.difat[index]))
        return self._fat_cache[index][offset]

    def names(self) -> list[str]:
        out, sector, seen = [], self.first_directory, set()
        while sector not in (_ENDOFCHAIN, _FREESECT) and len(seen) < _MAX_DIRECTORY_SECTORS:
            if sector in seen:
                raise ValueError("directory chain loops")
            seen.add(sector)
            data = self.sector(sector)
            for start in range(0, self.sector_size, 128):
                entry = data[start : start + 128]
                length = struct.unpack_from("<H", entry, 64)[0]
                kind = entry[66]
                if kind in (1, 2, 5) and 2 <= length <= 64:
                    out.append(entry[: length - 2].decode("utf-16-le", "replace"))
            sector = self.next_sector(sector)
        return out


def _ole2_type(fh: BinaryIO) -> str:
    try:
        names = set(_Cfb(fh).names())
    except (ValueError, struct.error, OSError):
        raise UnknownType(_("The file starts like an Office 97-2003 document but is damaged.")) from None
    if "WordDocument" in names:
        return "doc"
    if "Workbook" in names or "Book" in names:
        return "xls"
    if "PowerPoint Document" in names:
        return "ppt"
    raise UnknownType(refusal("!ole2"))


def identify(fh: BinaryIO, sniffed: str | None = None) -> FileType:
    """The file's real type, reading as little of it as the type needs; raises UnknownType
    with a user-facing message otherwise."""
    if sniffed is None:
        fh.seek(0)
        sniffed = sniff_head(fh.read(HEAD_BYTES))
    if sniffed == "zip-family":
        return TYPES[_zip_type(fh)]
    if sniffed == "ole2-family":
        return TYPES[_ole2_type(fh)]
    if sniffed in TYPES:
        return TYPES[sniffed]
    raise UnknownType(refusal(sniffed))


def extension_of(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def extension_matches(name: str, file_type: FileType) -> bool:
    return extension_of(name) in file_type.extensions
