"""Who is acting: passed to every service function and written into the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from govdata.orgs.models import User


@dataclass(frozen=True)
class Actor:
    user: User | None = None
    application: str = ""  # consumer application id (gateway calls)
    ip: str | None = None
    system: bool = False  # scheduled jobs and the CLI acting as the platform itself

    @classmethod
    def from_request(cls, request: Any) -> Actor:
        user = request.user if getattr(request, "user", None) and request.user.is_authenticated else None
        return cls(user=user, ip=client_ip(request))

    @classmethod
    def platform(cls) -> Actor:
        return cls(system=True)

    @property
    def kind(self) -> str:
        if self.application:
            return "application"
        if self.user is not None:
            return "user"
        return "system" if self.system else "anonymous"

    @property
    def label(self) -> str:
        if self.user is not None:
            return self.user.get_username()
        return self.application or ("system" if self.system else "anonymous")


def client_ip(request: Any) -> str | None:
    # REMOTE_ADDR only: a forwarded header is trusted only behind a configured proxy, which
    # the deployment sets up by rewriting REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") or None
