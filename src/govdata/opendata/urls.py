"""The public portal, mounted at /open/."""

from django.contrib.sitemaps import views as sitemaps
from django.urls import path, re_path

from govdata.datastore.exports import FORMATS

from . import views
from .sitemaps import SITEMAPS

app_name = "opendata"

urlpatterns = [
    path("", views.home, name="home"),
    path("datasets/", views.search, name="search"),
    path("datasets/<str:name>/", views.dataset, name="dataset"),
    path("resources/<int:pk>/preview/", views.preview, name="preview"),
    re_path(rf"^resources/(?P<pk>[0-9]+)/download\.(?P<fmt>{'|'.join(FORMATS)})$", views.download, name="download"),
    path("departments/", views.departments, name="departments"),
    path("departments/<int:pk>/", views.department, name="department"),
    path("notices/", views.notices, name="notices"),
    path("domains/", views.domains, name="domains"),
    path("stats/", views.stats, name="stats"),
    path("stats.json", views.stats_json, name="stats_json"),
    # An index of sections: one sitemap holds at most 50,000 addresses.
    path("sitemap.xml", sitemaps.index, {"sitemaps": SITEMAPS, "sitemap_url_name": "opendata:sitemap_section"}, name="sitemap"),
    path("sitemap-<section>.xml", sitemaps.sitemap, {"sitemaps": SITEMAPS}, name="sitemap_section"),
]
