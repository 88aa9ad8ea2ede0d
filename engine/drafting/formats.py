"""The format layer (格式层): a notice file → one :class:`Document` of paragraphs and tables.

Notices arrive as the web page (HTML, the plan as a ``<table>`` with
``rowspan``/``colspan``), a Word attachment (.docx, vertically merged cells),
an Excel 任务清单 (.xlsx, merged ranges) or text extracted from a PDF or copied
from a page. HTML, .docx and .xlsx say which cells are merged: they are read
structurally (lxml, python-docx, openpyxl) and every covered grid position
carries the anchor's text with ``merged=True``, so the layout layer never has
to guess a merge from a blank. Text keeps its lines; a line split by ``|`` or
tabs into several cells is a table row (the layout layer decides whether the
rows form a plan table). A .doc or .pdf is refused with the format to export to.

No inference happens here: the model is what the file says, with line numbers
(text), row numbers (xlsx) or block numbers (html/docx) for error messages.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias

from ...errors import DubanError

__all__ = [
    "Block",
    "Cell",
    "Document",
    "NoticeFormatError",
    "Paragraph",
    "Row",
    "Table",
    "read_document",
    "text_document",
]

Kind: TypeAlias = Literal["txt", "html", "docx", "xlsx"]

_WS = re.compile(r"[ \t\u00a0\u3000\r\n]+")


class NoticeFormatError(DubanError, ValueError):
    """The file cannot be read as a notice (unsupported or broken format); the message says what to do."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"cannot read {source!r}: {reason}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Cell:
    """One grid position: its text, and whether it is covered by a merged cell (text = the anchor's)."""

    text: str
    merged: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Row:
    """A table row; ``line`` is the source line (text, xlsx) or row index (html, docx)."""

    cells: tuple[Cell, ...]
    line: int
    #: the text row had no closing separator where the others have one (a row cut by the page end)
    open_end: bool = False

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(c.text for c in self.cells)


@dataclass(frozen=True, kw_only=True, slots=True)
class Table:
    rows: tuple[Row, ...]
    line: int
    #: "grid": merges explicit (html/docx/xlsx); "lines": text rows, merges unknown
    kind: Literal["grid", "lines"] = "grid"


@dataclass(frozen=True, kw_only=True, slots=True)
class Paragraph:
    text: str
    line: int


Block: TypeAlias = Paragraph | Table


@dataclass(frozen=True, kw_only=True, slots=True)
class Document:
    """A notice file as blocks in reading order; ``text`` is the plain text (for quoting and checks)."""

    source: str
    kind: Kind
    blocks: tuple[Block, ...]
    #: the file's text as read (text files only): what the seed's tab-table reader reads
    raw: str | None = None

    @property
    def text(self) -> str:
        if self.raw is not None:
            return self.raw
        out: list[str] = []
        for block in self.blocks:
            if isinstance(block, Paragraph):
                out.append(block.text)
            else:
                out.extend(" | ".join(row.texts) for row in block.rows)
        return "\n".join(out)


def _clean(text: str) -> str:
    return _WS.sub(" ", text).strip()


# =========================================================================== text

_SEP = re.compile(r"\s*[|｜\t]\s*")


def _text_cells(line: str) -> tuple[list[str], bool]:
    """The cells of a text line (split by ``|`` or tabs) and whether it ends with a separator."""
    stripped = line.strip()
    closed = bool(re.search(r"[|｜]\s*$", line)) or line.rstrip(" ").endswith("\t")
    cells = [c.strip() for c in _SEP.split(stripped)]
    while cells and not cells[-1]:
        cells.pop()
    while cells and not cells[0] and stripped[:1] in "|｜":
        cells.pop(0)
    return cells, closed


def text_document(text: str, *, source: str = "<text>") -> Document:
    """Text lines → blocks: runs of lines with two or more cells become a ``lines`` table.

    A line with one cell and a trailing ``|`` (one cell per line, as some
    extractions print a table) stays a paragraph: the layout layer reads such
    runs as a cell stream under a header. Lines of only ``|`` are dropped.
    """
    blocks: list[Block] = []
    rows: list[Row] = []
    start = 0

    def flush() -> None:
        nonlocal rows
        if rows:
            closing = sum(not r.open_end for r in rows)
            fixed = tuple(r if closing * 2 > len(rows) else Row(cells=r.cells, line=r.line) for r in rows)
            blocks.append(Table(rows=fixed, line=start, kind="lines"))
        rows = []

    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or not line.strip(" |｜\t"):
            continue
        cells, closed = _text_cells(line)
        if len([c for c in cells if c]) >= 2:
            if not rows:
                start = number
            rows.append(Row(cells=tuple(Cell(text=c) for c in cells), line=number, open_end=not closed))
            continue
        flush()
        blocks.append(Paragraph(text=(cells[0] if cells else "").strip() if "|" in line or "｜" in line
                                else line.strip(), line=number))
    flush()
    return Document(source=source, kind="txt", blocks=tuple(blocks), raw=text)


# =========================================================================== html

_BLOCK_TAGS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "section", "article",
                         "blockquote", "pre", "center", "dd", "dt", "header", "footer", "title"})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "head", "template"})


def _grid(raw_rows: list[list[tuple[str, int, int]]], lines: list[int]) -> Table:
    """Expand (text, rowspan, colspan) rows into a grid with explicit merged positions."""
    grid: dict[tuple[int, int], Cell] = {}
    width = 0
    for r, raw in enumerate(raw_rows):
        c = 0
        for text, rowspan, colspan in raw:
            while (r, c) in grid:
                c += 1
            for dr in range(max(rowspan, 1)):
                for dc in range(max(colspan, 1)):
                    grid[(r + dr, c + dc)] = Cell(text=text, merged=bool(dr or dc))
            c += max(colspan, 1)
            width = max(width, c)
    height = max((r for r, _ in grid), default=-1) + 1
    rows = tuple(Row(cells=tuple(grid.get((r, c), Cell(text="")) for c in range(width)),
                     line=lines[r] if r < len(lines) else (lines[-1] if lines else 0))
                 for r in range(height))
    return Table(rows=rows, line=lines[0] if lines else 0, kind="grid")


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1000))
    except ValueError:
        return 1


def html_document(data: bytes, *, source: str) -> Document:
    """A web page → blocks; ``<table>`` rows with rowspan/colspan expanded, other blocks as paragraphs."""
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(data)
    except (etree.ParserError, ValueError) as exc:
        raise NoticeFormatError(source, f"not a readable HTML page ({exc})") from exc
    blocks: list[Block] = []
    buffer: list[str] = []
    counter = [0]

    def para() -> None:
        text = _clean("".join(buffer))
        buffer.clear()
        if text:
            counter[0] += 1
            blocks.append(Paragraph(text=text, line=counter[0]))

    def table(el: etree._Element) -> None:
        raw_rows: list[list[tuple[str, int, int]]] = []
        lines: list[int] = []
        for tr in el.iter("tr"):
            if tr.getparent() is not None and _owning_table(tr) is not el:
                continue
            cells = [(_clean(td.text_content()), _span(td.get("rowspan")), _span(td.get("colspan")))
                     for td in tr if isinstance(td.tag, str) and td.tag in ("td", "th")]
            counter[0] += 1
            raw_rows.append(cells)
            lines.append(counter[0])
        if raw_rows:
            blocks.append(_grid(raw_rows, lines))

    def walk(el: etree._Element) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _SKIP_TAGS:
            if el.tail:
                buffer.append(el.tail)
            return
        if tag == "table":
            para()
            table(el)
            if el.tail:
                buffer.append(el.tail)
            return
        if tag in _BLOCK_TAGS or tag == "br" or tag == "tr":
            para()
        if el.text and tag:
            buffer.append(el.text)
        for child in el:
            walk(child)
        if tag in _BLOCK_TAGS or tag == "br":
            para()
        if el.tail:
            buffer.append(el.tail)

    body = root.find("body")
    walk(body if body is not None else root)
    para()
    return Document(source=source, kind="html", blocks=tuple(blocks))


def _owning_table(el: object) -> object:
    node = el.getparent()  # type: ignore[attr-defined]
    while node is not None and node.tag != "table":
        node = node.getparent()
    return node


# =========================================================================== docx

def docx_document(data: bytes, *, source: str) -> Document:
    """A Word file → blocks in body order; merged cells (gridSpan, vMerge) are the same ``_tc``."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table as DocxTable
    from docx.text.paragraph import Paragraph as DocxParagraph

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise NoticeFormatError(source, f"not a readable .docx file ({exc})") from exc
    blocks: list[Block] = []
    number = 0
    for item in document.iter_inner_content():
        number += 1
        if isinstance(item, DocxParagraph):
            text = _clean(item.text)
            if text:
                blocks.append(Paragraph(text=text, line=number))
        elif isinstance(item, DocxTable):
            rows: list[Row] = []
            above: list[object] = []
            for r, row in enumerate(item.rows):
                cells: list[Cell] = []
                seen: list[object] = []
                for c, cell in enumerate(row.cells):
                    tc = cell._tc
                    merged = tc in seen or (c < len(above) and above[c] is tc)
                    seen.append(tc)
                    cells.append(Cell(text=_clean("\n".join(p.text for p in cell.paragraphs)), merged=merged))
                above = seen
                rows.append(Row(cells=tuple(cells), line=number * 1000 + r))
            blocks.append(Table(rows=tuple(rows), line=number, kind="grid"))
    return Document(source=source, kind="docx", blocks=tuple(blocks))


# =========================================================================== xlsx

def xlsx_document(data: bytes, *, source: str) -> Document:
    """An Excel 任务清单 → one table per sheet; merged ranges give every covered cell the anchor's text."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except (InvalidFileException, KeyError, ValueError, OSError) as exc:
        raise NoticeFormatError(source, f"not a readable .xlsx file ({exc})") from exc
    blocks: list[Block] = []
    for sheet in book.worksheets:
        anchor: dict[tuple[int, int], tuple[int, int]] = {}
        for rng in sheet.merged_cells.ranges:
            for r in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    if (r, c) != (rng.min_row, rng.min_col):
                        anchor[(r, c)] = (rng.min_row, rng.min_col)
        values = {(cell.row, cell.column): cell.value for row in sheet.iter_rows() for cell in row}
        rows: list[Row] = []
        for r in range(1, (sheet.max_row or 0) + 1):
            cells: list[Cell] = []
            for c in range(1, (sheet.max_column or 0) + 1):
                src = anchor.get((r, c))
                value = values.get(src if src else (r, c))
                cells.append(Cell(text=_clean("" if value is None else str(value)), merged=src is not None))
            if any(cell.text for cell in cells):
                rows.append(Row(cells=tuple(cells), line=r))
        if rows:
            blocks.append(Table(rows=tuple(rows), line=rows[0].line, kind="grid"))
    return Document(source=source, kind="xlsx", blocks=tuple(blocks))


# =========================================================================== dispatch

_EXPORT = {
    ".doc": "an old Word .doc: open it in Word or WPS and save as .docx (or copy the text into a .txt)",
    ".wps": "a WPS file: save it as .docx",
    ".pdf": "a PDF: export the text (e.g. `pdftotext -layout FILE.pdf`) or save the page as HTML",
    ".xls": "an old Excel .xls: save it as .xlsx",
    ".ofd": "an OFD file: export it as PDF text or .docx",
}


def read_document(path: Path, *, source: str | None = None) -> Document:
    """Read a notice file by its suffix (.txt/.text, .html/.htm, .docx, .xlsx).

    Raises :class:`NoticeFormatError` for .doc/.pdf/.xls (saying which
    format to export to), for text that is not UTF-8 (or GB18030) and for a
    broken file.
    """
    label = source or str(path)
    suffix = path.suffix.lower()
    if suffix in _EXPORT:
        raise NoticeFormatError(label, f"{_EXPORT[suffix]}; duban reads .txt, .html, .docx and .xlsx")
    data = path.read_bytes()
    if suffix in (".html", ".htm", ".shtml", ".xhtml"):
        return html_document(data, source=label)
    if suffix == ".docx":
        return docx_document(data, source=label)
    if suffix in (".xlsx", ".xlsm"):
        return xlsx_document(data, source=label)
    if data[:5] == b"%PDF-":
        raise NoticeFormatError(label, _EXPORT[".pdf"])
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise NoticeFormatError(label, f"{_EXPORT['.doc']} (an old Office file)")
    if data[:4] == b"PK\x03\x04":
        raise NoticeFormatError(label, "a zip-based Office file without a .docx/.xlsx suffix: rename it")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "gb18030" or "\x00" not in text:
            break
    else:
        raise NoticeFormatError(label, "not UTF-8 or GB18030 text; convert the extracted text to UTF-8 first")
    if re.search(r"<(?:table|html|body|p)\b", text[:5000], re.IGNORECASE) and suffix not in (".txt", ".text"):
        return html_document(data, source=label)
    return text_document(text, source=label)
