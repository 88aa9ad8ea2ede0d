"""Dates that may say when something *is* or *was*, not when a duty falls due (issue 12, heldout2 tune).

Each family names a general cause of a confident misreading on documents never seen; the date is
still read (a clerk confirms), but flagged with why it may be no deadline at all:

- a report of work done: "已于2月15日前提交", "12月10日全面完成了…", "4月5日前共完成4000亩";
- a statistic as of a date: "截至9月底,全县签约项目59个" (截至, not 截止: 截止时间 is a deadline);
- a date qualifying a noun: "9月底以前办理答复的建议", "2000年底前建成的小区" (which things, not when);
- a period a plan or a season covers: "规划期限为2021年-2025年", "小麦最适播期为10月下旬至11月上旬";
- a hoped-for result, not a task: "力争一季度开门红".
"""

from __future__ import annotations

import re

from ..spec import Fixed
from .pieces import _Piece, _with_notes

_DONE = re.compile(r"已(?:经)?(?:于|在)(?=\d|[今本当]年)|(?:完成|实现|提交|报送|上报)了|共完成")
_AS_OF = re.compile(r"截至(?:目前|到)?(?=\d|[今本当上去]年|年底|月底)")
_PERIOD = re.compile(r"(?:规划|实施|执行|适用)期(?:限)?(?:为|是)|(?:适宜|最适|最佳)[^,;:\d]{0,6}?期(?:为|是)")
_RESULT = re.compile(r"开门红|争先进位|排名前|位次")
QUALIFIER = re.compile(r"^(?:以?前|之前)?(?:已|新|已经)?(?:建成|办理|竣工|投运|投产|建设|完成|认定|登记|批准|审批|答复"
                       r"|设立|注册|开工|取得|入库|纳入|交付|出生|退休)[^,;:()\d]{0,6}?的")
"""After a date: a verb and 的 make it say which things ("2000年底前建成的小区"), not when a duty is due."""

_NOTES = (
    (_DONE, "a report of work done (a fact), not a deadline"),
    (_AS_OF, "the state as of a date (a statistic), perhaps no duty"),
    (_PERIOD, "the period a plan or a season covers, perhaps not a duty's due date"),
    (_RESULT, "a hoped-for result (a ranking, a good start), perhaps not a task"),
)
_ANY = re.compile("|".join(p.pattern for p, _ in _NOTES))
"""One cheap search before the families: most clauses hold none of them."""


def fact_doubts(pieces: list[_Piece], clause: str) -> list[_Piece]:
    """The fixed readings of ``clause`` flagged when its words say the date may be a fact (see the module)."""
    if _ANY.search(clause) is None:
        return pieces
    notes = [f"{m.group(0)}: {why}" for pattern, why in _NOTES if (m := pattern.search(clause)) is not None]
    return [_with_notes(p, notes, ambiguous=True) if isinstance(p, Fixed) else p for p in pieces]
