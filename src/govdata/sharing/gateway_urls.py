"""The data gateway's addresses, mounted at /gateway/v1/ (see ``gateway``)."""

from django.urls import path

from . import gateway

app_name = "gateway"
urlpatterns = [
    path("resources/<int:resource_id>/records", gateway.records, name="records"),
    path("resources/<int:resource_id>/records/by-key", gateway.lookup, name="lookup"),
    path("resources/<int:resource_id>/files/<int:file_id>", gateway.download, name="file"),
    path("resources/<int:resource_id>/call", gateway.call_interface, name="call"),
]
