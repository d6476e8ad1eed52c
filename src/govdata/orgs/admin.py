"""Django admin for the bureau's superusers: inspection only. Every change to organisations
and people goes through ``orgs.services`` (permission check + audit), never the admin."""

from __future__ import annotations

from django.contrib import admin

from govdata.common.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import Contact, ContactChange, Department, InformationSystem, Region, RoleAssignment, User


@admin.register(Region)
class RegionAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")


@admin.register(Department)
class DepartmentAdmin(ReadOnlyAdmin):
    list_display = ("name", "short_name", "credit_code", "region", "kind", "sector", "is_active")
    list_filter = ("region", "kind", "is_active")
    search_fields = ("name", "short_name", "credit_code")
    list_select_related = ("region",)


class RoleInline(ReadOnlyInline):
    model = RoleAssignment
    fields = ("role", "region", "granted_at")
    readonly_fields = fields


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ("username", "full_name", "department", "is_active", "is_superuser", "locked_until", "last_login")
    list_filter = ("is_active", "is_superuser", "roles__role")
    search_fields = ("username", "full_name", "email", "mobile")
    list_select_related = ("department",)
    exclude = ("password", "groups", "user_permissions")
    inlines = [RoleInline]


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ("name", "role", "department", "post", "mobile", "is_active", "confirmed_at")
    list_filter = ("role", "is_active")
    search_fields = ("name", "department__name", "mobile")
    list_select_related = ("department",)


@admin.register(ContactChange)
class ContactChangeAdmin(ReadOnlyAdmin):
    list_display = ("contact", "kind", "changed_by", "changed_at")
    list_filter = ("kind",)
    list_select_related = ("contact", "changed_by")


@admin.register(InformationSystem)
class InformationSystemAdmin(ReadOnlyAdmin):
    list_display = ("name", "department", "status", "connected", "is_active")
    list_filter = ("status", "connected", "is_active")
    search_fields = ("name", "department__name")
    list_select_related = ("department",)
