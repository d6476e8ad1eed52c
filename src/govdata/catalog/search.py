"""Chinese full-text search over the published sharing catalog (R-16.1, R-19.2).

Text is cut into words by jieba at index time and at query time, so both databases only see
space-separated tokens: SQLite matches them with FTS5 (bm25 ranking), PostgreSQL with a
'simple' tsvector and a GIN index (ts_rank).

Facets and filters work on a per-process table of every published entry's facet values (like
a search engine's field cache), kept as bit sets over the search-row ids: a query asks the
database only for the ids and scores that match its words, and filters and counts facets with
integer AND and popcount; pages are ordered from the table too (a browse without words walks
its precomputed newest-first or by-name order until the page is full), whatever the filters.
The table is reloaded whenever the index version in the database
changes (each publish bumps it in the same transaction), so every app server sees a change as
soon as it is committed. Memory: about 200 bytes an entry, plus one bit per entry per facet
value (2 MB for 100,000 entries and 150 values).
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
import re
import threading
import uuid
from dataclasses import dataclass, field
from functools import lru_cache

from django.db import connection
from django.db.models import F, QuerySet

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


class ScoreCache:
    """Recent queries' scores per process, for one index state: scoring every match is the
    expensive part of a broad query, and the same words are asked again and again (a search
    engine's query-result cache). Bounded by the number of ids it holds."""

    def __init__(self, max_ids: int = 2_000_000) -> None:
        self.max_ids = max_ids
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._state, self._entries, self._size = None, OrderedDict(), 0

    def get(self, state: tuple[str, int], words: tuple[str, ...]) -> dict[int, float] | None:
        with self._lock:
            if state != self._state:
                return None
            found = self._entries.get(words)
            if found is not None:
                self._entries.move_to_end(words)
            return found

    def put(self, state: tuple[str, int], words: tuple[str, ...], scores: dict[int, float]) -> None:
        with self._lock:
            if state != self._state:
                self._state, self._entries, self._size = state, OrderedDict(), 0
            if words in self._entries or len(scores) > self.max_ids:
                return
            self._entries[words] = scores
            self._size += len(scores)
            while self._size > self.max_ids:
                _, dropped = self._entries.popitem(last=False)
                self._size -= len(dropped)


score_cache = ScoreCache()


def scores_for(state: tuple[str, int], query_tokens: list[str]) -> dict[int, float]:
    words = tuple(query_tokens)
    found = score_cache.get(state, words)
    if found is None:
        found = _scores(query_tokens)
        score_cache.put(state, words, found)
    return found


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


class Bits:
    """A set of search-row ids as one Python integer (bit i set: row i is in the set). Facet
    counting and filtering become a few hundred AND + popcount operations on 100,000-bit
    integers, which run in C, instead of a Python loop over every match."""

    @staticmethod
    def of(ids, size: int) -> int:
        """The bits of ``ids``; ids at or past ``size`` are left out."""
        buffer = bytearray((size >> 3) + 1)
        for i in ids:
            if i < size:
                buffer[i >> 3] |= 1 << (i & 7)
        return int.from_bytes(buffer, "little")

    @staticmethod
    def members(bits: int, ids, size: int) -> list[int]:
        """The ids of ``ids`` that are in ``bits``, in the order given."""
        buffer = bits.to_bytes((size >> 3) + 1, "little")
        return [i for i in ids if buffer[i >> 3] >> (i & 7) & 1]


@dataclass
class FacetTable:
    state: tuple[str, int]
    size: int = 0  # one more than the largest row id
    everything: int = 0  # the bits of every row
    bits: dict[str, dict[str, int]] = field(default_factory=dict)  # facet -> value -> rows
    entry: dict[int, int] = field(default_factory=dict)  # search row id -> entry id
    newest: dict[int, float] = field(default_factory=dict)  # search row id -> -publication timestamp
    name: dict[int, str] = field(default_factory=dict)
    # Every row id in the browsing orders: newest first (then the highest id), and by name.
    by_newest: list[int] = field(default_factory=list)
    by_name: list[int] = field(default_factory=list)


_table: FacetTable | None = None
_table_lock = threading.Lock()


def _index_state() -> tuple[str, int]:
    return SearchIndexState.objects.filter(pk=1).values_list("token", "version").first() or ("", 0)


def _load(state: tuple[str, int]) -> FacetTable:
    sql, params = SearchEntry.objects.order_by().values_list("id", *_COLUMNS).query.sql_with_params()
    split, end = len(COLUMN_FACETS), len(FACET_ORDER) + 1
    table = FacetTable(state)
    members: dict[str, dict[str, list[int]]] = {facet: {} for facet in FACET_ORDER}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for row in rows:
        pk = row[0]
        for facet, value in zip(FACET_ORDER[:split], row[1 : split + 1], strict=True):
            members[facet].setdefault(str(value), []).append(pk)
        for facet, value in zip(FACET_ORDER[split:], row[split + 1 : end], strict=True):
            for code in value.split("|"):
                if code:
                    members[facet].setdefault(code, []).append(pk)
        table.entry[pk], table.newest[pk], table.name[pk] = row[end], -row[end + 1].timestamp(), row[end + 2]
    table.size = max(table.entry, default=0) + 1
    table.by_newest = sorted(table.entry, key=lambda i: (table.newest[i], -i))
    table.by_name = sorted(table.entry, key=lambda i: (table.name[i], i))
    table.everything = Bits.of(table.entry, table.size)
    table.bits = {
        facet: {value: Bits.of(ids, table.size) for value, ids in values.items()} for facet, values in members.items()
    }
    return table


def facet_table() -> FacetTable:
    """Facet values of every published entry as bit sets, current as of the committed index
    version."""
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
    # The state lives in the database so every app server sees the change at once. A fresh
    # token each time: a bump rolled back with its transaction is never repeated by the next
    # one, so nothing cached under it can be mistaken for the new state.
    token = uuid.uuid4().hex
    if not SearchIndexState.objects.filter(pk=1).update(version=F("version") + 1, token=token):
        SearchIndexState.objects.get_or_create(pk=1, defaults={"version": 1, "token": token})


def _filtered(table: FacetTable, matched: int, filters: dict[str, list[str]]) -> int:
    """Within a facet any chosen value passes; across facets all must."""
    for facet, values in filters.items():
        chosen = 0
        for value in values:
            chosen |= table.bits[facet].get(value, 0)
        matched &= chosen
    return matched


def count_facets(table: FacetTable, matched: int) -> dict[str, dict[str, int]]:
    facets: dict[str, dict[str, int]] = {}
    for facet in FACET_ORDER:
        counts = {value: (matched & bits).bit_count() for value, bits in table.bits[facet].items()}
        facets[facet] = {value: n for value, n in counts.items() if n}
    return facets


def _first(n: int, ids: list[int], primary: dict, tiebreak) -> list[int]:
    """The first ``n`` of ``ids`` ordered by (primary[i], tiebreak(i)). The cut-off primary
    value is found at C speed over the plain values; only the ids that reach it are sorted with
    the full key — a few more than ``n`` unless many tie."""
    if len(ids) > n:
        cut = heapq.nsmallest(n, map(primary.__getitem__, ids))[-1] if n else None
        ids = [i for i in ids if primary[i] <= cut] if n else []
    return sorted(ids, key=lambda i: (primary[i], tiebreak(i)))[:n]


@dataclass
class SearchResult:
    total: int
    entries: list[CatalogEntry]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def _walk(order: list[int], matched: int, offset: int, limit: int, size: int) -> list[int]:
    """The ``limit`` rows of ``order`` in ``matched`` after the first ``offset``: a walk down a
    precomputed order, which stops as soon as the page is full."""
    buffer = matched.to_bytes((size >> 3) + 1, "little")
    page: list[int] = []
    skip = offset
    for i in order:
        if buffer[i >> 3] >> (i & 7) & 1:
            if skip:
                skip -= 1
            elif len(page) < limit:
                page.append(i)
            else:
                break
    return page


def search(
    q: str = "",
    filters: dict[str, list[str]] | None = None,
    *,
    sort: str = "relevance",
    offset: int = 0,
    limit: int = 20,
    with_facets: bool = True,
    entries: QuerySet[CatalogEntry] | None = None,
) -> SearchResult:
    """Search the published catalog. Visible to every government user, so no per-user filter
    is needed here; unpublished work is listed separately by the selectors. ``entries``: the
    queryset the page is loaded from (a caller's own scope and prefetching), loaded once."""
    filters = {f: [str(v) for v in values if v] for f, values in (filters or {}).items() if f in FACETS}
    filters = {f: values for f, values in filters.items() if values}
    table = facet_table()
    query_tokens = tokens(q)
    scores = scores_for(table.state, query_tokens) if query_tokens else None
    # A row the table does not hold (published after it was loaded, in a transaction not yet
    # visible to it) is left out: its bit is never set, so it is never a candidate.
    matched = table.everything if scores is None else Bits.of(scores, table.size) & table.everything
    matched = _filtered(table, matched, filters)
    facets = count_facets(table, matched) if with_facets else {}
    if scores is not None:
        # Matches are ordered here, from the facet table: cheaper than asking the database to
        # join them again.
        candidates = Bits.members(matched, scores, table.size)
        newest, name = table.newest, table.name
        primary, tiebreak = {
            "relevance": (scores, lambda i: (newest[i], -i)),
            "name": (name, lambda i: i),
        }.get(sort, (newest, lambda i: -i))
        page = _first(offset + limit, candidates, primary, tiebreak)[offset:]
        entry_ids = [table.entry[i] for i in page]
    else:
        # Browsing: a walk down the table's order, as the database would walk an index — but
        # whatever the filters, which a database would have to sort when they pick an index.
        order = table.by_name if sort == "name" else table.by_newest
        entry_ids = [table.entry[i] for i in _walk(order, matched, offset, limit, table.size)]
    page = (CatalogEntry.objects if entries is None else entries).in_bulk(entry_ids)
    return SearchResult(matched.bit_count(), [page[i] for i in entry_ids if i in page], facets)
