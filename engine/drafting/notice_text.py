"""Layer 2 of the tab-text drafter: one notice → one :class:`~.values.DraftPlan`.

:class:`NoticeDrafter` adds to :class:`~.drafter.Drafter` what belongs to the
notice as a whole: the body's sentences with a deadline as task 0, the
table's tasks (:class:`~.table_rows.TableDrafter`), each requirement's
deadline entries (cell phrases, then deadlines written in its text),
triggers bound to one key per event and task, the plan's title, year and
issuer, and the annex lists checked against the directory's groups.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from ..deadlines.phrases import extract_text_deadlines
from ..deadlines.spec import Triggered
from ..plans.planfile import Trigger
from .drafter import BODY_VAGUE, COVERING, DUTY, Drafter, PendingItem
from .tabtext import PARAGRAPH_NO
from .table_rows import TableDrafter
from .textutil import key as _key
from .values import DraftDeadline, DraftPlan, DraftRequirement, DraftTask, ReviewNote, describe, events_of, \
    plain_spec, quote_short

# =========================================================================== layer 2: one notice

_COVERED_TITLE = re.compile(r"关于(?:印发|转发|下发|公布)(?P<x>.+?)的通知$")


def plan_id_for(directory_id: str, doc_number: str | None, published: dt.date, used: set[str]) -> str:
    """``<directory>-<year>-<serial>`` from the 文号, else ``<directory>-<published>``; unique in ``used``."""
    m = re.search(r"[〔\[［【(（](\d{4})[〕\]］】)）](\d{1,4})号", doc_number or "")
    base = f"{directory_id}-{m.group(1)}-{m.group(2)}" if m else f"{directory_id}-{published.isoformat()}"
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}-{n}", n + 1
    used.add(candidate)
    return candidate


class NoticeDrafter(Drafter):
    """One notice: body duties (task 0), table tasks, metadata, triggers."""

    def body(self) -> list[PendingItem]:
        """The body's sentences that carry a deadline become task 0's requirements.

        A sentence qualifies when :func:`extract_text_deadlines` finds a
        deadline in it, or (the body has no deadline cell to fall back on)
        it says 适时/定期. Its units are whom it addresses: a directory name
        it starts with, or the salutation (主送) for 各地各部门. Sentences
        that read like duties but carry no deadline are listed in a
        【正文未列】 note instead, so nothing is dropped silently.
        """
        addressees, addressee_notes = self.addressees()
        items: list[PendingItem] = []
        unlisted: list[str] = []
        last: dict[int, str] = {}
        for sentence in self.notice.sentences:
            text = PARAGRAPH_NO.sub("", sentence.text, count=1).strip()
            if not text or COVERING.search(text):
                continue
            phrases = [found.phrase for found in extract_text_deadlines(text)]
            if not phrases:
                phrases = [word for word in BODY_VAGUE if word in text][:1]
            subject = self.subject(text)
            if not phrases:
                if DUTY.search(text) and len(text) >= 8:
                    unlisted.append(text)
                if subject is not None and (subject[0] == "unit" or addressees):
                    last[sentence.paragraph] = subject[1] if subject[0] == "unit" else addressees or ""
                continue
            item = PendingItem(index=len(items), row=-1, line=sentence.line, number=None, text=text, task=0,
                         no=len(items) + 1)
            if subject is not None and subject[0] == "unit":
                cell = subject[1]
            elif subject is not None and addressees:
                cell = addressees
                extra = ("；" + "；".join(addressee_notes)) if addressee_notes else ""
                item.note("units", f"【待核】正文主语“{subject[1]}”，按主送单位“{self.notice.addressees}”编码为"
                                   f"“{addressees}”{extra}，待核。")
            elif subject is None and sentence.paragraph in last:
                cell = last[sentence.paragraph]
                item.note("units", f"【待核】正文此句主语承上省略，按同段上一句的“{cell}”编码，待核。")
            elif subject is None and addressees:
                cell = addressees
                item.note("units", f"【待核】正文此句未写主语，按主送单位“{self.notice.addressees}”编码为"
                                   f"“{addressees}”，待核。")
            else:
                cell = subject[1] if subject is not None else "（主语不详）"
                item.note("units", f"【待核】正文此句的主语“{cell}”无法对应名录中的单位（通知没有可用的主送单位），"
                                   "请改为名录中的单位或组。")
            last[sentence.paragraph] = cell
            item.units = cell
            item.phrases = [(phrase, "text") for phrase in phrases]
            items.append(item)
        if unlisted:
            note = ReviewNote(field="text", note="【正文未列】正文中以下句子像是要求但没有时限，未列为要求（如需督办，"
                                                 "请补上时限后另列一条）：" + "；".join(f"“{t}”" for t in unlisted))
            if items:
                items[0].notes.append(note)
            else:
                self.plan_notes.append(note)
        return items

    def entries(self, item: PendingItem, hints: dict[str, str]) -> list[DraftDeadline]:
        """The item's deadline entries: its cell phrases, then deadlines found in its text."""
        entries: list[DraftDeadline] = []
        for phrase, source in item.phrases:
            spec, status, error = self.compile(phrase)
            entries.append(DraftDeadline(phrase=phrase, source=source, spec=spec, status=status, error=error))
        if item.task != 0:
            cell = "；".join(phrase for phrase, _ in item.phrases)
            for found in extract_text_deadlines(item.text):
                spec, status, error = self.compile(found.phrase)
                shared = [event for event in events_of(spec) if any(event in events_of(e.spec) for e in entries)]
                if shared and len(shared) == len(events_of(spec)):
                    hints.setdefault(shared[0], found.phrase)
                    item.note("deadline", f"【正文时限】正文“{found.phrase}”点明了单元格“{cell}”所等的事件"
                                          f"（{shared[0]}），两者是同一事件：只列单元格一条，触发器的说明取正文。")
                    continue
                if spec is not None and any(e.spec is not None and plain_spec(e.spec) == plain_spec(spec) for e in entries):
                    continue  # the text repeats the cell's deadline
                entries.append(DraftDeadline(phrase=found.phrase, source="text", spec=spec, status=status,
                                             error=error))
                kept = f"单元格的“{cell}”仍保留" if item.phrases else "单元格没有时限"
                reading = describe(spec) if spec is not None else "无法读取的时限"
                item.note("deadline", f"【正文时限】正文“{found.phrase}”另列为{reading}；{kept}，待核。")
        if not entries:
            spec, status, error = self.compile("（原文无时限）")
            entries.append(DraftDeadline(phrase="（原文无时限）", source="cell", spec=spec, status=status, error=error))
        for entry in entries:
            self.entry_notes(item, entry)
        return entries

    def metadata(self) -> tuple[str, int, str]:
        """plan.title, plan.plan_year and plan.issuer, with notes for whatever had to be supplied."""
        notice = self.notice
        issuer = notice.issuer or "（落款缺失）"
        if notice.issuer is None:
            self.plan_note("task", "【待核】日期行之上没有落款单位，plan.issuer 待补。")
        date_cn = f"{notice.published.year}年{notice.published.month}月{notice.published.day}日"
        if notice.title:
            m = _COVERED_TITLE.search(notice.title)
            title = m.group("x").strip("《》") if m else notice.title
        elif notice.table_title:
            title = notice.table_title
            self.plan_note("task", "【待核】未找到通知标题（“关于…的通知”）：plan.title 取表格标题，"
                                   "文号、主送单位未知，待核。")
        else:
            title = f"{issuer}{date_cn}通知（原文标题缺失，待补）"
            fragments = [s.text for s in notice.sentences if not s.text.endswith(("。", "！", "？", "!", "?"))]
            rest = (f"正文前有{len(fragments)}行不成句（如“{quote_short(fragments[0])}”，疑为被截断的名单等），未读为要求。"
                    if fragments else "")
            self.plan_note("task", "【待核】通知开头被截断（或没有标题）：原标题、文号、主送单位都未找到；plan.title "
                                   f"为占位，须按原件补上。{rest}格式没有方案级的复核意见，故记在这里。")
        if notice.title and not notice.doc_number:
            self.plan_note("task", "【待核】标题下没有找到文号（如“揭府办函〔2016〕71号”），doc_number 略去，待核。")
        if notice.table_title and notice.title and _key(notice.table_title) != _key(title):
            self.plan_note("task", f"【原文疑误】表格标题作“{notice.table_title}”，与通知标题中的方案名“{title}”"
                                   "不同：plan.title 取通知标题，待核。")
        year = self.plan_year
        m = re.search(r"(\d{4})年", _key(title))
        if m and abs(int(m.group(1)) - notice.published.year) <= 1:
            year = int(m.group(1))
            if year != notice.published.year:
                self.plan_note("deadline", f"【待核】方案标题写{year}年，通知{date_cn}发出：plan_year 取{year}，待核。")
        return title, year, issuer

    def annex_notes(self) -> None:
        """An annex list that a units group stands for should match that group."""
        for annex in self.notice.annexes:
            if not annex.title or not annex.names:
                continue
            expanded = self.directory.lookup(annex.title)
            if expanded is None:
                self.plan_note("units", f"【待核】附件“{annex.title}”（{len(annex.names)}个单位）不是名录中的组："
                                        f"若单元格写“{annex.title}”，请在名录中增设此组。")
                continue
            listed: list[str] = []
            unknown: list[str] = []
            for name in annex.names:
                found = self.directory.lookup(name)
                if found is None:
                    unknown.append(name)
                else:
                    listed.extend(found)
            missing = [u for u in expanded if u not in listed]
            extra = [u for u in dict.fromkeys(listed) if u not in expanded]
            if unknown or missing or extra:
                parts = []
                if unknown:
                    parts.append(f"名录中没有：{'、'.join(unknown)}")
                if extra:
                    parts.append(f"附件有、组里没有：{'、'.join(extra)}")
                if missing:
                    parts.append(f"组里有、附件没有：{'、'.join(missing)}")
                self.plan_note("units", f"【待核】附件“{annex.title}”与名录中的组“{annex.title}”不一致"
                                        f"（{'；'.join(parts)}），待核。")

    def draft(self, *, directory_id: str, used_ids: set[str], source: str | None) -> DraftPlan | None:
        title, plan_year, issuer = self.metadata()
        self.plan_year = plan_year
        self.annex_notes()
        body = self.body()
        table_tasks, table_items = TableDrafter(self).run()
        tasks: list[tuple[int, str, int, list[PendingItem]]] = []
        if body:
            tasks.append((0, "通知正文要求", body[0].line, body))
            if not table_items:
                body[0].note("task", "【待核】通知没有分工表：正文中带时限的句子列为第0项“通知正文要求”；"
                                     "如需，可改为第1项并拟定任务标题。")
        for task in table_tasks:
            tasks.append((task.no, task.title, task.line, [i for i in table_items if i.task == task.no]))
        if not tasks:
            return None
        first = tasks[0][3][0]
        first.notes[:0] = self.plan_notes
        triggers: dict[str, Trigger] = {}
        drafted: list[DraftTask] = []
        for no, task_title, line, items in tasks:
            requirements: list[DraftRequirement] = []
            for item in items:
                hints: dict[str, str] = {}
                entries = self.entries(item, hints)
                bound: list[DraftDeadline] = []
                for entry in entries:
                    events = events_of(entry.spec)
                    if not events:
                        bound.append(entry)
                        continue
                    key = f"{events[0]}_{no}"
                    if key not in triggers:
                        where = "通知正文" if no == 0 else f"第{no}项“{quote_short(task_title)}”"
                        every = any(isinstance(leaf, Triggered) and leaf.per_event
                                    for leaf in (entry.spec.leaves() if entry.spec else ()))
                        described = f"{hints.get(events[0], entry.phrase)}（{where}）"
                        triggers[key] = Trigger(key=key, event=events[0], description=(
                            described + ("；每发生一次即为一次" if every else "")))
                    if len(events) > 1:
                        item.note("deadline", f"【待核】“{entry.phrase}”等待{len(events)}个不同的事件"
                                              f"（{'、'.join(events)}），一条时限只能绑定一个触发器：请拆成几条。")
                    bound.append(replace(entry, trigger=key))
                cell, names, unknown, repaired = self.resolve_units(item, item.units or "")
                requirements.append(DraftRequirement(
                    no=item.no, text=item.text, units=cell, unit_names=names, unknown_units=unknown,
                    deadlines=tuple(bound), inherited=tuple(dict.fromkeys(item.inherited)),
                    review=tuple(item.notes), repaired_units=repaired, line=item.line))
            drafted.append(DraftTask(no=no, title=task_title, requirements=tuple(requirements), line=line))
        notice = self.notice
        return DraftPlan(
            id=plan_id_for(directory_id, notice.doc_number, notice.published, used_ids), title=title, issuer=issuer,
            published=notice.published, plan_year=plan_year, units_id=directory_id, tasks=tuple(drafted),
            triggers=tuple(triggers.values()), doc_number=notice.doc_number,
            source=f"{source}（第{notice.first_line}–{notice.last_line}行）" if source else None,
            first_line=notice.first_line, last_line=notice.last_line)


