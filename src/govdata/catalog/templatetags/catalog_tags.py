"""Small display helpers of the catalog templates."""

from __future__ import annotations

from django import template

register = template.Library()

STATUS_CLASSES = {
    "draft": "text-bg-secondary",
    "submitted": "text-bg-warning",
    "returned": "text-bg-danger",
    "published": "text-bg-success",
    "superseded": "text-bg-light border",
}
SHARE_CLASSES = {
    "unconditional": "text-bg-success",
    "conditional": "text-bg-info",
    "not_shared": "text-bg-secondary",
    "on_application": "text-bg-info",
    "not_open": "text-bg-secondary",
}


@register.filter
def status_class(status: str) -> str:
    return STATUS_CLASSES.get(status, "text-bg-light")


IMPORT_CLASSES = {
    "queued": "text-bg-secondary",
    "running": "text-bg-primary",
    "rejected": "text-bg-danger",
    "done": "text-bg-success",
    "failed": "text-bg-dark",
}


@register.filter
def import_class(status: str) -> str:
    return IMPORT_CLASSES.get(status, "text-bg-light")


@register.filter
def share_class(value: str) -> str:
    return SHARE_CLASSES.get(value, "text-bg-light")

