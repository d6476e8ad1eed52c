"""Usage counters (issue #6, item 8): the only write anonymous use makes."""

from __future__ import annotations

from django.db.models import F

from govdata.catalog.models import CatalogEntry
from govdata.common import clock

from ..models import UsageStat


def record_usage(entry: CatalogEntry, kind: str) -> None:
    """Count one use of a dataset today (Asia/Shanghai). The common case is a single UPDATE;
    the day's first use creates the row, and a race for that row ends in an UPDATE too."""
    day = clock.today()
    counter = UsageStat.objects.filter(entry=entry, day=day, kind=kind)
    if counter.update(count=F("count") + 1):
        return
    _stat, created = UsageStat.objects.get_or_create(entry=entry, day=day, kind=kind, defaults={"count": 1})
    if not created:
        counter.update(count=F("count") + 1)
