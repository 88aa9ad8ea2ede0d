"""Inference over notice text (推断层): who leads, who helps, by when.

Notices name units in a handful of ways, and the drafter reads them all the
same way, whether the phrase is a table cell, a labelled line after an
outline item or a parenthesis closing it:

* labels — ``牵头单位：A；配合单位：B；完成时限：C``, ``牵头责任单位`` /
  ``协同责任单位``, ``主办`` / ``协办``; ``责任单位`` is the lead unless a 牵头 label
  comes first in the same phrase (then it lists the co-units, as in most
  分工方案);
* role words after a run of names — ``A、B牵头，C配合``, ``D参与``,
  ``E负责落实``, ``F按职责分工负责``, ``G负责`` (lead unless a lead is named);
* a short deadline inside the phrase — ``（市教育局负责，年底前完成）``;
* persons (``牵头负责领导：金力``, ``分管省领导``) are not units and are skipped.

Names are split at 、，,; outside brackets; ``各县、市、区政府`` (one-character
parts) and ``市直有关部门、单位`` (a bare generic tail) stay one group name.
Traditional-script mirrors are matched through a small character table
(:func:`fold`), while names are kept as written.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ..deadlines.phrases import extract_text_deadlines

__all__ = ["UnitPhrase", "deadline_phrases", "fold", "is_unit_phrase", "read_unit_phrase", "split_names"]

# Traditional → simplified for the characters the vocabulary uses (matching only; text is kept as written).
_T2S = str.maketrans(
    "單負責牽頭協參與辦時間點內關號於應須區縣鄉鎮門處機構屬報將結會議領導層個員衆羣發佈劃實現為後當對務"
    "級組織準條規範見運轉體製統計據資產業農價廣廳經濟衛醫療藥環態審批聯稅財政職權聽證請開嚴規宣傳導應"
    "項節進達標設監督檢測網絡訊電話郵讓護險認證營優質續並倆從衆產壓狠靈協調歸備",
    "单负责牵头协参与办时间点内关号于应须区县乡镇门处机构属报将结会议领导层个员众群发布划实现为后当对务"
    "级组织准条规范见运转体制统计据资产业农价广厅经济卫医疗药环态审批联税财政职权听证请开严规宣传导应"
    "项节进达标设监督检测网络讯电话邮让护险认证营优质续并俩从众产压狠灵协调归备",
)


def fold(text: str) -> str:
    """The matching form of a text: NFKC, simplified characters for the vocabulary, no whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).translate(_T2S))


_OPEN = "（(〔【[［"
_CLOSE = "）)〕】]］"
_SEPARATORS = "、，,;；"

#: labels before a colon: (pattern on the folded text, role); order matters (longest first)
_LABELS: tuple[tuple[str, str], ...] = (
    (r"(?:牵头|分管|责任|负责)?(?:市|省|区|县|旗|州)?(?:负责)?领导|分管\S{0,3}领导|联系人|联系电话", "person"),
    (r"协同配合单位|协同责任单位|协同单位|配合单位|配合部门|协办单位|参与单位|参加单位|其他责任单位|协同部门", "co"),
    (r"牵头责任单位|牵头落实单位|牵头单位|牵头部门|主办单位|主要责任单位|牵头科室|牵头处室", "lead"),
    (r"责任单位|责任部门|落实单位|责任科室|负责科室|负责单位|承办单位|责任处室|部门分工|责任分工", "resp"),
    (r"完成时限|完成时间|时间要求|时限要求|时间节点|进度安排|时限", "deadline"),
)
_LABEL = re.compile(r"(?P<label>" + "|".join(f"(?:{p})" for p, _ in _LABELS) + r")[:：]")
_ROLE_OF = [(re.compile(f"^(?:{p})$"), role) for p, role in _LABELS]

#: role words closing a run of names (folded text), longest first
_ROLE_WORDS: tuple[tuple[str, str], ...] = (
    ("牵头负责", "lead"), ("牵头督导", "lead"), ("牵头", "lead"), ("主办", "lead"),
    ("负责落实", "co"), ("配合", "co"), ("参与", "co"), ("协办", "co"), ("协助", "co"),
    ("按职责分工分别负责", "resp"), ("按职责分工负责", "resp"), ("按职责分别负责", "resp"),
    ("分别负责", "resp"), ("共同负责", "resp"), ("负责", "resp"),
)
_UNIT_END = re.compile(r"(?:单位|部门|局|委|办|室|科|股|中心|政府|管委会|管委|指挥部|办公室|各地区|各地|专班|集团|海关|人行|"
                       r"组|院|校|所|会|站|队|行|处|司|厅|署|部|等)$")

_DEADLINE_HINT = re.compile(r"\d{4}年|\d{1,2}月|年底|年内|月底|季度|上半年|下半年|持续|长期|每月|每年|每季|前完成|日前|"
                            r"[一二三四五六七八九十]+月")


def _fold_same(text: str) -> str:
    """:func:`fold` without removing whitespace, when it keeps positions (else the text as is)."""
    f = unicodedata.normalize("NFKC", text).translate(_T2S)
    return f if len(f) == len(text) else text


def _depth_split(text: str, seps: str) -> list[str]:
    out: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(depth - 1, 0)
        elif ch in seps and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


def split_names(text: str) -> tuple[str, ...]:
    """Unit names of a list, as written; groups like ``各县、市、区政府`` kept whole."""
    raw = [p.strip(" 。.：:") for p in _depth_split(text.strip().rstrip("。."), _SEPARATORS)]
    parts = [p for p in raw if p]
    out: list[str] = []
    glue = False  # the previous part asks to be joined with this one
    for part in parts:
        f = fold(part)
        short = len(f) == 1
        generic = f in ("单位", "部门", "机构", "有关单位", "相关单位")
        if out and (short or generic or glue):
            out[-1] = out[-1] + "、" + part
        else:
            out.append(part)
        # "各县、市、区政府", "各县、区人民政府": a one-character level asks for the next part
        glue = short or bool(re.fullmatch(r"各[县市区乡镇州旗]", f))
    return tuple(out)


@dataclass(frozen=True, kw_only=True, slots=True)
class UnitPhrase:
    """Units and deadline read from one phrase; ``persons`` are named leaders (not units)."""

    lead: tuple[str, ...] = ()
    co: tuple[str, ...] = ()
    deadline: str | None = None
    persons: tuple[str, ...] = ()
    rest: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (self.lead or self.co)


def _role_word(token: str) -> tuple[str, str] | None:
    """(name part, role) when the token ends with a role word."""
    f = fold(token)
    for word, role in _ROLE_WORDS:
        if f.endswith(word):
            cut = _cut_folded(token, len(word))
            return cut, role
    return None


def _cut_folded(token: str, n: int) -> str:
    """``token`` without its last ``n`` folded characters (whitespace ignored)."""
    kept = token.rstrip()
    count = 0
    i = len(kept)
    while i > 0 and count < n:
        i -= 1
        if not kept[i].isspace():
            count += 1
    return kept[:i].rstrip(" ，,、")


def _is_deadline(token: str) -> bool:
    f = fold(token)
    return bool(_DEADLINE_HINT.search(f)) and not _UNIT_END.search(f) and len(f) <= 30


def read_unit_phrase(text: str, *, default: str = "resp", first_is_lead: bool = False) -> UnitPhrase:
    """Read a units phrase (a cell, a labelled line, a closing parenthesis).

    ``default`` is the role of names with no label or role word (a column's
    role: ``lead``, ``co`` or ``resp``); ``resp`` names are the lead unless
    a lead is named, then co-units. ``first_is_lead`` applies a notice's rule
    "排在第一位的为牵头部门": the first name leads, the rest are co-units.
    """
    body = text.strip()
    if body[:1] in _OPEN and body[-1:] in _CLOSE:
        body = body[1:-1].strip()
    body = re.split(r"[。.](?=\s*(?:以下|其中|下同|注))", body)[0]
    body = re.sub(r"[,，;；]?\s*(?:排在?第一位?的?为牵头\S{0,2}|排在?第一位?的?為牽頭\S{0,2}|排名第一的?为牵头\S{0,2})"
                  r"(?:[,，;；]?\s*下同)?", "", body)
    segments: list[tuple[str, str]] = []  # (role, text)
    pos = 0
    role = default
    persons: list[str] = []
    folded = _fold_same(body)
    for m in _LABEL.finditer(folded):
        if m.start() > pos:
            segments.append((role, body[pos:m.start()]))
        label = fold(m.group("label"))
        role = next((r for rx, r in _ROLE_OF if rx.match(label)), default)
        pos = m.end()
    segments.append((role, body[pos:]))
    lead: list[str] = []
    co: list[str] = []
    resp: list[str] = []
    deadline: str | None = None
    for role, seg in segments:
        seg = seg.strip(" ;；,，。")
        if not seg:
            continue
        if role == "person":
            persons.append(seg)
            continue
        if role == "deadline":
            deadline = deadline or seg
            continue
        buffer: list[str] = []
        for token in (t.strip() for t in _depth_split(seg, ",，;；")):
            if not token:
                continue
            if _is_deadline(token) and deadline is None:
                deadline = token
                continue
            found = _role_word(token)
            if found is None:
                buffer.append(token)
                continue
            name, word_role = found
            if name:
                buffer.append(name)
            names = [n for b in buffer for n in split_names(b)]
            buffer = []
            if word_role == "resp":
                word_role = "co" if role == "co" else "resp"
            {"lead": lead, "co": co, "resp": resp}[word_role].extend(names)
        names = [n for b in buffer for n in split_names(b)]
        {"lead": lead, "co": co, "resp": resp}.get(role, resp).extend(names)
    if resp:
        if lead:
            co.extend(resp)
        else:
            lead.extend(resp)
    if first_is_lead and lead and not co and len(lead) > 1:
        lead, co = lead[:1], lead[1:]
    return UnitPhrase(lead=tuple(dict.fromkeys(lead)), co=tuple(n for n in dict.fromkeys(co) if n not in lead),
                      deadline=deadline, persons=tuple(persons))


_HAS_ROLE = re.compile(r"牵头|配合|负责|参与|协办|主办|单位[:：]|部门[:：]|科室[:：]")


def is_unit_phrase(inner: str) -> bool:
    """Whether a parenthesis' content names responsible units (not an aside like （以下简称…））."""
    f = fold(inner)
    if len(f) < 3 or len(f) > 160 or f.startswith(("以下简称", "简称", "即", "含", "包括", "如")):
        return False
    if _LABEL.search(_fold_same(inner)):
        return True
    if not _HAS_ROLE.search(f):
        return False
    phrase = read_unit_phrase(inner)
    names = phrase.lead + phrase.co
    return bool(names) and all(len(fold(n)) <= 30 for n in names)


_EXTRA_DATE = re.compile(r"(?:实施期限)?(?:至|到)?\d{4}年\d{1,2}月(?:\d{1,2}日)?(?:前|底前|底)?")


def deadline_phrases(text: str) -> tuple[str, ...]:
    """Deadline phrases written in ``text`` (the compiler's in-text forms, then plain dates)."""
    found = [d.phrase for d in extract_text_deadlines(text)]
    if not found:
        folded = unicodedata.normalize("NFKC", text).translate(_T2S)
        found = [m.group() for m in _EXTRA_DATE.finditer(folded)][:1]
        if found:  # quote as written: same length in the folded form (NFKC of CJK keeps length)
            i = folded.find(found[0])
            found = [text[i:i + len(found[0])]] if len(folded) == len(text) else found
    return tuple(found)
