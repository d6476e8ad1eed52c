"""Chinese full-text search over the published sharing catalog (R-16.1, R-19.2).

Text is cut into words by jieba at index time and at query time. The index is our own, the
same on SQLite and PostgreSQL (one ranking, one behaviour): for each word, the search rows
holding it as bit sets per impact level (see "the term index" below), stored in
``SearchTerm`` and read per query — a few rows per word.

Facets and filters work on a per-process table of every published entry's facet values (like
a search engine's field cache), kept as bit sets over the search-row ids: a query ANDs its
words' rows with the filters and counts facets with integer AND and popcount; pages are
ordered from the table too (a walk down its precomputed newest-first or by-name order until
the page is full), whatever the filters. The table is reloaded whenever the index version in
the database changes (each publish bumps it in the same transaction), so every app server
sees a change as soon as it is committed. Memory: about 200 bytes an entry, plus one bit per
entry per facet value (2 MB for 100,000 entries and 150 values).
"""

from __future__ import annotations

import heapq
import math
import re
import threading
import uuid
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.db import connection, transaction
from django.db.models import F

from .models import CatalogEntry, EntryVersion, SearchEntry, SearchIndexState, SearchTerm

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
    # First: on PostgreSQL the bump holds the state row's lock until commit, which makes index
    # writers take turns at the shared term rows (SQLite has one writer at a time anyway).
    _bump_index_version()
    before = SearchEntry.objects.filter(entry=entry).values_list("id", "document").first()
    if version is None:
        if before is not None:
            SearchEntry.objects.filter(pk=before[0]).delete()
            _write_terms(before[0], before[1], "")
        return
    row, _created = SearchEntry.objects.update_or_create(
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
    _write_terms(row.pk, before[1] if before else "", row.document)


# --- the term index ---------------------------------------------------------------------------
#
# For each word, the search rows containing it, split by impact level: BM25's term-frequency
# part (tf, saturated by K1 and normalised for the document's length) quantised into LEVELS
# levels, each level's rows a bit set. A query multiplies the levels by each word's idf (from
# the word's row count at query time), so a page by relevance is found by visiting level
# combinations from the highest score down with a few bit-set ANDs, and stops when the page
# is full: no match is scored one by one, however many there are. Lengths are normalised
# against a fixed typical length rather than the catalog's running average, so publishing
# one entry never changes another entry's levels.

K1, B = 1.2, 0.75
TYPICAL_LENGTH = 60  # words in a typical entry's document
LEVELS = 16
MAX_WORD = 100  # longer "words" (pasted codes and the like) are not indexed
# Past this many level combinations (three or more words), scoring the matches one by one is
# cheaper than visiting the combinations.
MAX_COMBINATIONS = 256


def term_levels(document: str) -> dict[str, int]:
    """Each word of an index document with its impact level (1 … LEVELS)."""
    words = [w for w in document.split() if len(w) <= MAX_WORD]
    norm = K1 * (1 - B + B * len(words) / TYPICAL_LENGTH)
    return {
        word: min(LEVELS, int(tf / (tf + norm) * LEVELS) + 1)  # tf·(K1+1)/(tf+norm), over its bound K1+1
        for word, tf in Counter(words).items()
    }


def _pack(bits: int) -> bytes:
    return zlib.compress(bits.to_bytes((bits.bit_length() + 7) >> 3, "little"), 1)


def _unpack(data) -> int:
    return int.from_bytes(zlib.decompress(data), "little")


def build_terms(rows) -> list[tuple[str, int, bytes]]:
    """(word, level, packed rows) of every word of ``rows`` — (search row id, document) pairs:
    the whole term index at once, for a rebuild."""
    members: dict[tuple[str, int], list[int]] = defaultdict(list)
    for pk, document in rows:
        for key in term_levels(document).items():
            members[key].append(pk)
    return [(word, level, _pack(Bits.of(ids, max(ids) + 1))) for (word, level), ids in members.items()]


def rebuild_terms() -> int:
    """Rebuild the term index from the search rows (after rows were written in bulk); returns
    the number of term rows."""
    with transaction.atomic():
        _bump_index_version()  # first, as in index_entry: no publish can change a row meanwhile
        terms = build_terms(SearchEntry.objects.values_list("id", "document").iterator(chunk_size=5000))
        SearchTerm.objects.all().delete()
        SearchTerm.objects.bulk_create(
            (SearchTerm(word=word, level=level, rows=data) for word, level, data in terms), batch_size=1000
        )
    return len(terms)


def _write_terms(row_id: int, before: str, after: str) -> None:
    """Move search row ``row_id`` from the term levels of document ``before`` to those of
    ``after``: only the (word, level) rows that change are read and written."""
    old, new = term_levels(before), term_levels(after)
    add = {key for key in new.items() if old.get(key[0]) != key[1]}
    remove = {key for key in old.items() if new.get(key[0]) != key[1]}
    keys = list(add | remove)
    if not keys:
        return
    table = connection.ops.quote_name(SearchTerm._meta.db_table)
    found = {}
    with connection.cursor() as cursor:
        for chunk in range(0, len(keys), 400):
            part = keys[chunk : chunk + 400]
            cursor.execute(
                f"SELECT id, word, level, rows FROM {table} WHERE (word, level) IN "
                f"({', '.join(['(%s, %s)'] * len(part))})",
                [value for key in part for value in key],
            )
            found.update({(word, level): (pk, _unpack(data)) for pk, word, level, data in cursor.fetchall()})
    bit = 1 << row_id
    create, update, delete = [], [], []
    for key in keys:
        pk, bits = found.get(key, (None, 0))
        bits = bits | bit if key in add else bits & ~bit
        if pk is None:
            create.append(SearchTerm(word=key[0], level=key[1], rows=_pack(bits)))
        elif bits:
            update.append(SearchTerm(pk=pk, rows=_pack(bits)))
        else:
            delete.append(pk)
    SearchTerm.objects.filter(pk__in=delete).delete()
    SearchTerm.objects.bulk_update(update, ["rows"], batch_size=200)
    SearchTerm.objects.bulk_create(create, batch_size=200)


@dataclass
class Term:
    """A query word: its rows (every level), and its levels as (weight, rows), heaviest
    first, the weight being the level's impact times the word's idf."""

    rows: int
    levels: list[tuple[float, int]]


def _terms(words: list[str], everything: int) -> list[Term] | None:
    """The query's words from the term index; None when one of them is in no row."""
    table = connection.ops.quote_name(SearchTerm._meta.db_table)
    levels: dict[str, list[tuple[int, int]]] = {word: [] for word in words}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT word, level, rows FROM {table} WHERE word IN ({', '.join(['%s'] * len(words))})", words
        )
        for word, level, data in cursor.fetchall():
            levels[word].append((level, _unpack(data)))
    total = everything.bit_count()
    terms = []
    for word in words:
        rows = 0
        for _level, bits in levels[word]:
            rows |= bits
        found = (rows & everything).bit_count()
        if not found:
            return None
        idf = math.log(1 + (total - found + 0.5) / (found + 0.5))
        weighted = [(idf * (level - 0.5) / LEVELS * (K1 + 1), bits) for level, bits in levels[word]]
        terms.append(Term(rows, sorted(weighted, key=lambda pair: -pair[0])))
    return terms


def relevance(terms: list[Term], matched: int) -> dict[int, float]:
    """Search row id -> score (higher is better) of every row in ``matched``."""
    scores: dict[int, float] = dict.fromkeys(Bits.ids(matched), 0.0)
    for term in terms:
        for weight, bits in term.levels:
            for i in Bits.ids(matched & bits):
                scores[i] += weight
    return scores


def _by_relevance(table: FacetTable, terms: list[Term], matched: int, n: int) -> list[int]:
    """The first ``n`` rows of ``matched`` by relevance, then newest first."""
    if n <= 0 or not matched:
        return []
    if math.prod(len(term.levels) for term in terms) > MAX_COMBINATIONS:
        scores = relevance(terms, matched)
        rank = table.newest_rank
        return heapq.nsmallest(n, scores, key=lambda i: (-scores[i], rank[i]))
    # Level combinations, highest score first: a row is in exactly one combination (one level
    # per word), so each combination's rows come before those of the next lower score.
    # Combinations of equal score are taken together, for the newest-first tie break.
    first = (0,) * len(terms)
    heap = [(-_weight(terms, first), first)]
    seen = {first}
    page: list[int] = []
    while heap and len(page) < n:
        score, combination = heapq.heappop(heap)
        group = [combination]
        while heap and heap[0][0] == score:
            group.append(heapq.heappop(heap)[1])
        rows = 0
        for combination in group:
            bits = matched
            for term, level in zip(terms, combination, strict=True):
                bits &= term.levels[level][1]
            rows |= bits
            for position in range(len(terms)):
                following = combination[:position] + (combination[position] + 1,) + combination[position + 1 :]
                if following[position] < len(terms[position].levels) and following not in seen:
                    seen.add(following)
                    heapq.heappush(heap, (-_weight(terms, following), following))
        page += _first_in(table.by_newest, table.newest_rank, rows, n - len(page), table.size)
    return page


def _weight(terms: list[Term], combination: tuple[int, ...]) -> float:
    return sum(term.levels[level][0] for term, level in zip(terms, combination, strict=True))


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
    def ids(bits: int) -> list[int]:
        """The ids in ``bits``, ascending: zero bytes are skipped at C speed."""
        buffer = bits.to_bytes((bits.bit_length() + 7) >> 3, "little")
        ids: list[int] = []
        for found in _NONZERO.finditer(buffer):
            base = found.start() << 3
            ids += [base + bit for bit in _BITS_OF_BYTE[buffer[found.start()]]]
        return ids


_NONZERO = re.compile(rb"[^\x00]")
_BITS_OF_BYTE = [tuple(bit for bit in range(8) if byte >> bit & 1) for byte in range(256)]


@dataclass
class FacetTable:
    state: tuple[str, int]
    size: int = 0  # one more than the largest row id
    everything: int = 0  # the bits of every row
    bits: dict[str, dict[str, int]] = field(default_factory=dict)  # facet -> value -> rows
    entry: dict[int, int] = field(default_factory=dict)  # search row id -> entry id
    # Every row id in the two orders, newest first (then the highest id) and by name (then the
    # lowest id), and each row's place in them.
    by_newest: list[int] = field(default_factory=list)
    by_name: list[int] = field(default_factory=list)
    newest_rank: dict[int, int] = field(default_factory=dict)
    name_rank: dict[int, int] = field(default_factory=dict)


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
    newest, name = {}, {}
    for row in rows:
        pk = row[0]
        for facet, value in zip(FACET_ORDER[:split], row[1 : split + 1], strict=True):
            members[facet].setdefault(str(value), []).append(pk)
        for facet, value in zip(FACET_ORDER[split:], row[split + 1 : end], strict=True):
            for code in value.split("|"):
                if code:
                    members[facet].setdefault(code, []).append(pk)
        table.entry[pk], newest[pk], name[pk] = row[end], -row[end + 1].timestamp(), row[end + 2]
    table.size = max(table.entry, default=0) + 1
    table.by_newest = sorted(table.entry, key=lambda i: (newest[i], -i))
    table.by_name = sorted(table.entry, key=lambda i: (name[i], i))
    table.newest_rank = {i: rank for rank, i in enumerate(table.by_newest)}
    table.name_rank = {i: rank for rank, i in enumerate(table.by_name)}
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


@dataclass
class SearchResult:
    total: int
    entries: list[Any]  # CatalogEntry instances, or what the caller's ``load`` gives
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def _first_in(order: list[int], rank: dict[int, int], rows: int, n: int, size: int) -> list[int]:
    """The first ``n`` of ``rows`` in a precomputed ``order``: a walk down the order, which
    stops when the page is full, while the rows are many; their ids sorted by ``rank`` when
    they are few (the walk would pass over most of the order)."""
    count = rows.bit_count()
    if n <= 0 or not count:
        return []
    if 5 * count * count < 2 * n * size:
        return heapq.nsmallest(n, Bits.ids(rows), key=rank.__getitem__)
    buffer = rows.to_bytes((size >> 3) + 1, "little")
    page: list[int] = []
    for i in order:
        if buffer[i >> 3] >> (i & 7) & 1:
            page.append(i)
            if len(page) == n:
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
    load: Callable[[list[int]], dict[int, Any]] | None = None,
) -> SearchResult:
    """Search the published catalog. Visible to every government user, so no per-user filter
    is needed here; unpublished work is listed separately by the selectors. ``load``: how the
    page is loaded, a function from the page's entry ids to {id: item}, ids it leaves out left
    out of the page (a caller's own scope and prefetching: its queryset's ``in_bulk``, or
    plain records); by default the entries by id."""
    filters = {f: [str(v) for v in values if v] for f, values in (filters or {}).items() if f in FACETS}
    filters = {f: values for f, values in filters.items() if values}
    table = facet_table()
    words = list(dict.fromkeys(tokens(q)))
    terms = _terms(words, table.everything) if words else []
    # A row the table does not hold (published after it was loaded, in a transaction not yet
    # visible to it) is left out: its bit is never set, so it is never a candidate.
    matched = 0 if terms is None else table.everything
    for term in terms or ():
        matched &= term.rows
    matched = _filtered(table, matched, filters)
    facets = count_facets(table, matched) if with_facets else {}
    if terms and sort == "relevance":
        rows = _by_relevance(table, terms, matched, offset + limit)[offset:]
    elif sort == "name":
        rows = _first_in(table.by_name, table.name_rank, matched, offset + limit, table.size)[offset:]
    else:
        rows = _first_in(table.by_newest, table.newest_rank, matched, offset + limit, table.size)[offset:]
    entry_ids = [table.entry[i] for i in rows]
    page = (load or CatalogEntry.objects.in_bulk)(entry_ids)
    return SearchResult(matched.bit_count(), [page[i] for i in entry_ids if i in page], facets)
