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

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
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
    """The .xlsx bytes: one sheet per list, header frozen, overdue in red."""
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
