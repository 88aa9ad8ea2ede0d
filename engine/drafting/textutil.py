"""Text helpers shared by the drafting layers: extraction spaces, numbered items, sentences.

Kept apart from the readers so the legacy tab-table reader (:mod:`.draft`) and the
generic layout reader (:mod:`.layout`) split cells and tidy text the same way.
"""

from __future__ import annotations

import re
import unicodedata

from ..plans.units import normalise_name

__all__ = ["cell_parts", "split_items", "tidy"]

# =========================================================================== text helpers

_SPACES = re.compile(r"[ \u00a0\u3000]+")
_TAG = re.compile(r"<\s*/?\s*[A-Za-z][^<>]*>")


def tidy(text: str) -> str:
    """Remove extraction spaces the way the seed plans were encoded (seed-decisions C1).

    A run of spaces goes when either neighbour is a non-ASCII character
    (CJK or full-width punctuation): "2016 年" → "2016年", "相关文 件" →
    "相关文件", ", 各县" → ",各县". Between two ASCII characters one space is
    kept ("8538814 13822996948" are two phone numbers). Punctuation width
    is left as written (C2).
    """
    out: list[str] = []
    pos = 0
    for m in _SPACES.finditer(text):
        a, b = m.span()
        out.append(text[pos:a])
        before = text[a - 1] if a > 0 else ""
        after = text[b] if b < len(text) else ""
        if before and after and before.isascii() and after.isascii() and not (before + after).isspace():
            out.append(" ")
        pos = b
    out.append(text[pos:])
    return "".join(out).strip()


def key(text: str) -> str:
    """The comparison key of a text: NFKC, no whitespace (the units directory's rule)."""
    return normalise_name(text)


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def cell_parts(raw: str) -> tuple[str, ...]:
    """A cell's parts: ``<p>…</p>`` blocks (or the whole cell), tidied, blanks dropped."""
    pieces = _TAG.split(raw) if _TAG.search(raw) else [raw]
    return tuple(part for part in (tidy(p) for p in pieces) if part)


def _digits(n: int) -> str:
    """Both spellings of a number, for markers written in either width ("2." / "２．")."""
    ascii_form = str(n)
    full = "".join(chr(ord(c) + 0xFEE0) for c in ascii_form)
    return f"(?:{ascii_form}|{full})"


_MARK_START = re.compile(
    r"^[ \u3000]*(?:(?P<n>[0-9０-９]{1,2})[ \u3000]*[.．、](?![0-9０-９])|[（(](?P<m>[0-9０-９]{1,2})[）)])[ \u3000]*")


def _marker(n: int) -> re.Pattern[str]:
    d = _digits(n)
    return re.compile(rf"(?:(?<=\s)|(?<=[。；;！？!?]))[ \u3000]*(?:(?<![0-9０-９]){d}[ \u3000]*[.．、](?![0-9０-９])"
                      rf"|[（(]{d}[）)])[ \u3000]*")


def split_items(raw: str) -> tuple[tuple[int | None, str], ...]:
    """The numbered items of a 具体要求 cell: ``((1, text), (2, text), ...)``.

    Items are ``<p>…</p>`` blocks and, inside a block, consecutive markers
    "1." "2." (either width, also "1、" and "（1）") that start the block or
    follow a space or a sentence end. Only the next number splits, so
    "不少于10个" or "12345市民热线" never do. An unnumbered block is one item
    with number None. Texts are tidied; the marker is left out (C3).
    """
    items: list[tuple[int | None, str]] = []
    for part in (_TAG.split(raw) if _TAG.search(raw) else [raw]):
        if not part.strip():
            continue
        m = _MARK_START.match(part)
        if m is None:
            items.append((None, tidy(part)))
            continue
        number = int(nfkc(m.group("n") or m.group("m")))
        rest = part[m.end():]
        while True:
            nxt = _marker(number + 1).search(rest)
            if nxt is None:
                break
            items.append((number, tidy(rest[:nxt.start()])))
            number += 1
            rest = rest[nxt.end():]
        items.append((number, tidy(rest)))
    return tuple((n, text) for n, text in items if text)


def _sentences(text: str) -> list[str]:
    """Split at 。！？ outside brackets and quotes; the end mark stays with its sentence."""
    out: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch in "（(《“【":
            depth += 1
        elif ch in "）)》”】":
            depth = max(0, depth - 1)
        elif ch in "。！？!?" and depth == 0:
            out.append(text[start:i + 1])
            start = i + 1
    out.append(text[start:])
    return [s.strip() for s in out if s.strip()]
