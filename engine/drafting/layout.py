"""The layout layer (版式层): find the plan in a :class:`~.formats.Document` and read its items.

A plan is found by its structure, not by one exact header:

* **tables** — a header row whose cells name the columns in any of the
  vocabularies governments use (序号/编号; 工作任务/重点任务/主要任务/工作内容;
  具体要求/具体措施/工作措施; 牵头单位/责任单位/落实单位/主办单位/责任科室/股室;
  配合单位/协办单位/参与单位/协同配合单位; 完成时限/完成时间/时间要求/时限要求/时间节点/
  进度安排), in any order, with or without 序号 or deadline columns. Grid
  tables (HTML/Word/Excel) carry their merges; text tables are rows split
  by ``|`` or tabs (a short row is a row whose leading merged cells came out
  blank) or one cell per line under a header written one label per line
  (rows anchored by their 序号);
* **outlines** — items numbered 一、（一）1.（1） whose units come inline
  (``（牵头单位：…；配合单位：…；完成时限：…）``, ``（A牵头，B配合）``, ``（A负责）``)
  or on labelled lines after them (``牵头单位：…`` / ``责任单位：…``; a line
  after several items applies to all of them, with a review note);
* **body duties** — sentences of the covering notice whose subject is a unit
  ("各责任单位要……于每季度末……报告"): numbered paragraphs always, others when
  they carry a deadline.

Every value not read literally carries a note (tags as in docs/seed-decisions.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .formats import Document, Paragraph, Row, Table
from .infer import deadline_phrases, fold, is_unit_phrase, read_unit_phrase, split_names
from .textutil import split_items

__all__ = ["Found", "column_role", "find_requirements"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Found:
    """One requirement as found in the notice (before units are matched and phrases compiled)."""

    task_no: str | None
    task_title: str | None
    text: str
    lead: tuple[str, ...]
    co: tuple[str, ...]
    deadlines: tuple[str, ...]
    deadline_source: str  # "cell" (a column or label), "text" (inside the requirement), "" (none)
    line: int
    shape: str  # "table", "outline", "body"
    notes: tuple[str, ...] = ()


# =========================================================================== columns

_ROLE_RULES: tuple[tuple[str, str], ...] = (
    ("person", r"领导|联系人"),
    ("co", r"配合|协办|参与|协同|协助|其他责任"),
    ("lead", r"牵头|主要责任|主办"),
    ("deadline", r"时限|时间|进度|节点|期限|日期"),
    ("no", r"^(?:序号?|编号|号|No\.?)$"),
    ("resp", r"责任|负责|落实单位|承办|股室|科室|处室|单位|部门"),
    ("req", r"具体要求|具体措施|工作措施|任务内容|检查内容|工作内容|措施|要求|内容|目标"),
    ("task", r"任务|工作|名称|事项|项目"),
)


def column_role(label: str) -> str | None:
    """The role of a header cell, or None when it names nothing the plan needs."""
    f = fold(label)
    if not f or len(f) > 12:
        return None
    for role, pattern in _ROLE_RULES:
        if re.search(pattern, f):
            return role
    return None


def _header_roles(cells: tuple[str, ...]) -> list[str | None] | None:
    roles = [column_role(c) for c in cells]
    named = [r for r in roles if r]
    if len(named) < 2 or not ({"req", "task"} & set(named)):
        return None
    if not ({"lead", "resp", "co", "deadline", "no"} & set(named)):
        return None
    if sum(bool(c.strip()) and r is None for c, r in zip(cells, roles, strict=True)) > len(named):
        return None
    return roles


def _finish_roles(roles: list[str | None]) -> list[str | None]:
    """``resp`` columns are the lead, or co-units when a lead column exists; text columns settle."""
    out = list(roles)
    has_lead = "lead" in out
    first_resp = True
    for i, role in enumerate(out):
        if role == "resp":
            out[i] = "co" if has_lead or not first_resp else "lead"
            first_resp = False
    if "req" not in out and "task" in out:
        idx = len(out) - 1 - out[::-1].index("task")
        out[idx] = "req"
    return out


# =========================================================================== markers

_M1 = re.compile(r"^\s*(?P<n>[一二三四五六七八九十]{1,3})\s*[、.．]\s*")
_M2 = re.compile(r"^\s*[（(]\s*(?P<n>[一二三四五六七八九十]{1,3})\s*[）)]\s*[、.．]?\s*")
_M3 = re.compile(r"^\s*(?P<n>[0-9０-９]{1,2})\s*[.．、](?![0-9０-９])\s*")
_M4 = re.compile(r"^\s*[（(]\s*(?P<n>[0-9０-９]{1,2})\s*[）)]\s*")
_MARKERS = ((1, _M1), (2, _M2), (3, _M3), (4, _M4))


def marker(text: str) -> tuple[int, str, str] | None:
    """(level, number, rest) of an outline marker at the start of ``text``."""
    for level, rx in _MARKERS:
        m = rx.match(text)
        if m and m.end() < len(text):
            return level, m.group("n"), text[m.end():]
    return None


def _title_of(text: str) -> str:
    head = re.split(r"[。；;]", text, maxsplit=1)[0]
    return head.strip() if len(head) <= 40 else head[:40]


# =========================================================================== tables

def _table_found(roles: list[str | None], rows: list[tuple[tuple[str, ...], int, tuple[bool, ...]]],
                 sections: dict[int, str], first_is_lead: bool) -> list[Found]:
    """Requirements from rows whose cells line up with ``roles``; ``sections`` maps row index → section title."""
    out: list[Found] = []
    col = {r: [i for i, x in enumerate(roles) if x == r] for r in ("no", "task", "req", "lead", "co", "deadline")}
    section: str | None = None
    for index, (cells, line, merged) in enumerate(rows):
        if index in sections:
            section = sections[index]
            continue

        def get(role: str, cells: tuple[str, ...] = cells) -> str:
            return " ".join(dict.fromkeys(cells[i] for i in col[role] if i < len(cells) and cells[i]))

        text = get("req")
        if not text or fold(text) in ("", "/", "无"):
            continue
        notes: list[str] = []
        task_title = get("task") or section
        task_no: str | None = None
        if task_title:
            m = marker(task_title)
            task_no = m[1] if m else None
        elif get("no"):
            task_no = get("no")
        for role in ("task", "lead", "co", "deadline"):
            if any(merged[i] for i in col[role] if i < len(merged)) and get(role):
                notes.append(f"【继承】{role} 取自合并单元格：{get(role)[:30]}")
        phrase = read_unit_phrase(get("lead"), default="resp", first_is_lead=first_is_lead) if get("lead") \
            else read_unit_phrase("")
        lead = phrase.lead
        co = phrase.co + tuple(n for n in split_names(get("co")) if n not in phrase.co)
        cell_deadline = get("deadline") or phrase.deadline
        items = split_items(text)
        if len(items) > 1:
            notes.append(f"【拆分】一格内{len(items)}条编号事项，拆为{len(items)}条要求，单位与时限共用")
        for _n, item in items:
            deadlines = (cell_deadline,) if cell_deadline else deadline_phrases(item)
            source = "cell" if cell_deadline else ("text" if deadlines else "")
            if source == "text":
                notes_i = (*notes, f"【正文时限】时限取自要求正文：{'；'.join(deadlines)}")
            else:
                notes_i = tuple(notes)
            out.append(Found(task_no=task_no, task_title=task_title, text=item, lead=lead, co=co,
                             deadlines=deadlines, deadline_source=source, line=line, shape="table",
                             notes=notes_i))
    return out


def _is_section(cells: tuple[str, ...], roles: list[str | None]) -> str | None:
    values = {c for c in cells if c}
    if len(values) == 1 and (len(cells) > 1 and sum(bool(c) for c in cells) != 1 or marker(next(iter(values)))):
        value = next(iter(values))
        if not re.fullmatch(r"[0-9０-９]{1,3}", value):
            return value
    return None


def _grid_table(table: Table, first_is_lead: bool) -> list[Found]:
    rows = list(table.rows)
    for h, row in enumerate(rows[:12]):
        roles = _header_roles(row.texts)
        if roles is not None:
            break
    else:
        return []
    width = max(len(r.cells) for r in rows)
    roles = roles + [None] * (width - len(roles))
    body = rows[h + 1:]
    # an unlabelled column holding only small integers is the 序号 column (a colspan header over it)
    for c in range(width):
        vals = [r.cells[c].text for r in body if c < len(r.cells) and r.cells[c].text and not r.cells[c].merged]
        if vals and all(re.fullmatch(r"[0-9０-９]{1,3}", v) for v in vals) and roles[c] != "no":
            roles[c] = "no"
    roles = _finish_roles(roles)
    prepared: list[tuple[tuple[str, ...], int, tuple[bool, ...]]] = []
    sections: dict[int, str] = {}
    previous: tuple[str, ...] = ()
    for i, row in enumerate(body):
        cells = list(row.texts)
        merged = [c.merged for c in row.cells]
        if _header_roles(tuple(cells)) is not None:
            continue
        if table.kind == "lines" and len(cells) < width:
            if row.open_end and i == len(body) - 1:
                continue  # the page ends inside this row
            pad = width - len(cells)
            cells = list(previous[:pad]) + cells if len(previous) >= pad else [""] * pad + cells
            merged = [True] * pad + [False] * (width - pad)
        cells += [""] * (width - len(cells))
        merged += [False] * (width - len(merged))
        title = _is_section(tuple(cells), roles)
        if title is not None:
            sections[len(prepared)] = title
            prepared.append(((), row.line, ()))
            continue
        prepared.append((tuple(cells), row.line, tuple(merged)))
        previous = tuple(cells)
    return _table_found(roles, prepared, sections, first_is_lead)


_NUMBER = re.compile(r"[0-9０-９]{1,3}")


def _stream_tables(paragraphs: list[Paragraph], first_is_lead: bool) -> tuple[list[Found], set[int]]:
    """Tables printed one cell per line under a one-label-per-line header, rows anchored by 序号."""
    out: list[Found] = []
    used: set[int] = set()
    i = 0
    while i < len(paragraphs):
        j = i
        while j < len(paragraphs) and column_role(paragraphs[j].text) and len(fold(paragraphs[j].text)) <= 10:
            j += 1
        labels = tuple(p.text for p in paragraphs[i:j])
        raw = _header_roles(labels) if j - i >= 2 else None
        if raw is None:
            i = max(j, i + 1)
            continue
        roles = _finish_roles(list(raw))
        if "no" in roles:
            after = [r for r in roles[roles.index("no") + 1:]]
            leading = [r for r in roles[:roles.index("no")]]
        else:
            lead_n = 0
            while lead_n < len(roles) and roles[lead_n] == "task" and "req" in roles[lead_n + 1:]:
                lead_n += 1
            leading, after = roles[:lead_n], roles[lead_n:]
        full = ["no", *after] if not leading else [*leading, "no", *after]
        rows: list[tuple[tuple[str, ...], int, tuple[bool, ...]]] = []
        sections: dict[int, str] = {}
        lead_cells: tuple[str, ...] = ("",) * len(leading)
        leftovers: list[str] = []
        k = j
        end = j
        while k < len(paragraphs):
            text = paragraphs[k].text
            if _NUMBER.fullmatch(text) and k + len(after) < len(paragraphs):
                cells = tuple(p.text for p in paragraphs[k + 1:k + 1 + len(after)])
                merged_lead = not leftovers
                if leftovers:
                    if leading:
                        lead_cells = (*([""] * (len(leading) - 1)), leftovers[-1])
                    else:
                        sections[len(rows)] = leftovers[-1]
                        rows.append(((), paragraphs[k].line, ()))
                leftovers = []
                row = (*lead_cells, text, *cells) if leading else (text, *cells)
                merged = tuple([merged_lead] * len(leading) + [False] * (len(after) + 1))
                rows.append((row, paragraphs[k].line, merged))
                used.update(range(k, k + 1 + len(after)))
                k += 1 + len(after)
                end = k
                continue
            leftovers.append(text)
            k += 1
        used.update(range(i, j))
        out.extend(_table_found(full, rows, sections, first_is_lead))
        i = max(end, j)
    return out, used


# =========================================================================== outlines

_LABEL_LINE = re.compile(r"^[（(〔]?\s*(?:牵头|协同|配合|协办|参与|主办|责任|落实|部门分工|牵头负责|分管|完成时|时限)"
                         r"[^:：]{0,8}[:：]")
#: lines that end a notice's body (not the continuation of an item broken across lines)
_HEAD_LINE = re.compile(r"^(?:此通知|特此通知|附件|联系人|聯系人|抄送|[（(]此件)|^\d{4}年\d{1,2}月\d{1,2}日$|^[〇零一二三四五六七八九]{4}年")
_FIRST_IS_LEAD = re.compile(r"排在?第一位?的?为牵头|排名第一的?为牵头|第一个?单位为牵头|排在首位的?为牵头")


def _unit_groups(text: str) -> list[tuple[int, int, str]]:
    """Bracketed groups of ``text`` that name units: (start, end, inner)."""
    out: list[tuple[int, int, str]] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch in "（(〔【":
            if depth == 0:
                start = i
            depth += 1
        elif ch in "）)〕】" and depth:
            depth -= 1
            if depth == 0 and is_unit_phrase(text[start + 1:i]):
                out.append((start, i + 1, text[start + 1:i]))
    return out


def _inline_split(text: str) -> list[str]:
    """A paragraph holding several items in a row ("…。(1)……(2)……") → one piece per item."""
    pieces: list[str] = []
    m = _M4.search(text[1:]) if text else None
    del m
    pattern = re.compile(r"(?<=[。；;）)〕])\s*[（(](?P<n>[0-9０-９]{1,2})[）)]")
    pos = 0
    for m in pattern.finditer(text):
        pieces.append(text[pos:m.start()].strip())
        pos = m.start()
    pieces.append(text[pos:].strip())
    return [p for p in pieces if p]


@dataclass(kw_only=True)
class _Item:
    level: int
    no: str
    text: str
    line: int
    parent: _Item | None
    has_children: bool = False
    done: bool = False


def _continues(item: _Item, piece: str, line: int) -> bool:
    """Whether an unnumbered line continues ``item`` (a wrapped line) rather than being a body sentence."""
    return (not item.done and not item.has_children and len(piece) < 400 and not _unit_groups(piece)
            and item.line >= line - 3 and not re.search(r"[。！？；;:：)）]$", item.text)
            and not _HEAD_LINE.search(piece))


def _outline(paragraphs: list[Paragraph], skip: set[int], first_is_lead: bool) -> tuple[list[Found], list[tuple[str, int, bool]]]:
    """Outline items with units; returns them and the paragraphs left for body duties (text, line, numbered)."""
    out: list[Found] = []
    rest: list[tuple[str, int, bool]] = []
    stack: list[_Item] = []
    pending: list[_Item] = []
    labels: list[str] = []

    def found(item: _Item, text: str, lead: tuple[str, ...], co: tuple[str, ...], deadline: str | None,
              notes: tuple[str, ...]) -> None:
        parent = item.parent
        deadlines = (deadline,) if deadline else deadline_phrases(text)
        source = "cell" if deadline else ("text" if deadlines else "")
        extra = (f"【正文时限】时限取自要求正文：{'；'.join(deadlines)}",) if source == "text" else ()
        out.append(Found(task_no=parent.no if parent else None,
                         task_title=_title_of(parent.text) if parent else None, text=text, lead=lead, co=co,
                         deadlines=deadlines, deadline_source=source, line=item.line, shape="outline",
                         notes=(*notes, *extra)))

    def apply_labels() -> None:
        if not labels:
            return
        phrase = read_unit_phrase("；".join(labels), first_is_lead=first_is_lead)
        labels.clear()
        targets = [p for p in pending if not p.has_children and not p.done]
        if phrase.empty or not targets:
            return
        note = (f"【继承】单位行写在{len(targets)}条事项之后，视为共用",) if len(targets) > 1 else ()
        for item in targets:
            item.done = True
            found(item, item.text, phrase.lead, phrase.co, phrase.deadline, note)
        pending.clear()

    for index, para in enumerate(paragraphs):
        if index in skip:
            continue
        text = para.text.strip()
        if _LABEL_LINE.match(fold(text)) or (text[:1] in "（(〔" and text[-1:] in "）)〕"
                                             and is_unit_phrase(text[1:-1])):
            labels.append(text)
            continue
        apply_labels()
        for piece in _inline_split(text):
            m = marker(piece)
            if m is None:
                if pending and _continues(pending[-1], piece, para.line):
                    pending[-1].text += piece
                    pending[-1].line = para.line
                else:
                    rest.append((piece, para.line, False))
                continue
            level, no, body = m
            while stack and stack[-1].level >= level:
                stack.pop()
            parent = stack[-1] if stack else None
            if parent is not None:
                parent.has_children = True
            item = _Item(level=level, no=no, text=body, line=para.line, parent=parent)
            stack.append(item)
            groups = _unit_groups(body)
            if not groups:
                pending.append(item)
                continue
            item.done = True
            pos = 0
            for a, b, inner in groups:
                duty = body[pos:a].strip(" ，,；;")
                pos = b
                if len(fold(duty)) < 4:
                    continue
                phrase = read_unit_phrase(inner, first_is_lead=first_is_lead)
                found(_Item(level=level, no=no, text=duty, line=para.line, parent=parent), duty,
                      phrase.lead, phrase.co, phrase.deadline, ())
    apply_labels()
    for item in pending:
        if not item.done and not item.has_children:
            rest.append((item.text, item.line, True))
    return out, rest


# =========================================================================== body duties

_VERB = re.compile(r"要|须|务必|务于|应当|应|负责|结合|牵头|将|于每|于\d|于[一二三四五六七八九十]")
_SUBJECT_OK = re.compile(r"^(?:各|全|市|区|县|省|旗|州|乡|镇|街|[\u4e00-\u9fff])")


def _subject(clause: str) -> tuple[str, ...]:
    """The unit names a clause starts with when a duty verb follows them ("各责任单位要…")."""
    f = fold(clause)
    for m in _VERB.finditer(f[:40]):
        prefix = f[:m.start()]
        if not 2 <= len(prefix) <= 36:
            continue
        names = split_names(prefix)
        if names and all(re.search(r"(?:单位|部门|局|委|办|室|科|股|中心|政府|管委会|各地区|各地|督考办|督查室|指挥部)$",
                                   fold(n)) and len(fold(n)) <= 20 and "的" not in fold(n)[:2] for n in names):
            # quote the names as written in ``clause``
            return _original_names(clause, len(prefix))
    return ()


def _original_names(clause: str, folded_len: int) -> tuple[str, ...]:
    count = 0
    for i, ch in enumerate(clause):
        if count == folded_len:
            return split_names(clause[:i])
        if not ch.isspace():
            count += 1
    return split_names(clause)


def _clauses(text: str) -> list[tuple[int, str]]:
    out = []
    pos = 0
    for m in re.finditer(r"[。；;！!]|[,，](?=\S)", text):
        out.append((pos, text[pos:m.end()]))
        pos = m.end()
    if pos < len(text):
        out.append((pos, text[pos:]))
    return out


def _body_duties(rest: list[tuple[str, int, bool]]) -> list[Found]:
    """Duties of the covering text: split at each clause whose subject is a unit.

    A numbered paragraph ("三、加强督考。……市政府督考办要……") is a duty from its
    start to the next subject; a later subject starts a new duty, kept when it
    carries a deadline ("各牵头单位要于每月28日前……"), as in unnumbered paragraphs.
    """
    out: list[Found] = []
    for text, line, numbered in rest:
        m = marker(text)
        body = m[2] if m else text
        numbered = numbered or m is not None
        starts = [(pos, _subject(c)) for pos, c in _clauses(body)
                  if not re.match(r"\s*(?:要|并|务|及时|同时)", c)]
        starts = [(pos, s) for pos, s in starts if s]
        for n, (pos, subject) in enumerate(starts):
            end = starts[n + 1][0] if n + 1 < len(starts) else len(body)
            first = numbered and n == 0
            duty = body[0 if first else pos:end].strip()
            deadlines = deadline_phrases(duty)
            if len(duty) < 8 or not (deadlines or first):
                continue
            note = "【正文未列】正文中的职责，主语为责任单位" + ("" if deadlines else "，原文未写时限")
            out.append(Found(task_no=None, task_title=None, text=duty, lead=subject, co=(), deadlines=deadlines,
                             deadline_source="text" if deadlines else "", line=line, shape="body",
                             notes=(note,)))
    return out


# =========================================================================== entry

def find_requirements(document: Document) -> list[Found]:
    """Every requirement the document's tables, outline and body name, in reading order."""
    first_is_lead = bool(_FIRST_IS_LEAD.search(fold(document.text)))
    found: list[Found] = []
    paragraphs = [b for b in document.blocks if isinstance(b, Paragraph)]
    for block in document.blocks:
        if isinstance(block, Table):
            found.extend(_grid_table(block, first_is_lead))
    stream, used = _stream_tables(paragraphs, first_is_lead)
    found.extend(stream)
    outline, rest = _outline(paragraphs, used, first_is_lead)
    found.extend(outline)
    found.extend(_body_duties(rest))
    found.sort(key=lambda f: f.line)
    return found


def rows_of(table: Table) -> tuple[Row, ...]:
    return table.rows
