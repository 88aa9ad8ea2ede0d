"""Deadlines inside running text: the finder proposes, the compiler confirms."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ....errors import PhraseError
from .compiler import _compile_cached
from .normalise import _normalise_mapped

# --- 3. in-text deadlines

@dataclass(frozen=True, kw_only=True, slots=True)
class TextDeadline:
    """A deadline phrase written inside a requirement's text ("…每季度向社会公开").

    ``phrase`` is the verbatim slice ``text[span[0]:span[1]]`` (spaces and
    full-width characters as written); ``form`` names the in-text form that
    found it. Compile it with :func:`compile_phrase`.
    """

    phrase: str
    span: tuple[int, int]
    form: str


_XSTOP = r"[^。;,:!?()“”\"]"
_XVERBS = r"修订发布|出台|发布|印发|下发|公布|颁布|施行|实施|生效|发生|出现"
"""Verbs that close an event in running text: the compiler's list without 审定/核准/确认…, which in
prose mostly describe how a document is prepared ("经主要负责人审定后报送"), not what starts a clock."""
_XUNIT = r"(?:个?工作日|个月|小时|天|日|个?周)"
_XWINDOW_TAIL = rf"(?:,?(?:应|须|要|并)?(?:在|于)?\d+{_XUNIT}内)?"
_XCOUNT_TAIL = r"(?:[^,;:。()]{0,16}?(?:不少于|不低于|至少)要?[^\d,;:。()]{0,8}?\d+次)?"
_XLEAD = re.compile(r"在|待|自|从|收到")

# In-text forms are stricter than cell forms: running text is full of dates and
# verbs that are not deadlines, so each needs a clear marker (前/底/内/后/每).
# Vague adverbs (及时, 定期, 适时) are not extracted: the cell's deadline governs.
_X_FORMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("trigger", re.compile(rf"(?:待|收到){_XSTOP}{{1,30}}?(?:以)?后(?:及时)?{_XWINDOW_TAIL}")),
    ("trigger", re.compile(
        rf"(?:^|(?<=[。;,:!?()“”\"]))(?P<ev>{_XSTOP}{{1,40}}?(?:{_XVERBS}|(?:通过|批准){_XSTOP}{{0,12}}?))"
        rf"(?:以)?后(?:及时)?{_XWINDOW_TAIL}")),
    ("window", re.compile(
        rf"(?:与{_XSTOP}{{1,8}}?同步(?:公开|发布)?,?)?(?:最迟不超过|最迟不得超过|最迟|不得超过|不超过|不迟于)"
        rf"\d+{_XUNIT}内?|(?:应|须|要)?(?:在|于)\d+{_XUNIT}内|\d+(?:个?工作日|小时)内")),
    ("rhythm", re.compile(
        r"(?:(?:自|从)?\d{4}年(?:\d{1,2}月)?(?:起|开始))?"
        r"(?:[\u4e00-\u9fff]{0,6}\(\d{1,2}月?[-~—–至到]\d{1,2}月\)|(?<!\d)\d{1,2}月?[-~—–至到]\d{1,2}月)?"
        r"每(?:个?工作日|月|季度|半年|年|周[一二三四五六日]?)(?:\d{1,2}月)?(?:\d{1,2}日|底)?前?(?!进展|情况|的)"
        + _XCOUNT_TAIL)),
    # A working rhythm named by its period ("通过季度检查、第三方评估、年度考核等方式"), a list of them.
    ("rhythm", re.compile(r"(?<![\d每本上下当今明次全该近第])(?:季度|月|周|年)(?:检查|考核|考评|调度|通报|督查|督办|研判)"
                          r"(?:、[^、,;:。()]{1,8}?(?:检查|考核|考评|调度|通报|督查|督办|研判|评估)){0,3}")),
    # Standing follow-up ("县政府督查室将常年跟踪"): ongoing work, open-ended.
    ("ongoing", re.compile(r"(?:常年|长期)(?:跟踪|督查|督办|监测|坚持)")),
    ("trigger", re.compile(rf"(?:自|从){_XSTOP}{{1,40}}?之日起\d+{_XUNIT}内")),
    ("window", re.compile(r"(?:可以?)?延长\d{1,3}(?:个?工作日|个月|天|日)")),
    ("rhythm", re.compile(r"(?<![\d.])\d{1,2}个?(?:月|周)[^\d,;:。()]{0,6}?1次")),
    # A stage's window, in brackets after its name ("自查摸底阶段（7月3日至7月15日）"); a bare range in
    # running text is mostly when something happened ("7月9日至17日，督查组…进行了督查").
    ("range", re.compile(r"(?<=\()(?:\d{4}年)?\d{1,2}月\d{1,2}日(?:至|到|-)(?:\d{1,2}月)?\d{1,2}日(?=\))")),
    ("target", re.compile(r"(?:到|至)\d{4}年(?![\d底内前月第上下全])|(?<![\d.])\d{4}年(?=基本|全面|初步|建成|在[^,;:。]{1,20}?取得)")),
    ("date", re.compile(
        r"(?<![\d至止])(?:\d{4}年)?\d{1,2}月(?:\d{1,2}日|底|上旬|中旬|下旬)?前"
        r"|(?<![\d至止])(?:\d{4}年)?\d{1,2}月底"
        r"|(?<!\d)(?:\d{4}年)?(?:第?\d季度|[上下]半年)(?:底前?|前|内)")),
    ("year", re.compile(r"(?<![\d全每])(?:\d{4}|[今本当明次])?年(?:底前?|内)" + _XCOUNT_TAIL)),
    # "发布…月报、季报信息": the reports' rhythms (年报 alone is too often a document's name).
    ("reports", re.compile(r"(?<!\d)[月季]报(?:、(?:月|季|半年|年)报)*(?![送批备名])")),
)


def extract_text_deadlines(text: str) -> list[TextDeadline]:
    """The deadline phrases written inside ``text``, in order, without overlaps.

    Finds triggers ("在市人大通过市级部门预算后20日内", "（待…出台后）"), windows
    ("最迟不超过3个工作日"), rhythms ("自2016年起每季度", "流行季节（4-10月）每月",
    "每年…不少于1次"), dated deadlines ("6月30日前"), the plan year
    ("年内至少要听取1次") and report rhythms ("月报、季报"). Each phrase compiles with :func:`compile_phrase`
    (dates without a year need the plan year).
    """
    norm, index = _normalise_mapped(text)
    found: list[tuple[int, int, str]] = []
    for form, pattern in _X_FORMS:
        for m in pattern.finditer(norm):
            a, b = m.span()
            if "ev" in pattern.groupindex:
                lead = _XLEAD.search(norm, a, m.end("ev"))
                if lead is not None:
                    a = lead.start()
            if b > a:
                found.append((a, b, form))
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    out: list[TextDeadline] = []
    end = -1
    for a, b, form in found:
        if a < end:
            continue
        start, stop = index[a], index[b - 1] + 1
        phrase = text[start:stop]
        if not _readable(phrase):
            continue
        end = b
        out.append(TextDeadline(phrase=phrase, span=(start, stop), form=form))
    return out


def _readable(phrase: str) -> bool:
    """The finder proposes, the compiler confirms: a candidate it cannot read is prose, not a deadline.

    Any year serves as the plan year here (only readability is asked); an
    impossible date is kept, so the plan loader reports it with its line.
    """
    try:
        _compile_cached(phrase, 2000)
    except PhraseError as exc:
        return exc.code != "unknown-phrase"
    return True
