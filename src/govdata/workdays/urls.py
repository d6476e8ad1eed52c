from django.urls import path

from . import views

app_name = "workdays"
urlpatterns = [
    path("", views.calendar_view, name="calendar"),
    path("overrides/add/", views.override_add, name="override_add"),
    path("overrides/remove/", views.override_remove, name="override_remove"),
    path("years/confirm/", views.year_confirm, name="year_confirm"),
]
