"""Masking of sensitive columns on output (issue #4, item 5; R-22.1).

One rule per ``ResourceColumn.mask``:

- ``id_number``  keeps the first 6 and the last 4 characters: 210802********123X
- ``mobile``     keeps the first 3 and the last 4:             138****5678
- ``name``       keeps the surname, two characters for a compound surname: 张**, 欧阳**
- ``bank_card``  keeps the first 6 and the last 4:             622202*********0123

Every hidden character becomes one ``*``, so the length stays visible (as on Chinese
government forms). A value too short to keep its ends and still hide something is hidden
entirely (``1234567890`` as an ID number becomes ``**********``); a one-character name is only
a surname and is kept. ``None`` stays ``None``; other types are masked as their text.

The rules work on the value exactly as stored (no trimming), one Python character per
character. ``exports`` has the same rules as SQL expressions for PostgreSQL's ``COPY`` path;
the tests prove the two agree.

Masking is applied on output only: the query engine filters on the real value (a lookup by ID
number works with masking on) but does not let a masked column be sorted, range-filtered,
prefix-searched or full-text searched, since those would let the hidden part be recovered one
character at a time.
"""

from __future__ import annotations

from collections.abc import Callable

from .models import Mask

# Compound surnames (复姓) that keep two characters. Only applied when the name is longer than
# the surname itself: "欧阳" alone is read as surname 欧 and given name 阳. The list leaves out
# compound surnames whose first character is itself a common surname (单于, 钟离, 左丘, 梁丘 …):
# for those, 单于洋 is far more often 单 + 于洋, and keeping one character hides more.
COMPOUND_SURNAMES = frozenset(
    {
        "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
        "令狐", "夏侯", "端木", "独孤", "南宫", "轩辕", "呼延", "澹台", "濮阳", "淳于", "拓跋", "赫连",
        "万俟", "司空", "西门", "百里",
    }
)  # fmt: skip

STAR = "*"

# (head, tail) kept by the ends-keeping rules.
KEEP = {
    Mask.ID_NUMBER: (6, 4),
    Mask.MOBILE: (3, 4),
    Mask.BANK_CARD: (6, 4),
}


def keep_ends(value: str, head: int, tail: int) -> str:
    n = len(value)
    if n <= head + tail:
        return STAR * n
    return value[:head] + STAR * (n - head - tail) + value[n - tail :]


def surname_only(value: str) -> str:
    n = len(value)
    if n <= 1:
        return value
    keep = 2 if n > 2 and value[:2] in COMPOUND_SURNAMES else 1
    return value[:keep] + STAR * (n - keep)


def _rule(mask: str) -> Callable[[str], str] | None:
    if mask in KEEP:
        head, tail = KEEP[mask]
        return lambda value: keep_ends(value, head, tail)
    if mask == Mask.NAME:
        return surname_only
    return None


RULES: dict[str, Callable[[str], str]] = {m: _rule(m) for m in (*KEEP, Mask.NAME)}


def mask_value(mask: str, value: object) -> object:
    """``value`` masked by rule ``mask`` (a ``Mask`` value); unknown or empty rules keep it."""
    if value is None:
        return None
    rule = RULES.get(mask)
    if rule is None:
        return value
    return rule(value if isinstance(value, str) else str(value))


def masker(mask: str) -> Callable[[str | None], str | None] | None:
    """A fast one-argument function applying rule ``mask`` (``None`` passes through), or
    ``None`` when the rule hides nothing."""
    rule = RULES.get(mask)
    if rule is None:
        return None

    def apply(text: str | None) -> str | None:
        return None if text is None else rule(text)

    return apply
