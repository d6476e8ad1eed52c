from django.urls import path

from . import views

app_name = "catalog"
urlpatterns = [
    path("", views.search, name="search"),
    path("export/", views.search_export, name="search_export"),
    path("mine/", views.mine, name="mine"),
    path("mine/export/", views.export, name="export"),
    path("entries/new/", views.entry_new, name="new"),
    path("entries/<int:pk>/", views.entry_detail, name="entry"),
    path("entries/<int:pk>/edit/", views.entry_edit, name="edit"),
    path("entries/<int:pk>/revise/", views.entry_revise, name="revise"),
    path("entries/<int:pk>/submit/", views.entry_submit, name="submit"),
    path("entries/<int:pk>/withdraw/", views.entry_withdraw, name="withdraw"),
    path("entries/<int:pk>/confirm/", views.entry_confirm, name="confirm"),
    path("entries/<int:pk>/publish/", views.entry_publish, name="publish"),
    path("entries/<int:pk>/return/", views.entry_return, name="return"),
    path("review/", views.review_queue, name="review"),
    path("review/<int:pk>/", views.review_entry, name="review_entry"),
    path("import/", views.import_page, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("import/<int:pk>/", views.import_status, name="import_status"),
    path("import/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("import/<int:pk>/marked.xlsx", views.import_marked, name="import_marked"),
    path("maintenance/", views.maintenance, name="maintenance"),
    path("maintenance/legal-change/", views.legal_change, name="legal_change"),
]
