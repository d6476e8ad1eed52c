"""Django admin (bureau superusers): inspection only; the calendar is edited on the
working-day calendar page through ``workdays.services`` so every change is audited."""

from __future__ import annotations

from django.contrib import admin

from govdata.common.admin import ReadOnlyAdmin
from django.utils.translation import gettext_lazy as _

from .models import CalendarOverride, CalendarYear


class DayTypeFilter(admin.SimpleListFilter):
    title = _("Day type")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return CalendarOverride.Kind.choices

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(ReadOnlyAdmin):
    list_display = ("date", "day_type", "name", "created_by", "created_at")
    list_filter = (DayTypeFilter,)
    date_hierarchy = "date"
    search_fields = ("name",)

    # The model's "kind" label is shared with other apps' msgids; name the column plainly.
    @admin.display(description=_("Day type"), ordering="kind")
    def day_type(self, obj):
        return obj.get_kind_display()


@admin.register(CalendarYear)
class CalendarYearAdmin(ReadOnlyAdmin):
    list_display = ("year", "source", "confirmed_by", "confirmed_at")
