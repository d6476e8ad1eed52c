"""The Django admin is for inspection only: every change goes through the services, so it is
permission-checked and audited. Each app's ModelAdmin and inline derives from these."""

from __future__ import annotations

from django.contrib import admin


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    actions = None


class ReadOnlyInline(ReadOnly, admin.TabularInline):
    extra = 0
