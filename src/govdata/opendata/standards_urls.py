"""Machine-readable descriptions of the open catalog (DCAT-AP, Frictionless), mounted at
/open/ ahead of the portal's pages."""

from django.urls import path, re_path

from . import datapackage, dcat

app_name = "standards"

SUFFIX = "|".join(dcat.FORMATS)

urlpatterns = [
    path("catalog", dcat.catalog, name="catalog"),
    re_path(rf"^catalog\.(?P<suffix>{SUFFIX})$", dcat.catalog_as, name="catalog_as"),
    re_path(rf"^datasets/(?P<name>[^/]+)\.(?P<suffix>{SUFFIX})$", dcat.dataset_as, name="dataset_as"),
    path("datasets/<str:name>/datapackage.json", datapackage.datapackage, name="datapackage"),
]
