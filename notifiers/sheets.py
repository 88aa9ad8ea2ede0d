"""The full lists of a digest as one .xlsx attachment (督办事项清单).

An email shows at most a few dozen cards; the rest of a list travels as a
workbook a clerk or the supervising office can sort, filter and forward. One
sheet per capped section. The workbook's properties are fixed to the
digest's day, so the same digest gives the same file content.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.compat import safe_string
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.writer.excel import ExcelWriter

from .model import DigestItem

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_HEADER = ("序号", "责任单位", "任务", "具体要求", "完成时限（各部分）", "截止日期", "剩余/逾期（工作日）", "提醒", "办理链接")
_WIDTHS = (6, 18, 28, 60, 40, 12, 12, 22, 40)
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True, kw_only=True, slots=True)
class ListSheet:
    """One list: a title (the sheet name) and every item of it, in the email's order."""

    title: str
    items: tuple[DigestItem, ...]


def _sheet_name(title: str, taken: set[str]) -> str:
    base = _SHEET_NAME_BAD.sub("_", title)[:28] or "清单"
    name, n = base, 2
    while name in taken:
        name, n = f"{base[:26]}{n}", n + 1
    taken.add(name)
    return name


def items_workbook(sheets: Sequence[ListSheet], *, as_of: dt.date) -> bytes:
    """The .xlsx bytes: one sheet per list, header frozen, overdue in red.

    The very bytes :func:`reference_workbook` (openpyxl) writes, written
    faster: openpyxl builds the workbook's frame (styles, theme, workbook,
    every sheet's header) for a one-row copy of each sheet, cached per
    (titles, red or not, day), and the item rows are written here as
    openpyxl would write them. A value openpyxl would treat specially (a
    formula or error code, surrounding whitespace, control characters,
    characters outside the Basic Multilingual Plane, over-long text) sends the
    whole workbook through openpyxl. ``tests/test_sheets.py`` holds the two
    together byte for byte. A busy tick attaches a few hundred such lists:
    through openpyxl alone they were most of its time.
    """
    rows = [[_item_row(n, item) for n, item in enumerate(sheet.items, start=1)] for sheet in sheets]
    if not sheets or any(not sheet.items for sheet in sheets) \
            or any(row is None for sheet_rows in rows for row in sheet_rows):
        return reference_workbook(sheets, as_of=as_of)
    red = any(item.working_days_left < 0 for sheet in sheets for item in sheet.items)
    frame = _frame(tuple(sheet.title for sheet in sheets), red, as_of)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        out = _DatedZip(archive, dt.datetime.combine(as_of, dt.time(9, 0)))
        for name, data in frame.entries:
            sheet = frame.sheets.get(name)
            if sheet is None:
                out.writestr(name, data)
                continue
            head, tail = frame.parts[sheet]
            body = "".join(rows[sheet])  # type: ignore[arg-type]
            dimension = f'<dimension ref="A1:I{len(rows[sheet]) + 1}"/>'
            out.writestr(name, head.replace(_DIMENSION_2, dimension, 1).encode("ascii") + body.encode("ascii")
                         + tail.encode("ascii"))
    return buf.getvalue()


def reference_workbook(sheets: Sequence[ListSheet], *, as_of: dt.date) -> bytes:
    """The .xlsx bytes as openpyxl writes them (the reference :func:`items_workbook` reproduces)."""
    wb = Workbook()
    wb.remove(wb.active)
    stamp = dt.datetime.combine(as_of, dt.time(9, 0))
    wb.properties.created = wb.properties.modified = stamp
    wb.properties.creator = "督办系统"
    taken: set[str] = set()
    red = Font(color="C0392B")
    for sheet in sheets:
        ws = wb.create_sheet(_sheet_name(sheet.title, taken))
        ws.append(list(_HEADER))
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="F4F4F4")
        for n, item in enumerate(sheet.items, start=1):
            ws.append([n, item.unit, f"{item.task_no}. {item.task_title}", f"{item.requirement_no}. {item.requirement_text}",
                       "；".join(item.parts) or item.deadline_phrase, item.due, item.working_days_left,
                       item.stage_label, item.link])
            if item.working_days_left < 0:
                ws.cell(n + 1, 7).font = red
        for i, width in enumerate(_WIDTHS, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        for row in ws.iter_rows(min_row=2, min_col=4, max_col=5):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    # Not wb.save(): it stamps docProps and every zip entry with the current time, and a
    # digest's attachment must be the same bytes on every render (resends, replays; issue 15).
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, _DatedZip(archive, stamp)).save()
    return buf.getvalue()


# --------------------------------------------------------------------------- the fast rows

_DIMENSION_2 = '<dimension ref="A1:I2"/>'
#: What a text cell may hold for its XML to be written here: no control character but TAB and LF,
#: no DEL/C1 control, no surrogate or non-character, nothing beyond the BMP (openpyxl otherwise).
_UNPLAIN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\U00010000-\U0010ffff]")


def _plain(text: str) -> bool:
    """Whether openpyxl writes ``text`` as a plain inline string with nothing but XML escaping."""
    return (isinstance(text, str) and len(text) <= 32767 and text == text.strip() and not text.startswith("=")
            and text not in ERROR_CODES and _UNPLAIN.search(text) is None)


def _inline(text: str) -> str | None:
    """The ``<is>`` content of a plain text cell as openpyxl (lxml) writes it, or ``None`` if not plain.

    XML-escaped, non-ASCII as decimal character references. Printable ASCII
    (links) is escaped directly; other text is cached, since the lists of one
    tick repeat the same units, tasks and requirements many times.
    """
    if text.isascii() and text.isprintable() and text and text[0] not in " =#" and text[-1] != " " \
            and len(text) <= 32767:  # (a "#" may start an error code, "=" a formula)
        return "<is><t>" + text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "</t></is>"
    return _inline_cached(text)


@lru_cache(maxsize=1 << 16)
def _inline_cached(text: str) -> str | None:
    if not _plain(text):
        return None
    if not text:
        return ""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "<is><t>" + escaped.encode("ascii", "xmlcharrefreplace").decode("ascii") + "</t></is>"


#: Cell contents already written, by the value(s) they show: a tick's lists repeat the same units,
#: tasks, requirements and stages thousands of times. Cleared when it grows past _CELLS_MAX.
_CELLS: dict[Any, str | None] = {}
_CELLS_MAX = 1 << 16


def _cell(key: Any, text: str) -> str | None:
    """:func:`_inline` of ``text``, remembered under ``key``."""
    if len(_CELLS) >= _CELLS_MAX:
        _CELLS.clear()
    xml = _CELLS[key] = _inline(text) if isinstance(text, str) else None
    return xml


def _item_row(n: int, item: DigestItem) -> str | None:
    """The XML of the list's ``n``-th item (row ``n + 1``), or ``None`` when openpyxl must write it."""
    cells = _CELLS
    unit = cells.get(item.unit)
    if unit is None:
        unit = _cell(item.unit, item.unit)
    task = cells.get((item.task_no, item.task_title))
    if task is None:
        task = _cell((item.task_no, item.task_title), f"{item.task_no}. {item.task_title}")
    requirement = cells.get((item.requirement_no, item.requirement_text))
    if requirement is None:
        requirement = _cell((item.requirement_no, item.requirement_text),
                            f"{item.requirement_no}. {item.requirement_text}")
    parts = cells.get((item.parts, item.deadline_phrase))
    if parts is None:
        parts = _cell((item.parts, item.deadline_phrase), "；".join(item.parts) or item.deadline_phrase)
    label = cells.get(item.stage_label)
    if label is None:
        label = _cell(item.stage_label, item.stage_label)
    link = _inline(item.link) if isinstance(item.link, str) else None
    left = item.working_days_left
    if None in (unit, task, requirement, parts, label, link) or type(left) is not int or abs(left) >= 10**15 \
            or type(item.due) is not dt.date:
        return None  # (openpyxl writes an int of 16 digits or more in exponent form)
    r = n + 1
    red = ' s="4"' if left < 0 else ""
    return (f'<row r="{r}"><c r="A{r}" t="n"><v>{n}</v></c><c r="B{r}" t="inlineStr">{unit}</c>'
            f'<c r="C{r}" t="inlineStr">{task}</c><c r="D{r}" s="2" t="inlineStr">{requirement}</c>'
            f'<c r="E{r}" s="2" t="inlineStr">{parts}</c><c r="F{r}" s="3" t="n"><v>{_excel_day(item.due)}</v></c>'
            f'<c r="G{r}"{red} t="n"><v>{left}</v></c>'
            f'<c r="H{r}" t="inlineStr">{label}</c><c r="I{r}" t="inlineStr">{link}</c></row>')


@lru_cache(maxsize=4096)
def _excel_day(day: dt.date) -> str:
    return str(safe_string(to_excel(day)))


@dataclass(frozen=True, kw_only=True, slots=True)
class _Frame:
    """openpyxl's workbook around the rows: every zip entry in order, and each sheet's XML around its rows."""

    entries: tuple[tuple[str, bytes], ...]
    sheets: dict[str, int]  # entry name → sheet index
    parts: tuple[tuple[str, str], ...]  # per sheet: XML up to the first item row, XML after the last


@lru_cache(maxsize=64)
def _frame(titles: tuple[str, ...], red: bool, as_of: dt.date) -> _Frame:
    """The frame of a workbook with these sheets, built by openpyxl from one stand-in row per sheet.

    The styles depend only on which are used (every sheet's first row uses the
    wrapped text and the date format; red appears or not), so the frame is the
    same for every workbook with these titles, colour and day.
    """
    stand_in = DigestItem(obligation_id=1, occurrence_key="final", plan_title="p", task_no=1, task_title="t",
                          requirement_no=1, requirement_text="r", unit="u", deadline_phrase="d", due=as_of,
                          working_days_left=-1 if red else 0, colour="red" if red else "yellow",
                          stage="due_day", stage_label="l")
    data = reference_workbook([ListSheet(title=t, items=(stand_in,)) for t in titles], as_of=as_of)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = tuple((info.filename, archive.read(info)) for info in archive.infolist())
    sheets: dict[str, int] = {}
    parts: list[tuple[str, str]] = []
    for name, body in entries:
        if name.startswith("xl/worksheets/sheet"):
            xml = body.decode("ascii")
            head, rest = xml.split('<row r="2">', 1)
            sheets[name] = len(parts)
            parts.append((head, rest[rest.index("</sheetData>"):]))
    if len(parts) != len(titles) or any(_DIMENSION_2 not in head for head, _tail in parts):
        raise RuntimeError("openpyxl wrote an unexpected workbook frame")
    return _Frame(entries=entries, sheets=sheets, parts=tuple(parts))


class _DatedZip:
    """A zip archive whose entries all carry one date (openpyxl writes through ``writestr``)."""

    def __init__(self, archive: zipfile.ZipFile, stamp: dt.datetime) -> None:
        self._archive, self._date = archive, stamp.timetuple()[:6]

    def writestr(self, name: str | zipfile.ZipInfo, data: str | bytes) -> None:
        info = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name, date_time=self._date)
        info.date_time, info.compress_type = self._date, zipfile.ZIP_DEFLATED
        self._archive.writestr(info, data)

    def write(self, filename: str, arcname: str) -> None:  # worksheets come from a temporary file
        with open(filename, "rb") as handle:
            self.writestr(arcname, handle.read())

    def __getattr__(self, attr: str) -> object:
        return getattr(self._archive, attr)
