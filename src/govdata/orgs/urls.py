from django.urls import path

from . import views

app_name = "orgs"
urlpatterns = [
    path("departments/", views.department_list, name="departments"),
    path("departments/new/", views.department_create, name="department_create"),
    path("departments/<int:pk>/", views.department_detail, name="department"),
    path("departments/<int:pk>/edit/", views.department_edit, name="department_edit"),
    path("departments/<int:pk>/contacts/new/", views.contact_create, name="contact_create"),
    path("departments/<int:pk>/contacts/confirm-all/", views.contact_confirm_all, name="contact_confirm_all"),
    path("departments/<int:pk>/systems/new/", views.system_create, name="system_create"),
    path("departments/<int:pk>/users/new/", views.user_create, name="user_create"),
    path("contacts/report/", views.contact_report, name="contact_report"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/confirm/", views.contact_confirm, name="contact_confirm"),
    path("contacts/<int:pk>/remove/", views.contact_remove, name="contact_remove"),
    path("contacts/<int:pk>/history/", views.contact_history, name="contact_history"),
    path("systems/<int:pk>/edit/", views.system_edit, name="system_edit"),
    path("users/<int:pk>/active/", views.user_set_active, name="user_set_active"),
]
