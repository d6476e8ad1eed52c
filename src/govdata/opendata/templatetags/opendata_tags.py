"""Display helpers of the portal's templates."""

from __future__ import annotations

from django import template
from django.urls import reverse

from govdata.catalog.models import CatalogEntry

from .. import selectors
from ..portal import portal_name as _portal_name

register = template.Library()


@register.filter
def dataset_url(entry: CatalogEntry) -> str:
    return reverse("opendata:dataset", args=[selectors.dataset_name(entry)])


@register.simple_tag
def portal_name() -> str:
    """The open platform's name (``portal.portal_name``)."""
    return _portal_name()
