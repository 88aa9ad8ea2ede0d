"""The fast .xlsx writer of the full lists writes openpyxl's very bytes (notifiers/sheets.py).

``items_workbook`` writes the item rows itself inside a frame openpyxl built;
``reference_workbook`` is openpyxl alone. Random lists — escaping, Chinese,
tabs and line breaks, empty cells, red and not, several sheets — must give
identical files; values openpyxl treats specially (formulas, error codes,
surrounding whitespace, control or astral characters) take the openpyxl path
and so give identical files (or the same error) too.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace

import pytest
from duban.notifiers import sheets as sheets_module
from duban.notifiers.model import DigestItem
from duban.notifiers.render import sample_digest
from duban.notifiers.sheets import ListSheet, items_workbook, reference_workbook

DAY = dt.date(2016, 9, 20)
PLAIN = ["a", "中", "&", "<", ">", '"', "'", " ", "\t", "\n", "é", "]]>", "\u00a0", "1", "/"]
ODD = [*PLAIN, "\r", "\x7f", "\x85", "\u3000", "😀", "=", "#REF!", "\ufeff", "\x01"]
TITLES = ["今日新提醒", "每周汇总：仍逾期事项与待报进展", "a/b:c", "今日新提醒"]


def _lists(rng: random.Random, alphabet: list[str], *, wrapped: bool) -> list[ListSheet]:
    base = sample_digest().items

    def text() -> str:
        inner = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        return f"x{inner}x" if wrapped else inner

    def item(i: int) -> DigestItem:
        return replace(base[i % 3], unit=text(), task_title=text(), requirement_text=text(),
                       parts=tuple(text() for _ in range(rng.randint(0, 2))), deadline_phrase=text(),
                       stage_label=text() or "l", link=rng.choice(["", "https://d.example/o/1?a=1&b=2", text()]),
                       working_days_left=rng.randint(-5, 5), due=DAY + dt.timedelta(days=rng.randint(-400, 400)))

    items = [item(i) for i in range(rng.randint(1, 7))]
    return [ListSheet(title=rng.choice(TITLES), items=tuple(items[:k])) for k in range(1, rng.randint(2, 4))]


def test_plain_lists_are_written_fast_and_byte_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(15)
    sheets_module._frame.cache_clear()
    slow: list[int] = []
    reference = sheets_module.reference_workbook

    def counted(lists: list[ListSheet], *, as_of: dt.date) -> bytes:
        if any(len(sheet.items) > 1 or sheet.items[0].unit != "u" for sheet in lists):  # not a frame
            slow.append(1)
        return reference(lists, as_of=as_of)

    monkeypatch.setattr(sheets_module, "reference_workbook", counted)
    for _ in range(200):
        lists = _lists(rng, PLAIN, wrapped=True)
        assert items_workbook(lists, as_of=DAY) == reference(lists, as_of=DAY)
    assert not slow, "plain lists must take the fast path (only the frames go through openpyxl)"


def test_odd_values_give_openpyxl_bytes_or_its_error() -> None:
    rng = random.Random(16)
    for _ in range(300):
        lists = _lists(rng, ODD, wrapped=False)
        try:
            expected = reference_workbook(lists, as_of=DAY)
        except Exception as exc:  # openpyxl refuses some control characters: so must the fast writer
            with pytest.raises(type(exc)):
                items_workbook(lists, as_of=DAY)
            continue
        assert items_workbook(lists, as_of=DAY) == expected


def test_a_list_of_hundreds_of_items() -> None:
    base = sample_digest().items
    items = tuple(replace(base[i % 3], unit=f"单位{i:05d}", working_days_left=i % 9 - 4) for i in range(500))
    lists = [ListSheet(title="今日新提醒", items=items), ListSheet(title="每周汇总", items=items[:3])]
    assert items_workbook(lists, as_of=DAY) == reference_workbook(lists, as_of=DAY)
