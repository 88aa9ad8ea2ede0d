"""The ordered table of phrase forms: a cheap keyword pre-filter, a pattern, a builder, examples."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from .dates import (_b_anniversary, _b_winter_spring, _b_five_year, _b_half, _b_holiday, _b_iso, _b_month, _b_noisy_date,
                    _b_quarter, _b_quarter_after, _b_target, _b_this_month, _b_year_before, _b_year_end, _b_year_part)
from .events import (_VERBS, _b_after, _b_after_any, _b_after_window, _b_condition, _b_extend, _b_immediately,
                     _b_next_day, _b_no_deadline, _b_since, _b_since_any, _b_sync, _b_wait, _b_window, _b_window_range)
from .hedges import (_b_ongoing, _b_qualifier, _b_rules, _b_since_until, _b_span, _b_total, _b_vague, _b_whole_year,
                     _b_year_ongoing, _b_year_tasks)
from .pieces import KNOWN_FORMS_REF, _Ctx, _Piece
from .ranges import (BOUNDARY, QUARTER_RANGE, RANGE, YEAR_RANGE, _b_boundary, _b_quarter_range, _b_range,
                     _b_year_range)
from .rhythms import (_b_cadence, _b_interval, _b_lag, _b_next_weekday, _b_odd_even, _b_pairs, _b_reports, _b_rhythm,
                      _b_start, _b_weekday, _b_weekday_span)

# --- 2. forms and builders

_Builder: TypeAlias = Callable[[re.Match[str], _Ctx], _Piece | None]
"""A form's builder: the piece a match reads as, or None when the match is not the form after all (the
next form is tried)."""


@dataclass(frozen=True, slots=True)
class _Form:
    """One phrase form: a pre-filter, a pattern, a builder, and how to explain it."""

    name: str
    keys: frozenset[str]           # the clause must contain one of these (cheap check first)
    pattern: re.Pattern[str]
    build: _Builder
    describe: str
    examples: tuple[str, ...]
    anchor: re.Pattern[str] | None = None
    """A cheap search the clause must pass before ``pattern`` runs: the trigger an event form hangs on
    ("之日", "后" + a window), so a pattern with a lazy event of any wording never scans text without it."""


_Y = r"(?:(?P<y>\d{4}|[今本当明次])年)?"
_EV = r"[^,;:()]"
def _form(name: str, keys: tuple[str, ...], pattern: str, build: _Builder, describe: str,
          *examples: str, anchor: str | None = None) -> _Form:
    return _Form(name=name, keys=frozenset(keys), pattern=re.compile(pattern), build=build,
                 describe=describe, examples=examples, anchor=re.compile(anchor) if anchor else None)


_WU = r"(?P<u>个?工作日|个月|小时|分钟|天|日|个?周|年)"
_PROMPTLY = r"(?:及时|随时|立即|立刻|马上|第一时间)"
_LEAD_VERB = r",?(?:应当?|须|要|必须|并)?(?:在|于)?"
_THEN_PROMPT = _LEAD_VERB + _PROMPTLY
"""After a condition: promptness in its own clause ("…情况应随时上报")."""
_THEN = _LEAD_VERB + rf"(?:{_PROMPTLY}|\d+(?:个?工作日|个月|小时|分钟|天|日))"
"""After a condition: promptness or a window ("出现…时,应在2小时内")."""

_FORMS: tuple[_Form, ...] = (
    # -- text with time words that sets no deadline: refused with a reason, before anything reads it
    _form("no-deadline", ("起", "时限", "期限", "累计"),
          r"(?:自|从)?[^,;:]{0,40}?起(?:正式)?(?:施行|生效|实行)|按(?:照)?(?:有关)?(?:规定|要求)(?:的)?(?:要求和)?"
          r"(?:时限|期限)|每(?:周|月|年|季度)累计\d+次", _b_no_deadline,
          "自…起施行 / 按规定时限: no deadline (an effective date; a limit set elsewhere): refused",
          "自2008年5月1日起施行", "按规定时限"),
    # -- triggered and relative: an event, then (maybe) a window
    _form("lag", ("后", "次月", "下月", "下1个月", "下个月"),
          r"(?<![\d第度])(?:每个?)?(?:(?P<per>月|季度|季|半年|年)(?:结束)?后|次月|下1?个?月)(?P<n>\d{1,3})(?P<u>个?工作日|日|天)(?:内|前)?",
          _b_lag,
          "次月N日前 / 月后N日前 / 每季度结束后N日内: recurring with a lag after each period's end",
          "次月5日前", "每季度结束后10日内"),
    _form("wait", ("待",), rf"待(?P<ev>{_EV}{{1,40}}?)(?:以)?后(?P<prompt>及时)?", _b_wait,
          "待…后: triggered, dormant until the thing awaited happens (offset null unless a window follows)",
          "待省相关文件出台后", "待省文件出台后20日内"),
    _form("received", ("收到",), rf"收到(?P<ev>{_EV}{{1,40}}?)(?:以)?后(?P<prompt>及时)?", _b_wait,
          "收到…后[及时]: triggered by receiving a document; 及时 → offset null (the configured default)",
          "收到国家税收政策文件后及时转发"),
    _form("next-day", ("次日", "第2天", "第2日", "当日", "当天"),
          rf"(?:收到|接到|受理)(?P<ev>{_EV}{{1,40}}?)(?:的|之|后)?(?:次日|第2天|第2日|(?P<same>当日|当天))", _b_next_day,
          "收到…的次日 / 当日: triggered, the day after (the day of) the event", "应在收到办结工单的次日回访"),
    _form("since-until", ("之日",), rf"(?:自|从)?(?P<ev>{_EV}{{1,40}}?)之日起(?:至|到)(?=\d|[今本当明次]年)",
          _b_since_until,
          "自…之日起至<date>: a window from the day of an event (often the notice itself) to the date: the date, "
          "flagged", "自本公告发布之日起至2022年10月16日", anchor=r"之日起[至到]"),
    _form("since-any", ("之日",), rf"(?:自|从|在)(?P<ev>{_EV}{{1,40}}?)之日(?:起)?", _b_since_any,
          "自…之日起[N内]: triggered from the day of any event, in its own words",
          "自受理行政许可申请之日起20日内", "自收到申请之日起20个工作日内", anchor=r"之日"),
    _form("since", ("之日",), rf"(?:自|从)?(?P<ev>{_EV}{{1,40}}?(?:{_VERBS}))之日(?:起)?", _b_since,
          "…之日起[N个工作日内]: triggered from the day of the event; without a window it is ambiguous",
          "省文件发布之日起", "自省文件发布之日起10个工作日内"),
    _form("since-bare", ("之日",), rf"(?P<ev>{_EV}{{1,40}}?)之日起", _b_since_any,
          "…之日起[N内] (no 自, any wording): triggered from the day of the event, in its own words",
          "信息形成或者变更之日起20个工作日内", anchor=r"之日起"),
    _form("sync", ("同步",), rf"与(?P<ev>{_EV}{{1,12}}?)同步", _b_sync,
          "与…同步[，最迟不超过N个工作日]: triggered per event, the same day (or the stated limit)",
          "与文件同步公开，最迟不超过3个工作日"),
    _form("after", ("后",),
          rf"(?P<ev>{_EV}{{0,40}}?(?:{_VERBS}|(?:通过|批准){_EV}{{0,12}}?))(?:以)?后(?P<prompt>及时)?",
          _b_after,
          "…(出台/发布/通过/发生)后[N日内]: triggered by the event (本方案公布后 → relative to the plan's "
          "publication)",
          "本方案公布后30个工作日内", "在市人大通过市级部门预算后20日内",
          "特别重大、重大突发事件发生后，应在24小时内", "按环保部修订发布后的时间要求完成"),
    _form("quarter-after", ("季度",),
          _Y + r"(?<!\d)第?(?P<q>\d)季度季?后(?P<n>\d{1,3})日", _b_quarter_after,
          "Q季度后N日 / Q季度季后N日: N days after that quarter's end (fixed)",
          "一季度后8日"),
    _form("exempt", ("免报",), r"(?:第?\d季度|\d{1,2}月)免报", lambda m, ctx: _no_piece(m),
          "Q季度免报 / M月免报: that period owes nothing", "四季度免报"),
    _form("after-window", ("后", "的"),
          rf"(?P<ev>[^,;:()每]{{1,40}}?)(?:(?<!最)(?:以)?后|(?<=[^\d月度年周日天])的)"
          rf"(?P<w>,?(?:应|须|要)?(?:在|于)?(?P<n>\d+){_WU}(?:内)?)",
          _b_after_window,
          "…后N个工作日[内] / 接到…的N日内: triggered by an event of any wording, with its window",
          "信息生成后15个工作日", "接到建议、提案的10日内",
          anchor=rf"(?:后|(?<=[^\d月度年周日天])的),?(?:应|须|要)?(?:在|于)?\d+{_WU}"),
    _form("condition", ("发生", "出现", "遇", "情况", "情形", "事件", "事项", "险情"),
          rf"(?:如|若|一旦)?(?:(?P<ev>遇(?!节假|法定|休息|双休|周末){_EV}{{1,30}}?)(?:时|的)?(?=$|{_THEN})"
          rf"|(?P<ev3>(?:发生|出现){_EV}{{1,30}}?)(?:(?:情况|情形|时|的)(?=$|{_THEN})|(?={_THEN})))"
          rf"|(?P<ev2>{_EV}{{2,20}}?(?:情况|情形|事件|事项|险情|灾情))(?:时|的)?(?={_THEN_PROMPT})",
          _b_condition,
          "发生/出现/遇…[情况][时], 及时/随时/立即/N日内…: triggered by each occurrence of the condition",
          "发生修改、废止、失效等情况,及时在公开页面更新", "重大事件或紧急情况应随时上报",
          anchor=r"发生|出现|遇|(?:情况|情形|事件|事项|险情|灾情)(?:时|的)?,?(?:应当?|须|要|必须|并)?(?:及时|随时|立即|立刻|马上|第一时间)"),
    # -- spans, intervals, extensions and qualifiers of the date beside them
    _form("span", ("用", "通过", "经过", "为期"),
          r"(?:用|通过|经过)(?:(?P<a>\d{1,2})[-至到])?(?P<n>\d{1,2})年(?:左右)?(?:的)?(?:时间|努力|治理|整治|攻坚|奋斗)"
          r"|为期(?:(?P<half>半年)|(?P<months>\d{1,2})个月|(?P<whole>[1-5])年)", _b_span,
          "用N年时间 / 用3-5年时间 / 通过N年治理 / 为期半年: relative to the document's publication (the longer "
          "end), ambiguous", "用3-5年时间", "力争通过2年努力", "开展为期3个月的专项整治"),
    _form("interval", ("间隔",),
          r"间隔(?:时间)?(?:最长)?(?:不得|不能|不应|不)?超过(?P<n>\d{1,3})(?P<u>个?周|个月|月|天|日|年)", _b_interval,
          "间隔不得超过N周/个月: at most N apart, read as every N", "更新时间间隔不得超过2周"),
    _form("extend", ("延长",),
          r"(?:可以?|经批准)?延长(?:到|至)?(?<!\d)(?P<n>\d{1,3})(?P<u>个?工作日|个月|天|日(?!\d)|年(?!\d))内?"
          r"|延长(?:期限|时间)?(?:最长)?不(?:得|能)?超过(?P<n2>\d{1,3})(?P<u2>个?工作日|个月|天|日|年)", _b_extend,
          "可以延长N日 / 延长期限不得超过N日 / 延长到N个工作日: an extension, triggered when granted (ambiguous)",
          "经本行政机关负责人批准，可以延长十日"),
    _form("qualifier", ("即日", "期限", "有效期", "延长"),
          r"(?P<q>即日起|期限|有效期|延长)(?:为)?(?:至|到)(?=\d|[今本明次]年)", _b_qualifier,
          "即日起至<date> / 期限至<date> / 延长至<date>: the date, flagged (a window from today; a validity end)",
          "即日起至10月10日", "实施期限至2021年12月31日"),
    _form("total", ("共", "为期"), r"(?:共|为期)(?P<n>\d{1,3})(?:个工作日|天|日)", _b_total,
          "共N天 / 为期N天: the length of the window beside it (noted)", "2019年12月13日至2019年12月19日，共7天"),
    # -- ranges and windows: one duty with a start and a due date
    _form("year-range", ("年",), YEAR_RANGE, _b_year_range,
          "YYYY年至YYYY年 / YYYY-YYYY年: fixed with start 1 January and due 31 December",
          "2021年至2025年"),
    _form("quarter-range", ("季度",), QUARTER_RANGE, _b_quarter_range,
          "第Q季度至第R季度 / Q至R季度: fixed from the first quarter's start to the last one's end",
          "2022年第二季度至第四季度", "二至四季度"),
    _form("boundary", ("初",), BOUNDARY, _b_boundary,
          "M月底(M+1)月初: around the turn of the month: a window from the 21st to the next month's 10th, flagged",
          "7月底8月初"),
    _form("range", ("至", "到", "-"), RANGE + r"(?!\)?每)", _b_range,
          "<date>至|到|-<date>: fixed with a start (the second end takes its year and month from the first; "
          "每年 before it: a yearly rhythm due at its end)",
          "2023年3月1日至4月30日", "10月上旬至11月中旬", "6月-9月", "5月25-27日"),
    # -- recurring
    _form("rhythm", ("每", "按"),
          r"(?:(?:自|从)?(?P<sy>\d{4})年(?:(?P<sm>\d{1,2})月(?:(?P<sd>\d{1,2})日)?)?(?:起|开始))?"
          r"(?:每年的?)?(?:\(?(?P<m1>\d{1,2})月?[-~—–至到](?P<m2>\d{1,2})月\)?)?"
          r"(?:每|按(?=月|季度))(?P<n>\d+)?个?(?P<per>半个?月|月|季度|半年|年|周|日|天|工作日)"
          r"(?:(?<=周)(?P<wd>[一二三四五六日天])(?!次))?(?:的)?(?P<qm>[首初末中]个?月|第[123]个?月|最后1个月|中间1?个?月)?(?:的)?"
          r"(?:第?(?P<aq>\d)季度|(?P<ah>[上下])半年|(?P<am>\d{1,2})月)?"
          r"(?:(?P<d>\d{1,2})日|(?P<ten>上旬|中旬|下旬)|(?P<end>年底|底)|(?P<part>初(?![步级中心审稿])|中(?![国央华心小学级层型期部外文标等长度转药秋])))?前?",
          _b_rhythm,
          "[自YYYY年起][M-N月]每月/每季度/每半年/每年[D日|底][前]: recurring, optionally restricted to "
          "months and to a day of the month",
          "每季度", "流行季节（4-10月）每月", "每月10日前", "自2016年起每季度", "每年3月底前"),
    _form("weekday-span", ("周",), r"(?<![每\d下本上])周(?P<a>[一二三四五六日天])(?:至|到|-)周?(?P<wd>[一二三四五六日天])",
          _b_weekday_span, "周一至周五: every day of that span of the week, read as daily (flagged)", "周一至周五"),
    _form("cadence", ("周", "月", "季", "年", "日", "逐"),
          r"(?<![\d每本上下当今明次全该近半])(?P<per>日|周|月|季度|季|半年|年|半月|双周|双月)"
          r"(?=调度|通报|推进|考评|考核|检查|研判|总结|督查|督办|查账|报告|汇报|匯报|例会|现场|评比|总评|讲评|暗访|巡查|会商|一)"
          r"|逐(?P<per2>月)|(?<![\d.])(?P<n>\d+)个?(?P<per3>月|周|年|天)[^\d,;]{0,6}?1次"
          r"|(?<![\d.年第])(?P<n4>[1-9])个?(?P<per4>季度|月|周|年)(?=一[^\d,;个批项家座所条件名位户只台])",
          lambda m, ctx: _b_cadence(_Per(m), ctx),
          "周调度、月通报 / 一季度一督办 / 双周例会 / 逐月 / 2个月召开1次: the rhythm the period names",
          "周调度、月通报、季推进、年考评", "原则上两个月召开一次"),
    _form("odd-even", ("单月", "双月"), r"(?P<which>单|双)月(?:之)?(?:(?P<d>\d{1,2})日|(?P<end>底|末))前?", _b_odd_even,
          "双月/单月N日前: annual in the even/odd months, on day N (ambiguous)", "双月之十日前"),
    _form("weekday", ("周",), r"(?<![每\d下本上])周(?P<wd>[一二三四五六日天])(?!次)", _b_weekday,
          "周一…周日 (a weekday alone; 下周一, a one-off day relative to an unknown today, is refused): weekly on "
          "that day", "周六召开例会"),
    _form("next-weekday", ("下周", "次周"), r"(?:下|次)周(?P<wd>[一二三四五六日天])(?!次)", _b_next_weekday,
          "下周一 after a weekly rhythm (每周五汇总,下周一报送): weekly on that day (alone: refused)",
          "每周五汇总,下周一报送"),
    _form("pairs", ("月",), r"(?:[^\d,;:()年月日每季前底内起、和及与]{1,4}?\d{1,2}月(?![底前内\d])){2,}", _b_pairs,
          "label M月 label N月…: annual in the listed months",
          "中考3月高考11月"),
    _form("start", ("起", "开始"),
          r"(?:自|从)?(?:(?P<sy>\d{4}|[今本当明次])年(?:第?(?P<sq>\d)季度|(?P<sm>\d{1,2})月(?:(?P<sd>\d{1,2})日)?)?"
          r"|(?<![\d年])(?P<sm2>\d{1,2})月)(?:起|开始)", _b_start,
          "自YYYY年[M月]起, <rhythm>: the rhythm's start",
          "2016年起，每半年"),
    # -- ongoing and vague
    _form("year-ongoing", ("持续", "常态"), r"(?:年内|全年)(?:持续|常态化)", _b_year_ongoing,
          "年内持续推进: ongoing until the end of the plan year", "年内持续推进"),
    _form("year-tasks", ("任务", "目标"),
          r"(?:(?P<y>\d{4}|[今本当明次])年|(?P<whole>全)年|(?<![\d每上下本去前今当明次全])年)(?:的)?(?:各项)?(?:工作)?"
          r"(?:目标任务|目标|任务)",
          _b_year_tasks,
          "完成[全]年[度][目标]任务: the year's tasks, due at its end (全年: flagged, or work through the year)",
          "确保年度目标任务高质高效完成", "全面完成全年各项工作任务"),
    _form("whole-year", ("全年",), r"(?:(?P<y>\d{4}|[今本当明次])年)?全年", _b_whole_year,
          "[YYYY年]全年[工作]: ongoing until the end of the (plan) year",
          "全年工作", "2016年全年"),
    _form("ongoing", ("长期", "持续", "常态", "常年", "长效", "直至", "保持"),
          r"(?<!延)长期|持续|常态(?=更新|公开|推进|开展)|常态化|常年|长效(?![^,;:。]{0,4}机制)|直至办结|并保持|保持(?:运行|常态)",
          _b_ongoing,
          "长期坚持 / 持续推进 / 常态化: ongoing, open-ended (until null)",
          "长期坚持", "持续推进"),
    _form("rules", ("按",), rf"按(?:照)?(?P<rule>{_EV}{{0,30}}?)(?:的)?(?:有关|相关)?(?:规定|要求|部署|安排)",
          _b_rules,
          "按(照)…规定/要求/部署: a qualifier noted on the deadline beside it; 按预算法规定 reads as the "
          "Budget Law's 20 days after approval (ambiguous)",
          "按预算法规定完成", "按照省财政厅相关部署，全年工作"),
    # -- fixed dates
    _form("year-part", ("年初", "年中"),
          r"(?:(?<!\d)(?P<y>\d{4}|[今本当明次])年年?|(?<![\d每全本今当明次])年)(?P<p>初|中)(?=$|[、,;和及与至到\-(]|前|后|以前|左右|"
          r"检查|评估|考核|督查|督导|总结|报告|汇报|通报|调度|推进|完成|公布|建账|召开|开展|组织|进行|部署|启动|制定|印发"
          r"|发布|上报|报送|对|将|要|全面|基本)",
          _b_year_part, "[YYYY年]年中 / 年初: 30 June / the end of January (年初 names no day: ambiguous)",
          "年中", "年初公布、年中检查、年底兑现"),
    _form("holiday", ("元旦", "五一", "劳动节", "六一", "儿童节", "七一", "建党节", "八一", "建军节", "国庆", "十一",
                      "春节", "清明", "端午", "中秋"),
          _Y + r"(?<![第十一二三四五六七八九零〇百\d])“?(?P<h>元旦|五一|劳动节|六一|儿童节|七一|建党节|八一|建军节|国庆|十一"
          r"|春节|清明|端午|中秋)节?”?(?:假期|长假|放假)?前",
          _b_holiday, "国庆节前 / “十一”前 / 春节前: the day before the holiday begins (flagged)",
          "国庆节前", "争取“十一”之前"),
    _form("anniversary", ("周年", "成立"),
          _Y + r"(?:在|到|至)?(?P<who>中华人民共和国|新中国|中国共产党|建党|中国人民解放军|建军)(?:成立)?(?P<n>\d{1,3})(?:周年|年)"
          r"(?:时|之际)?", _b_anniversary,
          "[YYYY年]新中国成立N周年时 / 建党N周年: the anniversary day (flagged: or that year's end)",
          "要在2029年中华人民共和国成立80周年时"),
    _form("winter-spring", ("冬明春",), r"(?:今|本)?冬明春", _b_winter_spring,
          "今冬明春: this winter and next spring, read as by the end of next spring (05-31, flagged)", "今冬明春"),
    _form("five-year", ("五",), r"“?十(?P<n>[一二三四五六])五”?(?P<part>期间|时期|期末|末期?)",
          _b_five_year,
          "“十四五”期间 / 十四五末: the five-year plan's period (2021–2025) or its last day",
          "“十四五”期间", "十四五末"),
    _form("iso", ("-", "/", "."), r"(?<!\d)(?P<y>\d{4})[-./](?P<m>\d{1,2})[-./](?P<d>\d{1,2})(?!\d)前?",
          _b_iso, "YYYY-MM-DD / YYYY.M.D / YYYY/M/D: fixed", "2016-12-31", "2016.6.30前"),
    _form("date", ("日",), _Y + r"(?<![\d\-~])(?P<m>\d{1,2})月(?P<d>\d{1,2})日前?", _b_iso,
          "[YYYY年]M月D日[前]: fixed on that day (the plan year when no year is written)",
          "6月30日前", "2016年6月30日前", "六月二十日前"),
    _form("this-month", ("本月", "下月"), r"(?P<rel>本|下)月(?P<mod>底|上旬|中下旬|中旬|下旬|初|内)(?P<b>前)?",
          _b_this_month,
          "本月底前 / 下月中旬: the month of (after) the document's date, flagged (needs the publication date)",
          "本月底前", "下月中旬"),
    _form("month", ("月",),
          _Y + r"(?<![\d\-~])(?P<m>\d{1,2})月(?!\d|起|开始)(?P<mod>底|上旬|中下旬|中旬|下旬|初|内|中(?![国央华]))?(?P<b>前)?",
          _b_month,
          "[YYYY年]M月[底|内|上旬|中旬|下旬][前]: the month's last day (旬: 10th/20th/last); "
          "M月前 (no 底) is before month M: the last day of month M-1",
          "2016年7月底前", "2017年2月", "2016年10月前", "十二月底前"),
    _form("quarter", ("季度",), _Y + r"(?<!\d)第?(?P<q>\d{1,2})季度(?P<mod>底|内)?(?P<b>前)?", _b_quarter,
          "[YYYY年][第]Q季度[底|内]: the quarter's last day (第Q季度前 is ambiguous: read as before it)",
          "2017年第1季度", "一季度"),
    _form("half", ("半年",), _Y + r"(?P<h>上|下)半年(?P<mod>底|内)?(?P<b>前)?", _b_half,
          "[YYYY年]上半年/下半年: June 30 / December 31",
          "上半年", "2016年下半年"),
    _form("year-end", ("年底", "年内"), r"(?<!\d)(?:(?P<y>\d{4}|[今本当明次])年年?|年)(?P<mod>底|内)(?P<b>前)?",
          _b_year_end,
          "[YYYY年]年底前 / 年内: December 31 (of the plan year when no year is written)",
          "2016年底前", "年底前", "年内"),
    _form("year-before", ("年前",), r"(?P<to>到|至)?(?<!\d)(?P<y>\d{4})年前(?!后)", _b_year_before,
          "YYYY年前: before the year begins (December 31 of the year before)",
          "2017年前"),
    _form("year", ("年",), r"^(?P<y>\d{4})年(?:完成)?$", _b_year_end,
          "YYYY年 (the whole clause): December 31 of that year",
          "2016年"),
    _form("target", ("年",),
          r"(?:到|至)(?P<y>\d{4})年(?!\d|底|内|前(?!后)|月|第|上|下|全)"
          r"|(?<!\d)(?P<y2>\d{4})年(?=基本|全面|初步|取得|完成|实现|建成|在|前后|左右)",
          lambda m, ctx: _b_target(_Year(m), ctx),
          "到YYYY年 / YYYY年基本建成: a target year, due at its end",
          "到2025年", "2025年基本建成"),
    _form("reports", ("报",), r"(?<!\d)(?P<per>双月|月|季|半年|年)度?报(?![送批备名])", _b_reports,
          "月报 / 双月报 / 季报 / 半年报 / 年报 (年度报告): the rhythm the report names (several: a composite)",
          "月报、季报"),
    # -- windows (an offset; fills the event before it, else a generic trigger)
    _form("window-range", ("-",), r"(?<![\d.])(?P<lo>\d{1,3})-(?P<n>\d{1,3})" + _WU + r"(?!岁)(?:内|时间)?",
          _b_window_range,
          "5-7个工作日 / 1-2年: a window with a range, read at its upper bound (flagged)", "5—7个工作日"),
    _form("window", ("内", "超过", "迟于", "最迟", "最长", "最多", "期限", "时限", "期为"),
          r"(?P<cap>最迟不超过|最迟不得超过|最长不(?:能|得)?超过|最多不(?:能|得)?超过|不(?:得|能)超过|不超过|不迟于"
          r"|最迟|最长(?:为)?|最多|(?:(?:期限|时限)为?|期为)(?=\d{1,3}(?!\d)))?(?:应|须|要)?(?:在|于)?"
          r"(?P<n>\d+)(?P<u>个?工作日|个月|小时|分钟|天|日|个?周|年)(?(cap)内?|内)",
          _b_window,
          "N个工作日内 / N日内 / N小时内 / 最迟不超过N个工作日 / 最长N小时: a window after the event named before "
          "it (alone: a triggered spec with an unnamed event, ambiguous)",
          "24小时内", "两个工作日内", "最迟不超过3个工作日", "响应时限最长2小时"),
    _form("window-verb", ("在",),
          r"在(?P<n>\d+)(?P<u>个?工作日|个月|小时|天|个?周)(?=办结|办理|完成|答复|回复|处理|报送|上报|反馈)", _b_window,
          "在N个工作日办结: a window (as N个工作日内)", "原则上在3个工作日办结"),
    _form("immediately", ("立即", "立刻", "马上", "第一时间"), r"立即|立刻|马上|第一时间", _b_immediately,
          "立即 / 立刻 / 马上 / 第一时间: a window of 0 hours after the event named before it (alone: ambiguous)",
          "事故发生后，应当立即报告"),
    _form("vague", ("定期", "适时", "及时", "即时", "视情", "尽快", "随时", "定时", "择机", "实时", "动态", "实际", "需要",
                    "按需"),
          r"不定期|定期|适时|及时|即时|视情|尽快|随时|定时|择机|实时|动态(?:调整|更新)"
          r"|(?P<need>按实际|根据实际(?:情况|需要)?|按需(?!求)|根据(?:工作)?需要|视(?:工作)?需要)",
          _b_vague,
          "定期 / 适时 / 及时 / 视情 / 尽快 (alone): ongoing, open-ended, ambiguous",
          "后续定期进行目录调整"),
    # -- last: an event of any wording with no window, and dates whose 年/月 the extraction lost
    _form("after-any", ("后",),
          r"(?P<ev>[^,;:()\d]{2,30}?)(?<![今此然最落滞随其前背身先往向之以日年月天周时午吧呢吗啊呀了])(?:以|之)?后"
          r"(?![续期备勤果面方者来台端半])(?P<prompt>及时|随时)?",
          _b_after_any,
          "…后 (any wording, no window): triggered, flagged; beside a firmer deadline a step before it (dropped)",
          "国家核准考试成绩后"),
    _form("noisy-date", ("日",), r"(?:(?<=于)|(?<=在))(?P<digits>\d{2,8})日前?|(?<![\d.])(?P<digits2>\d{3,8})日前",
          _b_noisy_date,
          "于615日前 / 20181230日前 (年/月 lost in extraction): the one reading whose month and day exist, flagged",
          "分别于615日、1215日前"),
)


FORM_KEYS: tuple[str, ...] = tuple(sorted({key for form in _FORMS for key in form.keys}))
"""Every pre-filter key: a clause is checked for each once, then only the forms its keys admit are tried."""
KEYS_BY_CHAR: dict[str, tuple[str, ...]] = {
    ch: tuple(key for key in FORM_KEYS if key[0] == ch) for ch in {key[0] for key in FORM_KEYS}}
"""The pre-filter keys by their first character: a clause is checked only for the keys that can occur in it."""
KEY_FORMS: dict[str, int] = {key: sum(1 << i for i, form in enumerate(_FORMS) if key in form.keys) for key in FORM_KEYS}
"""For each pre-filter key, the forms it admits, as bits of their index in :data:`_FORMS` (table order)."""

KNOWN_FORMS: tuple[str, ...] = tuple(
    f"{form.describe} — e.g. {' / '.join(form.examples)}" for form in _FORMS
) + (
    "several deadlines in one cell (separated by ，；。 or line breaks): composite — e.g. "
    "按预算法规定完成。全部部门决算公开完成时限2016年12月底前",
    "hedges 力争/争取/原则上 (noted), 确保/完成/前完成/以前 (read through); 遇节假日顺延 → roll to the next "
    "working day — e.g. 力争2016年底前完成 / 遇节假日顺延，2016年10月1日前",
)
"""The forms :func:`compile_phrase` reads, one line each with examples (``duban deadline forms``)."""



def _no_piece(m: re.Match[str]) -> _Piece:
    from .pieces import _Note

    return _Note(text=f"{m.group(0)}: nothing due for that period (a rhythm cannot say so: confirm)",
                 ambiguous=True)


class _Per:
    """The cadence form's alternatives as one match (its period and count have three spellings)."""

    def __init__(self, m: re.Match[str]) -> None:
        self._m = m

    def group(self, name: str | int = 0) -> str | None:
        if name == "per":
            return self._m.group("per") or self._m.group("per2") or self._m.group("per3") or self._m.group("per4")
        if name == "n":
            return self._m.group("n") or self._m.group("n4")
        return self._m.group(name)


class _Year:
    """The target form's two spellings of the year as one match."""

    def __init__(self, m: re.Match[str]) -> None:
        self._m = m

    def group(self, name: str | int = 0) -> str | None:
        if name == "y":
            return self._m.group("y") or self._m.group("y2")
        return self._m.group(name)


KNOWN_FORMS_REF[0] = KNOWN_FORMS
