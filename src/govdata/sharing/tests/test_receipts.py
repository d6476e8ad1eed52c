"""Receipts with legal effect (R-24.1): SM2 over the SM3 of the content and its metadata; a
tampered file, a tampered receipt or another key's signature fails, in process and through
``govdata verify-document``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.common.digests import sm3_hex
from govdata.sharing.models import Receipt
from govdata.sharing.services import receipts

CONTENT = "营业执照副本（电子）".encode() * 1000
METADATA = {"kind": "file", "resource": 7, "name": "营业执照.pdf", "grant": 3, "department": "营口市民政局"}


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


@pytest.mark.req("R-24.1")
def test_a_receipt_verifies_its_content_and_nothing_else(yk, data_dir):
    receipt = receipts.issue(t.actor(yk.civil_admin), sm3_hex([CONTENT[:100], CONTENT[100:]]), METADATA, issued_to=yk.civil)
    doc = receipts.document(receipt)
    assert doc["algorithm"] == "SM2-with-SM3" and doc["metadata"] == METADATA
    assert receipts.verify(CONTENT, doc).valid
    assert receipts.verify(CONTENT, json.dumps(doc)).valid

    tampered_file = receipts.verify(CONTENT + b" ", doc)
    assert not tampered_file.valid and "SM3" in tampered_file.problems[0]
    for field, value in (("metadata", {**METADATA, "grant": 4}), ("issued_at", "2020-01-01T00:00:00+08:00")):
        forged = receipts.verify(CONTENT, {**doc, field: value})
        assert not forged.valid and "signature" in forged.problems[-1], field
    assert not receipts.verify(CONTENT, b"{not json").valid
    assert not receipts.verify(CONTENT, {"number": "x"}).valid
    assert AuditEvent.objects.filter(action="sharing.receipt.issue", department_id=yk.civil.pk).count() == 1
    assert Receipt.objects.get().content_sm3 == doc["content_sm3"]


@pytest.mark.req("R-24.1")
def test_a_receipt_signed_with_another_key_fails_and_the_key_is_kept(yk, data_dir):
    doc = receipts.document(receipts.issue(t.actor(yk.civil_admin), sm3_hex(CONTENT), METADATA, issued_to=yk.civil))
    key_file = Path(data_dir) / "keys" / "platform-sm2.json"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    first = receipts.public_key()
    assert receipts.public_key() == first  # created once, then read
    key_file.unlink()  # another platform (a new key) did not sign this receipt
    assert receipts.public_key() != first
    assert not receipts.verify(CONTENT, doc).valid


@pytest.mark.req("R-24.1")
def test_govdata_verify_document_on_the_command_line(yk, data_dir, tmp_path):
    doc = receipts.document(receipts.issue(t.actor(yk.civil_admin), sm3_hex(CONTENT), METADATA, issued_to=yk.civil))
    document, receipt = tmp_path / "营业执照.pdf", tmp_path / "receipt.json"
    document.write_bytes(CONTENT)
    receipt.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["GOVDATA_DATA_DIR"] = str(data_dir)
    script = Path(sys.executable).parent / "govdata"

    def run(*args):
        return subprocess.run([str(script), "verify-document", *args], env=env, capture_output=True, text=True, timeout=120)

    ok = run(str(document), str(receipt))
    assert ok.returncode == 0 and doc["number"] in ok.stdout, ok.stdout + ok.stderr
    document.write_bytes(CONTENT.replace("副本".encode(), "正本".encode()))
    bad = run(str(document), str(receipt))
    assert bad.returncode == 1 and "SM3" in bad.stdout, bad.stdout + bad.stderr
