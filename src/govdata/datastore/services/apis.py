"""API resources (R-3.1 interfaces): register an upstream HTTP interface, change it, probe it.

Credentials are encrypted (AES-GCM, see ``datastore.crypto``) before they reach the model and
are never returned: reads show only whether a credential is set. The probe is the only reader
of the plaintext (``datastore.probes``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _

from govdata.audit.services import record
from govdata.common import clock
from govdata.common.actor import Actor
from govdata.orgs.models import User
from govdata.orgs.permissions import check

from .. import crypto, probes
from .. import permissions as perm
from ..models import ApiEndpoint, Resource

Auth = ApiEndpoint.Auth
JSON_TYPES = {"string", "integer", "number", "boolean", "array", "object", "null"}
MAX_TIMEOUT = 120
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 token: a valid header name
_HEADER_VALUE = re.compile(r"^[\x20-\x7e]+$")
_KEEP = object()


def can_probe(user: User | None, resource: Resource) -> bool:
    """The provider's people and the bureau may check an interface's health."""
    return perm.can_load(user, resource) or perm.can_review(user, resource)


def _event(actor: Actor, action: str, endpoint: ApiEndpoint, **details: Any) -> None:
    record(
        actor,
        f"datastore.api.{action}",
        endpoint.resource,
        department=endpoint.resource.entry.provider,
        details=details,
    )


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError({"url": _("Enter an http:// or https:// address.")}) from None
    if len(url) > ApiEndpoint._meta.get_field("url").max_length:
        raise ValidationError({"url": _("The address is too long.")})
    return url


def clean_parameter_schema(schema: Any) -> dict:
    """A JSON-Schema-like object: ``{"type": "object", "properties": {name: {"type": ...}}}``
    with an optional ``required`` list naming declared properties."""
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError:
            raise ValidationError({"parameter_schema": _("The parameter schema is not valid JSON.")}) from None
    if schema is None or schema == {}:
        return {"type": "object", "properties": {}}
    problems: list[str] = []
    if not isinstance(schema, dict):
        raise ValidationError({"parameter_schema": _("The parameter schema must be a JSON object.")})
    if schema.get("type") != "object":
        problems.append(_('The schema\'s "type" must be "object".'))
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        problems.append(_('The schema needs "properties": an object with one entry per parameter.'))
        properties = {}
    for name, spec in properties.items():
        if not isinstance(spec, dict):
            problems.append(_("Parameter “%(name)s” must be described by an object.") % {"name": name})
            continue
        kinds = spec.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds] if kinds is not None else []
        for kind in kinds:
            if kind not in JSON_TYPES:
                problems.append(
                    _("Parameter “%(name)s” has an unknown type “%(type)s”.") % {"name": name, "type": kind}
                )
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        problems.append(_('"required" must be a list of parameter names.'))
    else:
        for name in required:
            if name not in properties:
                problems.append(_("Required parameter “%(name)s” is not among the properties.") % {"name": name})
    if problems:
        raise ValidationError({"parameter_schema": problems})
    return schema


def _clean_credentials(auth: str, auth_name: str, credentials: Any) -> tuple[dict, Any]:
    """Field problems, and the credential in the form the probe uses."""
    problems: dict[str, str] = {}
    if auth not in Auth.values:
        return {"auth": _("Choose none, header token, HTTP basic or query parameter.")}, None
    if auth in (Auth.HEADER, Auth.QUERY):
        if not auth_name:
            problems["auth_name"] = _("Name the header or query parameter that carries the credential.")
        elif auth == Auth.HEADER and not _TOKEN.match(auth_name):
            problems["auth_name"] = _("“%(name)s” is not a valid HTTP header name.") % {"name": auth_name}
        elif len(auth_name) > ApiEndpoint._meta.get_field("auth_name").max_length:
            problems["auth_name"] = _("The name is too long.")
        if not isinstance(credentials, str) or not credentials.strip():
            problems["credentials"] = _("Enter the token or key.")
        elif auth == Auth.HEADER and not _HEADER_VALUE.match(credentials.strip()):
            problems["credentials"] = _("A header value is printable ASCII on one line.")
        else:
            credentials = credentials.strip()
    elif auth == Auth.BASIC:
        if isinstance(credentials, str) and ":" in credentials:
            username, password = credentials.split(":", 1)
            credentials = {"username": username, "password": password}
        if not (
            isinstance(credentials, dict)
            and isinstance(credentials.get("username"), str)
            and credentials["username"]
            and isinstance(credentials.get("password"), str)
        ):
            problems["credentials"] = _("Enter a user name and a password (user:password).")
        else:
            credentials = {"username": credentials["username"], "password": credentials["password"]}
    else:
        if credentials:
            problems["credentials"] = _("An interface without authentication takes no credentials.")
        credentials = None
    return problems, credentials


def _clean_timeout(value: Any) -> tuple[str | None, int]:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return _("Enter the timeout in whole seconds."), 0
    if not 1 <= seconds <= MAX_TIMEOUT:
        return _("The timeout is between 1 and %(max)d seconds.") % {"max": MAX_TIMEOUT}, 0
    return None, seconds


def _seal(endpoint: ApiEndpoint, credentials: Any) -> str:
    if credentials is None:
        return ""
    return crypto.encrypt(json.dumps(credentials, ensure_ascii=False), context=probes.credentials_context(endpoint))


def _apply(endpoint: ApiEndpoint, values: dict[str, Any], credentials: Any) -> list[str]:
    """Validate every field together (one error per field), then set them; returns the names
    of the fields that changed."""
    problems: dict[str, Any] = {}
    cleaned: dict[str, Any] = {}
    try:
        cleaned["url"] = _clean_url(values["url"])
    except ValidationError as exc:
        problems.update(exc.message_dict)
    method = (values["method"] or "").strip().upper()
    if method not in ApiEndpoint.Method.values:
        problems["method"] = _("Choose GET or POST.")
    cleaned["method"] = method
    try:
        cleaned["parameter_schema"] = clean_parameter_schema(values["parameter_schema"])
    except ValidationError as exc:
        problems.update(exc.message_dict)
    cleaned["auth"] = values["auth"]
    cleaned["auth_name"] = (values["auth_name"] or "").strip() if values["auth"] in (Auth.HEADER, Auth.QUERY) else ""
    if credentials is _KEEP:
        if cleaned["auth"] != endpoint.auth or cleaned["auth_name"] != endpoint.auth_name:
            if cleaned["auth"] != Auth.NONE:
                problems["credentials"] = _("Enter the credentials again when the authentication changes.")
            credentials = None
        else:
            credentials = _KEEP
    if credentials is not _KEEP:
        credential_problems, credentials = _clean_credentials(cleaned["auth"], cleaned["auth_name"], credentials)
        for name, text in credential_problems.items():
            problems.setdefault(name, text)
    timeout_problem, cleaned["timeout_seconds"] = _clean_timeout(values["timeout_seconds"])
    if timeout_problem:
        problems["timeout_seconds"] = timeout_problem
    if problems:
        raise ValidationError(problems)
    changed = [name for name, value in cleaned.items() if getattr(endpoint, name) != value]
    for name, value in cleaned.items():
        setattr(endpoint, name, value)
    if credentials is not _KEEP:
        endpoint.credentials = _seal(endpoint, credentials)
        changed.append("credentials")
    return changed


def _require_api(resource: Resource) -> None:
    if resource.kind != Resource.Kind.API:
        raise ValidationError({"resource": _("Only an interface resource registers an upstream interface.")})


@transaction.atomic
def register_api(
    actor: Actor,
    resource: Resource,
    *,
    url: str,
    method: str = "GET",
    parameter_schema: Any = None,
    auth: str = Auth.NONE,
    auth_name: str = "",
    credentials: Any = None,
    timeout_seconds: int = 10,
) -> ApiEndpoint:
    """Register the upstream interface behind an API resource (once; then :func:`update_api`)."""
    check(actor, perm.can_load, resource)
    _require_api(resource)
    if ApiEndpoint.objects.filter(resource=resource).exists():
        raise ValidationError({"resource": _("This resource already has an interface; change it instead.")})
    endpoint = ApiEndpoint(resource=resource)
    values = {
        "url": url,
        "method": method,
        "parameter_schema": parameter_schema,
        "auth": auth,
        "auth_name": auth_name,
        "timeout_seconds": timeout_seconds,
    }
    _apply(endpoint, values, credentials)
    endpoint.save()
    _event(
        actor,
        "register",
        endpoint,
        url=endpoint.url,
        method=endpoint.method,
        auth=endpoint.auth,
        credentials_set=bool(endpoint.credentials),
    )
    return endpoint


@transaction.atomic
def update_api(actor: Actor, resource: Resource, **changes: Any) -> ApiEndpoint:
    """Change some of the registration's fields (the keyword arguments of :func:`register_api`).
    Credentials are kept unless given; they must be given again when the authentication
    method or its header/parameter name changes."""
    check(actor, perm.can_load, resource)
    _require_api(resource)
    unknown = set(changes) - {
        "url",
        "method",
        "parameter_schema",
        "auth",
        "auth_name",
        "credentials",
        "timeout_seconds",
    }
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in sorted(unknown)})
    endpoint = ApiEndpoint.objects.select_for_update().get(resource=resource)
    values = {
        name: changes.get(name, getattr(endpoint, name))
        for name in ("url", "method", "parameter_schema", "auth", "auth_name", "timeout_seconds")
    }
    changed = _apply(endpoint, values, changes.get("credentials", _KEEP))
    if changed:
        if "url" in changed or "auth" in changed or "credentials" in changed:
            # A new address or secret: the last probe no longer says anything about it.
            endpoint.last_probe_at = endpoint.last_probe_ok = endpoint.last_probe_status = None
            endpoint.last_probe_ms, endpoint.last_probe_error = None, ""
        endpoint.save()
        _event(actor, "update", endpoint, changed=changed, url=endpoint.url)
    return endpoint


def describe(endpoint: ApiEndpoint) -> dict[str, Any]:
    """The registration as shown to people and APIs: everything but the credential."""
    return {
        "url": endpoint.url,
        "method": endpoint.method,
        "parameter_schema": endpoint.parameter_schema,
        "auth": endpoint.auth,
        "auth_name": endpoint.auth_name,
        "credentials_set": bool(endpoint.credentials),
        "timeout_seconds": endpoint.timeout_seconds,
        "last_probe_at": endpoint.last_probe_at,
        "last_probe_ok": endpoint.last_probe_ok,
        "last_probe_status": endpoint.last_probe_status,
        "last_probe_ms": endpoint.last_probe_ms,
        "last_probe_error": endpoint.last_probe_error,
    }


def probe(actor: Actor, resource: Resource) -> probes.ProbeResult:
    """Call the upstream once and record the outcome on the endpoint and in the audit trail.
    ``actor`` is a person (the provider or the bureau) or ``Actor.platform()`` for jobs."""
    check(actor, can_probe, resource)
    _require_api(resource)
    endpoint = ApiEndpoint.objects.select_related("resource__entry").get(resource=resource)
    # The request runs outside any transaction: a slow upstream must not hold database locks.
    result = probes.call(endpoint)
    with transaction.atomic():
        ApiEndpoint.objects.filter(pk=endpoint.pk).update(
            last_probe_at=clock.now(),
            last_probe_ok=result.ok,
            last_probe_status=result.status,
            last_probe_ms=result.ms,
            last_probe_error=result.error,
        )
        _event(actor, "probe", endpoint, ok=result.ok, status=result.status, ms=result.ms, error=result.error)
    return result


def probe_all(actor: Actor | None = None) -> dict[int, probes.ProbeResult]:
    """Probe every registered interface of a published resource (a periodic job's body)."""
    actor = actor or Actor.platform()
    results = {}
    for resource in Resource.objects.filter(
        kind=Resource.Kind.API, status=Resource.Status.PUBLISHED, endpoint__isnull=False
    ):
        results[resource.pk] = probe(actor, resource)
    return results
