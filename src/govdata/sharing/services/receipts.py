"""Receipts that give documents and record extracts obtained through the platform their legal
effect (R-24.1): the platform signs, with its SM2 key, the SM3 digest of the content together
with what the content is (its metadata). Anyone holding the file, the receipt and the
platform's public key can check both, offline (``govdata verify-document``).

The key pair is generated on first use into ``keys/`` of the data dir (private key readable by
the platform's user only); every server of one deployment shares that folder or the same file.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _
from gmssl import sm2

from govdata.audit.services import record
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.common.digests import sm3_hex
from govdata.orgs.models import Department

from ..models import Receipt

ALGORITHM = "SM2-with-SM3"


def _key_path() -> Path:
    return Path(settings.DATA_DIR) / "keys" / "platform-sm2.json"


def _new_key_pair() -> dict[str, str]:
    n = int(sm2.default_ecc_table["n"], 16)
    private = secrets.randbelow(n - 1) + 1
    crypt = sm2.CryptSM2(private_key=f"{private:064x}", public_key="")
    public = crypt._kg(private, sm2.default_ecc_table["g"])  # the curve's k·G: gmssl has no key generator
    return {"algorithm": "SM2", "private_key": f"{private:064x}", "public_key": public}


def key_pair() -> dict[str, str]:
    """The platform's key pair, created on first use. Creation is atomic (exclusive create), so
    two processes starting together end up with the same key."""
    path = _key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                json.dump(_new_key_pair(), fh)
    return json.loads(path.read_text())


def public_key() -> str:
    return key_pair()["public_key"]


def _signed_bytes(number: str, content_sm3: str, metadata: dict[str, Any], issued_at: str) -> bytes:
    """Exactly what is signed: canonical JSON (sorted keys, no spaces) of the receipt's facts."""
    facts = {"number": number, "content_sm3": content_sm3, "metadata": metadata, "issued_at": issued_at}
    return json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder).encode()


def _crypt(keys: dict[str, str]) -> sm2.CryptSM2:
    return sm2.CryptSM2(private_key=keys.get("private_key", ""), public_key=keys["public_key"])


def issue(actor: Actor, content_sm3: str, metadata: dict[str, Any], *, issued_to: Department | None) -> Receipt:
    """Sign the SM3 digest of a content (``common.digests``; a stored file's verified digest
    serves as is) with its ``metadata`` (what it is, where from, for whom, under which grant)
    and keep the receipt."""
    metadata = json.loads(json.dumps(metadata, cls=DjangoJSONEncoder))  # what is signed is what is stored
    number = f"R{clock.now():%Y%m%d}{secrets.token_hex(6).upper()}"
    issued_at = clock.now().isoformat()
    keys = key_pair()
    payload = _signed_bytes(number, content_sm3, metadata, issued_at)
    signature = _crypt(keys).sign_with_sm3(payload, secrets.token_hex(32))
    receipt = Receipt.objects.create(
        number=number,
        content_sm3=content_sm3,
        metadata={**metadata, "issued_at": issued_at},
        signature=signature,
        issued_at=clock.now(),
        issued_to=issued_to,
    )
    record(actor, "sharing.receipt.issue", receipt, department=issued_to, details={"number": number, **metadata})
    return receipt


def document(receipt: Receipt) -> dict[str, Any]:
    """The receipt as the holder keeps it, next to the file (JSON)."""
    metadata = dict(receipt.metadata)
    issued_at = metadata.pop("issued_at")
    return {
        "number": receipt.number,
        "algorithm": ALGORITHM,
        "content_sm3": receipt.content_sm3,
        "metadata": metadata,
        "issued_at": issued_at,
        "signature": receipt.signature,
        "public_key": public_key(),
    }


@dataclass(frozen=True)
class Verdict:
    valid: bool
    problems: list[str]
    number: str = ""
    metadata: dict[str, Any] | None = None


def verify(content: bytes | Iterable[bytes], receipt_document: dict[str, Any] | str | bytes) -> Verdict:
    """Does the content match the receipt, and did this platform sign the receipt? Checked
    against the platform's own public key, never one carried by the receipt."""
    try:
        doc = json.loads(receipt_document) if isinstance(receipt_document, str | bytes) else dict(receipt_document)
        number, content_sm3 = str(doc["number"]), str(doc["content_sm3"])
        metadata, issued_at, signature = dict(doc["metadata"]), str(doc["issued_at"]), str(doc["signature"])
    except (ValueError, KeyError, TypeError):
        return Verdict(False, [_("The receipt is not a receipt of this platform (unreadable or incomplete).")])
    problems = []
    if sm3_hex(content) != content_sm3:
        problems.append(_("The file does not match the receipt: its SM3 digest differs."))
    payload = _signed_bytes(number, content_sm3, metadata, issued_at)
    try:
        signed = _crypt({"public_key": public_key()}).verify_with_sm3(signature, payload)
    except (ValueError, TypeError, IndexError):
        signed = False
    if not signed:
        problems.append(_("The receipt's signature is not valid: it was altered or not issued by this platform."))
    return Verdict(not problems, problems, number, metadata)
