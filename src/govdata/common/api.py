"""The platform's JSON errors, for every NinjaAPI it serves (the platform's API, ``govdata.api``,
and the open API, ``opendata.api``): ``{"detail": …}``, with ``"errors": {parameter:
[messages]}`` when the input is at fault — whether a service refused it (Django's
ValidationError) or the API's own schema did (ninja's), so a caller reads one shape. Every
message is translated (zh-hans by default), the schema's too: pydantic's are English only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.errors import ValidationError as SchemaError

from .fsm import IllegalTransition

# The view's own argument that holds a body or form: not a name the caller sent.
WRAPPED = ("body", "form", "file")


def _parameter(location: Sequence[Any]) -> str:
    """The parameter a schema error is about, as the caller named it: ``("query", "page")``
    is "page", ``("body", "payload", "items", 0, "code")`` "items.0.code"."""
    source, *rest = list(location) or [""]
    if source in WRAPPED and len(rest) > 1:
        rest = rest[1:]
    return ".".join(str(part) for part in rest) or "__all__"


def schema_message(error: dict[str, Any]) -> str:
    """A pydantic error (one of ``ninja.errors.ValidationError.errors``) in words of the
    active language."""
    kind, context = error.get("type", ""), error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bounds = {
            "greater_than_equal": ("ge", _("Give a value of at least %(limit)s.")),
            "greater_than": ("gt", _("Give a value greater than %(limit)s.")),
            "less_than_equal": ("le", _("Give a value of at most %(limit)s.")),
            "less_than": ("lt", _("Give a value less than %(limit)s.")),
        }
        key, message = bounds[kind]
        return message % {"limit": context.get(key, "")}
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Give a whole number.")
    if kind in ("float_parsing", "float_type", "decimal_parsing", "decimal_type"):
        return _("Give a number.")
    if kind in ("bool_parsing", "bool_type"):
        return _("Give true or false.")
    if kind.startswith("datetime_"):
        return _("Give a date and time, such as 2026-01-31T08:30:00+08:00.")
    if kind.startswith("date_"):
        return _("Give a date, such as 2026-01-31.")
    if kind in ("literal_error", "enum"):
        # pydantic lists the choices as "'a', 'b' or 'c'".
        choices = str(context.get("expected", "")).replace(" or ", ", ")
        return _("Use one of: %(choices)s.") % {"choices": choices}
    lengths = {
        "string_too_long": ("max_length", _("Give at most %(limit)s characters.")),
        "too_long": ("max_length", _("Give at most %(limit)s values.")),
        "string_too_short": ("min_length", _("Give at least %(limit)s characters.")),
        "too_short": ("min_length", _("Give at least %(limit)s values.")),
    }
    if kind in lengths:
        key, message = lengths[kind]
        return message % {"limit": context.get(key, "")}
    if kind == "json_invalid":
        return _("The request body is not valid JSON.")
    return _("This value is not valid.")


def http_message(exc: HttpError) -> str:
    """ninja's own refusals (a body that does not parse, a missing sign-in, a failed CSRF
    check) in words of the active language."""
    text = exc.message
    if text.startswith("Cannot parse request body"):
        return _("The request body is not valid JSON.")
    if isinstance(exc, AuthenticationError):
        return _("Sign in first.")
    if text == "CSRF check Failed":
        return _("The request lacks a valid CSRF token: send the csrftoken cookie's value as X-CSRFToken.")
    if isinstance(exc, AuthorizationError):
        return _("Permission denied.")
    return text


def schema_errors(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for error in errors:
        out.setdefault(_parameter(error.get("loc", ())), []).append(schema_message(error))
    return out


def add_error_handlers(target: NinjaAPI) -> None:
    """Answer ``target``'s errors as the platform does (see the module)."""

    @target.exception_handler(ValidationError)
    def validation_error(request, exc: ValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return target.create_response(request, {"detail": _("The input is not valid."), "errors": errors}, status=422)

    @target.exception_handler(SchemaError)
    def schema_error(request, exc: SchemaError):
        errors = schema_errors(exc.errors)
        return target.create_response(request, {"detail": _("The input is not valid."), "errors": errors}, status=422)

    @target.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        return target.create_response(request, {"detail": http_message(exc)}, status=exc.status_code)

    @target.exception_handler(PermissionDenied)
    def permission_denied(request, exc: PermissionDenied):
        return target.create_response(request, {"detail": str(exc) or _("Permission denied.")}, status=403)

    @target.exception_handler(IllegalTransition)
    def illegal_transition(request, exc: IllegalTransition):
        return target.create_response(request, {"detail": str(exc)}, status=409)

    @target.exception_handler(Http404)
    def not_found(request, exc: Http404):
        return target.create_response(request, {"detail": _("Not found.")}, status=404)
