"""Calling a registered upstream interface to see whether it answers (the health probe).

Only this module turns stored credentials back into plaintext (:func:`credentials`), and only
for the length of one request. Error texts are written by us, never copied from the HTTP
library, whose messages include the URL (and with it a token sent as a query parameter).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ReadTimeoutError

from . import crypto
from .models import ApiEndpoint

Auth = ApiEndpoint.Auth
USER_AGENT = "GovData-probe/1"
MAX_ERROR = 300
BODY_PEEK = 4096


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    status: int | None
    ms: int
    error: str = ""


def credentials_context(endpoint: ApiEndpoint) -> str:
    """Associated data binding a credential ciphertext to its resource."""
    return f"datastore.api:{endpoint.resource_id}"


def credentials(endpoint: ApiEndpoint) -> Any:
    """The stored credential in plaintext: for a request to the upstream, never for display."""
    if not endpoint.credentials:
        return None
    return json.loads(crypto.decrypt(endpoint.credentials, context=credentials_context(endpoint)))


def request_parts(endpoint: ApiEndpoint, secret: Any) -> dict[str, Any]:
    """Headers, query parameters or basic auth that carry ``secret`` the way the endpoint says."""
    parts: dict[str, Any] = {"headers": {"User-Agent": USER_AGENT, "Accept": "application/json, */*;q=0.5"}}
    if endpoint.auth == Auth.HEADER:
        parts["headers"][endpoint.auth_name] = secret
    elif endpoint.auth == Auth.QUERY:
        parts["params"] = {endpoint.auth_name: secret}
    elif endpoint.auth == Auth.BASIC:
        # UTF-8, not the library's latin-1: Chinese passwords exist.
        parts["auth"] = (secret["username"].encode("utf-8"), secret["password"].encode("utf-8"))
    return parts


def scrub(text: str, secret: Any) -> str:
    """``text`` without any value of the credential, should an upstream echo it."""
    values = [secret] if isinstance(secret, str) else list(secret.values()) if isinstance(secret, dict) else []
    for value in values:
        if value:
            text = text.replace(str(value), "***")
    return text


def call(endpoint: ApiEndpoint) -> ProbeResult:
    """One request to the upstream: GET for a GET interface, HEAD for a POST one (a probe must
    not submit anything). Redirects are not followed, so credentials go nowhere but the
    registered address. Never raises for network trouble; the result says what happened."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        secret = credentials(endpoint)
    except crypto.DecryptionError as exc:
        return ProbeResult(False, None, 0, str(exc)[:MAX_ERROR])
    method = "GET" if endpoint.method == ApiEndpoint.Method.GET else "HEAD"
    timeout = endpoint.timeout_seconds
    try:
        with requests.request(
            method,
            endpoint.url,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
            **request_parts(endpoint, secret),
        ) as response:
            if method == "GET":
                response.raw.read(BODY_PEEK, decode_content=False)  # the upstream must also send data
            status = response.status_code
            reason = response.reason or ""
            location = response.headers.get("Location", "")
    except (requests.Timeout, ReadTimeoutError):
        return ProbeResult(False, None, elapsed(), f"No answer within {timeout} s (timeout).")
    except requests.exceptions.SSLError:
        return ProbeResult(False, None, elapsed(), "TLS handshake failed (certificate not trusted or invalid).")
    except requests.ConnectionError as exc:
        refused = "refused" in str(exc).lower()
        text = "Connection refused by the upstream host." if refused else "Could not connect to the upstream host."
        return ProbeResult(False, None, elapsed(), text)
    except Urllib3Error:
        return ProbeResult(False, None, elapsed(), "The connection broke while the upstream was answering.")
    except Exception as exc:  # noqa: BLE001 - a probe reports, it does not crash its caller
        return ProbeResult(False, None, elapsed(), scrub(f"Request failed: {type(exc).__name__}.", secret)[:MAX_ERROR])
    ms = elapsed()
    if 200 <= status < 300:
        return ProbeResult(True, status, ms)
    if method == "HEAD" and status in (405, 501):
        # The server is up and routes the address; it just does not answer HEAD.
        return ProbeResult(True, status, ms, "Reachable; the interface does not answer HEAD.")
    if status in (401, 403):
        text = f"The upstream refused the credentials (HTTP {status})."
    elif 300 <= status < 400:
        text = f"The upstream redirects (HTTP {status}) to {location}; register the final address."
    else:
        text = f"The upstream answered HTTP {status} {reason}".strip() + "."
    return ProbeResult(False, status, ms, scrub(text, secret)[:MAX_ERROR])
