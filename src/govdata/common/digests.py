"""SM3 (GB/T 32905) digests, the platform's one content fingerprint: files, loads, the audit
chain, receipts. OpenSSL's implementation, through ``cryptography``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes

CHUNK = 1 << 20


def sm3() -> hashes.Hash:
    """An incremental SM3 hash."""
    return hashes.Hash(hashes.SM3())


def sm3_hex(data: bytes | Iterable[bytes]) -> str:
    """The hex SM3 of some bytes, or of a stream of chunks."""
    digest = sm3()
    for chunk in [data] if isinstance(data, bytes | bytearray | memoryview) else data:
        digest.update(chunk)
    return digest.finalize().hex()


def sm3_of_stream(fh: BinaryIO) -> str:
    """The whole stream's SM3, read from its start; the stream is left at its start."""
    fh.seek(0)
    digest = sm3_hex(iter(lambda: fh.read(CHUNK), b""))
    fh.seek(0)
    return digest


def sm3_of_file(path: Path | str) -> str:
    with open(path, "rb") as fh:
        return sm3_hex(iter(lambda: fh.read(CHUNK), b""))
