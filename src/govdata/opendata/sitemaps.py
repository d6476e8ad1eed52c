"""The portal's sitemap (issue #6, item 4): its pages, every dataset and every department
that provides one, so that search engines on the extranet find them."""

from __future__ import annotations

from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.urls import reverse

from . import selectors


class PortalSitemap(Sitemap):
    changefreq = "daily"

    def items(self) -> list[str]:
        return ["home", "search", "departments", "notices", "domains", "stats"]

    def location(self, item: str) -> str:
        return reverse(f"opendata:{item}")


class DatasetSitemap(Sitemap):
    changefreq = "weekly"

    def items(self):
        # What a dataset page shows is not needed to name it: no prefetching.
        return selectors.datasets(None).prefetch_related(None).order_by("code")

    def location(self, entry) -> str:
        return reverse("opendata:dataset", args=[selectors.dataset_name(entry)])

    def lastmod(self, entry):
        return entry.published.reviewed_at

    def get_latest_lastmod(self):
        # For the index: one aggregate rather than Django's walk over every dataset.
        return selectors.datasets(None).aggregate(latest=Max("published__reviewed_at"))["latest"]


class DepartmentSitemap(Sitemap):
    changefreq = "weekly"

    def items(self) -> list:
        return [department for department, _count in selectors.providers(None)]

    def location(self, department) -> str:
        return reverse("opendata:department", args=[department.pk])


SITEMAPS = {"portal": PortalSitemap, "datasets": DatasetSitemap, "departments": DepartmentSitemap}
