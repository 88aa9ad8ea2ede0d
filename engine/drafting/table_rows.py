"""Layer 2 of the tab-text drafter: the table's rows → tasks and requirements.

Page breaks repeat a task's number and title (a continuation, not a new
task); merged cells come out blank (a value inherited from above, noted
【继承】); a cell can hold several numbered items (split, noted 【拆分】) or
several deadlines shared by several requirements (aligned in order); rows
shifted by the extraction are moved to the task their subject names (noted
【错位】). Every such decision becomes a review note on the requirement.
"""

from __future__ import annotations

from .drafter import Drafter, PendingItem, PendingTask, align_parts
from .textutil import _TAG, _sentences, cell_parts, key as _key, nfkc as _nfkc, split_items, tidy
from .values import ReviewNote, quote_short, subjects_of

class TableDrafter:
    """Turns a notice's table rows into tasks and requirements (mutable working state)."""

    def __init__(self, drafter: Drafter) -> None:
        self.d = drafter
        self.rows = drafter.notice.table
        self.tasks: dict[int, PendingTask] = {}
        self.items: list[PendingItem] = []

    def run(self) -> tuple[list[PendingTask], list[PendingItem]]:
        self.read()
        if not self.items:
            return [], []
        self.realign()
        self.number()
        for task in self.tasks.values():
            seq = [item for item in self.items if item.task == task.no]
            self.assign_units(seq)
            self.assign_deadlines(seq)
        for task in self.tasks.values():
            self.title_variants(task)
        return [t for t in self.tasks.values() if any(i.task == t.no for i in self.items)], self.items

    # ----------------------------------------------------------------- rows to items

    def read(self) -> None:
        current: int | None = None
        for r, row in enumerate(self.rows):
            label = _nfkc(row.no).strip()
            title = tidy(_TAG.sub(" ", row.title))
            if label.isdigit():
                no = int(label)
                task = self.tasks.get(no)
                if task is None:
                    task = PendingTask(no=no, title=title, line=row.line)
                    if not title:
                        task.title = f"第{no}项（标题缺失）"
                        task.notes.append(ReviewNote(field="task", note=f"【待核】第{no}项的工作任务栏空白"
                                                                        f"（第{row.line}行），标题待补。"))
                    self.tasks[no] = task
                elif title and _key(title) not in {_key(task.title), *(_key(v) for v, _ in task.variants)}:
                    task.variants.append((title, row.line))
                current = no
            elif title and (current is None or _key(title) != _key(self.tasks[current].title)):
                same = next((t for t in self.tasks.values() if _key(t.title) == _key(title)), None)
                if same is not None:
                    current = same.no
                else:
                    no = max(self.tasks, default=0) + 1
                    note = f"【待核】第{row.line}行有工作任务“{quote_short(title)}”，但序号栏空白：编为第{no}项，待核。"
                    self.tasks[no] = PendingTask(no=no, title=title, line=row.line,
                                           notes=[ReviewNote(field="task", note=note)])
                    current = no
            found = split_items(row.requirements)
            if not found:
                if row.units.strip() or row.deadline.strip():
                    where = self.items[-1] if self.items else None
                    text = (f"【错位】原文第{row.line}行只有单位栏“{quote_short(tidy(row.units))}”、时限栏"
                            f"“{quote_short(tidy(row.deadline))}”而没有要求，未读入，待核。")
                    if where is not None:
                        where.note("text", text)
                    else:
                        self.d.plan_note("text", text)
                continue
            for number, text in found:
                self.items.append(PendingItem(index=len(self.items), row=r, line=row.line, number=number, text=text,
                                        task=current if current is not None else -1))
        synthesized = not self.tasks and bool(self.items)
        if synthesized:
            title = self.d.notice.table_title or "工作任务（标题缺失）"
            self.tasks[1] = PendingTask(no=1, title=title, line=self.rows[0].line, notes=[ReviewNote(
                field="task", note="【待核】表格没有序号栏或序号：全部要求编为第1项，待核。")])
        first = next(iter(self.tasks), None)
        for item in self.items:
            if item.task == -1 and first is not None:
                item.task = first
                if not synthesized:
                    item.note("task", f"【错位】此条（原文第{item.line}行）在第一个有序号的行之前：归入第{first}项，"
                                      "待核。")

    def title_variants(self, task: PendingTask) -> None:
        """【标题异文】: a continuation page repeats the title in other words; the first is kept."""
        seq = [item for item in self.items if item.task == task.no]
        if not seq:
            return
        for variant, line in task.variants:
            seq[0].note("task", f"【标题异文】本任务跨页，续页（第{line}行）标题为“{variant}”；保留首页标题"
                                f"“{task.title}”，待核。")
        for note in task.notes:
            seq[0].notes.append(note)

    # ----------------------------------------------------------------- misaligned rows

    def realign(self) -> None:
        """Move a requirement whose row the extraction shifted into the neighbouring task.

        Evidence is either the subject (the text is about what the next or
        previous task's title is about, and not about its own task's) or the
        numbering (an item "1." in the middle of a task, while the next task
        starts at "2."). Only an item at a task boundary moves, and never the
        last item of a task, so tasks stay contiguous and none is emptied.
        """
        order = list(self.tasks)
        position = {no: k for k, no in enumerate(order)}
        for item in self.items:
            same = [x for x in self.items if x.task == item.task]
            if len(same) < 2:
                continue
            k = position[item.task]
            own = self.tasks[item.task]
            subjects = subjects_of(item.text)
            conflicts = bool(subjects) and bool(own.subjects) and not subjects & own.subjects
            if same[-1] is item and k + 1 < len(order):
                target = self.tasks[order[k + 1]]
                following = [x for x in self.items if x.task == target.no]
                first_number = following[0].number if following else None
                reason = None
                if conflicts and subjects & target.subjects:
                    reason = (f"内容属“{'、'.join(sorted(subjects))}”，与第{own.no}项“{quote_short(own.title)}”不符、"
                              f"与第{target.no}项相符")
                elif item.number == 1 and first_number is not None and first_number > 1:
                    reason = (f"编号“1.”在第{own.no}项中间重新开始，而第{target.no}项的第一条编号是"
                              f"“{first_number}.”（序号、任务栏比要求栏低了一行）")
                if reason is not None:
                    self.move(item, target, reason)
                    continue
            if same[0] is item and k > 0:
                target = self.tasks[order[k - 1]]
                before = [x for x in self.items if x.task == target.no]
                last_number = before[-1].number if before else None
                continues = item.number is None or (last_number is not None and item.number == last_number + 1)
                if conflicts and subjects & target.subjects and continues:
                    self.move(item, target, f"内容属“{'、'.join(sorted(subjects))}”，与第{own.no}项"
                                            f"“{quote_short(own.title)}”不符、与第{target.no}项相符（编号也接续第{target.no}项）")

    def move(self, item: PendingItem, target: PendingTask, reason: str) -> None:
        origin = self.tasks[item.task]
        item.task = target.no
        item.note("task", f"【错位】此条（原文第{item.line}行）排在第{origin.no}项“{quote_short(origin.title)}”下，但{reason}："
                          f"归入第{target.no}项“{quote_short(target.title)}”。")
        rows = self.rows
        own = rows[item.row].units
        own_subjects = subjects_of(own)
        if not own.strip() or (own_subjects and not own_subjects & target.subjects):
            for r in (item.row + 1, item.row - 1):
                if 0 <= r < len(rows) and rows[r].units.strip() and subjects_of(rows[r].units) & target.subjects:
                    item.units_override = (r, rows[r].units)
                    why = "空白" if not own.strip() else f"是“{quote_short(tidy(own))}”，与此条内容不符"
                    item.note("units", f"【错位】此条所在行的单位栏{why}；单位取自相邻第{rows[r].line}行的"
                                       f"“{quote_short(tidy(rows[r].units))}”（与第{target.no}项的内容相符），待核。")
                    break
        if rows[item.row].deadline.strip():
            item.note("deadline", f"【错位】时限取此条所在行的“{quote_short('；'.join(cell_parts(rows[item.row].deadline)))}”"
                                  "（要求栏与时限栏同在一行），待核。")

    # ----------------------------------------------------------------- numbers and cells

    def number(self) -> None:
        for task in self.tasks.values():
            seq = [item for item in self.items if item.task == task.no]
            used: set[int] = set()
            for item in seq:
                if item.number is not None and item.number >= 1 and item.number not in used:
                    item.no = item.number
                    used.add(item.number)
            for item in seq:
                if item.no == 0:
                    item.no = max(used, default=0) + 1
                    used.add(item.no)
                    if item.number is not None:
                        item.note("text", f"【原文疑误】编号“{item.number}.”在第{task.no}项中重复："
                                          f"编为第{item.no}条，待核。")

    @staticmethod
    def groups(seq: list[PendingItem]) -> list[list[PendingItem]]:
        """Consecutive items of one row: they share the row's cells."""
        out: list[list[PendingItem]] = []
        for item in seq:
            if out and out[-1][0].row == item.row:
                out[-1].append(item)
            else:
                out.append([item])
        return out

    def before(self, item: PendingItem) -> PendingItem | None:
        """The item just above in the table, in any task (for a blank cell at a task's top)."""
        return self.items[item.index - 1] if item.index > 0 else None

    def assign_units(self, seq: list[PendingItem]) -> None:
        previous: PendingItem | None = None
        for group in self.groups(seq):
            row = self.rows[group[0].row]
            if group[0].units_override is not None:
                value = "，".join(cell_parts(group[0].units_override[1]))
                for item in group:
                    item.units = value
            elif row.units.strip():
                parts = cell_parts(row.units)
                if len(parts) > 1 and len(group) > 1:
                    for index, item in enumerate(group):
                        k = align_parts(index, len(group), len(parts))
                        item.units = parts[k]
                        if len(parts) != len(group):
                            item.note("units", f"【拆分】单位栏（第{row.line}行）依次列出{len(parts)}组单位，由"
                                               f"{len(group)}条要求共用：按顺序分配，此条取第{k + 1}组"
                                               f"“{quote_short(parts[k])}”，待核。")
                else:
                    for item in group:
                        item.units = "，".join(parts)
            else:
                source = previous if previous is not None else self.before(group[0])
                for item in group:
                    if source is None or not source.units:
                        item.units = ""
                        item.note("units", "【待核】单位栏空白，上面也没有可沿用的单位：待补。")
                        continue
                    item.units = source.units
                    item.inherited.append("units")
                    where = f"第{source.no}条" if source.task == item.task else \
                        f"上一行（第{source.task}项第{source.no}条；本任务没有上一条）"
                    text = f"【继承】单位栏空白（合并单元格），沿用{where}的“{quote_short(source.units)}”。"
                    about, owner = subjects_of(item.text), subjects_of(source.units)
                    topic = self.tasks[item.task].subjects
                    if about and owner and not about & owner and not owner & topic:
                        text += (f"但此条内容属“{'、'.join(sorted(about))}”，与沿用的单位"
                                 f"（“{'、'.join(sorted(owner))}”）不符：原表此处的牵头单位可能在抽取中丢失，"
                                 "导入前务必核实。")
                    item.note("units", text)
            previous = group[-1]

    def assign_deadlines(self, seq: list[PendingItem]) -> None:
        previous: PendingItem | None = None
        groups = self.groups(seq)
        given: set[int] = set()
        for g, group in enumerate(groups):
            row = self.rows[group[0].row]
            if group[0].index in given:
                previous = group[-1]
                continue
            if row.deadline.strip():
                parts = list(cell_parts(row.deadline))
                followers = [item for later in groups[g + 1:] for item in later]
                blank = []
                for item in followers:
                    if self.rows[item.row].deadline.strip():
                        break
                    blank.append(item)
                by_sentence = False
                if len(parts) == 1:
                    sentences = [s.rstrip("。") for s in _sentences(parts[0])]
                    if len(sentences) >= 2 and (blank or len(group) > 1):
                        parts, by_sentence = sentences, True
                sharers = list(group) if len(group) > 1 or len(parts) < 2 else list(group) + blank
                if len(parts) >= 2 and len(sharers) >= 2:
                    listing = "／".join(f"“{p}”" for p in parts)
                    for index, item in enumerate(sharers):
                        k = align_parts(index, len(sharers), len(parts))
                        on_row = item in group
                        item.phrases = [(parts[k], "cell" if on_row else "inherited")]
                        if not on_row:
                            item.inherited.append("deadline")
                            given.add(item.index)
                        if by_sentence or len(parts) != len(sharers):
                            item.note("deadline", f"【拆分】时限单元格（第{row.line}行）依次列出{len(parts)}个时限"
                                                  f"{listing}，由{len(sharers)}条要求共用：按顺序分配（首条取第一个、"
                                                  f"末条取最后一个），此条取第{k + 1}个“{parts[k]}”，待核。")
                else:
                    for item in group:
                        item.phrases = [("；".join(parts), "cell")]
            else:
                source = previous if previous is not None else self.before(group[0])
                for item in group:
                    if source is None or not source.phrases:
                        item.note("deadline", "【待核】时限栏空白，上面也没有可沿用的时限：待补。")
                        continue
                    item.phrases = [(phrase, "inherited") for phrase, _ in source.phrases]
                    item.inherited.append("deadline")
                    where = f"第{source.no}条" if source.task == item.task else \
                        f"上一行（第{source.task}项第{source.no}条；本任务没有上一条）"
                    text = (f"【继承】时限栏空白（合并单元格），沿用{where}的"
                            f"“{'；'.join(phrase for phrase, _ in source.phrases)}”。")
                    if row.units.strip() and item is group[0] and not group[0].units_override:
                        text += (f"单位栏在此换成“{quote_short(tidy(row.units))}”，沿用时限跨越了单位的变化，"
                                 "推断成分较大，待核。")
                    item.note("deadline", text)
            previous = group[-1]


