"""Encryption of secrets the platform keeps for others (API resources' upstream credentials).

AES-256-GCM through ``cryptography``. The 32-byte platform key comes from, in this order:

1. the environment variable ``GOVDATA_DATA_KEY``: a long random secret (at least 32
   characters, e.g. ``openssl rand -base64 32``), from which the key is derived with
   HKDF-SHA256. **Set it in production**: every web server and job worker must use the same
   key, and it should be kept apart from the database backups it protects;
2. otherwise the file ``<DATA_DIR>/keys/datastore.key`` (base64), generated on first use with
   permissions 0600 in a 0700 folder. Enough for a single machine; back it up with the data
   folder, since without it the stored credentials cannot be decrypted.

Stored form: ``v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`` with a fresh 96-bit nonce per
encryption. The key id (8 hex characters of the key's SM3) says which key a value needs, so a
changed key gives a clear error instead of garbage. Every value is bound to a context string
(associated data, e.g. the resource it belongs to), so a ciphertext copied onto another row
does not decrypt.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from govdata.common.digests import sm3_hex

KEY_ENV = "GOVDATA_DATA_KEY"
VERSION = "v1"
NONCE_BYTES = 12
MIN_SECRET_CHARS = 32


class DecryptionError(Exception):
    """A stored secret cannot be decrypted (other key, altered value, wrong context)."""


def key_file() -> Path:
    return _key_file(str(settings.DATA_DIR))


@functools.lru_cache(maxsize=8)
def _key_file(data_dir: str) -> Path:
    # One Path per data directory: every gateway call decrypts with the platform key, and
    # building the path (and hashing a new one for ``_from_file``'s cache) was most of that.
    return Path(data_dir) / "keys" / "datastore.key"


@functools.lru_cache(maxsize=8)
def _derived(secret: str) -> bytes:
    if len(secret) < MIN_SECRET_CHARS:
        raise ImproperlyConfigured(f"{KEY_ENV} must be a random secret of at least {MIN_SECRET_CHARS} characters.")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"govdata datastore secrets v1").derive(
        secret.encode("utf-8")
    )


@functools.lru_cache(maxsize=8)
def _from_file(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Written whole under a private name, then linked into place: link() fails if the key
        # exists, so two processes starting at once agree on one key and never read half of it.
        draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(base64.b64encode(secrets.token_bytes(32)).decode("ascii") + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            draft.unlink(missing_ok=True)
    try:
        key = base64.b64decode(path.read_text().strip(), validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ImproperlyConfigured(f"{path} does not hold a base64-encoded 32-byte key.")
    return key


def platform_key() -> bytes:
    secret = os.environ.get(KEY_ENV, "")
    if secret:
        return _derived(secret)
    return _from_file(key_file())


def key_id(key: bytes) -> str:
    return sm3_hex(key)[:8]


def encrypt(plaintext: str, *, context: str) -> str:
    key = platform_key()
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
    return f"{VERSION}:{key_id(key)}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def decrypt(token: str, *, context: str) -> str:
    try:
        version, kid, payload = token.split(":", 2)
    except ValueError:
        raise DecryptionError("The stored secret is not in the expected format.") from None
    if version != VERSION:
        raise DecryptionError(f"Unknown secret format {version!r}.")
    key = platform_key()
    if kid != key_id(key):
        raise DecryptionError(
            f"The stored secret was encrypted with another platform key (id {kid}, current {key_id(key)}); "
            f"restore that key ({KEY_ENV} or {key_file()}) or enter the secret again."
        )
    try:
        raw = base64.b64decode(payload, validate=True)
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode("utf-8"))
    except (ValueError, InvalidTag):
        raise DecryptionError("The stored secret was altered or belongs to another record.") from None
    return plain.decode("utf-8")
