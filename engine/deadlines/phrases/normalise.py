"""Stage 1 of the phrase compiler: the canonical text the grammar reads.

NFKC (full-width digits and punctuation become ASCII), HTML tags left by the
extraction become clause breaks, whitespace goes ("2016 年 12 月底前"), Chinese
numerals before a unit become digits ("二十日" → "20日"), traditional characters
that carry time words become simplified ("個工作日內" → "个工作日内": mirrors of
official pages are often converted), and synonyms collapse ("以前" → "前").
:func:`_normalise_mapped` keeps, for the in-text finder, where each character came from.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import TypeAlias

# --- 1. normaliser

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def cn_to_int(text: str) -> int:
    """A Chinese numeral as an integer: "十二" → 12, "三十一" → 31, "二〇一六" → 2016.

    Without 十/百 the characters are read digit by digit (years are written
    "二〇一六"); with them, positionally ("一百零五" → 105, "十" → 10).
    """
    if "十" not in text and "百" not in text:
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    total = digit = 0
    for c in text:
        if c == "百":
            total += (digit or 1) * 100
            digit = 0
        elif c == "十":
            total += (digit or 1) * 10
            digit = 0
        else:
            digit = _CN_DIGITS[c]
    return total + digit


_LITERALS: dict[str, str] = {
    "以前": "前", "之前": "前", "以内": "内", "之内": "内", "月份": "月", "年度": "年",
    "年末": "年底", "月末": "月底", "个星期": "周", "星期": "周",
}
"""Synonyms that read the same; the grammar only knows the right-hand forms."""

_TRAD = str.maketrans(
    "內個時後週鐘屆實現將於從長態續級間發佈國務體關規導達處應須過遲爭開啟適對調動報準檢辦結復總計劃為爲"
    "與當則內並經終屬區縣門網頁欄條簡單雙學議訪饋組審評證環義種營銷儀啟臺灣際歲歷書記據資紹設這進運選遞"
    "預擬訂隨號屆們週織場國華會節題請產業農項專員統換無變壞財來較補貼",
    "内个时后周钟届实现将于从长态续级间发布国务体关规导达处应须过迟争开启适对调动报准检办结复总计划为为"
    "与当则内并经终属区县门网页栏条简单双学议访馈组审评证环义种营销仪启台湾际岁历书记据资绍设这进运选递"
    "预拟订随号届们周织场国华会节题请产业农项专员统换无变坏财来较补贴",
)
"""Traditional characters of time words and their usual neighbours → simplified, one to one.

Mirrors of official pages are often converted to traditional script ("個工作日內"); a
one-to-one table keeps the in-text finder's character map intact. Dashes of every
width ("—", "―", "–", "～") become "-": ranges read one way.
"""
_TRAD.update(str.maketrans("萬億類職訓畝噸輛戶兩", "万亿类职训亩吨辆户两"))
_TRAD.update(str.maketrans("—―–−～~∶", "------:"))  # ∶ (U+2236, ratio) is written for a time's colon

def _spread(year: str | None, items: list[str]) -> str:
    """List items joined by 、, each with the year written before the first ("2016年")."""
    return "、".join(f"{year or ''}{item}" for item in items)


_Step: TypeAlias = tuple[tuple[str, ...], re.Pattern[str], Callable[[re.Match[str]], str]]
"""A step: the strings one of which the text must hold for the step to apply (none: always), a
pattern, its replacement. The guard is a cheap ``in`` test that skips most steps for most phrases."""

_STEPS: tuple[_Step, ...] = (
    # Pinyin glosses that mirror sites insert after characters ("發(fā)布", "現(xiàn)場"): not text.
    (("(",), re.compile(r"(?<=[\u3400-\u9fff])\([a-z\u00e0-\u00fc\u0101-\u01dc]{1,6}\)"), lambda m: ""),
    # HTML left by the PDF extraction ("<p>全年工作</p> <p>2016年12月底前完成</p>"): clause breaks.
    (("<",), re.compile(r"<[^<>]*>"), lambda m: ";"),
    ((), re.compile(r"\s+"), lambda m: ""),
    # Chinese numerals, only before a unit, so "统一部署" and "一扇门" stay text.
    # A list shares the unit after its last item: "第三、四季度", "三至五月".
    ((), re.compile(r"[零〇一二两三四五六七八九十百]+(?=(?:[、和至到][零〇一二两三四五六七八九十百]+)*"
                    r"(?:个|年|月|日|号|季|天|小时|次|周|星期|工作日|旬))"),
     lambda m: str(cn_to_int(m.group()))),
    (("号",), re.compile(r"(?<=\d)号"), lambda m: "日"),
    (("下1年",), re.compile(r"下1年"), lambda m: "次年"),  # "下一年度" is the next year
    # "每周一、三、五" → "每周一、每周三、每周五"; "7-12月" → "7月-12月"; "第3、4季度" → "第3季度、第4季度".
    (("每周",), re.compile(r"每周([一二三四五六日天](?:[、和][一二三四五六日天])+)"),
     lambda m: "、".join(f"每周{d}" for d in re.split("[、和]", m.group(1)))),
    (("-", "至", "到"), re.compile(r"(?<![\d.月:日时])(\d{1,2})(?=[-至到]\d{1,2}月)"), lambda m: f"{m.group(1)}月"),
    (("、", "和"), re.compile(r"(第?)(\d)((?:[、和]\d)+)季度"),
     lambda m: "、".join(f"{m.group(1)}{q}季度" for q in re.findall(r"\d", m.group(2) + m.group(3)))),
    (("季",), re.compile(r"(?<=[每按\d])季(?!度)"), lambda m: "季度"),  # "每季" / "一季" (not "季节")
    ((), re.compile("|".join(sorted(_LITERALS, key=len, reverse=True))), lambda m: _LITERALS[m.group()]),
    (("季度末",), re.compile(r"季度末(?!月)"), lambda m: "季度底"),  # "每季度末" is its last day; "每季度末月" its last month
    # A title with a year in it names a document ("将《2005年…工作总结》报…"): not a date; so does a
    # quoted name of a table or document ("填写“2024年清明节值班表”") and a plan period before the
    # plan's noun ("形成乡村振兴2021~2025年规划初稿").
    (("《",), re.compile(r"《[^《》]*\d[^《》]*》"), lambda m: "《》"),
    (("“",), re.compile(r"“[^“”]*\d[^“”]*(?:表|单|册|方案|计划|规划|报告|通知|意见|办法|总结|清单|目录|指南|名录)”"),
     lambda m: "“”"),
    (("-",), re.compile(r"(?<![\d.])\d{4}-\d{4}年(?=(?:发展|建设|行动|工作|专项)?(?:规划|计划|纲要|方案))"), lambda m: ""),
    # A rate "至少1次/年" is the rhythm "每年至少1次".
    (("次/",), re.compile(r"(?P<c>至少|不少于|不低于)?(?P<n>\d+)次/(?P<per>半年|年|季度|月|周|天|日)"),
     lambda m: f"每{m.group('per')}{m.group('c') or ''}{m.group('n')}次"),
    # A ratio "按1:3比例" is not a clause break; "拟定于:2月12日" keeps its marker with its date.
    ((":",), re.compile(r"(?<=\d):(?=\d(?!\d))"), lambda m: "比"),
    (("于:",), re.compile(r"(?<=于):"), lambda m: ""),
    # "自本公告发布之日起,至2021年12月15日止": a window's start and its end are one clause.
    (("起,",), re.compile(r"(?<=起),(?=[至到](?:\d|[今本当明次]年))"), lambda m: ""),
    # Lists that share a unit (and the year written before the first item): "5月14、15、21日" →
    # "5月14日、5月15日、5月21日"; "2016年6月、9月和12月底" → "2016年6月底、2016年9月底、2016年12月底";
    # "2、5、8、11月10日" → "2月10日、5月10日、8月10日、11月10日".
    (("、", "和", "及"), re.compile(r"(?<![\d.])(\d{4}年)?(\d{1,2})月((?:\d{1,2}[、和及])+\d{1,2})日"),
     lambda m: _spread(m.group(1), [f"{m.group(2)}月{d}日" for d in re.split("[、和及]", m.group(3))])),
    (("、", "和", "及", "与"), re.compile(r"(?<![\d.])(\d{4}年)?((?:\d{1,2}月[、和及与])+\d{1,2}月)(底|上旬|中旬|下旬)"),
     lambda m: _spread(m.group(1), [f"{x}月{m.group(3)}" for x in re.findall(r"(\d{1,2})月", m.group(2))])),
    (("、", "和", "及"), re.compile(r"(?<![\d.第])(\d{4}年)?((?:\d{1,2}[、和及])+\d{1,2})月(\d{1,2}日|底|上旬|中旬|下旬)?"),
     lambda m: _spread(m.group(1), [f"{x}月{m.group(3) or ''}" for x in re.split("[、和及]", m.group(2))])),
    # "每月15日、30日" → "每月15日、每月30日".
    (("每月",), re.compile(r"每月((?:\d{1,2}日[、和及])+\d{1,2}日)"),
     lambda m: "、".join(f"每月{x}" for x in re.split("[、和及]", m.group(1)))),
    (("--",), re.compile(r"-{2,}"), lambda m: "-"),
    # A time of day adds nothing to a due date ("3月5日24时前", "6月11日17:00前", "每周二中午12时前",
    # "(周五)上午下班前"): the day is the deadline.
    ((), re.compile(r"\(周[一二三四五六日天]\)|上午|下午|中午|晚上|早上|下班(?=前)|(?<![\d.])\d{1,2}:\d{2}(?!\d)"
                r"|(?<=[日一二三四五六天午])\d{1,2}(?:时|点)(?:\d{1,2}分)?"), lambda m: ""),
)


_PLAN: tuple[tuple[str | None, re.Pattern[str] | None, re.Pattern[str], Callable[[re.Match[str]], str]], ...] = tuple(
    (guard[0] if len(guard) == 1 else None,
     re.compile("|".join(map(re.escape, guard))) if len(guard) > 1 else None, pattern, repl)
    for guard, pattern, repl in _STEPS)
"""The steps with their guard as one string (the common case) or one search for any of several, for
:func:`normalise`."""


def normalise(phrase: str) -> str:
    """The canonical text the grammar reads (see the module docstring, stage 1)."""
    text = unicodedata.normalize("NFKC", phrase).translate(_TRAD)
    for one, several, pattern, repl in _PLAN:
        if one is not None:  # most steps: one cheap substring test
            if one not in text:
                continue
        elif several is not None and several.search(text) is None:
            continue
        text = pattern.sub(repl, text)
    return text


def _normalise_mapped(text: str) -> tuple[str, list[int]]:
    """:func:`normalise` plus, for every output character, its index in ``text``.

    In-text extraction matches on the normalised text but must report spans
    of the original (with its spaces and full-width digits), so every step
    keeps a map. NFKC is applied per character, which equals the whole-string
    form for the CJK/ASCII text of plans.
    """
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        norm = ch if ch.isascii() and ch != "~" else unicodedata.normalize("NFKC", ch).translate(_TRAD)
        chars.append(norm)
        index.extend([i] * len(norm))
    s = "".join(chars)
    for guard, pattern, repl in _STEPS:
        if (guard and not any(g in s for g in guard)) or pattern.search(s) is None:
            continue
        out: list[str] = []
        new_index: list[int] = []
        pos = 0
        for m in pattern.finditer(s):
            a, b = m.span()
            out.append(s[pos:a])
            new_index.extend(index[pos:a])
            r = repl(m)
            out.append(r)
            # The replacement spans the match: its last character maps to the match's last.
            new_index.extend(index[a] if k < len(r) - 1 else index[b - 1] for k in range(len(r)))
            pos = b
        out.append(s[pos:])
        new_index.extend(index[pos:])
        s, index = "".join(out), new_index
    return s, index

