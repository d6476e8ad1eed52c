"""Consumer applications (R-9.1): registered by a department's administrator for its own active
information system, with a secret shown once and never stored; rotation and disabling."""

from __future__ import annotations

import base64
import hashlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from govdata import testing as t
from govdata.audit.models import AuditEvent
from govdata.datastore import crypto
from govdata.orgs.models import Role
from govdata.sharing import signing
from govdata.sharing.models import ConsumerApplication
from govdata.sharing.services import applications

from .conftest import consumer_system, register


def stored_row(application) -> dict:
    """The application's row exactly as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ConsumerApplication._meta.db_table} WHERE id = %s", [application.pk])
        names = [column[0] for column in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def forms_of(secret: str) -> list[str]:
    """The secret and every plain form of the key derived from it."""
    key = hashlib.sha256(secret.encode()).digest()
    return [secret, key.hex(), key.hex().upper(), base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode()]


@pytest.mark.req("R-9.1")
def test_the_secret_is_shown_once_and_the_database_holds_neither_it_nor_the_plain_key(yk, system):
    application, secret = register(yk, system, name="低保审核", rate_limit="120/minute")
    assert len(secret) >= 43 and application.app_id.startswith(applications.APP_ID_PREFIX)
    assert (application.department, application.system, application.rate_limit) == (yk.civil, system, "120/minute")
    row = stored_row(application)
    assert str(row["signing_key"]).startswith("v1:")
    everything = repr(row) + "".join(repr(e.details) + e.purpose for e in AuditEvent.objects.all())
    for form in forms_of(secret):
        assert form not in everything
    # What the platform decrypts is SHA-256(secret): the key the client signs with.
    assert applications.signing_key(application) == signing.derive_key(secret)
    # Bound to its own application: the ciphertext copied onto another row does not open.
    other, _other_secret = register(yk, system, name="另一个")
    other.signing_key = application.signing_key
    with pytest.raises(crypto.DecryptionError):
        applications.signing_key(other)
    event = AuditEvent.objects.get(action="sharing.application.register", object_id=str(application.pk))
    assert event.department_id == yk.civil.pk and event.details["app_id"] == application.app_id


@pytest.mark.req("R-9.1")
def test_only_the_departments_administrator_registers_for_its_own_active_system(yk, system):
    staff = t.user(Role.DEPARTMENT_STAFF, yk.civil)
    for user in (staff, yk.police_admin, yk.bureau, yk.evaluator):
        with pytest.raises(PermissionDenied):
            applications.register_application(t.actor(user), system, name="越权")
    retired = consumer_system(yk.civil, "旧系统")
    retired.is_active = False
    retired.save()
    with pytest.raises(ValidationError) as caught:
        register(yk, retired, name=" ", rate_limit="600 per fortnight")
    assert set(caught.value.message_dict) == {"name", "system", "rate_limit"}
    for bad in ("0/minute", "10/second;100/hour", "lots"):
        with pytest.raises(ValidationError) as caught:
            register(yk, system, rate_limit=bad)
        assert list(caught.value.message_dict) == ["rate_limit"]
    with pytest.raises(ValidationError) as caught:
        applications.register_application(t.actor(yk.civil_admin), None, name="无系统")
    assert list(caught.value.message_dict) == ["system"]
    assert not ConsumerApplication.objects.exists()
    application, _secret = applications.register_application(t.actor(yk.civil_admin), system, name="默认限额")
    assert application.rate_limit == "600/minute"


@pytest.mark.req("R-9.1")
def test_rotating_gives_a_new_secret_once_and_disabling_is_final(yk, system):
    application, first = register(yk, system)
    with pytest.raises(PermissionDenied):
        applications.rotate_secret(t.actor(yk.police_admin), application)
    application, second = applications.rotate_secret(t.actor(yk.civil_admin), application)
    assert second != first
    assert applications.signing_key(application) == signing.derive_key(second)
    assert not any(form in repr(stored_row(application)) for form in forms_of(first) + forms_of(second))

    with pytest.raises(PermissionDenied):
        applications.disable(t.actor(t.user(Role.DEPARTMENT_STAFF, yk.civil)), application)
    application = applications.disable(t.actor(yk.civil_admin), application)
    assert application.is_active is False and application.disabled_at is not None
    for action in (applications.disable, applications.rotate_secret):
        with pytest.raises(ValidationError) as caught:
            action(t.actor(yk.civil_admin), application)
        assert list(caught.value.message_dict) == ["application"]
    actions = list(
        AuditEvent.objects.filter(object_id=str(application.pk), action__startswith="sharing.application.").values_list(
            "action", flat=True
        )
    )
    assert actions == ["sharing.application.register", "sharing.application.rotate", "sharing.application.disable"]


@pytest.mark.req("R-9.1")
def test_the_key_is_decrypted_once_per_sealed_value_and_never_outlives_it(yk, system, monkeypatch):
    """The gateway reads the sealed key at every call; only opening it is remembered, so a
    rotation, an altered value or another platform key takes effect at the next call."""
    application, first = register(yk, system)
    opened = []
    decrypt = crypto.decrypt
    monkeypatch.setattr(crypto, "decrypt", lambda token, *, context: opened.append(token) or decrypt(token, context=context))
    for _ in range(3):
        fresh = ConsumerApplication.objects.get(pk=application.pk)
        assert applications.signing_key(fresh) == signing.derive_key(first)
    assert len(opened) == 1
    rotated, second = applications.rotate_secret(t.actor(yk.civil_admin), application)
    assert applications.signing_key(rotated) == signing.derive_key(second) != signing.derive_key(first)
    altered = ConsumerApplication.objects.get(pk=application.pk)
    altered.signing_key = altered.signing_key[:-8] + ("A" if altered.signing_key[-8] != "A" else "B") + altered.signing_key[-7:]
    for _ in range(2):  # a failure is not remembered either
        with pytest.raises(crypto.DecryptionError):
            applications.signing_key(altered)
    monkeypatch.setenv(crypto.KEY_ENV, "another-platform-key-" + "k" * 32)
    with pytest.raises(crypto.DecryptionError):
        applications.signing_key(rotated)
