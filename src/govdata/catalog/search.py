"""Chinese full-text search over the published sharing catalog (R-16.1, R-19.2).

Text is cut into words by jieba at index time and at query time, so both databases only see
space-separated tokens: SQLite matches them with FTS5 (bm25 ranking), PostgreSQL with a
'simple' tsvector and a GIN index (ts_rank). Facets are plain SQL over indexed columns of
:class:`SearchEntry`, one row per published entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from django.db import connection
from django.db.models import BooleanField, Count, Q, QuerySet
from django.db.models.expressions import RawSQL

from .models import CatalogEntry, EntryVersion, SearchEntry

FACETS = (
    "classification",
    "theme",
    "domain",
    "provider",
    "region",
    "share_type",
    "open_type",
    "format_category",
    "update_cycle",
)
# Facets stored as "|a|b|" lists: matched with LIKE, counted per value.
LIST_FACETS = {"theme": "themes", "domain": "domains"}
COLUMN_FACETS = {
    "classification": "class_item",
    "provider": "provider_id",
    "region": "region_id",
    "share_type": "share_type",
    "open_type": "open_type",
    "format_category": "format_category",
    "update_cycle": "update_cycle",
}
_PUNCT = re.compile(r"[^\w]+", re.UNICODE)


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def tokens(text: str) -> list[str]:
    """Words for the index: jieba's search-mode cut (long words and their parts), lower-cased."""
    words = []
    for word in _jieba().cut_for_search(text or ""):
        word = _PUNCT.sub("", word).lower()
        if word:
            words.append(word)
    return words


def document_text(version: EntryVersion) -> str:
    entry = version.entry
    parts = [version.name, version.name, version.summary, entry.provider.name, entry.provider.short_name, entry.code]
    for item in version.items.all():
        parts += [item.name, item.code, item.description]
    return " ".join(tokens(" ".join(p for p in parts if p)))


def index_entry(entry: CatalogEntry) -> None:
    """(Re)index an entry's published version, or drop it when nothing is published."""
    version = entry.published
    if version is None:
        SearchEntry.objects.filter(entry=entry).delete()
        return
    SearchEntry.objects.update_or_create(
        entry=entry,
        defaults={
            "version": version,
            "document": document_text(version),
            "name": version.name,
            "class_item": entry.classification.code[:3],
            "class_root": entry.classification.code[:1],
            "themes": "|" + "|".join(sorted(t.code for t in version.themes.all())) + "|",
            "domains": "|" + "|".join(sorted(version.domains)) + "|",
            "provider_id": entry.provider_id,
            "region_id": entry.provider.region_id,
            "share_type": version.share_type,
            "open_type": version.open_type,
            "format_category": version.format_category,
            "update_cycle": version.update_cycle,
            "published_at": version.reviewed_at,
        },
    )


def _match(rows: QuerySet[SearchEntry], query_tokens: list[str], rank: bool) -> QuerySet[SearchEntry]:
    """Keep rows containing every token; with ``rank``, annotate relevance (lower = better)."""
    if connection.vendor == "postgresql":
        text = " ".join(query_tokens)
        rows = rows.alias(
            hit=RawSQL("catalog_searchentry.search_vector @@ plainto_tsquery('simple', %s)", [text], BooleanField())
        ).filter(hit=True)
        if rank:
            rows = rows.annotate(
                rank=RawSQL("-ts_rank(catalog_searchentry.search_vector, plainto_tsquery('simple', %s))", [text])
            )
        return rows
    # FTS5: each token quoted, so no user input is ever read as query syntax.
    match = " ".join('"' + t.replace('"', '""') + '"' for t in query_tokens)
    rows = rows.filter(id__in=RawSQL("SELECT rowid FROM catalog_search_fts WHERE catalog_search_fts MATCH %s", [match]))
    if rank:
        rows = rows.annotate(
            rank=RawSQL(
                "SELECT bm25(catalog_search_fts) FROM catalog_search_fts "
                "WHERE catalog_search_fts MATCH %s AND rowid = catalog_searchentry.id",
                [match],
            )
        )
    return rows


@dataclass
class SearchResult:
    total: int
    entries: list[CatalogEntry]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def _apply_filters(rows: QuerySet[SearchEntry], filters: dict[str, list[str]]) -> QuerySet[SearchEntry]:
    for facet, values in filters.items():
        values = [v for v in values if v]
        if not values or facet not in FACETS:
            continue
        if facet in LIST_FACETS:
            column = LIST_FACETS[facet]
            cond = Q()
            for value in values:
                cond |= Q(**{f"{column}__contains": f"|{value}|"})
            rows = rows.filter(cond)
        else:
            rows = rows.filter(**{f"{COLUMN_FACETS[facet]}__in": values})
    return rows


def facet_counts(rows: QuerySet[SearchEntry]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for facet, column in COLUMN_FACETS.items():
        counts = rows.order_by().values(column).annotate(n=Count("id"))
        out[facet] = {str(row[column]): row["n"] for row in counts if row["n"]}
    for facet, column in LIST_FACETS.items():
        counts: dict[str, int] = {}
        for value in rows.order_by().values_list(column, flat=True):
            for code in value.strip("|").split("|"):
                if code:
                    counts[code] = counts.get(code, 0) + 1
        out[facet] = counts
    return out


def search(
    q: str = "",
    filters: dict[str, list[str]] | None = None,
    *,
    sort: str = "relevance",
    offset: int = 0,
    limit: int = 20,
    with_facets: bool = True,
) -> SearchResult:
    """Search the published catalog. Visible to every government user, so no per-user filter
    is needed here; unpublished work is listed separately by the selectors."""
    rows = _apply_filters(SearchEntry.objects.all(), filters or {})
    query_tokens = tokens(q)
    if query_tokens:
        rows = _match(rows, query_tokens, rank=False)
    total = rows.count()
    if query_tokens and sort == "relevance":
        ordered = _match(_apply_filters(SearchEntry.objects.all(), filters or {}), query_tokens, rank=True)
        ordered = ordered.order_by("rank", "-published_at", "-id")
    elif sort == "name":
        ordered = rows.order_by("name", "id")
    else:
        ordered = rows.order_by("-published_at", "-id")
    page_ids = list(ordered.values_list("entry_id", flat=True)[offset : offset + limit])
    entries = CatalogEntry.objects.in_bulk(page_ids)
    result = SearchResult(total, [entries[i] for i in page_ids if i in entries])
    if with_facets:
        result.facets = facet_counts(rows)
    return result
