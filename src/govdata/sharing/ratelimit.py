"""Rate limits (the ``limits`` package): of consumer applications at the gateway, and of the
open API's callers (``opendata.api``), each in its own namespace.

Each caller has one limit in the package's notation (``600/minute``, ``20/second``,
``10000/day``; an application's is ``ConsumerApplication.rate_limit``), counted in fixed
windows: the count starts again when the window ends, which is the time ``X-RateLimit-Reset``
gives (unix seconds).

The counters live in ``GATEWAY_RATE_LIMIT_STORAGE``: Redis (by default ``REDIS_URL``), shared
by every app server, or ``memory://``, which counts per process — with several processes or
servers each counts its own share, so production sets Redis.

At the gateway only signed requests are counted: it checks the signature (and the nonce)
first, so nobody can use up another application's allowance.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

NAMESPACE = "govdata-gateway"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # unix seconds when the window ends

    def headers(self) -> dict[str, str]:
        """The X-RateLimit-* headers, and Retry-After (seconds) on a refusal."""
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            out["Retry-After"] = str(max(0, self.reset - math.floor(time.time())))
        return out


@functools.lru_cache(maxsize=256)
def parse(text: str) -> RateLimitItem:
    """One limit such as ``600/minute``, or a ValidationError naming ``rate_limit``."""
    problem = ValidationError(
        {"rate_limit": _("Write one limit as a number of calls per second, minute, hour or day, e.g. 600/minute.")}
    )
    try:
        items = parse_many(str(text or ""))
    except ValueError:
        raise problem from None
    if len(items) != 1 or items[0].amount < 1:
        raise problem
    return items[0]


class SweptMemoryStorage(MemoryStorage):
    """The package's memory storage, but forgetting expired counters as it counts, at most
    once a second, instead of starting a timer thread at every count more than 10 ms after
    the last — at the gateway, about every call. Expired counters are never read either way
    (each read checks the expiry); this only bounds the memory."""

    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, **options: str):
        super().__init__(uri, **options)
        self._next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # the package's private hook, named as it calls it
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()


@functools.lru_cache(maxsize=4)
def limiter(storage_uri: str) -> FixedWindowRateLimiter:
    if storage_uri.startswith("memory://"):
        return FixedWindowRateLimiter(SweptMemoryStorage(storage_uri))
    return FixedWindowRateLimiter(storage_from_string(storage_uri))


def hit(key: str, rate_limit: str, namespace: str = NAMESPACE) -> Verdict:
    """Count one call of the caller ``key`` (an application id at the gateway) against
    ``rate_limit``. The counters of every namespace live in ``GATEWAY_RATE_LIMIT_STORAGE``."""
    item = parse(rate_limit)
    counter = limiter(settings.GATEWAY_RATE_LIMIT_STORAGE)
    allowed = counter.hit(item, namespace, key)
    stats = counter.get_window_stats(item, namespace, key)
    return Verdict(allowed, item.amount, stats.remaining, math.ceil(stats.reset_time))
