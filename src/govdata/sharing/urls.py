from django.urls import path

from . import views

app_name = "sharing"
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("overview/", views.overview, name="overview"),
    path("entries/<int:entry_pk>/request/", views.request_new, name="request_new"),
    path("requests/", views.requests_made, name="requests"),
    path("requests/<int:pk>/", views.request_detail, name="request"),
    path("requests/<int:pk>/approve/", views.request_approve, name="approve"),
    path("requests/<int:pk>/reject/", views.request_reject, name="reject"),
    path("requests/<int:pk>/withdraw/", views.request_withdraw, name="withdraw"),
    path("grants/", views.grants, name="grants"),
    path("grants/<int:pk>/", views.grant_detail, name="grant"),
    path("grants/<int:pk>/accept/", views.grant_accept, name="accept"),
    path("grants/<int:pk>/renew/", views.grant_renew, name="renew"),
    path("grants/<int:pk>/revoke/", views.grant_revoke, name="revoke"),
    path("resources/<int:pk>/data/", views.use_data, name="data"),
    path("resources/<int:pk>/export/", views.export, name="export"),
    path("resources/<int:pk>/log/", views.access_log, name="log"),
]
