"""Mounted at /api/: CKAN's versioned action path and the unversioned one ``ckanapi`` calls."""

from django.urls import path

from . import ckan

app_name = "ckan"

urlpatterns = [
    path("3/action/<str:name>", ckan.dispatch, name="action"),
    path("action/<str:name>", ckan.dispatch),
]
