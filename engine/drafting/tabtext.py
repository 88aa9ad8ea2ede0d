"""Layer 1 of the tab-text drafter: a notice's extracted text → :class:`NoticeText` records.

This is the reader of the seed's layout (text extracted from PDF or copied
from a page, the plan as a tab-separated table whose header names the
columns): head (title, 文号, 主送), body sentences, signature and date, then
the table rows with cells broken across lines joined, repeated page headers
counted, and annex lists. It infers nothing: :mod:`.notice_text` drafts from
the records. Other layouts and formats (HTML, .docx, .xlsx, outlines) go
through :mod:`.formats` and :mod:`.layout` instead.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from .textutil import _sentences, key as _key, tidy
from .values import NoticeReadError

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
PARAGRAPH_NO = re.compile(r"^(?:[一二三四五六七八九十]{1,3}[、.．]|[（(][一二三四五六七八九十]{1,3}[）)]"
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
            joins = (paragraphs and not PARAGRAPH_NO.match(tidy(text))
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


