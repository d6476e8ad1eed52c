"""Chinese full-text search over the published sharing catalog (R-16.1, R-19.2).

Text is cut into words by jieba at index time and at query time, so both databases only see
space-separated tokens: SQLite matches them with FTS5 (bm25 ranking), PostgreSQL with a
'simple' tsvector and a GIN index (ts_rank).

Facets and filters work on a per-process table of every published entry's facet values (like
a search engine's field cache): a query asks the database only for the ids and scores that
match its words, and counts facets over those in memory. The table is reloaded whenever the
index version in the database changes (each publish bumps it in the same transaction), so
every app server sees a change as soon as it is committed. Memory: about 200 bytes an entry.
"""

from __future__ import annotations

import heapq
import re
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from django.db import connection
from django.db.models import F, Q, QuerySet

from .models import CatalogEntry, EntryVersion, SearchEntry, SearchIndexState

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
# Facets stored as "|a|b|" lists (an entry has several themes and domains).
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
        _bump_index_version()
        return
    _bump_index_version()
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


def _fts_match(query_tokens: list[str]) -> str:
    # FTS5: each token quoted, so no user input is ever read as query syntax.
    return " ".join('"' + t.replace('"', '""') + '"' for t in query_tokens)


def _scores(query_tokens: list[str]) -> dict[int, float]:
    """Search-row id -> relevance (lower is better) of every row containing all the tokens."""
    if connection.vendor == "postgresql":
        sql = (
            "SELECT id, -ts_rank(search_vector, q) FROM catalog_searchentry, plainto_tsquery('simple', %s) q "
            "WHERE search_vector @@ q"
        )
        params = [" ".join(query_tokens)]
    else:
        sql = "SELECT rowid, bm25(catalog_search_fts) FROM catalog_search_fts WHERE catalog_search_fts MATCH %s"
        params = [_fts_match(query_tokens)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


# --- the facet table --------------------------------------------------------------------------

# Facet values of a row, in FACET_ORDER; beside them, what ordering needs.
FACET_ORDER = [*COLUMN_FACETS, *LIST_FACETS]
_COLUMNS = [*COLUMN_FACETS.values(), *LIST_FACETS.values(), "entry_id", "published_at", "name"]


@dataclass
class FacetTable:
    state: tuple[str, int]
    rows: dict[int, tuple]  # search row id -> facet values
    entry: dict[int, int] = field(default_factory=dict)  # search row id -> entry id
    newest: dict[int, float] = field(default_factory=dict)  # search row id -> -publication timestamp
    name: dict[int, str] = field(default_factory=dict)


_table: FacetTable | None = None
_table_lock = threading.Lock()


def _index_state() -> tuple[str, int]:
    return SearchIndexState.objects.filter(pk=1).values_list("token", "version").first() or ("", 0)


def _load(state: tuple[str, int]) -> FacetTable:
    sql, params = SearchEntry.objects.order_by().values_list("id", *_COLUMNS).query.sql_with_params()
    split, end = len(COLUMN_FACETS), len(FACET_ORDER) + 1
    table = FacetTable(state, {})
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            pk = row[0]
            values = [str(v) for v in row[1 : split + 1]]
            values += [tuple(c for c in v.split("|") if c) for v in row[split + 1 : end]]
            table.rows[pk] = tuple(values)
            table.entry[pk], table.newest[pk], table.name[pk] = row[end], -row[end + 1].timestamp(), row[end + 2]
    return table


def facet_table() -> FacetTable:
    """Search-row id -> facet values, current as of the committed index version."""
    global _table
    state = _index_state()
    table = _table
    if table is None or table.state != state:
        with _table_lock:
            if _table is None or _table.state != state:
                _table = _load(state)
            table = _table
    return table


def _bump_index_version() -> None:
    # The counter lives in the database so every app server sees the change at once.
    if not SearchIndexState.objects.filter(pk=1).update(version=F("version") + 1):
        SearchIndexState.objects.get_or_create(pk=1, defaults={"version": 1, "token": uuid.uuid4().hex})


def _passes(row: tuple, wanted: list[tuple[int, bool, set[str]]]) -> bool:
    for position, is_list, values in wanted:
        if is_list:
            if values.isdisjoint(row[position]):
                return False
        elif row[position] not in values:
            return False
    return True


def count_facets(rows: list[tuple]) -> dict[str, dict[str, int]]:
    facets: dict[str, dict[str, int]] = {}
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(FACET_ORDER)  # one tuple per facet
    for position, facet in enumerate(FACET_ORDER):
        if facet in LIST_FACETS:
            facets[facet] = dict(Counter(code for codes in columns[position] for code in codes))
        else:
            facets[facet] = dict(Counter(columns[position]))
    return facets


@dataclass
class SearchResult:
    total: int
    entries: list[CatalogEntry]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def _apply_filters(rows: QuerySet[SearchEntry], filters: dict[str, list[str]]) -> QuerySet[SearchEntry]:
    """The same filters in SQL, for pages ordered by the database."""
    for facet, values in filters.items():
        if facet in LIST_FACETS:
            cond = Q()
            for value in values:
                cond |= Q(**{f"{LIST_FACETS[facet]}__contains": f"|{value}|"})
            rows = rows.filter(cond)
        else:
            rows = rows.filter(**{f"{COLUMN_FACETS[facet]}__in": values})
    return rows


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
    filters = {f: [str(v) for v in values if v] for f, values in (filters or {}).items() if f in FACETS}
    filters = {f: values for f, values in filters.items() if values}
    table = facet_table()
    rows = table.rows
    query_tokens = tokens(q)
    scores = _scores(query_tokens) if query_tokens else None
    candidates = rows.keys() if scores is None else [i for i in scores if i in rows]
    wanted = [(FACET_ORDER.index(f), f in LIST_FACETS, set(v)) for f, v in filters.items()]
    matched = [i for i in candidates if _passes(rows[i], wanted)] if wanted else list(candidates)
    facets = count_facets([rows[i] for i in matched]) if with_facets else {}
    if scores is not None:
        # Matches are ordered here, from the facet table: cheaper than asking the database to
        # join them again. Only the requested page is ever fully sorted.
        newest, name = table.newest, table.name
        key = {
            "relevance": lambda i: (scores[i], newest[i], -i),
            "name": lambda i: (name[i], i),
        }.get(sort, lambda i: (newest[i], -i))
        page = heapq.nsmallest(offset + limit, matched, key=key)[offset:]
        entry_ids = [table.entry[i] for i in page]
    else:
        # Browsing: the database walks its indexes for the page.
        rows = _apply_filters(SearchEntry.objects.all(), filters)
        ordered = rows.order_by("name", "id") if sort == "name" else rows.order_by("-published_at", "-id")
        entry_ids = list(ordered.values_list("entry_id", flat=True)[offset : offset + limit])
    entries = CatalogEntry.objects.in_bulk(entry_ids)
    return SearchResult(len(matched), [entries[i] for i in entry_ids if i in entries], facets)
