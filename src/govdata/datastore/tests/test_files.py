"""File resources: content sniffing, size limits, SM3 integrity, licence metadata and the
lookup by holder (R-3.1, R-24.1, R-25.1)."""

import datetime as dt
import gzip
import io
import struct
import wave
import zipfile
import zlib

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from gmssl import func, sm3

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.common.validators import id_check_char
from govdata.datastore import services
from govdata.datastore.models import FileObject
from govdata.datastore.services import files

pytestmark = pytest.mark.req("R-3.1")

ENDOFCHAIN, FREESECT = 0xFFFFFFFE, 0xFFFFFFFF


# --- tiny but well-formed samples -------------------------------------------------------


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")
    )


def _pdf(padding: int = 0) -> bytes:
    body = b"1 0 obj<</Type/Catalog>>endobj\n" + b"% filler\n" * (padding // 9)
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + body + b"trailer<</Root 1 0 R>>\n%%EOF\n"


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _ooxml(part: str, main: str) -> bytes:
    return _zip({"[Content_Types].xml": b"<Types/>", "_rels/.rels": b"<Relationships/>", f"{part}/{main}": b"<x/>"})


def _xlsx() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["统一社会信用代码", "名称"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def ole2(stream: str | None) -> bytes:
    """A minimal compound file (MS-CFB, 512-byte sectors): FAT, directory, one data sector."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<II", header, 44, 1, 1)  # one FAT sector; directory starts at sector 1
    struct.pack_into("<I", header, 56, 4096)
    struct.pack_into("<IIII", header, 60, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
    struct.pack_into("<109I", header, 76, 0, *([FREESECT] * 108))
    fat = struct.pack("<128I", 0xFFFFFFFD, ENDOFCHAIN, ENDOFCHAIN, *([FREESECT] * 125))

    def entry(name: str, kind: int, child: int = FREESECT, start: int = ENDOFCHAIN, size: int = 0) -> bytes:
        e = bytearray(128)
        raw = (name + "\0").encode("utf-16-le")
        e[: len(raw)] = raw
        struct.pack_into("<HBB", e, 64, len(raw), kind, 1)
        struct.pack_into("<III", e, 68, FREESECT, FREESECT, child)
        struct.pack_into("<IQ", e, 116, start, size)
        return bytes(e)

    entries = entry("Root Entry", 5, child=1)
    entries += entry(stream, 2, start=2, size=512) if stream else entry("\x05SummaryInformation", 2, start=2, size=512)
    entries += bytes(256)
    return bytes(header) + fat + entries + b"\x00" * 512


def _bmp() -> bytes:
    pixels = b"\x00\x00\xff\x00"
    dib = struct.pack("<IiiHHIIiiII", 40, 1, 1, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(dib) + len(pixels), 0, 0, 54) + dib + pixels


def _wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 800)
    return buffer.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


SAMPLES = {
    "pdf": ("通知.pdf", _pdf(), "document", "application/pdf"),
    "pdf-large": ("年报.pdf", _pdf(padding=300_000), "document", "application/pdf"),
    "ofd": (
        "电子证照.ofd",
        _zip({"OFD.xml": b"<ofd:OFD/>", "Doc_0/Document.xml": b"<x/>"}),
        "document",
        "application/ofd",
    ),
    "doc": ("说明.doc", ole2("WordDocument"), "document", "application/msword"),
    "xls": ("台账.xls", ole2("Workbook"), "spreadsheet", "application/vnd.ms-excel"),
    "ppt": ("汇报.ppt", ole2("PowerPoint Document"), "document", "application/vnd.ms-powerpoint"),
    "docx": ("方案.docx", _ooxml("word", "document.xml"), "document", None),
    "xlsx": ("名录.xlsx", _xlsx(), "spreadsheet", None),
    "pptx": ("汇报.pptx", _ooxml("ppt", "presentation.xml"), "document", None),
    "png": ("照片.png", _png(), "image", "image/png"),
    "jpeg": (
        "照片.jpg",
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9",
        "image",
        "image/jpeg",
    ),
    "gif": (
        "图.gif",
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
        "image",
        "image/gif",
    ),
    "bmp": ("扫描.bmp", _bmp(), "image", "image/bmp"),
    "tiff": ("扫描.tif", b"II*\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00", "image", "image/tiff"),
    "mp3-id3": (
        "录音.mp3",
        b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 413,
        "audio",
        "audio/mpeg",
    ),
    "mp3-frame": ("录音2.mp3", b"\xff\xfb\x90\x64" + b"\x00" * 413, "audio", "audio/mpeg"),
    "wav": ("录音.wav", _wav(), "audio", "audio/wav"),
    "mp4": (
        "视频.mp4",
        _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + _box(b"mdat", b"\x00" * 64),
        "video",
        "video/mp4",
    ),
    "avi": (
        "视频.avi",
        b"RIFF" + struct.pack("<I", 4 + 12) + b"AVI " + b"LIST" + struct.pack("<I", 4) + b"hdrl",
        "video",
        "video/x-msvideo",
    ),
    "zip": ("资料.zip", _zip({"readme.txt": "说明".encode()}), "archive", "application/zip"),
    "rar": ("资料.rar", b"Rar!\x1a\x07\x01\x00" + b"\x00" * 32, "archive", "application/vnd.rar"),
    "7z": ("资料.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 24, "archive", "application/x-7z-compressed"),
    "gzip": ("资料.gz", gzip.compress("营口".encode()), "archive", "application/gzip"),
}


def independent_sm3(data: bytes) -> str:
    """SM3 by another implementation (gmssl) than the one under test (cryptography)."""
    return sm3.sm3_hash(func.bytes_to_list(data))


def wrong_check(code: str) -> str:
    return code[:17] + ("1" if code[17] != "1" else "2")


def id_number(first17: str = "21080219900307123") -> str:
    return first17 + id_check_char(first17)


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    root = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": root}},
    }
    return root


def stored_files(root):
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def resource(yk, entry, media):
    return services.mount(t.actor(yk.police_admin), entry, kind="file", name="居民证照")


def upload(yk, resource, name, data, **kwargs):
    return files.upload_file(t.actor(yk.police_staff), resource, io.BytesIO(data), name=name, **kwargs)


# --- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(SAMPLES))
def test_each_allowed_type_is_recognised_from_its_content(yk, resource, media, key):
    name, data, category, content_type = SAMPLES[key]
    file_object = upload(yk, resource, name, data)
    assert file_object.category == category
    if content_type:
        assert file_object.content_type == content_type
    expected_code = key.split("-")[0]
    event = AuditEvent.objects.get(action="datastore.file.upload", object_id=str(file_object.pk))
    assert event.details["type"] == expected_code
    assert "claimed_extension" not in event.details
    assert file_object.size == len(data)
    assert file_object.sm3 == independent_sm3(data)
    assert file_object.storage_name.startswith(f"datastore/{resource.pk}/")
    assert (media / file_object.storage_name).read_bytes() == data
    with files.open_verified(file_object) as opened:
        assert opened.read() == data


def test_ooxml_types_get_their_office_content_types(yk, resource):
    assert upload(yk, resource, *SAMPLES["docx"][:2]).content_type.endswith("wordprocessingml.document")
    assert upload(yk, resource, *SAMPLES["xlsx"][:2]).content_type.endswith("spreadsheetml.sheet")
    assert upload(yk, resource, *SAMPLES["pptx"][:2]).content_type.endswith("presentationml.presentation")


def test_a_django_upload_streams_in_chunks(yk, resource, media):
    data = _pdf(padding=200_000)
    uploaded = SimpleUploadedFile("附件.pdf", data, content_type="application/octet-stream")
    file_object = files.upload_file(t.actor(yk.police_admin), resource, uploaded, name=uploaded.name)
    assert (file_object.content_type, file_object.sm3) == ("application/pdf", independent_sm3(data))


def test_a_lying_extension_is_stored_with_the_real_type(yk, resource):
    file_object = upload(yk, resource, "营业执照.pdf", _png())
    assert (file_object.category, file_object.content_type, file_object.name) == ("image", "image/png", "营业执照.pdf")
    event = AuditEvent.objects.get(action="datastore.file.upload", object_id=str(file_object.pk))
    assert (event.details["type"], event.details["claimed_extension"]) == ("png", "pdf")
    xlsx_as_doc = upload(yk, resource, "名录.doc", _xlsx())
    assert xlsx_as_doc.category == "spreadsheet"


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("setup.pdf", b"MZ\x90\x00\x03" + b"\x00" * 200, "Windows program"),
        ("tool.jpg", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "Linux program"),
        ("page.docx", b"\xef\xbb\xbf<!DOCTYPE html><html><script>alert(1)</script></html>", "HTML"),
        ("notes.pdf", "这是一段纯文本，不是PDF。".encode(), "not a recognised"),
        ("broken.docx", b"PK\x03\x04" + b"\x00" * 40, "damaged"),
        ("macro.doc", ole2(None), "unsupported kind"),
        ("photo.png", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIF"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_refused_content_is_named_and_nothing_is_stored(yk, resource, media, name, data, words):
    before = stored_files(media)
    with pytest.raises(ValidationError) as err:
        upload(yk, resource, name, data)
    assert words in " ".join(err.value.message_dict["file"])
    assert stored_files(media) == before
    assert not FileObject.objects.exists()
    assert not AuditEvent.objects.filter(action="datastore.file.upload").exists()


def test_size_limits_apply_per_category(yk, resource, media, settings):
    settings.FILE_MAX_BYTES = 50_000
    settings.FILE_MAX_BYTES_BY_CATEGORY = {"image": 100, "archive": 200}
    with pytest.raises(ValidationError) as err:
        upload(yk, resource, "大文件.pdf", _pdf(padding=60_000))
    assert "limit" in err.value.message_dict["file"][0]
    with pytest.raises(ValidationError):
        upload(yk, resource, "照片.png", _png() + b"\x00" * 100)
    # A ZIP container is only known once it is whole: a plain archive is held to the archive
    # limit, the same bytes with an Office layout to the document limit.
    plain = _zip({"a.txt": b"x" * 10, "b.txt": b"y" * 10, "c.txt": b"z" * 10})
    assert len(plain) > 200
    with pytest.raises(ValidationError):
        upload(yk, resource, "资料.zip", plain)
    assert stored_files(media) == []
    assert not FileObject.objects.exists()
    assert upload(yk, resource, "小图.png", _png()).category == "image"
    assert upload(yk, resource, "方案.docx", _ooxml("word", "document.xml")).category == "document"
    assert len(stored_files(media)) == 2


class Endless(io.RawIOBase):
    """A huge upload generated on the fly, counting how much of it was read."""

    def __init__(self, head: bytes, total: int):
        self.head, self.total, self.position, self.biggest_read = head, total, 0, 0

    def readable(self):
        return True

    def read(self, size=-1):
        size = self.total - self.position if size is None or size < 0 else min(size, self.total - self.position)
        self.biggest_read = max(self.biggest_read, size)
        start = self.position
        self.position += size
        prefix = self.head[start : start + size] if start < len(self.head) else b""
        return prefix + b"\x00" * (size - len(prefix))


def test_an_oversized_stream_is_refused_without_reading_it_all(yk, resource, media, settings):
    settings.FILE_MAX_BYTES = 1024 * 1024
    settings.FILE_MAX_BYTES_BY_CATEGORY = {}
    source = Endless(b"%PDF-1.7\n", 1024 * 1024 * 1024)
    with pytest.raises(ValidationError):
        files.upload_file(t.actor(yk.police_staff), resource, source, name="巨大.pdf")
    assert source.position <= 1024 * 1024 + files.CHUNK
    assert source.biggest_read <= files.CHUNK
    assert stored_files(media) == []


def test_stored_file_is_deleted_when_the_database_write_fails(yk, resource, media, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(files, "_event", broken)
    with pytest.raises(RuntimeError):
        upload(yk, resource, "通知.pdf", _pdf())
    assert stored_files(media) == []
    assert not FileObject.objects.exists()


def test_only_the_provider_uploads_and_only_into_a_file_resource(yk, entry, resource, media):
    with pytest.raises(PermissionDenied):
        files.upload_file(t.actor(yk.civil_admin), resource, io.BytesIO(_pdf()), name="a.pdf")
    with pytest.raises(PermissionDenied):
        files.upload_file(t.actor(yk.bureau), resource, io.BytesIO(_pdf()), name="a.pdf")
    table = services.mount(t.actor(yk.police_admin), entry, kind="table", name="表")
    with pytest.raises(ValidationError) as err:
        files.upload_file(t.actor(yk.police_admin), table, io.BytesIO(_pdf()), name="a.pdf")
    assert "resource" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        upload(yk, resource, "  ", _pdf())
    assert "name" in err.value.message_dict
    assert stored_files(media) == []
    assert upload(yk, resource, "C:\\fakepath\\通知.pdf", _pdf()).name == "通知.pdf"


@pytest.mark.req("R-25.1")
def test_licence_metadata_is_checked_field_by_field(yk, resource, media):
    cases = [
        ({"holder_id": wrong_check(id_number())}, {"holder_id"}),
        ({"holder_id": wrong_check(t.credit_code())}, {"holder_id"}),
        ({"holder_id": "21080219901307123X"}, {"holder_id"}),  # month 13
        ({"holder_name": "张三"}, {"holder_id"}),  # a licence without its holder
        ({"holder_id": id_number(), "valid_from": "2025-01-01", "valid_until": "2024-12-31"}, {"valid_until"}),
        ({"holder_id": id_number(), "valid_from": "2024-02-30"}, {"valid_from"}),
        ({"holder_id": id_number(), "colour": "red"}, {"colour"}),
        ({"holder_id": "x", "valid_from": "someday"}, {"holder_id", "valid_from"}),
    ]
    for licence, fields in cases:
        with pytest.raises(ValidationError) as err:
            upload(yk, resource, "证照.pdf", _pdf(), licence=licence)
        assert set(err.value.message_dict) == fields, licence
    assert stored_files(media) == []
    person = upload(
        yk,
        resource,
        "居民身份证明.pdf",
        _pdf(),
        licence={
            "holder_id": id_number().lower(),
            "holder_name": "张三",
            "licence_number": "YK-2026-0001",
            "issuer": "营口市公安局",
            "valid_from": "2026年1月1日",
            "valid_until": dt.date(2036, 1, 1),
        },
    )
    assert (person.holder_id, person.valid_from, person.valid_until) == (
        id_number(),
        dt.date(2026, 1, 1),
        dt.date(2036, 1, 1),
    )
    company = upload(yk, resource, "营业执照.ofd", SAMPLES["ofd"][1], licence={"holder_id": t.credit_code()})
    assert company.holder_id and company.category == "document"


@pytest.mark.req("R-24.1")
def test_a_tampered_or_missing_stored_file_is_detected(yk, resource, media):
    data = _pdf(padding=20_000)
    file_object = upload(yk, resource, "批复.pdf", data)
    assert files.verify_file(file_object)
    path = media / file_object.storage_name
    path.write_bytes(data.replace(b"Catalog", b"Catalgo"))  # same size, other content
    with pytest.raises(files.FileIntegrityError) as err:
        files.open_verified(file_object)
    assert "SM3" in str(err.value)
    assert not files.verify_file(file_object)
    event = AuditEvent.objects.filter(action="datastore.file.integrity_failure", object_id=str(file_object.pk)).first()
    assert event is not None and event.actor_type == "system"
    path.write_bytes(data + b"\n")
    with pytest.raises(files.FileIntegrityError):
        files.open_verified(file_object)
    path.unlink()
    with pytest.raises(files.FileIntegrityError) as err:
        files.open_verified(file_object)
    assert "missing" in str(err.value)


def test_replace_keeps_the_old_version_and_withdraw_takes_a_file_out(yk, resource, media):
    licence = {"holder_id": id_number(), "holder_name": "张三", "licence_number": "A-1"}
    first = upload(yk, resource, "证明.pdf", _pdf(), licence=licence)
    second = files.replace_file(t.actor(yk.police_admin), first, io.BytesIO(_png()), name="证明.png")
    first.refresh_from_db()
    assert not first.is_active and second.is_active
    assert (second.holder_id, second.licence_number, second.content_type) == (id_number(), "A-1", "image/png")
    assert len(stored_files(media)) == 2  # the old content stays verifiable
    assert files.verify_file(first)
    event = AuditEvent.objects.get(action="datastore.file.replace")
    assert (event.object_id, event.details["replaces"]) == (str(second.pk), first.pk)
    with pytest.raises(ValidationError):
        files.replace_file(t.actor(yk.police_admin), first, io.BytesIO(_pdf()))
    with pytest.raises(PermissionDenied):
        files.withdraw_file(t.actor(yk.civil_admin), second)
    files.withdraw_file(t.actor(yk.police_admin), second, reason="证照已注销")
    second.refresh_from_db()
    assert not second.is_active
    assert AuditEvent.objects.get(action="datastore.file.withdraw").details["reason"] == "证照已注销"
    with pytest.raises(ValidationError):
        files.withdraw_file(t.actor(yk.police_admin), second)


@pytest.mark.req("R-25.1")
def test_files_by_holder_lists_what_is_already_on_the_platform(yk, entry, resource, media):
    person, company = id_number(), t.credit_code()
    licence = upload(
        yk,
        resource,
        "驾驶证.pdf",
        _pdf(),
        licence={"holder_id": person, "valid_from": "2020-01-01", "valid_until": "2026-01-01"},
    )
    archive = upload(yk, resource, "档案.pdf", _pdf(), licence={"holder_id": person})
    upload(yk, resource, "执照.pdf", _pdf(), licence={"holder_id": company})
    withdrawn = upload(yk, resource, "旧证.pdf", _pdf(), licence={"holder_id": person})
    files.withdraw_file(t.actor(yk.police_admin), withdrawn)
    assert not files.files_by_holder(person).exists()  # the resource is not published yet
    assert set(files.files_by_holder(person, include_unpublished=True)) == {licence, archive}
    services.submit(t.actor(yk.police_admin), resource)
    services.publish(t.actor(yk.bureau), resource)
    assert set(files.files_by_holder(person.lower())) == {licence, archive}
    assert list(files.files_by_holder(person, valid_on=dt.date(2027, 1, 1))) == [archive]
    assert set(files.files_by_holder(person, valid_on=dt.date(2025, 6, 1))) == {licence, archive}
    assert [f.name for f in files.files_by_holder(company)] == ["执照.pdf"]
    assert not files.files_by_holder(id_number("11010119800101001")).exists()
