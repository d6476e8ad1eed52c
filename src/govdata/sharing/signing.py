"""Signed requests to the data gateway (issue #5, item 4): the protocol both ends share.

A consumer application holds an app id and a secret (shown once at registration). It signs
every request with HMAC-SHA256, keyed by the 32 raw bytes of SHA-256(secret) — the platform
stores only that derived key, encrypted, so its database never holds the secret:

    key        = SHA-256(UTF-8 bytes of the secret)                       (32 bytes)
    canonical  = METHOD            e.g. GET (upper case)
                 "\\n" path         the URL path, percent-decoded, e.g. /gateway/v1/resources/7/records
                 "\\n" query        the query parameters, each name and value percent-encoded
                                   (UTF-8; every byte but A-Z a-z 0-9 - _ . ~ as %XX, upper-case
                                   hex), joined as name=value, sorted, joined by &
                 "\\n" timestamp    the X-Timestamp header, unix seconds
                 "\\n" nonce        the X-Nonce header
                 "\\n" body digest  lower-case hex SHA-256 of the raw body (of b"" when none)
    X-Signature = lower-case hex HMAC-SHA256(key, UTF-8 bytes of canonical)

with the headers ``X-App-Id``, ``X-Timestamp``, ``X-Nonce`` (16 to 64 characters of
A-Z a-z 0-9 - _) and ``X-Signature``. A request is refused when a header is missing or
malformed, the application is unknown or disabled, the timestamp is more than
``GATEWAY_SIGNATURE_WINDOW`` seconds (300) from the platform's clock either way, the signature
does not match (compared in constant time), or the nonce was already used by this application
(``nonces``). Each refusal names the header at fault.

The module reads Django settings only inside ``verify``, so the client (``sharing.client``)
imports the protocol half without a configured Django.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.utils.translation import gettext as _

from govdata.common import clock

APP_ID = "X-App-Id"
TIMESTAMP = "X-Timestamp"
NONCE = "X-Nonce"
SIGNATURE = "X-Signature"
HEADERS = (APP_ID, TIMESTAMP, NONCE, SIGNATURE)
SAFE = "-_.~"  # RFC 3986 unreserved characters besides letters and digits
NONCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
SIGNATURE_PATTERN = re.compile(r"[0-9a-f]{64}")


def derive_key(secret: str) -> bytes:
    """The signing key of a secret: what the platform keeps (encrypted) instead of the secret."""
    return hashlib.sha256(secret.encode("utf-8")).digest()


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """``name=value`` pairs, percent-encoded and sorted, joined by ``&``. Also a valid query
    string, which the client sends as is."""
    encoded = sorted((quote(str(name), safe=SAFE), quote(str(value), safe=SAFE)) for name, value in pairs)
    return "&".join(f"{name}={value}" for name, value in encoded)


def canonical_request(
    method: str, path: str, pairs: Iterable[tuple[str, str]], timestamp: str, nonce: str, body: bytes
) -> str:
    return "\n".join((method.upper(), path, canonical_query(pairs), timestamp, nonce, body_digest(body)))


def sign(key: bytes, canonical: str) -> str:
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def signed_headers(
    app_id: str,
    key: bytes,
    method: str,
    path: str,
    pairs: Iterable[tuple[str, str]],
    body: bytes,
    *,
    timestamp: int,
    nonce: str,
) -> dict[str, str]:
    """The four headers of a request signed with ``key`` (``derive_key(secret)``)."""
    stamp = str(int(timestamp))
    canonical = canonical_request(method, path, pairs, stamp, nonce, body)
    return {APP_ID: app_id, TIMESTAMP: stamp, NONCE: nonce, SIGNATURE: sign(key, canonical)}


# --- the platform's side ---------------------------------------------------------------------


class SignatureError(Exception):
    """A refused request: ``code`` for programs, ``message`` for people, ``header`` at fault."""

    def __init__(self, code: str, header: str, message: str):
        super().__init__(message)
        self.code = code
        self.header = header
        self.message = message


def verify(
    request: Any,
    *,
    key_for: Callable[[str], tuple[Any, bytes]],
    remember_nonce: Callable[[str, str], bool],
) -> Any:
    """Check a Django request's signature; returns the application that signed it.
    ``key_for(app_id)`` returns the application and its signing key (raising
    ``SignatureError`` for an unknown or disabled one); ``remember_nonce(app_id, nonce)``
    records a nonce and says whether it was new. Cheap checks come first; the nonce is
    recorded only for a correctly signed request, so forgeries cannot use up nonces."""
    sent = {}
    for header in HEADERS:
        value = request.headers.get(header, "").strip()
        if not value:
            raise SignatureError("missing_header", header, _("The %(header)s header is missing.") % {"header": header})
        sent[header] = value
    stamp = sent[TIMESTAMP]
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise SignatureError(
            "bad_timestamp", TIMESTAMP, _("%(header)s must be unix time in whole seconds.") % {"header": TIMESTAMP}
        )
    window = settings.GATEWAY_SIGNATURE_WINDOW
    skew = int(clock.now().timestamp()) - int(stamp)
    if abs(skew) > window:
        raise SignatureError(
            "stale_timestamp",
            TIMESTAMP,
            _("%(header)s is %(seconds)d seconds from the platform's time; at most %(window)d are accepted.")
            % {"header": TIMESTAMP, "seconds": abs(skew), "window": window},
        )
    nonce = sent[NONCE]
    if not NONCE_PATTERN.fullmatch(nonce):
        raise SignatureError(
            "bad_nonce", NONCE, _("%(header)s must be 16 to 64 letters, digits, - or _.") % {"header": NONCE}
        )
    signature = sent[SIGNATURE].lower()
    if not SIGNATURE_PATTERN.fullmatch(signature):
        raise SignatureError(
            "bad_signature", SIGNATURE, _("%(header)s must be 64 hexadecimal digits.") % {"header": SIGNATURE}
        )
    application, key = key_for(sent[APP_ID])
    pairs = [(name, value) for name, values in request.GET.lists() for value in values]
    canonical = canonical_request(request.method, request.path, pairs, stamp, nonce, request.body)
    if not hmac.compare_digest(sign(key, canonical), signature):
        raise SignatureError(
            "bad_signature",
            SIGNATURE,
            _("%(header)s does not match the request; sign it as the gateway documentation describes.")
            % {"header": SIGNATURE},
        )
    if not remember_nonce(application.app_id, nonce):
        raise SignatureError(
            "replayed_nonce", NONCE, _("This %(header)s was already used: every request needs a new one.") % {"header": NONCE}
        )
    return application
