"""The facet panel of a catalog search page: per facet of the search (``search.FACETS``), its
values with their display labels, counts, whether each is chosen, and the link that toggles
it. One panel for the sharing catalog's search (``views.search``) and the open portal's
(``opendata.views.search``), which shows the public facets only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy

from . import search
from .selectors import facet_labels

TITLES = {
    "classification": gettext_lazy("Classification"),
    "theme": gettext_lazy("Theme"),
    "domain": gettext_lazy("Priority domain"),
    "provider": gettext_lazy("Provider"),
    "region": gettext_lazy("Region"),
    "share_type": gettext_lazy("Sharing type"),
    "open_type": gettext_lazy("Opening type"),
    "format_category": gettext_lazy("Format category"),
    "update_cycle": gettext_lazy("Update cycle"),
}
SHOWN = 12  # values listed at once; the rest behind "n more"


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    url: str


@dataclass
class Facet:
    key: str
    title: Any
    values: list[FacetValue]
    more: list[FacetValue]

    @property
    def any_selected(self) -> bool:
        return any(v.selected for v in self.values + self.more)


def toggle_url(params: QueryDict, facet: str, value: str) -> str:
    """The query string of the page with ``value`` of ``facet`` chosen, or no longer chosen
    if it was; back to the first page."""
    query = params.copy()
    query.pop("page", None)
    chosen = query.getlist(facet)
    query.setlist(facet, [v for v in chosen if v != value] if value in chosen else [*chosen, value])
    return "?" + query.urlencode()


def facet_panel(
    params: QueryDict, result: search.SearchResult, filters: dict[str, list[str]], keys: Iterable[str] | None = None
) -> list[Facet]:
    """The facets ``keys`` (every facet of the search by default, in its order) of a search
    ``result`` for the page's query ``params`` and the ``filters`` applied: chosen values
    first (shown even where nothing matches them now), then by count and label. A facet
    with no value is left out."""
    wanted = set(search.FACETS if keys is None else keys)
    counts = {
        key: {**dict.fromkeys(filters.get(key, []), 0), **result.facets.get(key, {})}
        for key in search.FACETS
        if key in wanted
    }
    labels = facet_labels(counts)
    out = []
    for key, values_counted in counts.items():
        chosen = filters.get(key, [])
        values = [
            FacetValue(v, labels.get(key, {}).get(v, v), n, v in chosen, toggle_url(params, key, v))
            for v, n in values_counted.items()
        ]
        values.sort(key=lambda f: (not f.selected, -f.count, f.label))
        if values:
            out.append(Facet(key, TITLES[key], values[:SHOWN], values[SHOWN:]))
    return out
