"""The platform's JSON API (django-ninja): one router per app, OpenAPI at /api/v1/docs."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.security import django_auth

from govdata.catalog.api import router as catalog_router
from govdata.common.fsm import IllegalTransition
from govdata.orgs.api import router as orgs_router
from govdata.workdays.api import router as workdays_router

api = NinjaAPI(title="GovData API", version="1", urls_namespace="api", auth=django_auth)


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return api.create_response(request, {"detail": _("The input is not valid."), "errors": errors}, status=422)


@api.exception_handler(PermissionDenied)
def permission_denied(request, exc: PermissionDenied):
    return api.create_response(request, {"detail": str(exc) or _("Permission denied.")}, status=403)


@api.exception_handler(IllegalTransition)
def illegal_transition(request, exc: IllegalTransition):
    return api.create_response(request, {"detail": str(exc)}, status=409)


@api.exception_handler(Http404)
def not_found(request, exc: Http404):
    return api.create_response(request, {"detail": _("Not found.")}, status=404)


api.add_router("/orgs/", orgs_router)
api.add_router("/workdays/", workdays_router)
api.add_router("/catalog/", catalog_router)
