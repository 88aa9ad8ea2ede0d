"""The compiler from 完成时限 (deadline) phrases to deadline specs.

A plan's deadline cell says "2016年12月底前完成", "待省相关文件出台后" or
"中考3月高考11月"; a requirement's text may carry its own rhythm or window
("每季度向社会公开", "最迟不超过3个工作日"). This module reads those phrases
into the typed specs of :mod:`duban.engine.deadlines.spec`, and finds the ones
written inside running text.

It is a small grammar in three stages, each a table rather than a pile of ifs,
one module per concern (this package):

1. **Normaliser** (:func:`normalise`): NFKC (full-width digits and
   punctuation become ASCII), HTML tags left by the extraction become clause
   breaks, whitespace goes (the seed has "2016 年 12 月底前", "待省相关文 件出台后"),
   Chinese numerals before a unit become digits ("二十日" → "20日", "两个工作日"
   → "2个工作日"), and synonyms collapse ("以前" → "前", "月末" → "月底").
2. **Forms** (:data:`_FORMS`): an ordered table of regular expressions, each
   with a cheap keyword pre-filter and a builder. A phrase is cut into clauses
   at ``，；。：``; each clause is read left to right: the first form (in table
   order) that matches is taken, and the text before and after it is read the
   same way. Text with no time words around a form (a subject, a verb,
   "完成", "向社会公开") is ignored; left-over time words ("6月30日前和7月")
   are an error, never silently dropped.
3. **Combination** (:func:`_combine`): the pieces become one spec. A bare
   window ("应在24小时内") fills the event before it ("…突发事件发生后"), a
   start ("自2016年起") attaches to the rhythm after it, a qualifier ("按照省财
   政厅相关部署") becomes a note, and several deadlines become a composite.

Conventions (documented with examples in ``docs/deadlines.md``): "X月前" is
*before* month X (the last day of month X-1), "X月" and "X月底" the last day of
month X; a date without a year takes the plan year, and without a plan year it
is an error (``needs-plan-year``); impossible dates are errors
(``impossible-date``), never shifted; softening hedges (力争, 原则上) are
recorded in the note; genuinely vague readings (定期, 适时, 按…规定) are flagged
``ambiguous`` with a note saying which reading was chosen.
"""

from __future__ import annotations

from ....errors import PhraseError
from ..offsets import WorkdayCounter
from .compiler import compile_phrase
from .forms import KNOWN_FORMS
from .normalise import _normalise_mapped, cn_to_int, normalise
from .text import TextDeadline, extract_text_deadlines

__all__ = [
    "KNOWN_FORMS",
    "PhraseError",
    "TextDeadline",
    "WorkdayCounter",
    "cn_to_int",
    "compile_phrase",
    "extract_text_deadlines",
    "normalise",
]
