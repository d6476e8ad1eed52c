from django.contrib import admin
from django.urls import include, path

from govdata.api import api
from govdata.opendata import token_views
from govdata.opendata.api import open_api
from govdata.orgs.permissions import can_use_admin_site


def _admin_permission(request) -> bool:
    return can_use_admin_site(request.user)


# The Django admin is for bureau superusers only; everyone else uses the platform's pages.
admin.site.has_permission = _admin_permission
admin.site.site_header = admin.site.site_title = "GovData"

urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("api/open/v1/", open_api.urls),
    path("api/", include("govdata.opendata.ckan_urls")),
    path("open/", include("govdata.opendata.account_urls")),
    path("open/", include("govdata.opendata.standards_urls")),
    path("open/account/token/", token_views.token_page, name="open_api_token"),
    path("open/", include("govdata.opendata.urls")),
    path("orgs/", include("govdata.orgs.urls")),
    path("workdays/", include("govdata.workdays.urls")),
    path("audit/", include("govdata.audit.urls")),
    path("catalog/", include("govdata.catalog.urls")),
    path("datastore/", include("govdata.datastore.urls")),
    path("sharing/", include("govdata.sharing.urls")),
    path("inbox/", include("govdata.notifications.urls")),
    path("gateway/v1/", include("govdata.sharing.gateway_urls")),
    path("demo-upstream/", include("govdata.demo.urls")),
    path("", include("govdata.web.urls")),
]
