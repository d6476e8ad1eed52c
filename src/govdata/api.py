"""The platform's JSON API (django-ninja): one router per app, OpenAPI at /api/v1/docs; its errors
as every API of the platform gives them (``common.api``)."""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.security import django_auth

from govdata.catalog.api import router as catalog_router
from govdata.common.api import add_error_handlers
from govdata.datastore.api import router as datastore_router
from govdata.orgs.api import router as orgs_router
from govdata.sharing.api import router as sharing_router
from govdata.workdays.api import router as workdays_router


api = NinjaAPI(title="GovData API", version="1", urls_namespace="api", auth=django_auth)
add_error_handlers(api)

api.add_router("/orgs/", orgs_router)
api.add_router("/workdays/", workdays_router)
api.add_router("/catalog/", catalog_router)
api.add_router("/datastore/", datastore_router)
api.add_router("/sharing/", sharing_router)
