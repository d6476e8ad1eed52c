"""Django admin (bureau superusers): the audit trail is append-only, so strictly read-only
here: no add, change or delete, not even for a superuser."""

from __future__ import annotations

from django.contrib import admin

from govdata.common.admin import ReadOnlyAdmin
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "seq",
        "occurred_at",
        "actor_label",
        "application",
        "department_id",
        "action",
        "object_ref",
        "row_count",
        "client_ip",
    )
    list_filter = ("actor_type",)
    search_fields = ("action", "actor_label", "object_id", "purpose")
    date_hierarchy = "occurred_at"
    ordering = ("-seq",)

    @admin.display(description=_("Object"))
    def object_ref(self, obj):
        return f"{obj.object_type} #{obj.object_id}" if obj.object_type else ""

