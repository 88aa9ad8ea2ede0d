"""Layer 2 of the tab-text drafter, shared part: units and deadlines with their review notes.

:class:`Drafter` holds what every inference about one notice needs (the units
directory, the plan's year and publication date, the working-day calendar):
matching unit names against the directory (repairing names garbled by the
extraction, noting every unknown one), deciding whom a body sentence
addresses, and compiling deadline phrases with the notes a person must read
(unreadable, ambiguous, undated, too soon). :class:`PendingTask` and
:class:`PendingItem` are the mutable working state that :mod:`.table_rows`
and :mod:`.notice_text` freeze into :mod:`.values` at the end.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field

from ...errors import PhraseError
from ..deadlines.phrases import WorkdayCounter, compile_phrase
from ..deadlines.spec import DeadlineSpec, Fixed, Triggered
from ..plans.units import UnitDirectory, split_cell
from .tabtext import NoticeText
from .textutil import key as _key, nfkc as _nfkc
from .values import DraftDeadline, DeadlineSource, DeadlineStatus, ReviewNote, describe, subjects_of

@dataclass(kw_only=True, slots=True)
class PendingTask:
    """A task while the table is being read (mutable; frozen into :class:`DraftTask` at the end)."""

    no: int
    title: str
    line: int
    variants: list[tuple[str, int]] = field(default_factory=list)
    notes: list[ReviewNote] = field(default_factory=list)

    @property
    def subjects(self) -> frozenset[str]:
        return subjects_of(self.title + "".join(v for v, _ in self.variants))


@dataclass(kw_only=True, slots=True)
class PendingItem:
    """A requirement while being drafted: where it sits, what it was given, why."""

    index: int
    row: int
    line: int
    number: int | None
    text: str
    task: int
    no: int = 0
    units: str | None = None
    units_override: tuple[int, str] | None = None
    phrases: list[tuple[str, DeadlineSource]] = field(default_factory=list)
    inherited: list[str] = field(default_factory=list)
    notes: list[ReviewNote] = field(default_factory=list)
    split_from: bool = False

    def note(self, field_name: str, text: str) -> None:
        self.notes.append(ReviewNote(field=field_name, note=text))


class Drafter:
    """Drafts one notice; holds the directory, the plan's dates and the compiler's calendar."""

    def __init__(self, notice: NoticeText, directory: UnitDirectory, calendar: WorkdayCounter | None) -> None:
        self.notice = notice
        self.directory = directory
        self.calendar = calendar
        self.published = notice.published
        self.plan_year = notice.published.year
        self.plan_notes: list[ReviewNote] = []
        self._names: list[tuple[str, str]] | None = None
        self._repairs: dict[str, tuple[list[str], str] | None] = {}

    def plan_note(self, field_name: str, text: str) -> None:
        """A note about the whole plan (the format has none: it goes on the plan's first requirement)."""
        self.plan_notes.append(ReviewNote(field=field_name, note=text))

    # ----------------------------------------------------------------- units

    def known(self) -> list[tuple[str, str]]:
        """(normalised, written) for every name the directory knows, longest first."""
        if self._names is None:
            names = [(_key(name), name) for name in self.directory.known_names()]
            self._names = sorted(names, key=lambda pair: -len(pair[0]))
        return self._names

    def canonical(self, written: str) -> str:
        """The directory's own name for a spelling (a unit's or group's name, not its alias)."""
        key = _key(written)
        for group in self.directory.groups:
            if key in (_key(group.name), *(_key(a) for a in group.aliases)):
                return group.name
        try:
            return self.directory.unit(written).name
        except LookupError:
            return written

    def repair(self, name: str) -> tuple[list[str], str] | None:
        """A garbled name = a known unit + bracketed debris resembling another known name.

        "市食品药品监督管理局（市、区政府）（管委会）" is 市食品药品监督管理局 plus a
        mangled 各县（市、区）人民政府（管委会）: returns both canonical names and
        the spelling the debris resembled. None when no known name prefixes it.
        """
        if name not in self._repairs:
            self._repairs[name] = self._repair(name)
        return self._repairs[name]

    def _repair(self, name: str) -> tuple[list[str], str] | None:
        key = _key(name)
        prefix = next((written for norm, written in self.known()
                       if key.startswith(norm) and len(norm) < len(key) and key[len(norm)] == "("), None)
        if prefix is None:
            return None
        rest = key[len(_key(prefix)):]
        names = [self.canonical(prefix)]
        best = max(self.known(), key=lambda pair: difflib.SequenceMatcher(None, rest, pair[0]).ratio())
        if difflib.SequenceMatcher(None, rest, best[0]).ratio() >= 0.75:
            names.append(self.canonical(best[1]))
            return names, best[1]
        return names, ""

    def resolve_units(self, item: PendingItem, cell: str) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """The cell to write, its known names, unknown names and repaired names (notes on ``item``)."""
        resolution = self.directory.resolve_cell(cell)
        if not resolution.unknown and not resolution.empty_pieces:
            return cell, resolution.written, (), ()
        kept: list[str] = []
        unknown: list[str] = []
        repaired: list[str] = []
        for name in split_cell(cell):
            if not name:
                continue
            if self.directory.lookup(name) is not None:
                kept.append(name)
                continue
            fix = self.repair(name)
            if fix is not None:
                names, like = fix
                for fixed in names:
                    if fixed not in kept:
                        kept.append(fixed)
                repaired.append(name)
                debris = f"，括注读作与“{like}”相近的“{names[1]}”" if like else "，括注略去"
                item.note("units", f"【原文疑误】单位栏原文为“{name}”，抽取时疑有残缺：读作“{'，'.join(names)}”"
                                   f"（名录中的“{names[0]}”{debris}），待核。")
                continue
            unknown.append(name)
            hints = self.directory.suggest(name)
            hint = f"（是否为{'或'.join(f'“{h}”' for h in hints)}？）" if hints else ""
            item.note("units", f"【待核】单位“{name}”不在单位名录“{self.directory.id}”中{hint}：未列入 units。"
                               "请在名录中补上该单位（或别名）后加回，或改为名录中的名称。")
        if resolution.empty_pieces:
            item.note("units", f"【原文疑误】单位栏“{cell}”有空名（连续的分隔符），已略去。")
        if not kept:
            item.note("units", f"【待核】单位栏“{cell}”中没有名录认识的单位：按原文写入，`duban plan validate` 会报 "
                               "unknown-unit，补好名录前此草稿不能导入。")
            return cell, (), tuple(unknown), tuple(repaired)
        written = "，".join(kept)
        return written, tuple(self.directory.resolve_cell(written).written), tuple(unknown), tuple(repaired)

    def subject(self, text: str) -> tuple[str, str] | None:
        """Who a body sentence addresses: ("collective", 各地各部门) or ("unit", a directory name)."""
        key = _key(text)
        best: tuple[int, int, str] | None = None
        for norm, written in self.known():
            pos = key.find(norm)
            if pos >= 0 and (best is None or pos < best[0] or (pos == best[0] and len(norm) > best[1])):
                best = (pos, len(norm), written)
        collective = COLLECTIVE.search(key)
        if collective is not None and (best is None or collective.start() <= best[0]):
            return "collective", collective.group()
        if best is not None:
            return "unit", best[2]
        return None

    def addressees(self) -> tuple[str | None, list[str]]:
        """The salutation (主送) as a units cell, and what had to be read into it."""
        raw = self.notice.addressees
        if not raw:
            return None, []
        kept: list[str] = []
        notes: list[str] = []
        annex_titles = [a.title for a in self.notice.annexes if a.title]
        for piece in split_top(raw):
            if self.directory.lookup(piece) is not None:
                kept.append(piece)
                continue
            annex = next((t for t in annex_titles if self.directory.lookup(t) is not None), None)
            if piece.endswith("有关单位") and annex is not None:
                kept.append(annex)
                notes.append(f"“{piece}”按附件“{annex}”")
                continue
            hints = self.directory.suggest(piece)
            notes.append(f"“{piece}”不在名录中{'（是否为' + '或'.join(hints) + '？）' if hints else ''}，未列入")
        return ("，".join(kept) if kept else None), notes

    # ----------------------------------------------------------------- deadlines

    def compile(self, phrase: str) -> tuple[DeadlineSpec | None, DeadlineStatus, str | None]:
        try:
            spec = compile_phrase(phrase, plan_year=self.plan_year, published=self.published,
                                  calendar=self.calendar)
        except PhraseError as exc:
            return None, "unreadable", f"{exc.code}: {str(exc).splitlines()[0]}"
        ambiguous = any(leaf.ambiguous for leaf in (spec, *spec.leaves()))
        return spec, ("ambiguous" if ambiguous else "compiled"), None

    def entry_notes(self, item: PendingItem, entry: DraftDeadline) -> None:
        """Notes every deadline entry needs: unreadable, ambiguous, no window, a date that has passed."""
        if entry.status == "unreadable":
            item.note("deadline", f"【待核】无法读取时限“{entry.phrase}”（{entry.error}）：暂以显式规格占位"
                                  "（不定期的持续工作，只提醒不计期限）。请改写为可读的时限短语（并删去 spec），"
                                  "或给出正确的 spec。")
            return
        spec = entry.spec
        if spec is None:  # pragma: no cover - only unreadable entries lack a spec
            return
        if entry.status == "ambiguous":
            reason = "；".join(dict.fromkeys(leaf.note for leaf in (spec, *spec.leaves()) if leaf.note))
            item.note("deadline", f"【待核】“{entry.phrase}”编译为{describe(spec)}，读法不确定"
                                  f"{'（' + reason + '）' if reason else ''}，请确认。")
        elif any(isinstance(leaf, Triggered) and leaf.offset is None for leaf in spec.leaves()):
            item.note("deadline", f"【待核】“{entry.phrase}”只写了所等的事件，未写事件发生后多少天内完成："
                                  "触发后按系统配置的默认期限督办，待核。")
        written = _nfkc(entry.phrase)
        undated = [leaf for leaf in spec.leaves() if isinstance(leaf, Fixed)]
        if undated and re.search(r"\d{1,2}月", written) and not re.search(r"\d{4}", written):
            item.note("deadline", f"【待核】“{entry.phrase}”未写年份，按方案年份{self.plan_year}读作"
                                  f"{undated[0].due.isoformat()}，待核。")
        soon = [leaf for leaf in spec.leaves() if isinstance(leaf, Fixed)
                and leaf.due <= self.published + dt.timedelta(days=7)]
        if soon:
            item.note("deadline", f"【待核】期限{soon[0].due.isoformat()}距方案公布（{self.published.isoformat()}）"
                                  "不足一周（或已过），待核。")



COLLECTIVE = re.compile(r"各地各部门|各地、各部门|各地区各部门|各级各部门|各有关单位|各单位|各部门|各地|你们")
DUTY = re.compile(r"要|须|应|请|务必|必须")
COVERING = re.compile(r"印发给你们|现印发|现将.{0,20}印发|转发给你们")
BODY_VAGUE = ("适时", "定期")


def split_top(text: str) -> list[str]:
    """Split a salutation on ，/, at bracket depth 0 (not on 、: "市直及中央、省驻揭有关单位" is one)."""
    out: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch in "（(":
            depth += 1
        elif ch in "）)":
            depth = max(0, depth - 1)
        elif ch in "，,；;" and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    out.append(text[start:].strip())
    return [piece for piece in out if piece]


def align_parts(index: int, sharers: int, parts: int) -> int:
    """Which of ``parts`` values the ``index``-th of ``sharers`` gets: in order, first to first, last to last.

    Four requirements sharing "全年工作／2016年12月底前完成／2017年第1季度完成"
    get parts 1, 2, 2, 3 (the seed's task 12 as a person read it).
    """
    if sharers <= 1 or parts <= 1:
        return 0
    return min(parts - 1, int(index * (parts - 1) / (sharers - 1) + 0.5))


