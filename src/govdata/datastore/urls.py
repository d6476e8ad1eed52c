from django.urls import path

from . import views

app_name = "datastore"
urlpatterns = [
    path("", views.mine, name="mine"),
    path("stale/", views.stale, name="stale"),
    path("review/", views.review_queue, name="review"),
    path("entries/<int:entry_pk>/mount/", views.mount, name="mount"),
    path("resources/<int:pk>/", views.resource_detail, name="resource"),
    path("resources/<int:pk>/submit/", views.resource_submit, name="submit"),
    path("resources/<int:pk>/publish/", views.resource_publish, name="publish"),
    path("resources/<int:pk>/return/", views.resource_return, name="return"),
    path("resources/<int:pk>/suspend/", views.resource_suspend, name="suspend"),
    path("resources/<int:pk>/resume/", views.resource_resume, name="resume"),
    path("resources/<int:pk>/columns/", views.column_rules, name="columns"),
    path("resources/<int:pk>/loads/", views.load, name="load"),
    path("resources/<int:pk>/loads/<str:token>/", views.load_status, name="load_status"),
    path("resources/<int:pk>/loads/<str:token>/progress/", views.load_progress, name="load_progress"),
    path("resources/<int:pk>/versions/<int:number>/", views.version_detail, name="version"),
    path("resources/<int:pk>/versions/<int:number>/report.csv", views.report_csv, name="report_csv"),
    path("resources/<int:pk>/export/", views.export, name="export"),
    path("resources/<int:pk>/feed/", views.feed_configure, name="feed"),
    path("resources/<int:pk>/feed/run/", views.feed_run, name="feed_run"),
    path("resources/<int:pk>/files/", views.file_upload, name="file_upload"),
    path("resources/<int:pk>/files/<int:file_pk>/", views.file_detail, name="file"),
    path("resources/<int:pk>/files/<int:file_pk>/download/", views.file_download, name="file_download"),
    path("resources/<int:pk>/files/<int:file_pk>/replace/", views.file_replace, name="file_replace"),
    path("resources/<int:pk>/files/<int:file_pk>/withdraw/", views.file_withdraw, name="file_withdraw"),
    path("resources/<int:pk>/api/", views.api_save, name="api"),
    path("resources/<int:pk>/api/probe/", views.api_probe, name="api_probe"),
]
