"""A small Python client of the data gateway: signs each request as ``signing`` describes.

    from govdata.sharing.client import GatewayClient

    gateway = GatewayClient("https://data.yingkou.gov.cn/gateway/v1", "app_3f9a…", "the secret")
    answer = gateway.get("/resources/12/records/by-key", {"sfzh": "210802199001011234"})
    answer.raise_for_status()
    print(answer.json()["record"])

It needs only ``requests`` and this package's ``signing`` module (no Django settings). The
query string it sends is the canonical one itself (sorted, percent-encoded), so what the
gateway reads is exactly what was signed.
"""

from __future__ import annotations

import json as jsonlib
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from .signing import canonical_query, derive_key, signed_headers

Params = Mapping[str, Any] | Iterable[tuple[str, Any]] | None


def pairs_of(params: Params) -> list[tuple[str, str]]:
    """Query parameters as (name, text) pairs; a list value repeats its name, None is left out."""
    if params is None:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    pairs = []
    for name, value in items:
        for one in value if isinstance(value, list | tuple) else [value]:
            if one is None:
                continue
            pairs.append((str(name), "true" if one is True else "false" if one is False else str(one)))
    return pairs


class GatewayClient:
    def __init__(
        self,
        base_url: str,
        app_id: str,
        secret: str,
        session: requests.Session | None = None,
        *,
        timeout: float = 30,
        clock: Callable[[], float] = time.time,
    ):
        self.base_url = base_url.rstrip("/")
        self.base_path = urlsplit(self.base_url).path
        self.app_id = app_id
        self.key = derive_key(secret)
        self.session = session or requests.Session()
        self.timeout = timeout
        self.clock = clock  # unix seconds; tests pass the platform's frozen clock

    def prepare(
        self,
        method: str,
        path: str,
        params: Params = None,
        *,
        purpose: str | None = None,
        json: Any = None,
        timestamp: int | None = None,
        nonce: str | None = None,
    ) -> requests.PreparedRequest:
        """The signed request, ready for ``session.send`` (``path`` is relative to the base
        URL, e.g. ``/resources/12/records``)."""
        pairs = pairs_of(params)
        if purpose is not None:
            pairs.append(("purpose", purpose))
        body = b"" if json is None else jsonlib.dumps(json, ensure_ascii=False).encode("utf-8")
        headers = signed_headers(
            self.app_id,
            self.key,
            method,
            self.base_path + path,
            pairs,
            body,
            timestamp=int(self.clock()) if timestamp is None else timestamp,
            nonce=nonce or secrets.token_hex(16),
        )
        if json is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        query = canonical_query(pairs)
        url = self.base_url + path + (f"?{query}" if query else "")
        return self.session.prepare_request(requests.Request(method.upper(), url, headers=headers, data=body or None))

    def send(self, prepared: requests.PreparedRequest) -> requests.Response:
        return self.session.send(prepared, timeout=self.timeout)

    def get(self, path: str, params: Params = None, purpose: str | None = None) -> requests.Response:
        return self.send(self.prepare("GET", path, params, purpose=purpose))

    def post(self, path: str, json: Any = None, params: Params = None, purpose: str | None = None) -> requests.Response:
        return self.send(self.prepare("POST", path, params, purpose=purpose, json=json if json is not None else {}))
