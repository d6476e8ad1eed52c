"""The platform's JSON API (django-ninja): one router per app, OpenAPI at /api/v1/docs."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.security import django_auth

from govdata.catalog.api import router as catalog_router
from govdata.common.fsm import IllegalTransition
from govdata.datastore.api import router as datastore_router
from govdata.orgs.api import router as orgs_router
from govdata.sharing.api import router as sharing_router
from govdata.workdays.api import router as workdays_router


def add_error_handlers(target: NinjaAPI) -> None:
    """The platform's JSON errors (``{"detail", "errors"}``), for every NinjaAPI it serves:
    this one and the open API (``opendata.api``)."""

    @target.exception_handler(ValidationError)
    def validation_error(request, exc: ValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return target.create_response(request, {"detail": _("The input is not valid."), "errors": errors}, status=422)

    @target.exception_handler(PermissionDenied)
    def permission_denied(request, exc: PermissionDenied):
        return target.create_response(request, {"detail": str(exc) or _("Permission denied.")}, status=403)

    @target.exception_handler(IllegalTransition)
    def illegal_transition(request, exc: IllegalTransition):
        return target.create_response(request, {"detail": str(exc)}, status=409)

    @target.exception_handler(Http404)
    def not_found(request, exc: Http404):
        return target.create_response(request, {"detail": _("Not found.")}, status=404)


api = NinjaAPI(title="GovData API", version="1", urls_namespace="api", auth=django_auth)
add_error_handlers(api)

api.add_router("/orgs/", orgs_router)
api.add_router("/workdays/", workdays_router)
api.add_router("/catalog/", catalog_router)
api.add_router("/datastore/", datastore_router)
api.add_router("/sharing/", sharing_router)
