"""Ongoing work, vague adverbs and qualifiers: 全年工作, 长期坚持, 定期, 按…规定."""

from __future__ import annotations

import datetime as dt
import re

from ..spec import Offset, Ongoing, Triggered
from .pieces import _Ctx, _Note, _Piece, _Vague

def _b_whole_year(m: re.Match[str], ctx: _Ctx) -> _Piece:
    return Ongoing(until=dt.date(ctx.year(m.group("y"), m.group(0)), 12, 31))


def _b_year_ongoing(m: re.Match[str], ctx: _Ctx) -> _Piece:
    return Ongoing(until=dt.date(ctx.year(None, m.group(0)), 12, 31))


def _b_ongoing(m: re.Match[str], ctx: _Ctx) -> _Piece:
    return Ongoing(until=None)


_VAGUE_NOTES = {
    "定时": "定时 (at set times) names no time: read as open-ended ongoing work",
    "择机": "择机 (at a suitable moment): no date; read as open-ended ongoing work",
    "实时": "实时 (in real time): continuous; read as open-ended ongoing work",
    "动态调整": "动态调整 (adjusted as things change): read as open-ended ongoing work",
    "动态更新": "动态更新 (updated as things change): read as open-ended ongoing work",
    "定期": "定期 (periodically) states no rhythm: read as open-ended ongoing work with the configured "
            "check-ins; set a rhythm if the unit has one",
    "不定期": "不定期 (from time to time): no rhythm; read as open-ended ongoing work",
    "适时": "适时 (when appropriate): no date; read as open-ended ongoing work",
    "及时": "及时 (promptly) with no event named: read as open-ended ongoing work",
    "视情": "视情 (as the situation requires): no date; read as open-ended ongoing work",
    "尽快": "尽快 (as soon as possible): no date; read as open-ended ongoing work; set a date",
    "随时": "随时 (at any time): no date; read as open-ended ongoing work",
}


def _b_vague(m: re.Match[str], ctx: _Ctx) -> _Piece:
    word = m.group(0)
    return _Vague(word=word, spec=Ongoing(until=None, ambiguous=True, note=_VAGUE_NOTES[word]))


_BUDGET_LAW_NOTE = (
    "按预算法规定: read as the Budget Law's window (预算法第十四条): published within 20 days of "
    "the people's congress approving the budget; confirm the clause that applies to this duty")


def _b_rules(m: re.Match[str], ctx: _Ctx) -> _Piece:
    text, rule = m.group(0), m.group("rule")
    if "预算法" in rule:
        return Triggered(event="budget_approved", offset=Offset(unit="days", amount=20),
                         ambiguous=True, note=_BUDGET_LAW_NOTE)
    alone = Ongoing(until=None, ambiguous=True,
                    note=f"{text}: the deadline is whatever that sets and none is stated here; "
                         "read as open-ended until a date is set")
    return _Note(text=f"{text}: follows those arrangements; their dates, once issued, take precedence",
                 alone=alone)

