"""The phrase compiler (:mod:`duban.engine.deadlines.phrases`): every seed phrase, the conventions, properties.

The seed tables are the contract with the plan loader: each 完成时限 cell of
the seed notice (verbatim, with its extraction spaces) and each deadline
written inside a requirement's text, with the exact spec JSON it compiles to
in the 2016 plan (published 2016-06-23).
"""

from __future__ import annotations

import datetime as dt
import re
from calendar import monthrange
from typing import Any

import pytest
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.engine.deadlines.spec import Composite, Fixed, Relative, spec_from_json
from duban.errors import PhraseError
from duban.engine.deadlines.phrases import (
    KNOWN_FORMS,
    TextDeadline,
    _normalise_mapped,
    cn_to_int,
    compile_phrase,
    extract_text_deadlines,
    normalise,
)
from hypothesis import given, settings
from hypothesis import strategies as st

PLAN_YEAR = 2016
PUBLISHED = dt.date(2016, 6, 23)


def spec_json(phrase: str, **kwargs: Any) -> dict[str, Any]:
    """Compile in the seed plan's context and check the JSON round-trips to an equal spec."""
    kwargs.setdefault("plan_year", PLAN_YEAR)
    kwargs.setdefault("published", PUBLISHED)
    spec = compile_phrase(phrase, **kwargs)
    assert spec_from_json(spec.to_json()) == spec
    return spec.to_json()


def phrase_error(phrase: str, **kwargs: Any) -> PhraseError:
    with pytest.raises(PhraseError) as info:
        compile_phrase(phrase, **kwargs)
    assert info.value.phrase == phrase
    assert repr(phrase) in str(info.value)
    return info.value


# ------------------------------------------------------------------------- notes (shared wording)

PROMPT = "及时: promptly; no window stated, the configured default applies"
PERIODIC = ("定期 (periodically) states no rhythm: read as open-ended ongoing work with the configured "
            "check-ins; set a rhythm if the unit has one")
BUDGET_LAW = ("按预算法规定: read as the Budget Law's window (预算法第十四条): published within 20 days of "
              "the people's congress approving the budget; confirm the clause that applies to this duty")
FIXED_2016_END = {"kind": "fixed", "due": "2016-12-31"}
WHOLE_2016 = {"kind": "ongoing", "until": "2016-12-31"}
PROVINCIAL_DOC = {"kind": "triggered", "event": "provincial_document_issued", "offset": None}

# ------------------------------------------------------------------------- every 完成时限 cell of the seed

SEED_CELLS: list[tuple[str, dict[str, Any]]] = [
    ("2016 年 12 月底前完成", FIXED_2016_END),
    ("2016年12月底前完成", FIXED_2016_END),
    ("2016 年 7 月底前完成", {"kind": "fixed", "due": "2016-07-31"}),
    ("2016年6月底前完成", {"kind": "fixed", "due": "2016-06-30"}),
    ("2016 年底前完成", FIXED_2016_END),
    ("2016年10月前完成", {"kind": "fixed", "due": "2016-09-30"}),
    ("2016年7月前完成", {"kind": "fixed", "due": "2016-06-30"}),
    ("2017年2月", {"kind": "fixed", "due": "2017-02-28"}),
    ("2017 年第 1 季度完成", {"kind": "fixed", "due": "2017-03-31"}),
    ("全年工作", WHOLE_2016),
    ("按照省财政厅相关部署，全年工作", {
        "kind": "ongoing", "until": "2016-12-31",
        "note": "按照省财政厅相关部署: follows those arrangements; their dates, once issued, take precedence"}),
    ("待省相关文 件出台后", PROVINCIAL_DOC),
    ("待省文件出台后", PROVINCIAL_DOC),
    ("省文件发布之日起", {
        "kind": "triggered", "event": "provincial_document_issued", "offset": None, "ambiguous": True,
        "note": "省文件发布之日起 states no window after the event: the configured default applies"}),
    ("收到国家税收政策文件后及时转发", {
        "kind": "triggered", "event": "national_tax_policy_received", "offset": None, "per_event": True,
        "note": PROMPT}),
    ("按环保部修订发布后的时间要求完成", {
        "kind": "triggered", "event": "ministry_revision_published", "offset": None,
        "note": "按环保部修订发布后的时间要求: the window is set by that document; none is stated here, "
                "the configured default applies"}),
    ("中考 3 月高 考 11 月", {
        "kind": "recurring", "freq": "annual", "months": [3, 11], "note": "中考: 3月; 高考: 11月 (each year)"}),
    ("2016年12月底前完成, 后续定期进行目录调整", {"kind": "composite", "parts": [
        FIXED_2016_END,
        {"kind": "ongoing", "until": None, "ambiguous": True, "note": PERIODIC}]}),
    ("按预算法规定完成。全部部门决算公开完成时限2016年12月底前", {"kind": "composite", "parts": [
        {"kind": "triggered", "event": "budget_approved", "offset": {"days": 20}, "ambiguous": True,
         "note": BUDGET_LAW},
        FIXED_2016_END]}),
    # Task 12's cell as extracted: one deadline per requirement, in <p> tags.
    ("<p>全年工作</p> <p>2016 年 12 月底前完成</p> <p>2017 年第 1 季度完成</p>", {"kind": "composite", "parts": [
        WHOLE_2016, FIXED_2016_END, {"kind": "fixed", "due": "2017-03-31"}]}),
]


@pytest.mark.parametrize(("phrase", "expected"), SEED_CELLS, ids=[p for p, _ in SEED_CELLS])
def test_every_seed_cell_compiles_to_its_spec(phrase: str, expected: dict[str, Any]) -> None:
    assert spec_json(phrase) == expected


# ------------------------------------------------------------------------- deadlines inside the seed's texts

SEED_IN_TEXT: list[tuple[str, dict[str, Any]]] = [
    # the notice bodies
    ("6 月 30 日前", {"kind": "fixed", "due": "2016-06-30"}),
    ("本方案公布后 30 个工作日内", {
        "kind": "relative", "anchor": "plan_published", "offset": {"working_days": 30}, "due": "2016-08-04"}),
    ("在本方案公布后 30 个工作日内", {
        "kind": "relative", "anchor": "plan_published", "offset": {"working_days": 30}, "due": "2016-08-04"}),
    ("年内至少要听取 1 次", {"kind": "fixed", "due": "2016-12-31", "note": "至少要听取1次: at least 1 occurrence(s)"}),
    ("年内", FIXED_2016_END),
    # the requirements
    ("（待央企信息公开有关制度出台后）", {"kind": "triggered", "event": "central_soe_rules_issued", "offset": None}),
    ("待央企信息公开有关制度出台后", {"kind": "triggered", "event": "central_soe_rules_issued", "offset": None}),
    ("每季度公示", {"kind": "recurring", "freq": "quarterly"}),
    ("每季度向社会公开", {"kind": "recurring", "freq": "quarterly"}),
    ("每季度", {"kind": "recurring", "freq": "quarterly"}),
    ("自 2016 年起每季度", {"kind": "recurring", "freq": "quarterly", "start": "2016-01-01"}),
    ("市级自 2016 年起每季度向社会公开", {"kind": "recurring", "freq": "quarterly", "start": "2016-01-01"}),
    ("每半年向社会公开进展", {"kind": "recurring", "freq": "semiannual"}),
    ("每半年", {"kind": "recurring", "freq": "semiannual"}),
    ("每年解读重要政策措施不少于1次", {
        "kind": "recurring", "freq": "annual", "note": "不少于1次: at least 1 occurrence(s)"}),
    ("与文件同步公开，最迟不超过3个工作日", {
        "kind": "triggered", "event": "policy_document_issued", "offset": {"working_days": 3}, "per_event": True,
        "note": "与文件同步: the same day is the aim; 最迟不超过3个工作日 is the limit"}),
    ("最迟不超过3个工作日", {
        "kind": "triggered", "event": "unspecified_event", "offset": {"working_days": 3}, "ambiguous": True,
        "note": "最迟不超过3个工作日: a window with no event named; bind it to a plan trigger"}),
    ("特别重大、重大突发事件发生后，应在24小时内举行新闻发布会", {
        "kind": "triggered", "event": "major_emergency", "offset": {"hours": 24}, "per_event": True}),
    ("特别重大、重大突发事件发生后, 应在24小时内", {
        "kind": "triggered", "event": "major_emergency", "offset": {"hours": 24}, "per_event": True}),
    ("在市人大通过市级部门预算后20日内", {"kind": "triggered", "event": "budget_approved", "offset": {"days": 20}}),
    ("流行季节（4-10月）每月", {"kind": "recurring", "freq": "monthly", "months": [4, 5, 6, 7, 8, 9, 10]}),
    ("流行季节(4-10 月)每月", {"kind": "recurring", "freq": "monthly", "months": [4, 5, 6, 7, 8, 9, 10]}),
    ("在省政府部门绩效考核方案出台后", PROVINCIAL_DOC),
    ("月报、季报", {"kind": "composite", "parts": [{"kind": "recurring", "freq": "monthly"},
                                              {"kind": "recurring", "freq": "quarterly"}]}),
]


@pytest.mark.parametrize(("phrase", "expected"), SEED_IN_TEXT, ids=[p for p, _ in SEED_IN_TEXT])
def test_every_seed_in_text_deadline_compiles_to_its_spec(phrase: str, expected: dict[str, Any]) -> None:
    assert spec_json(phrase) == expected


# Requirement texts (and the notice bodies) with their deadlines, as extract_text_deadlines finds them.
SEED_TEXTS_WITH_DEADLINES: list[tuple[str, list[str]]] = [
    ("请各县（市、区）联席会议根据各成员单位人员变动情况及时予以调整，并于 6 月 30 日前将有关情况报送"
     "市涉税信息交换与共享工作联席会议办公室", ["6 月 30 日前"]),
    ("二、各地各部门要结合本地区本部门工作实际制定具体工作措施，并在本方案公布后 30 个工作日内在本地区本部门"
     "门户网站公开。有牵头任务的部门还要加强对本系统公开工作的指导。", ["在本方案公布后 30 个工作日内"]),
    ("三、各地各部门主要负责同志年内至少要听取 1 次政务公开工作汇报，研究部署推进工作。要确定 1 位负责同志分管"
     "政务公开工作，列入工作分工，并对外公布。", ["年内至少要听取 1 次"]),
    ("7. 每季度公示旅游投诉情况。", ["每季度"]),
    ("8. 每季度公开旅游经营服务不良信息、行政处罚情况。", ["每季度"]),
    ("5. 研究制定国有企业信息公开有关制度（待央企信息公开有关制度出台后）。", ["待央企信息公开有关制度出台后"]),
    ("2. 指导各地及供水单位定期监测、检测和评估饮用水安全状况, 市级自 2016 年起每季度向社会公开。",
     ["自 2016 年起每季度"]),
    ("4. 流行季节(4-10 月)每月定期发布登革热媒介伊蚊密度监测评估结果。适时发布法定传染病疫情预警信息。",
     ["流行季节(4-10 月)每月"]),
    ("5. 做好抽检抽检信息公开工作，每季度公开食品药品抽检信息。", ["每季度"]),
    ("1. 2016 年起全面公开市十件民生实事的任务目标、责任分工、阶段性工作任务等内容，每半年向社会公开进展和完成"
     "情况以及存在问题和下一步工作措施。", ["每半年"]),
    ("2. 决算信息公开：在市人大通过市级部门预算后20日内批复市级各部门的部门决算，指导市级部门及时开展部门决算"
     "信息公开工作，指导县级财政部门规范开展部门决算批复及公开工作。", ["在市人大通过市级部门预算后20日内"]),
    ("1. 对涉及群众切身利益、社会关注度高的重要政策文件，牵头起草部门将政策文件和政策解读材料一并报批，政策解读"
     "材料原则上与文件同步公开，最迟不超过3个工作日。", ["与文件同步公开，最迟不超过3个工作日"]),
    ("2. 各级政府主要负责人要带头宣讲政策，尤其是与宏观经济和民生关系密切的政策，每年解读重要政策措施不少于1次。",
     ["每年解读重要政策措施不少于1次"]),
    ("遇有重大突发事件时, 负责处置的地方和部门是信息发布的责任人, 主要负责人要当好“第一新闻发言人”。特别重大、"
     "重大突发事件发生后, 应在24小时内举行新闻发布会。", ["特别重大、重大突发事件发生后, 应在24小时内"]),
    ("按省的统一部署，在省政府部门绩效考核方案出台后，结合实际，牵头制订我市政府部门绩效考核方案，推动政务公开"
     "工作纳入依法行政专项考核中，所占分值权重不低于4%。", ["在省政府部门绩效考核方案出台后"]),
    ("年内将政务公开工作纳入绩效考核体系，分值权重不应低于4%", ["年内"]),  # task 28's title
    ("1. 继续在市(县、区)环境保护公众网站发布市县两级行政单位所在城镇集中式饮用水源水质状况报告和月报、季报信息。",
     ["月报、季报"]),
]

# The in-text deadlines domain.md and the issue name: each must be found (its span overlaps a found one).
NAMED_IN_TEXT = (
    "（待央企信息公开有关制度出台后）", "每季度向社会公开", "每季度公示", "每半年向社会公开进展",
    "每年解读重要政策措施不少于1次", "最迟不超过3个工作日", "特别重大、重大突发事件发生后，应在24小时内举行新闻发布会",
    "在市人大通过市级部门预算后20日内", "流行季节（4-10月）每月", "本方案公布后30个工作日内", "年内至少要听取1次",
)

SEED_TEXTS_WITHOUT_DEADLINE: tuple[str, ...] = (
    '1. 在全面公开市级政府部门权责清单基础上，推动县级政府部门全面公开权责清单，并通过政府网站公开，实行动态管理。',
    '2. 做好市有关部门取消、调整和保留行政审批事项的公开工作，重点公开保留为市有关部门行政审批受理条件中介服务事项清单。',
    '1. 检查全市各地住房保障信息公开情况并予以通报。',
    '2. 贯彻落实《广东省质量技术监督系统公开行政执法案件管理办法（试行）》。',
    '3. 公开行政处罚权责清单及处罚案件信息。',
    '4. 公开市级工业产品生产许可证等行政审批信息。',
    '5. 公开对全市食品相关产品生产环节监督检查事项清单及省级抽查结果，实行“阳光执法”。',
    '6. 公开旅行社名录。',
    '9. 做好“双公示”工作, 在部门门户网站建设和行政许可和行政处罚公示栏目, 按时公布专利侵权纠纷行政处理决定、假冒专利行政处罚信息。',
    '10. 及时主动在部门门户网站公布专利行政执法案件信息。',
    '11. 做好较大事故报告在部门门户网站全文公开工作, 督促指导各县(市、区)安监部门公开一般事故调查报告。',
    '12. 指导各县(市、区)安监部门依法公布行政许可和行政处罚相关信息。',
    '13. 完善安全生产重点领域信息发布和应急处置救援信息公开机制, 扩大受众范围。',
    '1. 制定市级“双公示”事项目录、信息展示格式规范, 建设“信用揭阳”网站; 设置“双公示”栏目。',
    '2. 贯彻执行《全国各省区市信用信息共享工作考核办法(试行)》文件, 加强对全市信用信息共享工作监督检查。',
    '3. 建立市级部门信用信息交换共享工作通报机制, 定期通报各部门信息共享情况。',
    '1. 修订并向社会公开行政审批地方标准，推动各地各部门完成行政审批事项标准编制和公开工作。',
    '2. 推广自然行政许可和服务事项“一扇门在基层”通用模式，全面推广“一扇门”政务服务模式改革。强化“一扇门”政务服务效能监督。',
    '3. 拓展建设市网上统一申办受理平台，做好与部门审批系统对接及调试工作。',
    '4. 分步推动市直部门进驻市网上办事大厅统一申办受理平台，并按照标准化要求编制统一申办受理标准。',
    '按照《广东省人民政府关于进一步推动户籍制度改革的实施意见》出台本市的实施细则，并通过部门门户网站等方式进行公开。',
    '1. 贯彻执行《广东省实行市场准入负面清单制度改革试点实施方案》。',
    '2. 配合省市场准入负面清单试点工作，及时公开负面清单相关内容。',
    '做好政府投资的重大项目信息公开工作，除涉密项目外，及时在部门门户网站公开市级政府投资项目建议书批复情况、可行性研究报告批复情况、初步设计概算批复情况，企业投资项目核准情况、投资项目招标方式核准情况等信息。',
    '将全市PPP项目录入财政部PPP综合信息系统，按规定公开全市PPP项目信息。',
    '1. 推动市公共资源交易中心建立全市统一的公共资源交易电子公共服务系统。',
    '2. 制定《揭阳市公共资源交易信息平台发布管理办法》，推动各级各类公共资源交易平台依法公开交易公告、资格审查信息、成交信息、履约信息及变更信息，实现公共资源配置全流程公开和信息资源共享。',
    '1. 通过市财政局网站公布税收政策文件。',
    '2. 对国家清理减免后保留的政府性基金项目, 编制目录清单, 明确项目名称、设立依据、收费标准等, 分别在政府和各主管部门网站公开, 并推动相关执收单位在收费场所公示有关收费文件依据、主体、项目、范围、标准。收费目录清单实行动态调整。',
    '3. 通过部门门户网站开展针对性优惠政策信息公开, 利用新闻媒体、政策宣讲会、印刷小册子等方式加强税收优惠政策宣传。',
    '4. 在政府公报、政府网站、部门门户网站公开发布减税降费规范性文件, 利用新闻媒体、新媒体发布并解读减税降费政策。',
    '5. 进一步完善行政事业性收费项目信息公开。',
    '1. 推动国有企业改制重组、产权交易、增资扩股等方面的信息和结果公示。',
    '2. 公开国有资本整体运营情况、企业国有资产保值增值及经营业绩考核有关情况。',
    '3. 公开市国资委派驻市属企业监事会对市属企业年度监督检查情况。',
    '4. 公开企业改革重组、公司治理及管理架构、财务状况、重要人事变动、企业负责人薪酬等信息。',
    '1. 及时公开中央、省委省政府、市委市政府及有关部門制定的精准扶贫精准脱贫三年攻坚的有关政策措施文件。',
    '2. 做好相对贫困村、相对贫困户认定的标准及申报程序公示工作。',
    '3. 制定并公开扶贫资金项目申报指南、评审结果及资金安排等文件，加快扶贫信息平台建设。',
    '4. 公开精准扶贫脱贫上年考核结果、成效及表扬名单、上年贫困退出情况。',
    '1. 做好供养救助、医疗救助、临时救助等政策、标准等信息公开；严格执行审核公示、审批公示制度；对低保、特困人员供养相关信息和保障金额实行长期公示。',
    '2. 做好灾害救助政策、救助对象、救助标准、救助款物的信息公开,落实张榜公示制度,定期发布全市灾情及灾害救助工作进展及灾害救助资金物资调拨使用情况。',
    '1. 推进公共就业服务机构信息联网,就地就近为用工企业和劳动者提供就业创业信息。',
    '2. 运用网站、短信、微信公众号等平台,及时发布就业创业政策、办事指南、人力资源市场供求状况、就业创业活动安排等信息。',
    '1. 公开通报全市各地住房保障工作(含棚户区改造和保障性住房)目标任务。',
    '2. 公开全市住房保障项目信息,实行台账管理并动态更新。部署开展2016年住房保障信息公开工作。',
    '3. 公开农村危房改造政策、对象认定过程、补助资金分配等文件或相关内容。部署开展2016年农村危房改造信息公开工作。',
    '3. 根据环境保护部正在修订的《建设项目环境影响评价公众参与办法》要求, 督促指导建设单位按时公开环评信息, 推进建设项目环境影响评价公众参与。',
    '4. 加强环境信用体系建设, 指导各参评企业做好自评工作, 督促警示企业落实整改, 及时申请信用修复等工作。',
    '公布进城务工人员随迁子女参加中考、高考的报考条件。',
    '1. 创新医疗机构院务公开形式, 培育全市医疗机构微信公众号不少于 10 个。',
    '2. 加强医疗机构“重点领域信息公开专栏”建设。',
    '3. 做好食品安全地方标准和企业标准备案信息公开, 加强食品安全标准宣传。',
    '6. 在食品药品监督管理局网站设立行政处罚案件信息公开专栏。',
    '7. 做好消费警示信息发布工作，针对可能产生的危害进行解释说明或消费提示。',
    '8. 依托“黑名单”、“曝光台”等平台，加大对食品药品安全监管违法违规行为的曝光力度。',
    '9. 不定期召开新闻发布会或新闻通气会，发布相关食品药品安全信息。',
    '贯彻落实《广东省重大行政决策程序规定》，明确各级行政机关重大行政决策程序事项，依法推进行政决策公开工作。',
    '2. 视情向社会公开督查存在问题的事项名称、责任单位、责任人、推进落实不力主要事实、整改要求等内容。探索建立督查奖励机制，视情公开奖励的对象、理由、方式等内容。',
    '3. 公开预算执行和其他财政收支审计工作报告。',
    '4. 公开上年度审计查出问题整改情况报告。',
    '5. 公开2016年度对重大政策措施落实跟踪审计结果报告。',
    '1. 预算信息公开：及时公开市级政府预算信息，明确预算公开的主体、时间、内容等要求，督促各地、各部门按规定公开预算信息。',
    '3. 加强专家库建设，发挥专家解读政策的作用。',
    '4. 完善市政府门户网站政策解读栏目。',
    '5. 加强对规范性文件解读的监督, 按照省的工作部署, 推进规范性文件解读工作作为依法行政工作评内容。',
    '运用媒体及时发布重要政务信息, 为媒体准确把握重大政策精神和采访提供便利。',
    '1. 完善政府信息公开目录系统, 加强对信息更新情况的督查, 提升主动公开的规范化水平。',
    '2. 严格落实政府信息公开保密审查制度。',
    '3. 加强对规范性文件公开的审查, 对未在规定载体统一发布的规范性文件, 及时予以纠正, 并在依法行政考评中扣分。',
    '1. 开展政府网站日常监测和绩效评估。',
    '2. 办好政府公报，提升规范性文件的发布质量和时效。',
    '3. 加强12345市民热线电话管理。',
    '1. 把政务公开理论知识学习纳入全市各级行政机关公务员在职培训。',
    '2. 加强对政府信息依申请公开工作的培训指导。',
    '结合全市依法行政考评工作制订政务公开部分指标，对各地、各部门政务公开工作进行评估。',
)


def _seed_texts() -> list[str]:
    return [text for text, _ in SEED_TEXTS_WITH_DEADLINES] + list(SEED_TEXTS_WITHOUT_DEADLINE)


@pytest.mark.parametrize(("text", "phrases"), SEED_TEXTS_WITH_DEADLINES,
                         ids=[p[0] for _, p in SEED_TEXTS_WITH_DEADLINES])
def test_extract_finds_the_deadlines_written_in_a_seed_text(text: str, phrases: list[str]) -> None:
    found = extract_text_deadlines(text)
    assert [td.phrase for td in found] == phrases
    for td in found:
        assert text[td.span[0]:td.span[1]] == td.phrase
        compile_phrase(td.phrase, plan_year=PLAN_YEAR, published=PUBLISHED)


@pytest.mark.parametrize("text", SEED_TEXTS_WITHOUT_DEADLINE)
def test_extract_finds_nothing_in_seed_texts_without_a_deadline(text: str) -> None:
    # Vague adverbs (及时, 定期, 适时, 视情) and plain years ("2016年度") are not deadlines.
    assert extract_text_deadlines(text) == []


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@pytest.mark.parametrize("named", NAMED_IN_TEXT)
def test_extract_finds_every_in_text_deadline_the_issue_names(named: str) -> None:
    key = normalise(named)
    hits = 0
    for text in _seed_texts():
        norm, index = _normalise_mapped(text)
        at = norm.find(key)
        if at < 0:
            continue
        hits += 1
        where = (index[at], index[at + len(key) - 1] + 1)
        assert any(_overlaps(where, td.span) for td in extract_text_deadlines(text)), (named, text)
    assert hits >= 1, f"{named!r} is not in any seed text"


def test_extracted_text_deadline_is_a_value() -> None:
    (found,) = extract_text_deadlines("并在本方案公布后 30 个工作日内在本地区本部门门户网站公开")
    assert found == TextDeadline(phrase="在本方案公布后 30 个工作日内", span=(1, 17), form="trigger")
    with pytest.raises(AttributeError):
        found.phrase = "x"  # type: ignore[misc]


def test_extract_keeps_spans_of_the_original_text_with_full_width_and_numerals() -> None:
    text = "各单位应于　六月三十日前　报送，并自２０１６年起每季度公开。"
    found = extract_text_deadlines(text)
    assert [td.phrase for td in found] == ["六月三十日前", "自２０１６年起每季度"]
    assert [spec_json(td.phrase) for td in found] == [
        {"kind": "fixed", "due": "2016-06-30"},
        {"kind": "recurring", "freq": "quarterly", "start": "2016-01-01"}]


# ------------------------------------------------------------------------- domain.md and the issue's examples

EXAMPLES: list[tuple[str, dict[str, Any]]] = [
    # fixed dates and the month conventions
    ("2016年12月底前", FIXED_2016_END),
    ("2016年底前", FIXED_2016_END),
    ("2016年7月底前", {"kind": "fixed", "due": "2016-07-31"}),
    ("2016年10月前", {"kind": "fixed", "due": "2016-09-30"}),
    ("2017年1月前", FIXED_2016_END),
    ("2017年第1季度", {"kind": "fixed", "due": "2017-03-31"}),
    ("2017年2月", {"kind": "fixed", "due": "2017-02-28"}),
    ("2016年2月", {"kind": "fixed", "due": "2016-02-29"}),
    ("6月30日前", {"kind": "fixed", "due": "2016-06-30"}),
    ("6月30号前", {"kind": "fixed", "due": "2016-06-30"}),
    ("2016-12-31", FIXED_2016_END),
    ("2016.6.30前", {"kind": "fixed", "due": "2016-06-30"}),
    ("X月底前".replace("X", "3"), {"kind": "fixed", "due": "2016-03-31"}),
    ("3月底以前完成", {"kind": "fixed", "due": "2016-03-31"}),
    ("3月末", {"kind": "fixed", "due": "2016-03-31"}),
    ("2016年11月上旬", {"kind": "fixed", "due": "2016-11-10"}),
    ("2016年11月中旬", {"kind": "fixed", "due": "2016-11-20"}),
    ("2016年11月下旬", {"kind": "fixed", "due": "2016-11-30"}),
    ("第1季度", {"kind": "fixed", "due": "2016-03-31"}),
    ("一季度", {"kind": "fixed", "due": "2016-03-31"}),
    ("第三季度末", {"kind": "fixed", "due": "2016-09-30"}),
    ("上半年", {"kind": "fixed", "due": "2016-06-30"}),
    ("下半年", FIXED_2016_END),
    ("2017年上半年", {"kind": "fixed", "due": "2017-06-30"}),
    ("年底前", FIXED_2016_END),
    ("年内", FIXED_2016_END),
    ("今年年底前", FIXED_2016_END),
    ("明年6月底前", {"kind": "fixed", "due": "2017-06-30"}),
    ("2016年", FIXED_2016_END),
    ("2017年前", FIXED_2016_END),
    ("遇节假日顺延，2016年10月1日前", {"kind": "fixed", "due": "2016-10-01", "roll": "next_workday"}),
    # hedges
    ("2016年12月底前完成", FIXED_2016_END),
    ("确保2016年12月底前完成", FIXED_2016_END),
    ("力争2016年底前完成", {"kind": "fixed", "due": "2016-12-31",
                          "note": "力争: a softened deadline (a target, not a hard limit)"}),
    ("原则上6月30日以前完成", {"kind": "fixed", "due": "2016-06-30",
                           "note": "原则上: 'in principle' — exceptions are allowed"}),
    # recurring
    ("每月", {"kind": "recurring", "freq": "monthly"}),
    ("每季", {"kind": "recurring", "freq": "quarterly"}),
    ("按季度", {"kind": "recurring", "freq": "quarterly"}),
    ("每年", {"kind": "recurring", "freq": "annual"}),
    ("每月10日前", {"kind": "recurring", "freq": "monthly", "day": 10}),
    ("每季度末", {"kind": "recurring", "freq": "quarterly", "day": "last"}),
    ("每年3月底前", {"kind": "recurring", "freq": "annual", "months": [3], "day": "last"}),
    ("每年12月31日前", {"kind": "recurring", "freq": "annual", "months": [12], "day": 31}),
    ("4-10月每月", {"kind": "recurring", "freq": "monthly", "months": [4, 5, 6, 7, 8, 9, 10]}),
    ("4月至10月每月", {"kind": "recurring", "freq": "monthly", "months": [4, 5, 6, 7, 8, 9, 10]}),
    ("供暖季（11-3月）每月", {"kind": "recurring", "freq": "monthly", "months": [1, 2, 3, 11, 12]}),
    ("中考3月高考11月", {"kind": "recurring", "freq": "annual", "months": [3, 11],
                      "note": "中考: 3月; 高考: 11月 (each year)"}),
    ("2016年起，每半年", {"kind": "recurring", "freq": "semiannual", "start": "2016-01-01"}),
    ("自2016年7月起每月", {"kind": "recurring", "freq": "monthly", "start": "2016-07-01"}),
    ("政府信息公开年度报告", {"kind": "recurring", "freq": "annual"}),
    ("12月报送", FIXED_2016_END),  # a month, then 报送: not a monthly report
    # ongoing
    ("全年工作", WHOLE_2016),
    ("2017年全年", {"kind": "ongoing", "until": "2017-12-31"}),
    ("长期坚持", {"kind": "ongoing", "until": None}),
    ("持续推进", {"kind": "ongoing", "until": None}),
    # triggered and relative
    ("待省文件出台后20日内", {"kind": "triggered", "event": "provincial_document_issued", "offset": {"days": 20}}),
    ("自省文件发布之日起10个工作日内", {
        "kind": "triggered", "event": "provincial_document_issued", "offset": {"working_days": 10}}),
    ("国务院文件印发后一个月内", {"kind": "triggered", "event": "national_document_issued", "offset": {"months": 1}}),
    ("24小时内", {"kind": "triggered", "event": "unspecified_event", "offset": {"hours": 24}, "ambiguous": True,
                "note": "24小时内: a window with no event named; bind it to a plan trigger"}),
    ("待条件成熟后", {"kind": "triggered", "event": "document_issued", "description": "待条件成熟", "offset": None,
                  "ambiguous": True,
                  "note": "unrecognised event '待条件成熟': generic name 'document_issued'; "
                          "bind it to a plan trigger and confirm"}),
    ("收到通知后5个工作日内", {"kind": "triggered", "event": "document_received", "description": "收到通知",
                        "offset": {"working_days": 5},
                        "ambiguous": True,
                        "note": "unrecognised event '收到通知': generic name 'document_received'; "
                                "bind it to a plan trigger and confirm"}),
    ("本方案印发之日起3个月内", {"kind": "relative", "anchor": "plan_published", "offset": {"months": 3},
                         "due": "2016-09-23"}),
    ("本方案公布后10日内", {"kind": "relative", "anchor": "plan_published", "offset": {"days": 10},
                       "due": "2016-07-03"}),
    # ambiguous readings
    ("定期", {"kind": "ongoing", "until": None, "ambiguous": True, "note": PERIODIC}),
    ("适时", {"kind": "ongoing", "until": None, "ambiguous": True,
            "note": "适时 (when appropriate): no date; read as open-ended ongoing work"}),
    ("按预算法规定", {"kind": "triggered", "event": "budget_approved", "offset": {"days": 20}, "ambiguous": True,
                "note": BUDGET_LAW}),
    ("按规定完成", {"kind": "ongoing", "until": None, "ambiguous": True,
               "note": "按规定: the deadline is whatever that sets and none is stated here; "
                       "read as open-ended until a date is set"}),
    ("第2季度前", {"kind": "fixed", "due": "2016-03-31", "ambiguous": True,
               "note": "第2季度前 read like X月前: before the quarter begins (the end of the previous quarter); "
                       "confirm it does not mean the quarter's end"}),
]


@pytest.mark.parametrize(("phrase", "expected"), EXAMPLES, ids=[p for p, _ in EXAMPLES])
def test_forms_and_conventions(phrase: str, expected: dict[str, Any]) -> None:
    assert spec_json(phrase) == expected


def test_a_date_without_a_year_needs_the_plan_year() -> None:
    for phrase in ("6月30日前", "年内", "全年工作", "第1季度", "上半年", "年底前", "今年底"):
        assert phrase_error(phrase, plan_year=None).code == "needs-plan-year"
    # A written year needs none.
    assert compile_phrase("2016年7月底前完成").to_json() == {"kind": "fixed", "due": "2016-07-31"}
    assert compile_phrase("待省文件出台后").to_json() == PROVINCIAL_DOC


# ------------------------------------------------------------------------- relative deadlines and the calendar

def test_relative_due_is_counted_on_the_working_day_calendar() -> None:
    # 2016-06-23 + 30 working days: the Dragon Boat holiday (6月9–11日) is already past; 2016-08-04.
    calendar = WorkingCalendar.default()
    spec = compile_phrase("本方案公布后30个工作日内", published=PUBLISHED, calendar=calendar)
    assert isinstance(spec, Relative) and spec.due == dt.date(2016, 8, 4)
    assert spec.due == calendar.add_workdays(PUBLISHED, 30)
    # Across the National Day week (2016-10-01..07): 9-29, 9-30, then the 调休 weekend 10-08 and 10-09.
    spec = compile_phrase("本方案公布后4个工作日内", published=dt.date(2016, 9, 28), calendar=calendar)
    assert spec.to_json()["due"] == "2016-10-09"  # a Sunday that is a working day


def test_relative_without_a_publication_date_has_no_due() -> None:
    assert spec_json("本方案公布后30个工作日内", published=None) == {
        "kind": "relative", "anchor": "plan_published", "offset": {"working_days": 30}}


def test_relative_due_is_left_out_when_the_calendar_lacks_the_year() -> None:
    last = WorkingCalendar.default().span[1]
    published = dt.date(last + 5, 3, 1)
    assert spec_json("本方案公布后30个工作日内", published=published) == {
        "kind": "relative", "anchor": "plan_published", "offset": {"working_days": 30},
        "note": f"due not computed: the working-day calendar has no data for {last + 5}"}


def test_relative_due_inside_a_composite() -> None:
    spec = compile_phrase("本方案公布后30个工作日内；2016年底前", published=PUBLISHED)
    assert isinstance(spec, Composite)
    assert spec.to_json()["parts"][0]["due"] == "2016-08-04"


def test_a_window_past_the_last_date_is_an_error() -> None:
    error = phrase_error("本方案公布后99999999天内", published=PUBLISHED)
    assert error.code == "impossible-date"


# ------------------------------------------------------------------------- errors

@pytest.mark.parametrize("phrase", ["9月31日", "2月30日", "2017年2月29日", "2016年13月底前", "第5季度",
                                    "2016年4月31日前", "每月32日前", "每年2月30日", "0000年底前"])
def test_impossible_dates_are_errors_never_shifted(phrase: str) -> None:
    error = phrase_error(phrase, plan_year=PLAN_YEAR)
    assert error.code == "impossible-date"
    assert error.known_forms == ()


def test_february_29_is_impossible_only_outside_leap_years() -> None:
    assert spec_json("2月29日前", plan_year=2016) == {"kind": "fixed", "due": "2016-02-29"}
    assert phrase_error("2月29日前", plan_year=2017).code == "impossible-date"
    # Impossible in every year is said before the plan year is asked for.
    assert phrase_error("9月31日前").code == "impossible-date"
    assert phrase_error("2月29日前").code == "needs-plan-year"


@pytest.mark.parametrize("phrase", ["下周一", "尽早完成任务吧后", "6月30日前7", "每季度10日前", "第三季度之后的某天",
                                    "2016年起", "无", "—", "根据实际需要", "力争完成", "至少1次"])
def test_unreadable_phrases_name_themselves_and_list_the_known_forms(phrase: str) -> None:
    error = phrase_error(phrase, plan_year=PLAN_YEAR)
    assert error.code == "unknown-phrase"
    assert error.known_forms == KNOWN_FORMS
    assert "known forms" in str(error) and KNOWN_FORMS[0] in str(error)


def test_empty_phrase() -> None:
    assert phrase_error("  　 ").code == "empty-phrase"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"plan_year": "2016"}, "plan_year"), ({"plan_year": True}, "plan_year"), ({"plan_year": 0}, "plan_year"),
    ({"published": "2016-06-23"}, "published"), ({"published": dt.datetime(2016, 6, 23)}, "published"),
])
def test_bad_arguments_are_type_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        compile_phrase("2016年底前", **kwargs)


def test_known_forms_carry_an_example_each() -> None:
    assert len(KNOWN_FORMS) >= 20
    assert all(" — e.g. " in form for form in KNOWN_FORMS)


# ------------------------------------------------------------------------- Chinese numerals, full width, spaces

@pytest.mark.parametrize(("phrase", "expected"), [
    ("六月二十日前", {"kind": "fixed", "due": "2016-06-20"}),
    ("二〇一六年十二月三十一日前", FIXED_2016_END),
    ("十二月底前", FIXED_2016_END),
    ("十月前", {"kind": "fixed", "due": "2016-09-30"}),
    ("二十日内", {"kind": "triggered", "event": "unspecified_event", "offset": {"days": 20}, "ambiguous": True,
              "note": "20日内: a window with no event named; bind it to a plan trigger"}),
    ("省文件出台后三个月内", {"kind": "triggered", "event": "provincial_document_issued", "offset": {"months": 3}}),
    ("省文件出台后两个工作日内", {"kind": "triggered", "event": "provincial_document_issued",
                         "offset": {"working_days": 2}}),
    ("省文件出台后两周内", {"kind": "triggered", "event": "provincial_document_issued", "offset": {"days": 14}}),
    ("２０１６年１２月底前完成", FIXED_2016_END),
    ("２０１６ 年 １２ 月底前完成", FIXED_2016_END),
    ("流行季节（４－１０月）每月", {"kind": "recurring", "freq": "monthly", "months": [4, 5, 6, 7, 8, 9, 10]}),
    ("2016 年 12 月底前", FIXED_2016_END),
])
def test_numerals_full_width_and_spaces(phrase: str, expected: dict[str, Any]) -> None:
    assert spec_json(phrase) == expected


def test_numerals_stay_text_when_no_unit_follows() -> None:
    assert normalise("统一部署，一扇门") == "统一部署,一扇门"
    assert normalise("两个工作日内，第一季度，三十一日") == "2个工作日内,第1季度,31日"


_CN = "零一二三四五六七八九"


def _to_chinese(n: int) -> str:
    """An independent writer of Chinese numerals (1..99) for the round trip."""
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _CN[ones]
    return ("" if tens == 1 else _CN[tens]) + "十" + (_CN[ones] if ones else "")


@given(st.integers(min_value=1, max_value=99))
def test_chinese_numerals_round_trip(n: int) -> None:
    assert cn_to_int(_to_chinese(n)) == n


@given(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9998, 12, 31)))
def test_chinese_numeral_dates_equal_digit_dates(d: dt.date) -> None:
    chinese = f"{_to_chinese(d.month)}月{_to_chinese(d.day)}日前"
    assert compile_phrase(chinese, plan_year=d.year) == compile_phrase(f"{d.month}月{d.day}日前", plan_year=d.year)
    year = "".join("〇一二三四五六七八九"[int(c)] for c in str(d.year))
    assert compile_phrase(f"{year}年{chinese}") == Fixed(due=d)


# ------------------------------------------------------------------------- properties

@given(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9998, 12, 31)), st.booleans())
def test_any_valid_written_date_round_trips(d: dt.date, before: bool) -> None:
    phrase = f"{d.year}年{d.month}月{d.day}日" + ("前" if before else "")
    assert compile_phrase(phrase) == Fixed(due=d)


@given(st.integers(min_value=1000, max_value=9998), st.integers(min_value=1, max_value=12),
       st.sampled_from(["月底前", "月底", "月末", "月", "月底前完成", "月内", "月份"]))
def test_every_month_end_form_gives_the_last_day(year: int, month: int, suffix: str) -> None:
    last = dt.date(year, month, monthrange(year, month)[1])
    assert compile_phrase(f"{year}年{month}{suffix}") == Fixed(due=last)
    # "X月前" is before month X: the last day of the month before.
    before = dt.date(year, month, 1) - dt.timedelta(days=1)
    assert compile_phrase(f"{year}年{month}月前完成") == Fixed(due=before)


@st.composite
def impossible_dates(draw: st.DrawFn) -> tuple[int, int, int]:
    year = draw(st.integers(min_value=1000, max_value=9998))
    if draw(st.booleans()):
        month = draw(st.integers(min_value=1, max_value=12))
        day = draw(st.integers(min_value=monthrange(year, month)[1] + 1, max_value=99))
    else:
        month = draw(st.integers(min_value=13, max_value=99))
        day = draw(st.integers(min_value=1, max_value=31))
    return year, month, day


@given(impossible_dates(), st.sampled_from(["", "前", "前完成"]))
def test_impossible_dates_always_raise(ymd: tuple[int, int, int], suffix: str) -> None:
    year, month, day = ymd
    for phrase, plan_year in ((f"{year}年{month}月{day}日{suffix}", None), (f"{month}月{day}日{suffix}", year)):
        with pytest.raises(PhraseError) as info:
            compile_phrase(phrase, plan_year=plan_year)
        assert info.value.code == "impossible-date"
        assert info.value.phrase == phrase


_PHRASES = [p for p, _ in SEED_CELLS + SEED_IN_TEXT + EXAMPLES]
_FULL_WIDTH = {**{chr(c): chr(c + 0xFEE0) for c in range(ord("0"), ord("9") + 1)},
               "(": "（", ")": "）", ",": "，", ";": "；", ":": "：", "-": "－"}


@given(st.sampled_from(_PHRASES), st.data())
def test_normalisation_invariance(phrase: str, data: st.DataObject) -> None:
    """Inserted spaces (ASCII, ideographic, tabs, newlines) and full-width digits change nothing."""
    chars: list[str] = []
    for ch in phrase:
        if data.draw(st.booleans(), label="full width"):
            ch = _FULL_WIDTH.get(ch, ch)
        chars.append(ch)
        chars.append(data.draw(st.sampled_from(["", "", "", " ", "　", "\t", "\n "]), label="space"))
    variant = "".join(chars)
    assert compile_phrase(variant, plan_year=PLAN_YEAR, published=PUBLISHED) == \
        compile_phrase(phrase, plan_year=PLAN_YEAR, published=PUBLISHED)


_TOKENS = ["年", "月", "日", "前", "底", "内", "后", "每", "季度", "半年", "上", "下", "第", "起", "自", "待",
           "收到", "出台", "发布", "之日", "同步", "与", "文件", "省", "工作日", "个", "小时", "周", "最迟不超过",
           "全年", "定期", "及时", "按", "规定", "预算法", "部署", "至", "-", "(", ")", "，", "。", "、", "力争",
           "不少于", "次", "中考", "旬", "号", "二", "十", "两", "〇", "0", "1", "3", "12", "31", "2016", "0000",
           "99999999999", " ", "　", "<p>", "公开", "本方案"]


@settings(max_examples=300)
@given(st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=12).map("".join),
       st.sampled_from([None, 2016]), st.sampled_from([None, PUBLISHED]))
def test_any_text_compiles_to_a_valid_spec_or_a_phrase_error(phrase: str, plan_year: int | None,
                                                             published: dt.date | None) -> None:
    """No other exception escapes; every spec is valid and its JSON round-trips."""
    try:
        spec = compile_phrase(phrase, plan_year=plan_year, published=published)
    except PhraseError as exc:
        assert exc.code in ("empty-phrase", "unknown-phrase", "impossible-date", "needs-plan-year", "no-deadline",
                            "needs-published")
        return
    assert spec_from_json(spec.to_json()) == spec


@settings(max_examples=300)
@given(st.lists(st.sampled_from(_TOKENS + _seed_texts()[:8]), min_size=1, max_size=10).map("".join))
def test_extracted_phrases_are_slices_in_order_and_compile(text: str) -> None:
    found = extract_text_deadlines(text)
    assert [td.span for td in found] == sorted(td.span for td in found)
    for prev, nxt in zip(found, found[1:]):
        assert prev.span[1] <= nxt.span[0]
    for td in found:
        assert text[td.span[0]:td.span[1]] == td.phrase
        try:
            compile_phrase(td.phrase, plan_year=PLAN_YEAR)
        except PhraseError as exc:
            assert exc.code == "impossible-date"


@given(st.text(alphabet=st.sampled_from(list("年月日前后每季度半内0123456789二十一〇 　（）,，。待省文件出台发布之<p>")),
               max_size=30))
def test_mapped_normalisation_equals_normalisation(text: str) -> None:
    norm, index = _normalise_mapped(text)
    assert norm == normalise(text)
    assert len(index) == len(norm)
    assert index == sorted(index)
    assert all(0 <= i < len(text) for i in index)


def test_compile_is_cached_but_results_are_equal_values() -> None:
    a = compile_phrase("2016年12月底前完成", plan_year=PLAN_YEAR)
    b = compile_phrase("2016年12月底前完成", plan_year=PLAN_YEAR)
    assert a == b and a.to_json() == b.to_json()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", a.to_json()["due"])
