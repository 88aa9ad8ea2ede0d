"""Which pending trigger does an arriving document start? A ranked proposal with its reasons.

Every pending trigger is described by a :class:`TriggerProfile`: its own
description, the plan's title, and the texts of the duties waiting on it (the
words a clerk would look for). A document is scored against each profile in
three steps, each giving a reason a person can check:

1. **Words.** Title and opening are segmented with jieba (traditional
   characters folded first) and ranked with BM25 (``rank_bm25``) against the
   profiles. The BM25 corpus is the trigger profiles *plus every other duty of
   the plans*, so a word that every duty of a 政务公开 plan uses (公开, 政府,
   信息) weighs little and a word only one trigger's duties use (负面清单,
   环境影响评价, 中央企业) weighs much. Title words count twice. The score is
   divided by the score the trigger's own words would get, giving 0–1.
   Configured expansions let a document's 增值税 count as the trigger's 税收.
2. **Issuer.** The issuer's level (国家/部委/省/市/县) is read from the
   issuer, the 文号 and the title, and compared with the levels the trigger's
   event kind expects (``rules/inbox.yaml``); a provincial trigger wants *our*
   province (a 浙江 notice does not start 广东's duty).
3. **Kind and date.** A news report, a draft (草案, 征求意见稿), an answer or
   an annual report stands for a document but is not it: its score is cut
   (unless the event kind is reported as news: an emergency, a vote). A
   document dated before the plan was published cannot be what the plan waits
   for; a per-event trigger (each emergency, each tax document) counts events
   of its plan year only; a trigger that names no document is looked for up
   to ``window_years`` after its plan year.

The result is only ever a proposal: nothing here writes to the store.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .config import InboxConfig, KindRule
from .records import IncomingDocument, simplify

Level = Literal["national", "ministry", "province", "city", "county"]

#: Words that carry no subject in a government document's title or a duty's text.
STOPWORDS = frozenset(
    "关于 有关 相关 通知 印发 进一步 以及 或者 并且 做好 加强 推进 工作 按照 根据 要求 及时 开展 落实 贯彻 实施 "
    "意见 方案 办法 规定 文件 出台 发布 公布 公开 我们 他们 本地 各地 各级 部门 单位 积极 认真 切实 全面 进行 "
    "通过 一个 一些 已经 可以 应当 不得 其他 之日起 日起 原文 待核 只写 须 同步 最迟 一次 即为 每份".split())

_CJK_OR_ALNUM = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
_NAMED_DOC = re.compile(r"《([^》]{4,60})》")
_MUNICIPALITIES = ("北京", "上海", "天津", "重庆")
_NEWS = re.compile(r"新闻|报道|记者|新华社|日报|晚报|中新网|人民网|通讯社|（时政）|\(时政\)|本报讯")
_DRAFT = re.compile(r"草案|征求意见|送审稿|讨论稿")
_ANSWER = re.compile(r"答复|答记者问|问答|解读|12366")
_REPORT = re.compile(r"工作报告|年度报告|信息公开报告|工作总结")
_CENTRAL_MINISTRY = re.compile(r"部|委员会|总局|总署|国资委|银行|办公厅|^财税|^财预|^国资发|^发改|^环发")
_CENTRAL_NATIONAL = re.compile(r"国务院|全国人民代表大会|全国人大|中共中央|主席令|^国发|^国办")
#: a ministry-level body whose name starts with 国务院 (国务院国有资产监督管理委员会, 国务院国资委)
_MINISTRY_UNDER_COUNCIL = re.compile(r"国务院(?:国有资产|国资委|[\u4e00-\u9fff]{0,8}(?:部|总局|委员会))")


@functools.cache
def _jieba() -> Any:
    with warnings.catch_warnings():  # jieba 0.42 imports the deprecated pkg_resources
        warnings.simplefilter("ignore")
        import jieba
    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba


def tokens(text: str, expansions: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """Words of a text for ranking: jieba's search mode, simplified, no one-character or stop words."""
    s = simplify(text)
    out = [w for w in _jieba().lcut_for_search(s)
           if len(w) >= 2 and _CJK_OR_ALNUM.search(w) and w not in STOPWORDS]
    for head, variants in (expansions or {}).items():
        if head not in s and any(v in s for v in variants):
            out.extend(w for w in _jieba().lcut_for_search(head) if len(w) >= 2 and w not in STOPWORDS)
    return out


# --------------------------------------------------------------------------- issuers


@dataclass(frozen=True, kw_only=True, slots=True)
class IssuerInfo:
    """What the issuer says: its level and the place it belongs to (广东, 揭阳), where known."""

    level: Level | None
    place: str | None


_PROVINCE = re.compile(r"([\u4e00-\u9fff]{2,3}?)(?:省|自治区)")
_COUNTY = re.compile(r"([\u4e00-\u9fff]{2,4}?)市([\u4e00-\u9fff]{2,4}?)(?:区|县)|([\u4e00-\u9fff]{2,3}?)(?:县|区)"
                     r"(?:人民政府|政府|人大|委员会|办)")
_CITY = re.compile(r"([\u4e00-\u9fff]{2,3}?)市")


def issuer_info(issuer: str | None, doc_number: str | None, title: str) -> IssuerInfo:
    """The issuer's level: from the issuer's name, else the 文号, else the title's first body named."""
    for text in (issuer, doc_number, title):
        if not text:
            continue
        s = simplify(text)
        for city in _MUNICIPALITIES:
            if s.startswith(city) or f"{city}市" in s:
                return IssuerInfo(level="province", place=city)
        if (m := _PROVINCE.search(s)) and not s.startswith("国务院"):
            return IssuerInfo(level="province", place=m.group(1))
        if m := _COUNTY.search(s):
            return IssuerInfo(level="county", place=m.group(1) or m.group(3))
        if (m := _CITY.search(s)) and not s.startswith("中华人民共和国"):
            return IssuerInfo(level="city", place=m.group(1))
        if _CENTRAL_NATIONAL.search(s) and not _MINISTRY_UNDER_COUNCIL.search(s):
            return IssuerInfo(level="national", place=None)
        if _CENTRAL_MINISTRY.search(s) and text is not title:
            return IssuerInfo(level="ministry", place=None)
    return IssuerInfo(level=None, place=None)


def _is_local(info: IssuerInfo, doc: IncomingDocument, names: Sequence[str]) -> bool:
    """Whether the document belongs to our province/city: by the issuer's place, its 文号 prefix or its title."""
    full = [n for n in names if len(n) >= 2]
    prefixes = [n for n in names if len(n) == 1]
    if info.place and any(info.place.startswith(n) or n.startswith(info.place) for n in full):
        return True
    number = simplify(doc.doc_number or "")
    if number and any(number.startswith(p) for p in prefixes):
        return True
    return info.place is None and any(n in simplify(doc.title) for n in full)


def document_kind(doc: IncomingDocument) -> str | None:
    """``news``, ``draft``, ``answer``, ``report`` — what stands for a document without being it — or None."""
    head = simplify(f"{doc.title} {doc.issuer or ''}")
    opening = simplify(doc.text[:300])
    if _DRAFT.search(head):
        return "draft"
    if _ANSWER.search(head):
        return "answer"
    if _NEWS.search(head) or re.search(r"记者|本报讯|电\s*[（(]记者", opening):
        return "news"
    if _REPORT.search(head):
        return "report"
    return None


# --------------------------------------------------------------------------- profiles and scores


@dataclass(frozen=True, kw_only=True, slots=True)
class TriggerProfile:
    """A pending trigger and everything that says what it waits for."""

    plan: str
    key: str
    event_kind: str
    description: str
    plan_title: str
    published: dt.date
    plan_year: int
    duties: tuple[str, ...] = ()
    per_event: bool = False

    @property
    def named_documents(self) -> tuple[str, ...]:
        """Documents the trigger names in 《》 (then it is started by that document whenever it appears)."""
        return tuple(simplify(m) for m in _NAMED_DOC.findall(self.description))

    def text(self) -> str:
        return "\n".join((self.description, *self.duties))


@dataclass(frozen=True, kw_only=True, slots=True)
class Candidate:
    """A trigger proposed for a document: the score (0–1) and the reasons a person checks."""

    plan: str
    trigger: str
    score: float
    words: tuple[str, ...]
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"plan": self.plan, "trigger": self.trigger, "score": round(self.score, 3),
                "words": list(self.words), "reasons": list(self.reasons)}


class Matcher:
    """Scores documents against a fixed set of trigger profiles (build once per scan)."""

    def __init__(self, profiles: Sequence[TriggerProfile], config: InboxConfig, background: Iterable[str] = ()) -> None:
        from rank_bm25 import BM25Okapi

        self.profiles = tuple(profiles)
        self.config = config
        self._profile_tokens = [tokens(p.text()) for p in self.profiles]
        corpus = [*self._profile_tokens, *(tokens(t) for t in background)]
        corpus = [c or ["<empty>"] for c in corpus]
        self._bm25 = BM25Okapi(corpus) if self.profiles else None
        self._self_scores = [self._scores(list(dict.fromkeys(t)) * 2)[i] or 1.0
                             for i, t in enumerate(self._profile_tokens)] if self.profiles else []

    def _scores(self, query: list[str]) -> list[float]:
        assert self._bm25 is not None
        return [float(x) for x in self._bm25.get_scores(query)[:len(self.profiles)]]

    def rank(self, doc: IncomingDocument) -> list[Candidate]:
        """Every trigger the document could start, best first, above the configured threshold."""
        if not self.profiles:
            return []
        title = tokens(doc.title, self.config.expansions)
        body = tokens(doc.text[:800], self.config.expansions)
        scores = self._scores(title * 2 + list(dict.fromkeys(body)))
        info = issuer_info(doc.issuer, doc.doc_number, doc.title)
        kind = document_kind(doc)
        found = set(title) | set(body)
        out = []
        for i, p in enumerate(self.profiles):
            words = tuple(w for w in dict.fromkeys(self._profile_tokens[i]) if w in found)
            text_score = min(1.0, scores[i] / self._self_scores[i])
            cand = self._judge(doc, p, text_score, words, info, kind)
            if cand is not None and cand.score >= self.config.threshold:
                out.append(cand)
        out.sort(key=lambda c: (-c.score, c.plan, c.trigger))
        return out[: self.config.max_proposals]

    def _judge(self, doc: IncomingDocument, p: TriggerProfile, text_score: float, words: tuple[str, ...],
               info: IssuerInfo, kind: str | None) -> Candidate | None:
        """Apply issuer, kind and date to a text score; None when the trigger is ruled out."""
        rule: KindRule = self.config.kind(p.event_kind)
        if not words:
            return None
        top = sorted(words, key=lambda w: -self._bm25.idf.get(w, 0.0))[:6]  # type: ignore[union-attr]
        reasons = [f"共同词语：{'、'.join(top)}（文字得分 {text_score:.2f}）"]
        factor = 1.0
        named = [n for n in p.named_documents if _names_document(n, doc.title)]
        if named and kind is None:
            factor *= 1.3
            reasons.append(f"标题与所等文件《{named[0]}》相符")
        number = simplify(doc.doc_number or "")
        if number and any(number.startswith(simplify(prefix)) for prefix in rule.series):
            factor *= _SERIES_FACTOR
            reasons.append(f"文号 {number} 属于所等文件的系列")
        if info.level is None:
            factor *= 0.7
            reasons.append("发文机关级别不明")
        elif info.level not in rule.levels:
            return None
        else:
            reasons.append(f"发文机关级别：{_LEVEL_CN[info.level]}（{'、'.join(_LEVEL_CN[lv] for lv in rule.levels)}）")
        if rule.local and info.level in ("province", "city", "county"):
            names = self.config.jurisdiction.province if info.level == "province" else self.config.jurisdiction.city
            if not _is_local(info, doc, names):
                return None
            reasons.append(f"本{'省' if info.level == 'province' else '市'}文件")
        if kind is not None and not (kind == "news" and rule.news_ok):
            factor *= _KIND_FACTOR[kind]
            reasons.append(f"疑似{_KIND_CN[kind]}，并非文件本身")
        verdict = self._date_factor(doc, p, bool(named))
        if verdict is None:
            return None
        factor *= verdict[0]
        reasons.append(verdict[1])
        return Candidate(plan=p.plan, trigger=p.key, score=min(1.0, text_score * factor), words=top,
                         reasons=tuple(reasons))

    def _date_factor(self, doc: IncomingDocument, p: TriggerProfile, names_it: bool) -> tuple[float, str] | None:
        on = doc.date
        if on is None:
            return (0.5 if p.per_event else 0.85), "文件日期不明（接受时须填写日期）"
        if on < p.published:
            return None
        if p.per_event and on.year > p.plan_year:
            return None
        if not names_it and not p.per_event and on.year > p.plan_year + self.config.window_years:
            return None
        return 1.0, f"日期 {on.isoformat()} 在方案公布（{p.published.isoformat()}）之后"


def _names_document(name: str, title: str) -> bool:
    """The title is the named document (allowing a dropped qualifier: 《建设项目环境影响评价公众参与办法》)."""
    t = re.sub(r"[《》\s]|（[^）]*）|\([^)]*\)", "", simplify(title))
    n = re.sub(r"[《》\s]", "", name)
    return len(t) >= 6 and (t in n or n in t)


_LEVEL_CN = {"national": "国家", "ministry": "部委", "province": "省级", "city": "市级", "county": "县级"}
_KIND_CN = {"news": "新闻报道", "draft": "草案或征求意见稿", "answer": "答复或解读", "report": "工作报告"}
#: a document of the series the event kind is issued in (rules/inbox.yaml ``series``)
_SERIES_FACTOR = 1.3
_KIND_FACTOR = {"news": 0.3, "draft": 0.2, "answer": 0.3, "report": 0.5}
