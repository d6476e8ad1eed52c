"""Display helpers of the portal's templates."""

from __future__ import annotations

from django import template
from django.urls import reverse

from govdata.catalog.models import CatalogEntry

from .. import selectors

register = template.Library()


@register.filter
def dataset_url(entry: CatalogEntry) -> str:
    return reverse("opendata:dataset", args=[selectors.dataset_name(entry)])
