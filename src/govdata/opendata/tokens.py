"""Personal API tokens for the open API (issue #6, item 3): a registered public user issues
one and sends it as ``Authorization: Bearer <token>`` or ``X-Api-Token: <token>``; the API
then answers as that user (data of their approved applications, R-29.2) with the higher
per-user rate limit.

A token is ``gdo_`` and 43 URL-safe characters (32 random bytes). Its secret is shown once,
when issued; the platform keeps its first characters (to look it up and to show which token
it is) and its SHA-256. A user has at most one live token: issuing a new one revokes the old,
so a leaked token is replaced in one step. Issuing and revoking are audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from govdata.audit.services import record
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.orgs.models import User
from govdata.orgs.permissions import require

from . import permissions as perm
from .models import ApiToken

SCHEME = "gdo_"
PREFIX_LENGTH = len(SCHEME) + 8
MAX_TOKEN_LENGTH = 100  # longer input is no token of ours: refused before hashing
# ``last_used_at`` is written at most this often per token, not on every call.
TOUCH_EVERY = dt.timedelta(minutes=5)


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def live_token(user: User) -> ApiToken | None:
    return ApiToken.objects.filter(user=user, revoked_at=None).first()


@transaction.atomic
def issue_token(actor: Actor, name: str = "") -> tuple[ApiToken, str]:
    """A new token for the acting public user, replacing their live one. Returns the token
    and its secret, which is never available again."""
    require(perm.is_public_user(actor.user), _("Personal API tokens are for registered public users."))
    name = name.strip()
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise ValidationError({"name": _("Give the token a name of at most 50 characters.")})
    user = User.objects.select_for_update().get(pk=actor.user.pk)  # one issue at a time per user
    current = live_token(user)
    if current is not None:
        _revoke(actor, current, "replaced")
    raw = SCHEME + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[:PREFIX_LENGTH], sha256=_sha256(raw), created_at=clock.now()
    )
    record(actor, "opendata.token.issue", token, details={"prefix": token.prefix, "name": name})
    return token, raw


@transaction.atomic
def revoke_token(actor: Actor, token: ApiToken) -> ApiToken:
    """Revoke a token: its holder's own act (or the platform's)."""
    if not (actor.system or (actor.user is not None and actor.user.pk == token.user_id)):
        raise PermissionDenied(_("Only the holder of a token may revoke it."))
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        _revoke(actor, token, "revoked")
    return token


def _revoke(actor: Actor, token: ApiToken, reason: str) -> None:
    token.revoked_at = clock.now()
    token.save(update_fields=["revoked_at"])
    record(actor, "opendata.token.revoke", token, details={"prefix": token.prefix, "reason": reason})


def user_for_token(raw: str) -> User | None:
    """The active user a live token belongs to, else None. Candidates are found by the
    token's prefix and the digests compared in constant time, so response times tell nothing
    about how much of a guessed token was right."""
    raw = (raw or "").strip()
    if not raw.startswith(SCHEME) or len(raw) > MAX_TOKEN_LENGTH:
        return None
    digest = _sha256(raw)
    candidates = ApiToken.objects.filter(prefix=raw[:PREFIX_LENGTH], revoked_at=None).select_related("user")
    for token in candidates:
        if hmac.compare_digest(token.sha256, digest) and token.user.is_active:
            now = clock.now()
            if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
                ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            return token.user
    return None
