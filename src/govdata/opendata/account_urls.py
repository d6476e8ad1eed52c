"""Public accounts, open-data applications (R-29.2) and feedback, mounted at /open/ beside the
portal (``urls``): the public's pages under account/, datasets/<name>/apply|feedback/,
applications/ and requests/; the departments' and the bureau's under manage/."""

from django.urls import path, re_path

from govdata.web import views as web_views

from . import account_views as views

app_name = "open_account"

PORTAL = "opendata:home"

urlpatterns = [
    path("account/register/", views.register, name="register"),
    path(
        "account/login/",
        web_views.login_view,
        {"template_name": "opendata/account/login.html", "landing": PORTAL},
        name="login",
    ),
    path("account/logout/", web_views.logout_view, {"landing": PORTAL}, name="logout"),
    path("account/", views.profile, name="profile"),
    path("account/applications/", views.my_applications, name="my_applications"),
    path("datasets/<str:name>/apply/", views.apply, name="apply"),
    path("datasets/<str:name>/feedback/", views.feedback, name="feedback"),
    path("applications/stats/", views.application_stats, name="application_stats"),
    path("applications/<int:pk>/", views.application, name="application"),
    path("applications/<int:pk>/approve/", views.approve, name="approve"),
    path("applications/<int:pk>/reject/", views.reject, name="reject"),
    path("requests/", views.data_requests, name="data_requests"),
    path("manage/applications/", views.manage_applications, name="manage_applications"),
    path("manage/feedback/", views.moderation, name="moderation"),
    re_path(r"^manage/feedback/(?P<pk>[0-9]+)/(?P<action>publish|hide)/$", views.moderate, name="moderate"),
    path("manage/feedback/<int:pk>/answer/", views.answer, name="answer"),
]
