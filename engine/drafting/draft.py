"""Drafting plan files from a notice's extracted text (起草方案文件): ``duban plan draft``.

Every year a city issues a new work plan (工作方案) and every county copies
it down; typing 29 tasks, ~90 requirements, their lead units and deadlines
into a plan file by hand takes days and invites mistakes. The notices arrive
as PDF or web text, with the noise of extraction: spaces inside words,
half- and full-width punctuation mixed, the table's header repeated on every
page, a task continued on the next page under its number and title again,
merged cells that come out blank, several numbered items in one cell, rows
shifted by a line. This module reads such text and writes one draft plan
file per notice, in the format of ``docs/plan-format.md``.

The drafter is honest about confidence: it never hides an inference. Every
value it did not read literally (a unit or deadline taken from a blank
merged cell, a requirement moved to another task because its subject says
so, a cell shared by several requirements, a deadline found inside a
requirement's text, an ambiguous phrase, a garbled unit name) carries a
review note (``status: open``) tagged like the hand-encoded seed plans
(【继承】【错位】【拆分】【正文时限】【待核】【原文疑误】【标题异文】, see
``docs/seed-decisions.md``; plus 【正文未列】 for body sentences that read like
duties but carry no deadline). So ``duban plan validate`` passes with warnings,
``--strict`` fails until a person has confirmed every note, and a draft can
be imported to look at.

Two choices keep a draft importable without guessing who owes a duty:

* a units-cell name that is not in the units directory is left out of
  ``units:`` and kept, with a "did you mean", in a review note; only when
  *no* name of a cell resolves is the raw cell written, so that validation
  fails (``unknown-unit``) until the unit is added to the directory;
* a deadline phrase the compiler cannot read is kept verbatim with an
  explicit placeholder spec (open-ended ongoing work) and a review note
  asking for the real reading.

The pipeline has three layers, each testable alone:

1. :func:`read_notices` — text to :class:`NoticeText` records (head, body
   sentences, table rows with broken cells joined, annex), no inference;
2. :func:`draft_plans` — records to :class:`DraftPlan` values (tasks,
   requirements, units matched against a :class:`UnitDirectory`, phrases
   compiled with :func:`duban.engine.deadlines.phrases.compile_phrase`, in-text
   deadlines found by :func:`~duban.engine.deadlines.phrases.extract_text_deadlines`);
3. :func:`render_yaml` / :func:`write_drafts` — the plan file text.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

from ..deadlines.spec import Composite, DeadlineSpec, Fixed, Ongoing, Recurring, Relative, Spec, Triggered
from ...errors import DubanError, PhraseError
from ..deadlines.phrases import WorkdayCounter, compile_phrase, extract_text_deadlines
from ..plans.planfile import Trigger  # the same ``triggers:`` entry the loader reads
from ..plans.units import UnitDirectory, normalise_name, split_cell

__all__ = [
    "DraftDeadline",
    "DraftOutputError",
    "DraftPlan",
    "DraftRequirement",
    "DraftSummary",
    "DraftTask",
    "NoticeReadError",
    "NoticeText",
    "ReviewNote",
    "SUBJECTS",
    "TableRow",
    "choose_directory",
    "draft_plans",
    "read_notices",
    "render_yaml",
    "split_items",
    "tidy",
    "write_drafts",
]

DeadlineSource: TypeAlias = Literal["cell", "text", "inherited"]
DeadlineStatus: TypeAlias = Literal["compiled", "ambiguous", "unreadable"]

#: The review-note tags, as in docs/seed-decisions.md (a note starts with one of them).
TAGS: tuple[str, ...] = ("【继承】", "【错位】", "【拆分】", "【正文时限】", "【待核】", "【原文疑误】",
                         "【标题异文】", "【正文未列】")

#: The placeholder written for a phrase the compiler cannot read: open-ended ongoing work
#: (check-ins only, no due date to miss) until a person writes the real reading.
PLACEHOLDER_SPEC: Mapping[str, Any] = MappingProxyType({"kind": "ongoing", "until": None})


class NoticeReadError(DubanError, ValueError):
    """The text holds no notice the drafter can read; the message says what was expected."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"cannot draft a plan from {source!r}: {reason}")


class DraftOutputError(DubanError, FileExistsError):
    """A draft would overwrite a file (perhaps one a person has already reviewed)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = tuple(paths)
        names = ", ".join(repr(str(p)) for p in self.paths)
        super().__init__(f"refusing to overwrite {names}: a reviewed draft would be lost; "
                         "choose another output folder or pass --force")


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


def _key(text: str) -> str:
    """The comparison key of a text: NFKC, no whitespace (the units directory's rule)."""
    return normalise_name(text)


def _nfkc(text: str) -> str:
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
        number = int(_nfkc(m.group("n") or m.group("m")))
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


# =========================================================================== subjects

#: Subject words (主题词): what a task title, a requirement text or a unit name is about.
#: The drafter uses them for one decision only, never to rewrite a value: a row whose
#: subject belongs to the neighbouring task and not its own (rows shifted by the
#: extraction) is moved there, with a 【错位】 note, and a unit inherited from a blank
#: cell whose subject contradicts the requirement's gets a louder note.
#: Matching is on NFKC text without spaces; extend the table when a new plan needs it.
SUBJECTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("教育", ("教育", "中考", "高考", "学校", "招生", "随迁子女", "学生", "教师")),
    ("卫生", ("卫生", "医疗", "医院", "院务", "疾病", "传染病", "疫情", "登革热", "计生")),
    ("食品药品", ("食品药品", "药品", "食品安全")),
    ("环境", ("环境", "环保", "饮用水", "环评", "污染", "水质", "生态")),
    ("国企", ("国有企业", "国有资本", "国有资产", "国资", "国企", "央企", "市属企业")),
    ("财税", ("税", "收费", "政府性基金", "财政", "预算", "决算")),
    ("住房", ("住房", "棚户区", "危房")),
    ("旅游", ("旅游", "旅行社", "景区")),
    ("安全生产", ("安全生产", "安监", "事故")),
    ("扶贫", ("扶贫", "贫困", "脱贫")),
    ("救助", ("救助", "低保", "特困", "灾情")),
    ("就业", ("就业", "创业", "人力资源", "社会保障")),
    ("知识产权", ("专利", "知识产权")),
    ("质监", ("质监", "质量技术监督", "生产许可证", "食品相关产品")),
    ("审计", ("审计",)),
    ("信用", ("信用",)),
    ("公共资源", ("公共资源",)),
    ("审批", ("编办", "行政审批")),
)


@lru_cache(maxsize=4096)
def subjects_of(text: str) -> frozenset[str]:
    """The subjects (keys of :data:`SUBJECTS`) a text mentions."""
    key = _key(text)
    return frozenset(name for name, words in SUBJECTS if any(word in key for word in words))


# =========================================================================== layer 1: reading the text

@dataclass(frozen=True, kw_only=True, slots=True)
class TableRow:
    """One logical row of the table (序号 工作任务 具体要求 牵头落实单位 完成时限).

    ``cells`` are raw (spaces and ``<p>`` kept) in that column order;
    ``line`` is the first physical line, ``joined`` how many physical lines
    were joined because a cell was broken across them.
    """

    no: str
    title: str
    requirements: str
    units: str
    deadline: str
    line: int
    joined: int = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class Sentence:
    """A sentence of the notice body, with the line it starts on and its paragraph."""

    text: str
    line: int
    paragraph: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Annex:
    """An annex list (附件): its title ("市有关单位") and names, left column first."""

    title: str
    names: tuple[str, ...]
    line: int


@dataclass(frozen=True, kw_only=True, slots=True)
class NoticeText:
    """One notice as written, before any inference: head, body, signature, table, annex.

    Fields the text does not have are None (a notice whose head was cut off
    has no ``title``, ``doc_number`` or ``addressees``).
    """

    first_line: int
    last_line: int
    title: str | None
    doc_number: str | None
    addressees: str | None
    sentences: tuple[Sentence, ...]
    issuer: str | None
    published: dt.date
    date_line: int
    table_title: str | None = None
    table: tuple[TableRow, ...] = ()
    header_repeats: int = 0
    annexes: tuple[Annex, ...] = ()


_CN_NUM = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_DATE_LINE = re.compile(r"(?P<y>\d{4}|[〇零一二三四五六七八九]{4})年(?P<m>\d{1,2}|[一二三四五六七八九十]{1,2})月"
                        r"(?P<d>\d{1,2}|[一二三四五六七八九十]{1,3})日")
_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,12}[〔［\[【(（]\d{4}[〕］\]】)）]\d{1,4}号")
_TITLE = re.compile(r"关于.{2,}(?:通知|意见|决定|批复|通报|函|报告|办法|方案|规定|细则|要点)$")
_PARAGRAPH_NO = re.compile(r"^(?:[一二三四五六七八九十]{1,3}[、.．]|[（(][一二三四五六七八九十]{1,3}[）)]"
                           r"|\d{1,2}[、．])")
_ANNEX = re.compile(r"^附\s*件\s*(?:[0-9０-９]{1,2})?\s*[:：]?\s*(?P<title>.*)$")
_SENTENCE_END = "。！？；：:;!?"
_ROW_START = re.compile(r"^[ \u3000]*(?:[0-9０-９]{1,3}[ \u3000]*)?\t")

_HEADER_ROLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("no", ("序号", "编号")),
    ("title", ("工作任务", "主要任务", "重点任务", "任务", "工作事项")),
    ("requirements", ("具体要求", "工作要求", "要求", "具体措施", "工作措施", "主要内容")),
    ("units", ("牵头落实单位", "牵头单位", "责任单位", "落实单位", "牵头部门", "责任部门", "牵头落实部门")),
    ("deadline", ("完成时限", "时限", "完成时间", "时间要求", "时间进度")),
)
_DEFAULT_COLUMNS = ("no", "title", "requirements", "units", "deadline")


def _cn_int(text: str) -> int:
    if text.isdigit():
        return int(text)
    if len(text) == 4:  # a year written digit by digit: 二〇一六
        return int("".join(str(_CN_NUM[c]) for c in text))
    total, digit = 0, 0
    for c in text:
        if c == "十":
            total += (digit or 1) * 10
            digit = 0
        else:
            digit = _CN_NUM[c]
    return total + digit


def _date_of(line: str) -> tuple[int, int, int] | None:
    """(year, month, day) when the whole line is a signature date such as "2016 年 6 月 23 日"."""
    m = _DATE_LINE.fullmatch(_key(line))
    if m is None or "\t" in line:
        return None
    return _cn_int(m.group("y")), _cn_int(m.group("m")), _cn_int(m.group("d"))


def _header_columns(line: str) -> tuple[str, ...] | None:
    """The column roles of a header row, or None when the line is not one."""
    cells = [_key(c) for c in line.split("\t")]
    if len(cells) < 3 or not any(c in ("序号", "编号") for c in cells):
        return None
    roles: list[str] = []
    for cell in cells:
        role = next((name for name, words in _HEADER_ROLES if cell in words), "")
        roles.append(role)
    found = {r for r in roles if r}
    if not {"requirements", "units"} <= found and not {"requirements", "deadline"} <= found:
        return None
    return tuple(roles)


def _is_prose(line: str) -> bool:
    return any(ch in line for ch in "。；，,") or len(tidy(line)) > 40


def _is_head(line: str) -> bool:
    """A line that opens a notice: its title (关于…的通知) or its document number."""
    text = tidy(line)
    if "\t" in line or not text:
        return False
    return bool(_TITLE.search(_key(text))) or bool(_DOC_NUMBER.fullmatch(_key(text)))


def _join_broken(left: str, right: str) -> str:
    """Join a line broken inside a cell: no separator next to CJK, one space between ASCII words."""
    if left.endswith("\t") or right.startswith("\t") or not left or not right:
        return left + right
    if left[-1].isascii() and right[0].isascii() and left[-1].isalnum() and right[0].isalnum():
        return left + " " + right
    return left + right


class _Reader:
    """A cursor over the lines of one input text (1-based numbers in every record)."""

    def __init__(self, text: str) -> None:
        self.lines = [line.rstrip("\r\n\f\v") for line in text.replace("\f", "\n").splitlines()]

    def blank(self, i: int) -> bool:
        return not self.lines[i].strip()

    def next_filled(self, i: int) -> int | None:
        while i < len(self.lines):
            if not self.blank(i):
                return i
            i += 1
        return None

    # ----------------------------------------------------------------- attachments

    def attachments(self, i: int) -> tuple[int, str | None, list[TableRow], int, list[Annex]]:
        """Read what follows a signature: the table (with its title) and annex lists.

        Returns the index where the next notice begins, the table title, the
        rows, the number of repeated header rows (page breaks) and annexes.
        """
        title: str | None = None
        rows: list[TableRow] = []
        repeats = 0
        annexes: list[Annex] = []
        while True:
            j = self.next_filled(i)
            if j is None:
                return len(self.lines), title, rows, repeats, annexes
            line = self.lines[j]
            header = _header_columns(line) is not None
            if header or (not rows and _ROW_START.match(line) and line.count("\t") >= 2):
                i, more, seen = self.table(j)
                repeats += seen - (1 if header and not rows else 0)  # the first header is no repeat
                rows.extend(more)
                continue
            after = self.next_filled(j + 1)
            if (not rows and title is None and "\t" not in line and not _is_prose(line)
                    and after is not None and _header_columns(self.lines[after]) is not None):
                title = tidy(line)
                i = after
                continue
            annex = _ANNEX.match(tidy(line))
            if annex is not None and "\t" not in line and not _is_prose(annex.group("title")):
                i, found = self.annex(j, tidy(annex.group("title")))
                annexes.append(found)
                continue
            return j, title, rows, repeats, annexes

    def table(self, i: int) -> tuple[int, list[TableRow], int]:
        """Rows from ``i`` on; blank lines and repeated headers (page breaks) are skipped.

        A physical line that starts with text (not a tab or a task number)
        while the row above still lacks cells continues that row's cell: the
        extraction broke the line inside a cell, possibly at a page break
        (the header repeats in between). After a blank line with no header,
        a text line is no continuation: it ends the table (附件, the next
        notice, trailing prose).
        """
        columns: tuple[str, ...] = _DEFAULT_COLUMNS
        rows: list[TableRow] = []
        headers = 0
        pending: str | None = None
        pending_line = 0
        joined = 1
        gap = False       # a blank line since the last line read
        paged = False     # a header repeated since the pending row began

        def complete(text: str) -> bool:
            return text.count("\t") >= len(columns) - 1

        def flush() -> None:
            nonlocal pending, joined, paged
            if pending is not None:
                rows.append(self.row(pending, columns, pending_line, joined))
            pending, joined, paged = None, 1, False

        def continues(line: str) -> bool:
            return (pending is not None and (paged or not gap) and not _is_head(line) and _date_of(line) is None
                    and (_ANNEX.match(tidy(line)) is None or "\t" in line))

        n = len(self.lines)
        while i < n:
            line = self.lines[i]
            if not line.strip():
                gap = True
                i += 1
                continue
            header = _header_columns(line)
            if header is not None:
                mapped = header if any(header) else _DEFAULT_COLUMNS
                if mapped != columns:
                    flush()
                columns = mapped
                headers += 1
                paged = pending is not None
                gap = False
                i += 1
                continue
            if _ROW_START.match(line):
                flush()
                pending, pending_line, gap = line, i + 1, False
                i += 1
                continue
            if continues(line) and pending is not None and not complete(pending):
                pending = _join_broken(pending, line)
                joined, gap = joined + 1, False
                i += 1
                continue
            following = self.next_filled(i + 1)
            if (continues(line) and pending is not None and "\t" not in line and following is not None
                    and (_ROW_START.match(self.lines[following]) or _header_columns(self.lines[following]))):
                pending = _join_broken(pending, line)  # the last cell broke across lines
                joined, gap = joined + 1, False
                i += 1
                continue
            break
        flush()
        return i, rows, headers

    @staticmethod
    def row(text: str, columns: tuple[str, ...], line: int, joined: int) -> TableRow:
        cells = text.split("\t")
        width = len(columns)
        if len(cells) > width:  # a stray tab: the surplus belongs to the last column
            cells = [*cells[:width - 1], " ".join(cells[width - 1:])]
        cells += [""] * (width - len(cells))
        by_role: dict[str, str] = {}
        for role, cell in zip(columns, cells, strict=True):
            if role and role not in by_role:
                by_role[role] = cell
        return TableRow(no=by_role.get("no", ""), title=by_role.get("title", ""),
                        requirements=by_role.get("requirements", ""), units=by_role.get("units", ""),
                        deadline=by_role.get("deadline", ""), line=line, joined=joined)

    def annex(self, i: int, title: str) -> tuple[int, Annex]:
        """An annex list: its title line (unless on the 附件 line) and names in one or more columns."""
        start = i
        i += 1
        if not title:
            j = self.next_filled(i)
            if j is not None and "\t" not in self.lines[j] and not _is_prose(self.lines[j]) \
                    and not _is_head(self.lines[j]):
                title = tidy(self.lines[j])
                i = j + 1
        columns: list[list[str]] = []
        while True:
            j = self.next_filled(i)
            if j is None:
                i = len(self.lines)
                break
            line = self.lines[j]
            cells = [tidy(c) for c in line.split("\t")]
            # A list laid out in columns ends at a blank line followed by a line that is not (the next
            # notice, e.g. a members list whose head was cut off).
            after_gap = len(columns) > 1 and j > i and "\t" not in line
            if (_is_head(line) or _date_of(line) is not None or _header_columns(line) is not None or after_gap
                    or any(_is_prose(c) for c in cells) or _ANNEX.match(tidy(line))):
                i = j
                break
            for k, cell in enumerate(cells):
                while len(columns) <= k:
                    columns.append([])
                if cell:
                    columns[k].append(cell)
            i = j + 1
        names = tuple(name for column in columns for name in column)
        return i, Annex(title=title, names=names, line=start + 1)

    # ----------------------------------------------------------------- head and body

    def notice(self, start: int, date_index: int, date: dt.date) -> tuple[NoticeText, int]:
        """The head and body of the notice between ``start`` and its date line."""
        filled = [i for i in range(start, date_index) if not self.blank(i)]
        issuer: str | None = None
        if filled:
            last = self.lines[filled[-1]]
            if "\t" not in last and not _is_prose(last) and len(tidy(last)) <= 30:
                issuer = tidy(last)
                filled = filled[:-1]
        title: str | None = None
        doc_number: str | None = None
        addressees: str | None = None
        k = 0  # the first line after the head
        head = filled[:6]
        # The title (关于…的通知) may wrap over up to three lines; a red-header line may precede it.
        def title_at(j: int, width: int) -> bool:
            window = [self.lines[i] for i in filled[j:j + width]]
            joined = "".join(window)
            return (len(window) == width and bool(_TITLE.search(_key(joined))) and not any(c in joined for c in "。；")
                    and not any(_DOC_NUMBER.fullmatch(_key(line)) or tidy(line).endswith(("：", ":"))
                                for line in window))

        for j in range(len(head)):
            found = next((w for w in (1, 2, 3) if title_at(j, w)), None)
            if found is not None:
                title = tidy("".join(self.lines[i] for i in filled[j:j + found]))
                k = j + found
                break
        # The document number (文号) sits under the title, or above it in a red-header layout.
        for j in range(min(len(filled), k + 2 if title else len(head))):
            if _DOC_NUMBER.fullmatch(_key(self.lines[filled[j]])):
                doc_number = "".join(self.lines[filled[j]].split())
                k = max(k, j + 1)
                break
        if k < len(filled) and (title or doc_number):
            line = tidy(self.lines[filled[k]])
            if line.endswith(("：", ":")) and len(line) <= 120 and "。" not in line:
                addressees = line[:-1]
                k += 1
        body = filled[k:]
        sentences: list[Sentence] = []
        paragraphs: list[tuple[int, str]] = []
        for i in body:
            text = self.lines[i].strip()
            if "\t" in text:
                text = text.replace("\t", " ")
            previous = paragraphs[-1][1] if paragraphs else ""
            joins = (paragraphs and not _PARAGRAPH_NO.match(tidy(text))
                     and not previous.rstrip().endswith(tuple(_SENTENCE_END))
                     and len(tidy(previous)) >= 20)
            if joins:
                paragraphs[-1] = (paragraphs[-1][0], _join_broken(previous, text))
            else:
                paragraphs.append((i + 1, text))
        for number, (first, text) in enumerate(paragraphs):
            sentences.extend(Sentence(text=s, line=first, paragraph=number) for s in _sentences(tidy(text)))
        record = NoticeText(first_line=start + 1, last_line=date_index + 1, title=title, doc_number=doc_number,
                            addressees=addressees, sentences=tuple(sentences), issuer=issuer, published=date,
                            date_line=date_index + 1)
        return record, date_index + 1


def read_notices(text: str, *, source: str = "<text>") -> tuple[tuple[NoticeText, ...], tuple[str, ...]]:
    """The notices of a text, in order, and warnings about lines that were not read.

    A notice ends with its signature: the issuer's name and a date line
    ("2016 年 6 月 23 日"). What follows the signature up to the next notice
    belongs to it: the table (title, header rows, rows) and annex lists.
    Raises :class:`NoticeReadError` when no notice is found (no date line),
    saying what was expected.
    """
    reader = _Reader(text)
    if not any(line.strip() for line in reader.lines):
        raise NoticeReadError(source, "the text is empty; expected one or more notices (title, 文号, body, "
                                      "the issuer and a date line such as '2016年6月23日', then the table)")
    notices: list[NoticeText] = []
    warnings: list[str] = []
    i = 0
    n = len(reader.lines)
    while i < n:
        d = next((j for j in range(i, n) if _date_of(reader.lines[j]) is not None), None)
        if d is None:
            break
        y, m, day = _date_of(reader.lines[d])  # type: ignore[misc]
        try:
            date = dt.date(y, m, day)
        except ValueError:
            raise NoticeReadError(source, f"line {d + 1}: {reader.lines[d].strip()!r} is not a real date; the "
                                          "signature date of a notice must be a real date "
                                          "(e.g. '2016年6月23日')") from None
        notice, after = reader.notice(i, d, date)
        end, title, rows, repeats, annexes = reader.attachments(after)
        last = max((j for j in range(after, end) if not reader.blank(j)), default=d) + 1
        notices.append(replace(notice, table_title=title, table=tuple(rows), header_repeats=repeats,
                               annexes=tuple(annexes), last_line=last))
        if end <= i:  # pragma: no cover - the loop always advances past the date line
            break
        i = end
    rest = [j + 1 for j in range(i, n) if not reader.blank(j)]
    if not notices:
        raise NoticeReadError(source, "no notice found: expected a signature date line such as '2016年6月23日' "
                                      "(after the issuer's name, e.g. '揭阳市人民政府办公室') closing each notice, "
                                      "with the notice's title, 文号, body and its table (header "
                                      "'序号 工作任务 具体要求 牵头落实单位 完成时限', tab-separated) around it")
    if rest:
        warnings.append(f"lines {rest[0]}–{rest[-1]} ({len(rest)} non-blank) follow the last notice's signature "
                        "and are no table or annex: not read (a notice needs a signature date line)")
    return tuple(notices), tuple(warnings)


# =========================================================================== layer 2: values

@dataclass(frozen=True, kw_only=True, slots=True)
class ReviewNote:
    """A value the drafter inferred, for a person to confirm (written with ``status: open``).

    ``field`` is ``units``, ``deadline``, ``task`` or ``text``; ``note``
    starts with a tag from :data:`TAGS`.
    """

    field: str
    note: str

    @property
    def tag(self) -> str:
        m = re.match(r"【[^】]+】", self.note)
        return m.group() if m else ""


@dataclass(frozen=True, kw_only=True, slots=True)
class DraftDeadline:
    """A deadline entry: the phrase as written, where it came from, how it compiled.

    ``status`` is ``compiled``, ``ambiguous`` (compiled, but the compiler
    flags its reading) or ``unreadable`` (``spec`` is None; the file gets
    :data:`PLACEHOLDER_SPEC` and ``error`` says why).
    """

    phrase: str
    source: DeadlineSource
    spec: DeadlineSpec | None
    status: DeadlineStatus
    trigger: str | None = None
    error: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DraftRequirement:
    """A 具体要求 as drafted: ``units`` is the cell written to the file.

    ``unit_names`` are the cell's names that the directory knows,
    ``unknown_units`` the names it does not (kept in a review note, out of
    ``units`` unless nothing resolved). ``line`` is the source line.
    """

    no: int
    text: str
    units: str
    unit_names: tuple[str, ...]
    unknown_units: tuple[str, ...]
    deadlines: tuple[DraftDeadline, ...]
    inherited: tuple[str, ...] = ()
    review: tuple[ReviewNote, ...] = ()
    repaired_units: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class DraftTask:
    """A 工作任务 (task 0: the duties written in the notice's body)."""

    no: int
    title: str
    requirements: tuple[DraftRequirement, ...]
    line: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class DraftSummary:
    """How much of a draft was read literally and how much is inference (the CLI's summary).

    The deadline buckets are disjoint: ``compiled`` (clean), ``ambiguous``
    (compiled, flagged by the compiler) and ``unreadable`` (placeholder).
    ``blocking`` lists what will make ``duban plan validate`` fail.
    """

    tasks: int
    requirements: int
    units_matched: tuple[str, ...]
    units_unknown: tuple[str, ...]
    units_repaired: tuple[str, ...]
    deadlines_compiled: int
    deadlines_ambiguous: int
    deadlines_unreadable: int
    deadlines_from_text: int
    deadlines_inherited: int
    review_notes: int
    review_tags: Mapping[str, int]
    blocking: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "tasks": self.tasks,
            "requirements": self.requirements,
            "units": {"matched": len(self.units_matched), "unknown": list(self.units_unknown),
                      "repaired": list(self.units_repaired)},
            "deadlines": {"compiled": self.deadlines_compiled, "ambiguous": self.deadlines_ambiguous,
                          "unreadable": self.deadlines_unreadable, "from_text": self.deadlines_from_text,
                          "inherited": self.deadlines_inherited},
            "review_notes": self.review_notes,
            "review_tags": dict(self.review_tags),
            "blocking": list(self.blocking),
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class DraftPlan:
    """One notice drafted as a plan: the values of a plan file plus where they came from."""

    id: str
    title: str
    issuer: str
    published: dt.date
    plan_year: int
    units_id: str
    tasks: tuple[DraftTask, ...]
    triggers: tuple[Trigger, ...] = ()
    doc_number: str | None = None
    source: str | None = None
    first_line: int = 0
    last_line: int = 0

    def requirements(self) -> Iterable[tuple[DraftTask, DraftRequirement]]:
        for task in self.tasks:
            for requirement in task.requirements:
                yield task, requirement

    def summary(self) -> DraftSummary:
        reqs = [req for _task, req in self.requirements()]
        entries = [entry for req in reqs for entry in req.deadlines]
        notes = [note for req in reqs for note in req.review]
        matched = dict.fromkeys(name for req in reqs for name in req.unit_names)
        unknown = dict.fromkeys(name for req in reqs for name in req.unknown_units)
        blocking: list[str] = []
        for task, req in self.requirements():
            if not req.unit_names:
                blocking.append(f"{task.no}.{req.no}: no unit of {req.units!r} is in the units directory "
                                f"{self.units_id!r} (validate reports unknown-unit)")
            for entry in req.deadlines:
                for leaf in (entry.spec.leaves() if entry.spec is not None else ()):
                    if isinstance(leaf, Relative) and leaf.due is None:
                        blocking.append(f"{task.no}.{req.no}: {entry.phrase!r} needs a working-day calendar year "
                                        "the calendar lacks (validate reports calendar-year-missing)")
        return DraftSummary(
            tasks=len(self.tasks), requirements=len(reqs),
            units_matched=tuple(matched), units_unknown=tuple(unknown),
            units_repaired=tuple(dict.fromkeys(n for req in reqs for n in req.repaired_units)),
            deadlines_compiled=sum(entry.status == "compiled" for entry in entries),
            deadlines_ambiguous=sum(entry.status == "ambiguous" for entry in entries),
            deadlines_unreadable=sum(entry.status == "unreadable" for entry in entries),
            deadlines_from_text=sum(entry.source == "text" for entry in entries),
            deadlines_inherited=sum(entry.source == "inherited" for entry in entries),
            review_notes=len(notes),
            review_tags=MappingProxyType(dict(Counter(note.tag or "(untagged)" for note in notes))),
            blocking=tuple(blocking),
        )


# =========================================================================== layer 2: drafting

def _q(text: str) -> str:
    """A short quotation for notes: the text itself, cut at 40 characters."""
    return text if len(text) <= 40 else text[:39] + "…"


_FREQ = {"monthly": "每月", "quarterly": "每季度", "semiannual": "每半年", "annual": "每年"}
_UNIT_CN = {"working_days": "个工作日", "days": "日", "hours": "小时", "months": "个月", "years": "年"}


def describe(spec: DeadlineSpec | Spec) -> str:
    """A short Chinese reading of a spec for review notes ("固定期限2016-12-31", "每季度")."""
    if isinstance(spec, Composite):
        return "＋".join(describe(part) for part in spec.parts)
    if isinstance(spec, Fixed):
        return f"固定期限{spec.due.isoformat()}"
    if isinstance(spec, Recurring):
        months = f"（{'、'.join(f'{m}月' for m in spec.months)}）" if spec.months else ""
        start = f"自{spec.start.isoformat()}起" if spec.start else ""
        return f"{start}{_FREQ.get(spec.freq, spec.freq)}{months}的节律"
    if isinstance(spec, Ongoing):
        return f"持续工作（至{spec.until.isoformat()}）" if spec.until else "不定期的持续工作"
    if isinstance(spec, Triggered):
        offset = f"{spec.offset.amount}{_UNIT_CN[spec.offset.unit]}内" if spec.offset else "默认期限"
        every = "，每次事件一次" if spec.per_event else ""
        return f"触发（事件 {spec.event}，{offset}{every}）"
    if isinstance(spec, Relative):
        due = f"，即{spec.due.isoformat()}" if spec.due else ""
        return f"公布后{spec.offset.amount}{_UNIT_CN[spec.offset.unit]}内{due}"
    return spec.kind  # pragma: no cover - every kind is handled above


def _plain(spec: DeadlineSpec | Spec) -> Any:
    """A spec's JSON without notes: what two readings must agree on to be the same deadline."""
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "note"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    return strip(spec.to_json())


def _events(spec: DeadlineSpec | None) -> tuple[str, ...]:
    if spec is None:
        return ()
    return tuple(dict.fromkeys(leaf.event for leaf in spec.leaves() if isinstance(leaf, Triggered)))


@dataclass(kw_only=True, slots=True)
class _Task:
    """A task while the table is being read (mutable; frozen into :class:`DraftTask` at the end)."""

    no: int
    title: str
    line: int
    variants: list[tuple[str, int]] = field(default_factory=list)
    notes: list[ReviewNote] = field(default_factory=list)

    @property
    def subjects(self) -> frozenset[str]:
        return subjects_of(self.title + "".join(v for v, _ in self.variants))


@dataclass(kw_only=True, slots=True)
class _Item:
    """A requirement while being drafted: where it sits, what it was given, why."""

    index: int
    row: int
    line: int
    number: int | None
    text: str
    task: int
    no: int = 0
    units: str | None = None
    units_override: tuple[int, str] | None = None
    phrases: list[tuple[str, DeadlineSource]] = field(default_factory=list)
    inherited: list[str] = field(default_factory=list)
    notes: list[ReviewNote] = field(default_factory=list)
    split_from: bool = False

    def note(self, field_name: str, text: str) -> None:
        self.notes.append(ReviewNote(field=field_name, note=text))


class _Drafter:
    """Drafts one notice; holds the directory, the plan's dates and the compiler's calendar."""

    def __init__(self, notice: NoticeText, directory: UnitDirectory, calendar: WorkdayCounter | None) -> None:
        self.notice = notice
        self.directory = directory
        self.calendar = calendar
        self.published = notice.published
        self.plan_year = notice.published.year
        self.plan_notes: list[ReviewNote] = []
        self._names: list[tuple[str, str]] | None = None
        self._repairs: dict[str, tuple[list[str], str] | None] = {}

    def plan_note(self, field_name: str, text: str) -> None:
        """A note about the whole plan (the format has none: it goes on the plan's first requirement)."""
        self.plan_notes.append(ReviewNote(field=field_name, note=text))

    # ----------------------------------------------------------------- units

    def known(self) -> list[tuple[str, str]]:
        """(normalised, written) for every name the directory knows, longest first."""
        if self._names is None:
            names = [(_key(name), name) for name in self.directory.known_names()]
            self._names = sorted(names, key=lambda pair: -len(pair[0]))
        return self._names

    def canonical(self, written: str) -> str:
        """The directory's own name for a spelling (a unit's or group's name, not its alias)."""
        key = _key(written)
        for group in self.directory.groups:
            if key in (_key(group.name), *(_key(a) for a in group.aliases)):
                return group.name
        try:
            return self.directory.unit(written).name
        except LookupError:
            return written

    def repair(self, name: str) -> tuple[list[str], str] | None:
        """A garbled name = a known unit + bracketed debris resembling another known name.

        "市食品药品监督管理局（市、区政府）（管委会）" is 市食品药品监督管理局 plus a
        mangled 各县（市、区）人民政府（管委会）: returns both canonical names and
        the spelling the debris resembled. None when no known name prefixes it.
        """
        if name not in self._repairs:
            self._repairs[name] = self._repair(name)
        return self._repairs[name]

    def _repair(self, name: str) -> tuple[list[str], str] | None:
        key = _key(name)
        prefix = next((written for norm, written in self.known()
                       if key.startswith(norm) and len(norm) < len(key) and key[len(norm)] == "("), None)
        if prefix is None:
            return None
        rest = key[len(_key(prefix)):]
        names = [self.canonical(prefix)]
        best = max(self.known(), key=lambda pair: difflib.SequenceMatcher(None, rest, pair[0]).ratio())
        if difflib.SequenceMatcher(None, rest, best[0]).ratio() >= 0.75:
            names.append(self.canonical(best[1]))
            return names, best[1]
        return names, ""

    def resolve_units(self, item: _Item, cell: str) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """The cell to write, its known names, unknown names and repaired names (notes on ``item``)."""
        resolution = self.directory.resolve_cell(cell)
        if not resolution.unknown and not resolution.empty_pieces:
            return cell, resolution.written, (), ()
        kept: list[str] = []
        unknown: list[str] = []
        repaired: list[str] = []
        for name in split_cell(cell):
            if not name:
                continue
            if self.directory.lookup(name) is not None:
                kept.append(name)
                continue
            fix = self.repair(name)
            if fix is not None:
                names, like = fix
                for fixed in names:
                    if fixed not in kept:
                        kept.append(fixed)
                repaired.append(name)
                debris = f"，括注读作与“{like}”相近的“{names[1]}”" if like else "，括注略去"
                item.note("units", f"【原文疑误】单位栏原文为“{name}”，抽取时疑有残缺：读作“{'，'.join(names)}”"
                                   f"（名录中的“{names[0]}”{debris}），待核。")
                continue
            unknown.append(name)
            hints = self.directory.suggest(name)
            hint = f"（是否为{'或'.join(f'“{h}”' for h in hints)}？）" if hints else ""
            item.note("units", f"【待核】单位“{name}”不在单位名录“{self.directory.id}”中{hint}：未列入 units。"
                               "请在名录中补上该单位（或别名）后加回，或改为名录中的名称。")
        if resolution.empty_pieces:
            item.note("units", f"【原文疑误】单位栏“{cell}”有空名（连续的分隔符），已略去。")
        if not kept:
            item.note("units", f"【待核】单位栏“{cell}”中没有名录认识的单位：按原文写入，`duban plan validate` 会报 "
                               "unknown-unit，补好名录前此草稿不能导入。")
            return cell, (), tuple(unknown), tuple(repaired)
        written = "，".join(kept)
        return written, tuple(self.directory.resolve_cell(written).written), tuple(unknown), tuple(repaired)

    def subject(self, text: str) -> tuple[str, str] | None:
        """Who a body sentence addresses: ("collective", 各地各部门) or ("unit", a directory name)."""
        key = _key(text)
        best: tuple[int, int, str] | None = None
        for norm, written in self.known():
            pos = key.find(norm)
            if pos >= 0 and (best is None or pos < best[0] or (pos == best[0] and len(norm) > best[1])):
                best = (pos, len(norm), written)
        collective = _COLLECTIVE.search(key)
        if collective is not None and (best is None or collective.start() <= best[0]):
            return "collective", collective.group()
        if best is not None:
            return "unit", best[2]
        return None

    def addressees(self) -> tuple[str | None, list[str]]:
        """The salutation (主送) as a units cell, and what had to be read into it."""
        raw = self.notice.addressees
        if not raw:
            return None, []
        kept: list[str] = []
        notes: list[str] = []
        annex_titles = [a.title for a in self.notice.annexes if a.title]
        for piece in _split_top(raw):
            if self.directory.lookup(piece) is not None:
                kept.append(piece)
                continue
            annex = next((t for t in annex_titles if self.directory.lookup(t) is not None), None)
            if piece.endswith("有关单位") and annex is not None:
                kept.append(annex)
                notes.append(f"“{piece}”按附件“{annex}”")
                continue
            hints = self.directory.suggest(piece)
            notes.append(f"“{piece}”不在名录中{'（是否为' + '或'.join(hints) + '？）' if hints else ''}，未列入")
        return ("，".join(kept) if kept else None), notes

    # ----------------------------------------------------------------- deadlines

    def compile(self, phrase: str) -> tuple[DeadlineSpec | None, DeadlineStatus, str | None]:
        try:
            spec = compile_phrase(phrase, plan_year=self.plan_year, published=self.published,
                                  calendar=self.calendar)
        except PhraseError as exc:
            return None, "unreadable", f"{exc.code}: {str(exc).splitlines()[0]}"
        ambiguous = any(leaf.ambiguous for leaf in (spec, *spec.leaves()))
        return spec, ("ambiguous" if ambiguous else "compiled"), None

    def entry_notes(self, item: _Item, entry: DraftDeadline) -> None:
        """Notes every deadline entry needs: unreadable, ambiguous, no window, a date that has passed."""
        if entry.status == "unreadable":
            item.note("deadline", f"【待核】无法读取时限“{entry.phrase}”（{entry.error}）：暂以显式规格占位"
                                  "（不定期的持续工作，只提醒不计期限）。请改写为可读的时限短语（并删去 spec），"
                                  "或给出正确的 spec。")
            return
        spec = entry.spec
        if spec is None:  # pragma: no cover - only unreadable entries lack a spec
            return
        if entry.status == "ambiguous":
            reason = "；".join(dict.fromkeys(leaf.note for leaf in (spec, *spec.leaves()) if leaf.note))
            item.note("deadline", f"【待核】“{entry.phrase}”编译为{describe(spec)}，读法不确定"
                                  f"{'（' + reason + '）' if reason else ''}，请确认。")
        elif any(isinstance(leaf, Triggered) and leaf.offset is None for leaf in spec.leaves()):
            item.note("deadline", f"【待核】“{entry.phrase}”只写了所等的事件，未写事件发生后多少天内完成："
                                  "触发后按系统配置的默认期限督办，待核。")
        written = _nfkc(entry.phrase)
        undated = [leaf for leaf in spec.leaves() if isinstance(leaf, Fixed)]
        if undated and re.search(r"\d{1,2}月", written) and not re.search(r"\d{4}", written):
            item.note("deadline", f"【待核】“{entry.phrase}”未写年份，按方案年份{self.plan_year}读作"
                                  f"{undated[0].due.isoformat()}，待核。")
        soon = [leaf for leaf in spec.leaves() if isinstance(leaf, Fixed)
                and leaf.due <= self.published + dt.timedelta(days=7)]
        if soon:
            item.note("deadline", f"【待核】期限{soon[0].due.isoformat()}距方案公布（{self.published.isoformat()}）"
                                  "不足一周（或已过），待核。")


_COLLECTIVE = re.compile(r"各地各部门|各地、各部门|各地区各部门|各级各部门|各有关单位|各单位|各部门|各地|你们")
_DUTY = re.compile(r"要|须|应|请|务必|必须")
_COVERING = re.compile(r"印发给你们|现印发|现将.{0,20}印发|转发给你们")
_BODY_VAGUE = ("适时", "定期")


def _split_top(text: str) -> list[str]:
    """Split a salutation on ，/, at bracket depth 0 (not on 、: "市直及中央、省驻揭有关单位" is one)."""
    out: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch in "（(":
            depth += 1
        elif ch in "）)":
            depth = max(0, depth - 1)
        elif ch in "，,；;" and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    out.append(text[start:].strip())
    return [piece for piece in out if piece]


def _align(index: int, sharers: int, parts: int) -> int:
    """Which of ``parts`` values the ``index``-th of ``sharers`` gets: in order, first to first, last to last.

    Four requirements sharing "全年工作／2016年12月底前完成／2017年第1季度完成"
    get parts 1, 2, 2, 3 (the seed's task 12 as a person read it).
    """
    if sharers <= 1 or parts <= 1:
        return 0
    return min(parts - 1, int(index * (parts - 1) / (sharers - 1) + 0.5))


class _TableDrafter:
    """Turns a notice's table rows into tasks and requirements (mutable working state)."""

    def __init__(self, drafter: _Drafter) -> None:
        self.d = drafter
        self.rows = drafter.notice.table
        self.tasks: dict[int, _Task] = {}
        self.items: list[_Item] = []

    def run(self) -> tuple[list[_Task], list[_Item]]:
        self.read()
        if not self.items:
            return [], []
        self.realign()
        self.number()
        for task in self.tasks.values():
            seq = [item for item in self.items if item.task == task.no]
            self.assign_units(seq)
            self.assign_deadlines(seq)
        for task in self.tasks.values():
            self.title_variants(task)
        return [t for t in self.tasks.values() if any(i.task == t.no for i in self.items)], self.items

    # ----------------------------------------------------------------- rows to items

    def read(self) -> None:
        current: int | None = None
        for r, row in enumerate(self.rows):
            label = _nfkc(row.no).strip()
            title = tidy(_TAG.sub(" ", row.title))
            if label.isdigit():
                no = int(label)
                task = self.tasks.get(no)
                if task is None:
                    task = _Task(no=no, title=title, line=row.line)
                    if not title:
                        task.title = f"第{no}项（标题缺失）"
                        task.notes.append(ReviewNote(field="task", note=f"【待核】第{no}项的工作任务栏空白"
                                                                        f"（第{row.line}行），标题待补。"))
                    self.tasks[no] = task
                elif title and _key(title) not in {_key(task.title), *(_key(v) for v, _ in task.variants)}:
                    task.variants.append((title, row.line))
                current = no
            elif title and (current is None or _key(title) != _key(self.tasks[current].title)):
                same = next((t for t in self.tasks.values() if _key(t.title) == _key(title)), None)
                if same is not None:
                    current = same.no
                else:
                    no = max(self.tasks, default=0) + 1
                    note = f"【待核】第{row.line}行有工作任务“{_q(title)}”，但序号栏空白：编为第{no}项，待核。"
                    self.tasks[no] = _Task(no=no, title=title, line=row.line,
                                           notes=[ReviewNote(field="task", note=note)])
                    current = no
            found = split_items(row.requirements)
            if not found:
                if row.units.strip() or row.deadline.strip():
                    where = self.items[-1] if self.items else None
                    text = (f"【错位】原文第{row.line}行只有单位栏“{_q(tidy(row.units))}”、时限栏"
                            f"“{_q(tidy(row.deadline))}”而没有要求，未读入，待核。")
                    if where is not None:
                        where.note("text", text)
                    else:
                        self.d.plan_note("text", text)
                continue
            for number, text in found:
                self.items.append(_Item(index=len(self.items), row=r, line=row.line, number=number, text=text,
                                        task=current if current is not None else -1))
        synthesized = not self.tasks and bool(self.items)
        if synthesized:
            title = self.d.notice.table_title or "工作任务（标题缺失）"
            self.tasks[1] = _Task(no=1, title=title, line=self.rows[0].line, notes=[ReviewNote(
                field="task", note="【待核】表格没有序号栏或序号：全部要求编为第1项，待核。")])
        first = next(iter(self.tasks), None)
        for item in self.items:
            if item.task == -1 and first is not None:
                item.task = first
                if not synthesized:
                    item.note("task", f"【错位】此条（原文第{item.line}行）在第一个有序号的行之前：归入第{first}项，"
                                      "待核。")

    def title_variants(self, task: _Task) -> None:
        """【标题异文】: a continuation page repeats the title in other words; the first is kept."""
        seq = [item for item in self.items if item.task == task.no]
        if not seq:
            return
        for variant, line in task.variants:
            seq[0].note("task", f"【标题异文】本任务跨页，续页（第{line}行）标题为“{variant}”；保留首页标题"
                                f"“{task.title}”，待核。")
        for note in task.notes:
            seq[0].notes.append(note)

    # ----------------------------------------------------------------- misaligned rows

    def realign(self) -> None:
        """Move a requirement whose row the extraction shifted into the neighbouring task.

        Evidence is either the subject (the text is about what the next or
        previous task's title is about, and not about its own task's) or the
        numbering (an item "1." in the middle of a task, while the next task
        starts at "2."). Only an item at a task boundary moves, and never the
        last item of a task, so tasks stay contiguous and none is emptied.
        """
        order = list(self.tasks)
        position = {no: k for k, no in enumerate(order)}
        for item in self.items:
            same = [x for x in self.items if x.task == item.task]
            if len(same) < 2:
                continue
            k = position[item.task]
            own = self.tasks[item.task]
            subjects = subjects_of(item.text)
            conflicts = bool(subjects) and bool(own.subjects) and not subjects & own.subjects
            if same[-1] is item and k + 1 < len(order):
                target = self.tasks[order[k + 1]]
                following = [x for x in self.items if x.task == target.no]
                first_number = following[0].number if following else None
                reason = None
                if conflicts and subjects & target.subjects:
                    reason = (f"内容属“{'、'.join(sorted(subjects))}”，与第{own.no}项“{_q(own.title)}”不符、"
                              f"与第{target.no}项相符")
                elif item.number == 1 and first_number is not None and first_number > 1:
                    reason = (f"编号“1.”在第{own.no}项中间重新开始，而第{target.no}项的第一条编号是"
                              f"“{first_number}.”（序号、任务栏比要求栏低了一行）")
                if reason is not None:
                    self.move(item, target, reason)
                    continue
            if same[0] is item and k > 0:
                target = self.tasks[order[k - 1]]
                before = [x for x in self.items if x.task == target.no]
                last_number = before[-1].number if before else None
                continues = item.number is None or (last_number is not None and item.number == last_number + 1)
                if conflicts and subjects & target.subjects and continues:
                    self.move(item, target, f"内容属“{'、'.join(sorted(subjects))}”，与第{own.no}项"
                                            f"“{_q(own.title)}”不符、与第{target.no}项相符（编号也接续第{target.no}项）")

    def move(self, item: _Item, target: _Task, reason: str) -> None:
        origin = self.tasks[item.task]
        item.task = target.no
        item.note("task", f"【错位】此条（原文第{item.line}行）排在第{origin.no}项“{_q(origin.title)}”下，但{reason}："
                          f"归入第{target.no}项“{_q(target.title)}”。")
        rows = self.rows
        own = rows[item.row].units
        own_subjects = subjects_of(own)
        if not own.strip() or (own_subjects and not own_subjects & target.subjects):
            for r in (item.row + 1, item.row - 1):
                if 0 <= r < len(rows) and rows[r].units.strip() and subjects_of(rows[r].units) & target.subjects:
                    item.units_override = (r, rows[r].units)
                    why = "空白" if not own.strip() else f"是“{_q(tidy(own))}”，与此条内容不符"
                    item.note("units", f"【错位】此条所在行的单位栏{why}；单位取自相邻第{rows[r].line}行的"
                                       f"“{_q(tidy(rows[r].units))}”（与第{target.no}项的内容相符），待核。")
                    break
        if rows[item.row].deadline.strip():
            item.note("deadline", f"【错位】时限取此条所在行的“{_q('；'.join(cell_parts(rows[item.row].deadline)))}”"
                                  "（要求栏与时限栏同在一行），待核。")

    # ----------------------------------------------------------------- numbers and cells

    def number(self) -> None:
        for task in self.tasks.values():
            seq = [item for item in self.items if item.task == task.no]
            used: set[int] = set()
            for item in seq:
                if item.number is not None and item.number >= 1 and item.number not in used:
                    item.no = item.number
                    used.add(item.number)
            for item in seq:
                if item.no == 0:
                    item.no = max(used, default=0) + 1
                    used.add(item.no)
                    if item.number is not None:
                        item.note("text", f"【原文疑误】编号“{item.number}.”在第{task.no}项中重复："
                                          f"编为第{item.no}条，待核。")

    @staticmethod
    def groups(seq: list[_Item]) -> list[list[_Item]]:
        """Consecutive items of one row: they share the row's cells."""
        out: list[list[_Item]] = []
        for item in seq:
            if out and out[-1][0].row == item.row:
                out[-1].append(item)
            else:
                out.append([item])
        return out

    def before(self, item: _Item) -> _Item | None:
        """The item just above in the table, in any task (for a blank cell at a task's top)."""
        return self.items[item.index - 1] if item.index > 0 else None

    def assign_units(self, seq: list[_Item]) -> None:
        previous: _Item | None = None
        for group in self.groups(seq):
            row = self.rows[group[0].row]
            if group[0].units_override is not None:
                value = "，".join(cell_parts(group[0].units_override[1]))
                for item in group:
                    item.units = value
            elif row.units.strip():
                parts = cell_parts(row.units)
                if len(parts) > 1 and len(group) > 1:
                    for index, item in enumerate(group):
                        k = _align(index, len(group), len(parts))
                        item.units = parts[k]
                        if len(parts) != len(group):
                            item.note("units", f"【拆分】单位栏（第{row.line}行）依次列出{len(parts)}组单位，由"
                                               f"{len(group)}条要求共用：按顺序分配，此条取第{k + 1}组"
                                               f"“{_q(parts[k])}”，待核。")
                else:
                    for item in group:
                        item.units = "，".join(parts)
            else:
                source = previous if previous is not None else self.before(group[0])
                for item in group:
                    if source is None or not source.units:
                        item.units = ""
                        item.note("units", "【待核】单位栏空白，上面也没有可沿用的单位：待补。")
                        continue
                    item.units = source.units
                    item.inherited.append("units")
                    where = f"第{source.no}条" if source.task == item.task else \
                        f"上一行（第{source.task}项第{source.no}条；本任务没有上一条）"
                    text = f"【继承】单位栏空白（合并单元格），沿用{where}的“{_q(source.units)}”。"
                    about, owner = subjects_of(item.text), subjects_of(source.units)
                    topic = self.tasks[item.task].subjects
                    if about and owner and not about & owner and not owner & topic:
                        text += (f"但此条内容属“{'、'.join(sorted(about))}”，与沿用的单位"
                                 f"（“{'、'.join(sorted(owner))}”）不符：原表此处的牵头单位可能在抽取中丢失，"
                                 "导入前务必核实。")
                    item.note("units", text)
            previous = group[-1]

    def assign_deadlines(self, seq: list[_Item]) -> None:
        previous: _Item | None = None
        groups = self.groups(seq)
        given: set[int] = set()
        for g, group in enumerate(groups):
            row = self.rows[group[0].row]
            if group[0].index in given:
                previous = group[-1]
                continue
            if row.deadline.strip():
                parts = list(cell_parts(row.deadline))
                followers = [item for later in groups[g + 1:] for item in later]
                blank = []
                for item in followers:
                    if self.rows[item.row].deadline.strip():
                        break
                    blank.append(item)
                by_sentence = False
                if len(parts) == 1:
                    sentences = [s.rstrip("。") for s in _sentences(parts[0])]
                    if len(sentences) >= 2 and (blank or len(group) > 1):
                        parts, by_sentence = sentences, True
                sharers = list(group) if len(group) > 1 or len(parts) < 2 else list(group) + blank
                if len(parts) >= 2 and len(sharers) >= 2:
                    listing = "／".join(f"“{p}”" for p in parts)
                    for index, item in enumerate(sharers):
                        k = _align(index, len(sharers), len(parts))
                        on_row = item in group
                        item.phrases = [(parts[k], "cell" if on_row else "inherited")]
                        if not on_row:
                            item.inherited.append("deadline")
                            given.add(item.index)
                        if by_sentence or len(parts) != len(sharers):
                            item.note("deadline", f"【拆分】时限单元格（第{row.line}行）依次列出{len(parts)}个时限"
                                                  f"{listing}，由{len(sharers)}条要求共用：按顺序分配（首条取第一个、"
                                                  f"末条取最后一个），此条取第{k + 1}个“{parts[k]}”，待核。")
                else:
                    for item in group:
                        item.phrases = [("；".join(parts), "cell")]
            else:
                source = previous if previous is not None else self.before(group[0])
                for item in group:
                    if source is None or not source.phrases:
                        item.note("deadline", "【待核】时限栏空白，上面也没有可沿用的时限：待补。")
                        continue
                    item.phrases = [(phrase, "inherited") for phrase, _ in source.phrases]
                    item.inherited.append("deadline")
                    where = f"第{source.no}条" if source.task == item.task else \
                        f"上一行（第{source.task}项第{source.no}条；本任务没有上一条）"
                    text = (f"【继承】时限栏空白（合并单元格），沿用{where}的"
                            f"“{'；'.join(phrase for phrase, _ in source.phrases)}”。")
                    if row.units.strip() and item is group[0] and not group[0].units_override:
                        text += (f"单位栏在此换成“{_q(tidy(row.units))}”，沿用时限跨越了单位的变化，"
                                 "推断成分较大，待核。")
                    item.note("deadline", text)
            previous = group[-1]


# =========================================================================== layer 2: one notice

_COVERED_TITLE = re.compile(r"关于(?:印发|转发|下发|公布)(?P<x>.+?)的通知$")


def _plan_id(directory_id: str, doc_number: str | None, published: dt.date, used: set[str]) -> str:
    """``<directory>-<year>-<serial>`` from the 文号, else ``<directory>-<published>``; unique in ``used``."""
    m = re.search(r"[〔\[［【(（](\d{4})[〕\]］】)）](\d{1,4})号", doc_number or "")
    base = f"{directory_id}-{m.group(1)}-{m.group(2)}" if m else f"{directory_id}-{published.isoformat()}"
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}-{n}", n + 1
    used.add(candidate)
    return candidate


class _NoticeDrafter(_Drafter):
    """One notice: body duties (task 0), table tasks, metadata, triggers."""

    def body(self) -> list[_Item]:
        """The body's sentences that carry a deadline become task 0's requirements.

        A sentence qualifies when :func:`extract_text_deadlines` finds a
        deadline in it, or (the body has no deadline cell to fall back on)
        it says 适时/定期. Its units are whom it addresses: a directory name
        it starts with, or the salutation (主送) for 各地各部门. Sentences
        that read like duties but carry no deadline are listed in a
        【正文未列】 note instead, so nothing is dropped silently.
        """
        addressees, addressee_notes = self.addressees()
        items: list[_Item] = []
        unlisted: list[str] = []
        last: dict[int, str] = {}
        for sentence in self.notice.sentences:
            text = _PARAGRAPH_NO.sub("", sentence.text, count=1).strip()
            if not text or _COVERING.search(text):
                continue
            phrases = [found.phrase for found in extract_text_deadlines(text)]
            if not phrases:
                phrases = [word for word in _BODY_VAGUE if word in text][:1]
            subject = self.subject(text)
            if not phrases:
                if _DUTY.search(text) and len(text) >= 8:
                    unlisted.append(text)
                if subject is not None and (subject[0] == "unit" or addressees):
                    last[sentence.paragraph] = subject[1] if subject[0] == "unit" else addressees or ""
                continue
            item = _Item(index=len(items), row=-1, line=sentence.line, number=None, text=text, task=0,
                         no=len(items) + 1)
            if subject is not None and subject[0] == "unit":
                cell = subject[1]
            elif subject is not None and addressees:
                cell = addressees
                extra = ("；" + "；".join(addressee_notes)) if addressee_notes else ""
                item.note("units", f"【待核】正文主语“{subject[1]}”，按主送单位“{self.notice.addressees}”编码为"
                                   f"“{addressees}”{extra}，待核。")
            elif subject is None and sentence.paragraph in last:
                cell = last[sentence.paragraph]
                item.note("units", f"【待核】正文此句主语承上省略，按同段上一句的“{cell}”编码，待核。")
            elif subject is None and addressees:
                cell = addressees
                item.note("units", f"【待核】正文此句未写主语，按主送单位“{self.notice.addressees}”编码为"
                                   f"“{addressees}”，待核。")
            else:
                cell = subject[1] if subject is not None else "（主语不详）"
                item.note("units", f"【待核】正文此句的主语“{cell}”无法对应名录中的单位（通知没有可用的主送单位），"
                                   "请改为名录中的单位或组。")
            last[sentence.paragraph] = cell
            item.units = cell
            item.phrases = [(phrase, "text") for phrase in phrases]
            items.append(item)
        if unlisted:
            note = ReviewNote(field="text", note="【正文未列】正文中以下句子像是要求但没有时限，未列为要求（如需督办，"
                                                 "请补上时限后另列一条）：" + "；".join(f"“{t}”" for t in unlisted))
            if items:
                items[0].notes.append(note)
            else:
                self.plan_notes.append(note)
        return items

    def entries(self, item: _Item, hints: dict[str, str]) -> list[DraftDeadline]:
        """The item's deadline entries: its cell phrases, then deadlines found in its text."""
        entries: list[DraftDeadline] = []
        for phrase, source in item.phrases:
            spec, status, error = self.compile(phrase)
            entries.append(DraftDeadline(phrase=phrase, source=source, spec=spec, status=status, error=error))
        if item.task != 0:
            cell = "；".join(phrase for phrase, _ in item.phrases)
            for found in extract_text_deadlines(item.text):
                spec, status, error = self.compile(found.phrase)
                shared = [event for event in _events(spec) if any(event in _events(e.spec) for e in entries)]
                if shared and len(shared) == len(_events(spec)):
                    hints.setdefault(shared[0], found.phrase)
                    item.note("deadline", f"【正文时限】正文“{found.phrase}”点明了单元格“{cell}”所等的事件"
                                          f"（{shared[0]}），两者是同一事件：只列单元格一条，触发器的说明取正文。")
                    continue
                if spec is not None and any(e.spec is not None and _plain(e.spec) == _plain(spec) for e in entries):
                    continue  # the text repeats the cell's deadline
                entries.append(DraftDeadline(phrase=found.phrase, source="text", spec=spec, status=status,
                                             error=error))
                kept = f"单元格的“{cell}”仍保留" if item.phrases else "单元格没有时限"
                reading = describe(spec) if spec is not None else "无法读取的时限"
                item.note("deadline", f"【正文时限】正文“{found.phrase}”另列为{reading}；{kept}，待核。")
        if not entries:
            spec, status, error = self.compile("（原文无时限）")
            entries.append(DraftDeadline(phrase="（原文无时限）", source="cell", spec=spec, status=status, error=error))
        for entry in entries:
            self.entry_notes(item, entry)
        return entries

    def metadata(self) -> tuple[str, int, str]:
        """plan.title, plan.plan_year and plan.issuer, with notes for whatever had to be supplied."""
        notice = self.notice
        issuer = notice.issuer or "（落款缺失）"
        if notice.issuer is None:
            self.plan_note("task", "【待核】日期行之上没有落款单位，plan.issuer 待补。")
        date_cn = f"{notice.published.year}年{notice.published.month}月{notice.published.day}日"
        if notice.title:
            m = _COVERED_TITLE.search(notice.title)
            title = m.group("x").strip("《》") if m else notice.title
        elif notice.table_title:
            title = notice.table_title
            self.plan_note("task", "【待核】未找到通知标题（“关于…的通知”）：plan.title 取表格标题，"
                                   "文号、主送单位未知，待核。")
        else:
            title = f"{issuer}{date_cn}通知（原文标题缺失，待补）"
            fragments = [s.text for s in notice.sentences if not s.text.endswith(("。", "！", "？", "!", "?"))]
            rest = (f"正文前有{len(fragments)}行不成句（如“{_q(fragments[0])}”，疑为被截断的名单等），未读为要求。"
                    if fragments else "")
            self.plan_note("task", "【待核】通知开头被截断（或没有标题）：原标题、文号、主送单位都未找到；plan.title "
                                   f"为占位，须按原件补上。{rest}格式没有方案级的复核意见，故记在这里。")
        if notice.title and not notice.doc_number:
            self.plan_note("task", "【待核】标题下没有找到文号（如“揭府办函〔2016〕71号”），doc_number 略去，待核。")
        if notice.table_title and notice.title and _key(notice.table_title) != _key(title):
            self.plan_note("task", f"【原文疑误】表格标题作“{notice.table_title}”，与通知标题中的方案名“{title}”"
                                   "不同：plan.title 取通知标题，待核。")
        year = self.plan_year
        m = re.search(r"(\d{4})年", _key(title))
        if m and abs(int(m.group(1)) - notice.published.year) <= 1:
            year = int(m.group(1))
            if year != notice.published.year:
                self.plan_note("deadline", f"【待核】方案标题写{year}年，通知{date_cn}发出：plan_year 取{year}，待核。")
        return title, year, issuer

    def annex_notes(self) -> None:
        """An annex list that a units group stands for should match that group."""
        for annex in self.notice.annexes:
            if not annex.title or not annex.names:
                continue
            expanded = self.directory.lookup(annex.title)
            if expanded is None:
                self.plan_note("units", f"【待核】附件“{annex.title}”（{len(annex.names)}个单位）不是名录中的组："
                                        f"若单元格写“{annex.title}”，请在名录中增设此组。")
                continue
            listed: list[str] = []
            unknown: list[str] = []
            for name in annex.names:
                found = self.directory.lookup(name)
                if found is None:
                    unknown.append(name)
                else:
                    listed.extend(found)
            missing = [u for u in expanded if u not in listed]
            extra = [u for u in dict.fromkeys(listed) if u not in expanded]
            if unknown or missing or extra:
                parts = []
                if unknown:
                    parts.append(f"名录中没有：{'、'.join(unknown)}")
                if extra:
                    parts.append(f"附件有、组里没有：{'、'.join(extra)}")
                if missing:
                    parts.append(f"组里有、附件没有：{'、'.join(missing)}")
                self.plan_note("units", f"【待核】附件“{annex.title}”与名录中的组“{annex.title}”不一致"
                                        f"（{'；'.join(parts)}），待核。")

    def draft(self, *, directory_id: str, used_ids: set[str], source: str | None) -> DraftPlan | None:
        title, plan_year, issuer = self.metadata()
        self.plan_year = plan_year
        self.annex_notes()
        body = self.body()
        table_tasks, table_items = _TableDrafter(self).run()
        tasks: list[tuple[int, str, int, list[_Item]]] = []
        if body:
            tasks.append((0, "通知正文要求", body[0].line, body))
            if not table_items:
                body[0].note("task", "【待核】通知没有分工表：正文中带时限的句子列为第0项“通知正文要求”；"
                                     "如需，可改为第1项并拟定任务标题。")
        for task in table_tasks:
            tasks.append((task.no, task.title, task.line, [i for i in table_items if i.task == task.no]))
        if not tasks:
            return None
        first = tasks[0][3][0]
        first.notes[:0] = self.plan_notes
        triggers: dict[str, Trigger] = {}
        drafted: list[DraftTask] = []
        for no, task_title, line, items in tasks:
            requirements: list[DraftRequirement] = []
            for item in items:
                hints: dict[str, str] = {}
                entries = self.entries(item, hints)
                bound: list[DraftDeadline] = []
                for entry in entries:
                    events = _events(entry.spec)
                    if not events:
                        bound.append(entry)
                        continue
                    key = f"{events[0]}_{no}"
                    if key not in triggers:
                        where = "通知正文" if no == 0 else f"第{no}项“{_q(task_title)}”"
                        every = any(isinstance(leaf, Triggered) and leaf.per_event
                                    for leaf in (entry.spec.leaves() if entry.spec else ()))
                        described = f"{hints.get(events[0], entry.phrase)}（{where}）"
                        triggers[key] = Trigger(key=key, event=events[0], description=(
                            described + ("；每发生一次即为一次" if every else "")))
                    if len(events) > 1:
                        item.note("deadline", f"【待核】“{entry.phrase}”等待{len(events)}个不同的事件"
                                              f"（{'、'.join(events)}），一条时限只能绑定一个触发器：请拆成几条。")
                    bound.append(replace(entry, trigger=key))
                cell, names, unknown, repaired = self.resolve_units(item, item.units or "")
                requirements.append(DraftRequirement(
                    no=item.no, text=item.text, units=cell, unit_names=names, unknown_units=unknown,
                    deadlines=tuple(bound), inherited=tuple(dict.fromkeys(item.inherited)),
                    review=tuple(item.notes), repaired_units=repaired, line=item.line))
            drafted.append(DraftTask(no=no, title=task_title, requirements=tuple(requirements), line=line))
        notice = self.notice
        return DraftPlan(
            id=_plan_id(directory_id, notice.doc_number, notice.published, used_ids), title=title, issuer=issuer,
            published=notice.published, plan_year=plan_year, units_id=directory_id, tasks=tuple(drafted),
            triggers=tuple(triggers.values()), doc_number=notice.doc_number,
            source=f"{source}（第{notice.first_line}–{notice.last_line}行）" if source else None,
            first_line=notice.first_line, last_line=notice.last_line)


def draft_plans(text: str, *, directory: UnitDirectory, source: str = "<text>",
                calendar: WorkdayCounter | None = None) -> tuple[tuple[DraftPlan, ...], tuple[str, ...]]:
    """Draft one plan per notice in ``text``; returns the plans and warnings.

    ``directory`` is the units directory the plans name (``plan.units``);
    ``calendar`` counts working days for relative deadlines (default: the
    shipped calendar). Raises :class:`NoticeReadError` when the text holds
    no notice, or no notice with anything to draft (no table and no body
    sentence with a deadline).
    """
    notices, warnings = read_notices(text, source=source)
    plans: list[DraftPlan] = []
    problems: list[str] = list(warnings)
    used: set[str] = set()
    for notice in notices:
        plan = _NoticeDrafter(notice, directory, calendar).draft(directory_id=directory.id, used_ids=used,
                                                                 source=source)
        if plan is None:
            problems.append(f"the notice dated {notice.published.isoformat()} (lines {notice.first_line}–"
                            f"{notice.last_line}) has no table (header '序号 工作任务 具体要求 牵头落实单位 完成时限') "
                            "and no body sentence with a deadline: nothing to draft")
        else:
            plans.append(plan)
    if not plans:
        raise NoticeReadError(source, "; ".join(problems))
    return tuple(plans), tuple(problems)


def choose_directory(candidates: Sequence[UnitDirectory], text: str, *, wanted: str | None = None) -> UnitDirectory:
    """The units directory a notice text belongs to.

    ``wanted`` (``--units``) picks by id. Otherwise a single candidate is
    used; with several, the one whose ``name`` (揭阳市) the text mentions
    most. Raises :class:`LookupError` (a :class:`DubanError`) naming the
    candidates when the choice is not clear.
    """
    ids = [d.id for d in candidates]
    if wanted is not None:
        for directory in candidates:
            if directory.id == wanted:
                return directory
        raise _DirectoryChoiceError(f"units directory {wanted!r} not found; known: {', '.join(ids) or '(none)'}")
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise _DirectoryChoiceError("no units directory found (rules/units/<id>.yaml); pass --units-dir")
    key = _key(text)
    counts = sorted(((key.count(_key(d.name)) if d.name else 0, d.id) for d in candidates), reverse=True)
    if counts[0][0] > 0 and counts[0][0] > counts[1][0]:
        return next(d for d in candidates if d.id == counts[0][1])
    raise _DirectoryChoiceError(f"cannot tell which units directory the notice belongs to ({', '.join(ids)}); "
                                "pass --units ID")


class _DirectoryChoiceError(DubanError, LookupError):
    """No units directory, or several and the notice does not say which."""


# =========================================================================== layer 3: the plan file

_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def _yq(text: str) -> str:
    """A YAML double-quoted scalar that reads back as ``text`` exactly.

    JSON's escapes are YAML's; on top of them, characters YAML may not hold
    raw (C1 controls, DEL, the BOM) or reads as line breaks inside a quoted
    scalar (U+0085, U+2028, U+2029) are escaped too.
    """
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text, ensure_ascii=False))


def _flow(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _yq(str(value))


def render_yaml(plan: DraftPlan) -> str:
    """The plan file text: the documented format, every scalar quoted, notes ``status: open``."""
    s = plan.summary()
    out: list[str] = [
        f"# 草稿（duban plan draft 自动生成，未经人工核对）：{plan.title}",
        f"# {plan.doc_number or '（无文号）'}，{plan.issuer}，{plan.published.isoformat()}",
    ]
    if plan.source:
        out.append(f"# 来源：{plan.source}")
    out += [
        "#",
        "# 每个推断出的值都带一条 review（status: open）：逐条核对原件，改对后把 status 改为 confirmed。",
        "# `duban plan validate FILE` 列出仍未确认的意见（警告）；`--strict` 通过后再 `duban plan import`。",
        "# plan.id 为自动生成，可改为有意义的名称。流程见 docs/drafting.md。",
        f"# 汇总：{s.tasks}项任务，{s.requirements}条要求；单位 {len(s.units_matched)} 个已识别、"
        f"{len(s.units_unknown)} 个未识别；时限 {s.deadlines_compiled} 条已编译、{s.deadlines_ambiguous} 条含义不确定、"
        f"{s.deadlines_unreadable} 条无法读取；复核意见 {s.review_notes} 条。",
    ]
    for reason in s.blocking:
        out.append(f"# 导入前必须解决：{reason}")
    out += [
        "plan:",
        f"  id: {plan.id}",
        f"  title: {_yq(plan.title)}",
        f"  issuer: {_yq(plan.issuer)}",
    ]
    if plan.doc_number:
        out.append(f"  doc_number: {_yq(plan.doc_number)}")
    out += [
        f"  published: {plan.published.isoformat()}",
        f"  plan_year: {plan.plan_year}",
        f"  units: {plan.units_id}",
    ]
    if plan.source:
        out.append(f"  source: {_yq(plan.source)}")
    if plan.triggers:
        out += ["", "triggers:"]
        for trigger in plan.triggers:
            out += [f"  - key: {trigger.key}", f"    event: {trigger.event}",
                    f"    description: {_yq(trigger.description)}"]
    out += ["", "tasks:"]
    for t, task in enumerate(plan.tasks):
        if t:
            out.append("")
        out += [f"  - no: {task.no}", f"    title: {_yq(task.title)}", "    requirements:"]
        for req in task.requirements:
            out += [f"      - no: {req.no}", f"        text: {_yq(req.text)}", f"        units: {_yq(req.units)}"]
            if req.inherited:
                out.append(f"        inherited: [{', '.join(req.inherited)}]")
            out.append("        deadlines:")
            for entry in req.deadlines:
                out += [f"          - phrase: {_yq(entry.phrase)}", f"            source: {entry.source}"]
                if entry.trigger:
                    out.append(f"            trigger: {entry.trigger}")
                if entry.status == "unreadable":
                    out.append(f"            spec: {_flow(PLACEHOLDER_SPEC)}")
            if req.review:
                out.append("        review:")
                for note in req.review:
                    out += [f"          - field: {note.field}", f"            note: {_yq(note.note)}",
                            "            status: open"]
    return "\n".join(out) + "\n"


def write_drafts(plans: Sequence[DraftPlan], out_dir: Path, *, force: bool = False) -> tuple[Path, ...]:
    """Write ``<id>.yaml`` per plan into ``out_dir``; all or nothing.

    Raises :class:`DraftOutputError` before writing anything when a file
    exists and ``force`` is False: a draft someone has started reviewing
    must not be overwritten by a re-run.
    """
    paths = tuple(out_dir / f"{plan.id}.yaml" for plan in plans)
    existing = [path for path in paths if path.exists()]
    if existing and not force:
        raise DraftOutputError(existing)
    out_dir.mkdir(parents=True, exist_ok=True)
    for plan, path in zip(plans, paths, strict=True):
        path.write_text(render_yaml(plan), encoding="utf-8")
    return paths
