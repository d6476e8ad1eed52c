"""Django admin (bureau superusers): inspection of sent messages only."""

from __future__ import annotations

from django.contrib import admin

from govdata.common.admin import ReadOnlyAdmin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("subject", "category", "recipient", "department", "created_at", "read_at")
    list_filter = ("category",)
    search_fields = ("subject", "body")
    date_hierarchy = "created_at"
    list_select_related = ("recipient", "department")
