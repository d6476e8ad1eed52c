"""Personal API tokens (issue #6, items 3 and 5): a public user issues one on
/open/account/token/, sees the secret once, the platform keeps only its SHA-256; replacing or
revoking it stops it at once; issuing and revoking are audited."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.common.actor import Actor
from govdata.opendata import tokens
from govdata.opendata.models import ApiToken
from govdata.orgs.models import Role

pytestmark = pytest.mark.usefixtures("open_api_limits")
PAGE = "/open/account/token/"


@pytest.fixture
def citizen(db):
    return t.user(Role.PUBLIC_USER, None, username="citizen")


def api_status(client, secret: str) -> int:
    return client.get("/api/open/v1/themes", headers={"Authorization": f"Bearer {secret}"}).status_code


@pytest.mark.req("R-29.2")
def test_the_secret_is_shown_once_and_stored_only_as_its_digest(client, citizen):
    client.force_login(citizen)
    assert b'id="no-token"' in client.get(PAGE).content
    issued = client.post(PAGE, {"action": "issue", "name": "数据分析脚本"})
    assert issued.status_code == 200 and "no-store" in issued["Cache-Control"]
    secret = issued.context["secret"]
    assert secret.startswith("gdo_") and len(secret) == 47 and secret in issued.content.decode()
    token = ApiToken.objects.get(user=citizen)
    assert token.sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:12] and token.name == "数据分析脚本" and token.revoked_at is None
    stored = [str(v) for v in ApiToken.objects.values_list(*[f.attname for f in ApiToken._meta.fields]).get()]
    assert not any(secret in value for value in stored)

    again = client.get(PAGE).content.decode()
    assert secret not in again and f"{token.prefix}…" in again
    assert api_status(client, secret) == 200
    event = AuditEvent.objects.get(action="opendata.token.issue")
    assert (event.actor_id, event.object_id, event.details) == (
        str(citizen.pk),
        str(token.pk),
        {"prefix": token.prefix, "name": "数据分析脚本"},
    )
    assert secret not in str(AuditEvent.objects.values_list("details", flat=True))


@pytest.mark.req("R-29.2")
def test_revoking_on_the_page_stops_the_token_at_once(client, citizen):
    client.force_login(citizen)
    secret = client.post(PAGE, {"action": "issue"}).context["secret"]
    revoked = client.post(PAGE, {"action": "revoke"})
    assert revoked.status_code == 302 and revoked["Location"] == PAGE
    assert ApiToken.objects.get(user=citizen).revoked_at is not None
    assert api_status(client, secret) == 401
    assert AuditEvent.objects.get(action="opendata.token.revoke").details["reason"] == "revoked"
    assert b'id="no-token"' in client.get(PAGE).content


def test_a_new_token_replaces_the_live_one(citizen):
    first, first_secret = tokens.issue_token(Actor(user=citizen))
    second, second_secret = tokens.issue_token(Actor(user=citizen), "新的")
    first.refresh_from_db()
    assert first.revoked_at is not None and second.revoked_at is None
    assert tokens.user_for_token(first_secret) is None and tokens.user_for_token(second_secret) == citizen
    assert tokens.live_token(citizen) == second
    revoked = AuditEvent.objects.get(action="opendata.token.revoke")
    assert revoked.details == {"prefix": first.prefix, "reason": "replaced"}


def test_user_for_token_refuses_anything_but_a_live_token_of_an_active_user(citizen, clock):
    token, secret = tokens.issue_token(Actor(user=citizen))
    for wrong in ("", "gdo_", secret[:-1], secret + "x", secret.upper(), "x" * 500, secret[4:], "Bearer " + secret):
        assert tokens.user_for_token(wrong) is None
    assert tokens.user_for_token(f"  {secret} ") == citizen
    token.refresh_from_db()
    assert token.last_used_at == clock.now()
    clock.advance(minutes=1)
    tokens.user_for_token(secret)
    token.refresh_from_db()
    assert token.last_used_at == clock.now() - dt.timedelta(minutes=1)  # written at most every few minutes
    clock.advance(minutes=5)
    tokens.user_for_token(secret)
    token.refresh_from_db()
    assert token.last_used_at == clock.now()
    citizen.is_active = False
    citizen.save(update_fields=["is_active"])
    assert tokens.user_for_token(secret) is None


def test_only_public_users_hold_tokens_and_only_holders_revoke_them(client, citizen, yk):
    with pytest.raises(PermissionDenied):
        tokens.issue_token(Actor(user=yk.civil_admin))
    with pytest.raises(PermissionDenied):
        tokens.issue_token(Actor())
    client.force_login(yk.civil_admin)
    assert client.get(PAGE).status_code == 403
    client.logout()
    assert client.get(PAGE)["Location"].startswith("/open/account/login/?next=")

    token, _secret = tokens.issue_token(Actor(user=citizen))
    neighbour = t.user(Role.PUBLIC_USER, None, username="neighbour")
    with pytest.raises(PermissionDenied):
        tokens.revoke_token(Actor(user=neighbour), token)
    with pytest.raises(ValidationError) as refused:
        tokens.issue_token(Actor(user=citizen), "名" * 51)
    assert "name" in refused.value.message_dict
    assert tokens.live_token(citizen) == token  # a refused issue changes nothing
