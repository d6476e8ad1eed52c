"""Consumer applications (R-9.1): the credentials with which a department's information
systems call the data gateway — register, rotate the secret, disable.

The secret (``secrets.token_urlsafe(32)``) is returned once and never stored. The platform
keeps only the signing key derived from it, ``SHA-256(secret)`` (``signing.derive_key``),
encrypted with the platform data key (``datastore.crypto``, bound to the app id), so neither
the database nor its backups hold the secret or a key usable without the platform's data key.
Clients sign with HMAC-SHA256 keyed by those 32 bytes (``signing``).
"""

from __future__ import annotations

import functools
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from govdata.audit.services import record
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.datastore import crypto
from govdata.orgs.models import Department, InformationSystem, Role, User
from govdata.orgs.permissions import check, has_department_role

from .. import ratelimit, signing
from ..models import ConsumerApplication

SECRET_BYTES = 32
APP_ID_PREFIX = "app_"


def can_manage_applications(user: User | None, department: Department | int) -> bool:
    """A department's administrator manages its own applications."""
    return has_department_role(user, department, Role.DEPARTMENT_ADMIN)


def _context(app_id: str) -> str:
    """Associated data binding a sealed key to its application."""
    return f"sharing.application:{app_id}"


def _seal(app_id: str, secret: str) -> str:
    return crypto.encrypt(signing.derive_key(secret).hex(), context=_context(app_id))


def signing_key(application: ConsumerApplication) -> bytes:
    """The application's HMAC key (raises ``crypto.DecryptionError`` when it cannot be read).
    The caller reads the sealed key from the database at every call, so a rotation or a
    disabling takes effect at the next one; only the decryption is remembered, per process, by
    everything it depends on: the sealed value, the application and the platform key."""
    return _unseal(application.signing_key, application.app_id, crypto.platform_key())


@functools.lru_cache(maxsize=1024)
def _unseal(sealed: str, app_id: str, platform_key: bytes) -> bytes:
    return bytes.fromhex(crypto.decrypt(sealed, context=_context(app_id)))


def _event(actor: Actor, action: str, application: ConsumerApplication, **details) -> None:
    record(
        actor,
        f"sharing.application.{action}",
        application,
        department=application.department,
        details={"app_id": application.app_id, **details},
    )


@transaction.atomic
def register_application(
    actor: Actor, system: InformationSystem | None, *, name: str, rate_limit: str = ""
) -> tuple[ConsumerApplication, str]:
    """Register an application for one of the department's active information systems;
    returns it and its secret, which is shown this once."""
    if system is None:
        raise ValidationError({"system": _("Choose the information system that will call the gateway.")})
    check(actor, can_manage_applications, system.department_id)
    problems = {}
    name = (name or "").strip()
    if not name:
        problems["name"] = _("This field is required.")
    elif len(name) > ConsumerApplication._meta.get_field("name").max_length:
        problems["name"] = _("At most %(n)d characters.") % {"n": ConsumerApplication._meta.get_field("name").max_length}
    if not system.is_active:
        problems["system"] = _("Choose an active information system of your own department.")
    rate_limit = (rate_limit or "").strip() or ConsumerApplication._meta.get_field("rate_limit").default
    try:
        ratelimit.parse(rate_limit)
    except ValidationError as exc:
        problems.update(exc.message_dict)
    if problems:
        raise ValidationError(problems)
    app_id = APP_ID_PREFIX + secrets.token_hex(8)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    application = ConsumerApplication.objects.create(
        department_id=system.department_id,
        system=system,
        name=name,
        app_id=app_id,
        signing_key=_seal(app_id, secret),
        rate_limit=rate_limit,
        created_by=actor.user,
        created_at=clock.now(),
    )
    _event(actor, "register", application, name=name, system=system.pk, rate_limit=rate_limit)
    return application, secret


@transaction.atomic
def rotate_secret(actor: Actor, application: ConsumerApplication) -> tuple[ConsumerApplication, str]:
    """A new secret, shown once; the old one stops working at once."""
    check(actor, can_manage_applications, application.department_id)
    application = ConsumerApplication.objects.select_for_update().get(pk=application.pk)
    if not application.is_active:
        raise ValidationError({"application": _("This application is disabled.")})
    secret = secrets.token_urlsafe(SECRET_BYTES)
    application.signing_key = _seal(application.app_id, secret)
    application.save(update_fields=["signing_key"])
    _event(actor, "rotate", application)
    return application, secret


@transaction.atomic
def disable(actor: Actor, application: ConsumerApplication) -> ConsumerApplication:
    """The application's calls are refused from the next one on."""
    check(actor, can_manage_applications, application.department_id)
    application = ConsumerApplication.objects.select_for_update().get(pk=application.pk)
    if not application.is_active:
        raise ValidationError({"application": _("This application is already disabled.")})
    application.is_active, application.disabled_at = False, clock.now()
    application.save(update_fields=["is_active", "disabled_at"])
    _event(actor, "disable", application)
    return application
