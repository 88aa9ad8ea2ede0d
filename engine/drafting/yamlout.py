"""Layer 3 of the drafter: a :class:`~.values.DraftPlan` → the plan file's text.

The writer emits the documented format (``docs/plan-format.md``) by hand
rather than through a YAML library so that the order, the comments (summary,
what blocks an import) and the quoting are exactly what a reviewer expects:
every scalar double-quoted, every review note ``status: open``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .values import PLACEHOLDER_SPEC, DraftOutputError, DraftPlan

# =========================================================================== layer 3: the plan file

_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def yaml_quote(text: str) -> str:
    """A YAML double-quoted scalar that reads back as ``text`` exactly.

    JSON's escapes are YAML's; on top of them, characters YAML may not hold
    raw (C1 controls, DEL, the BOM) or reads as line breaks inside a quoted
    scalar (U+0085, U+2028, U+2029) are escaped too.
    """
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text, ensure_ascii=False))


def yaml_flow(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {yaml_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_flow(v) for v in value) + "]"
    return yaml_quote(str(value))


def render_yaml(plan: DraftPlan) -> str:
    """The plan file text: the documented format, every scalar quoted, notes ``status: open``."""
    s = plan.summary()
    out: list[str] = [
        f"# 草稿（duban plan draft 自动生成，未经人工核对）：{plan.title}",
        f"# {plan.doc_number or '（无文号）'}，{plan.issuer}，{plan.published.isoformat()}",
    ]
    if plan.source:
        out.append(f"# 来源：{plan.source}")
    out += [
        "#",
        "# 每个推断出的值都带一条 review（status: open）：逐条核对原件，改对后把 status 改为 confirmed。",
        "# `duban plan validate FILE` 列出仍未确认的意见（警告）；`--strict` 通过后再 `duban plan import`。",
        "# plan.id 为自动生成，可改为有意义的名称。流程见 docs/drafting.md。",
        f"# 汇总：{s.tasks}项任务，{s.requirements}条要求；单位 {len(s.units_matched)} 个已识别、"
        f"{len(s.units_unknown)} 个未识别；时限 {s.deadlines_compiled} 条已编译、{s.deadlines_ambiguous} 条含义不确定、"
        f"{s.deadlines_unreadable} 条无法读取；复核意见 {s.review_notes} 条。",
    ]
    for reason in s.blocking:
        out.append(f"# 导入前必须解决：{reason}")
    for note in plan.notes:
        out.append(f"# {note}")
    out += [
        "plan:",
        f"  id: {plan.id}",
        f"  title: {yaml_quote(plan.title)}",
        f"  issuer: {yaml_quote(plan.issuer)}",
    ]
    if plan.doc_number:
        out.append(f"  doc_number: {yaml_quote(plan.doc_number)}")
    out += [
        f"  published: {plan.published.isoformat()}",
        f"  plan_year: {plan.plan_year}",
        f"  units: {plan.units_id}",
    ]
    if plan.source:
        out.append(f"  source: {yaml_quote(plan.source)}")
    if plan.triggers:
        out += ["", "triggers:"]
        for trigger in plan.triggers:
            out += [f"  - key: {trigger.key}", f"    event: {trigger.event}",
                    f"    description: {yaml_quote(trigger.description)}"]
    out += ["", "tasks:" if plan.tasks else "tasks: []  # 原文中没有找到要求：按原件补上（见文首说明）"]
    for t, task in enumerate(plan.tasks):
        if t:
            out.append("")
        out += [f"  - no: {task.no}", f"    title: {yaml_quote(task.title)}", "    requirements:"]
        for req in task.requirements:
            out += [f"      - no: {req.no}", f"        text: {yaml_quote(req.text)}", f"        units: {yaml_quote(req.units)}"]
            if req.co_units:
                out.append(f"        co_units: {yaml_quote(req.co_units)}")
            if req.inherited:
                out.append(f"        inherited: [{', '.join(req.inherited)}]")
            out.append("        deadlines:")
            for entry in req.deadlines:
                out += [f"          - phrase: {yaml_quote(entry.phrase)}", f"            source: {entry.source}"]
                if entry.trigger:
                    out.append(f"            trigger: {entry.trigger}")
                if entry.status == "unreadable":
                    out.append(f"            spec: {yaml_flow(PLACEHOLDER_SPEC)}")
            if req.review:
                out.append("        review:")
                for note in req.review:
                    out += [f"          - field: {note.field}", f"            note: {yaml_quote(note.note)}",
                            "            status: open"]
    return "\n".join(out) + "\n"


def write_drafts(plans: Sequence[DraftPlan], out_dir: Path, *, force: bool = False) -> tuple[Path, ...]:
    """Write ``<id>.yaml`` per plan into ``out_dir``; all or nothing.

    Raises :class:`DraftOutputError` before writing anything when a file
    exists and ``force`` is False: a draft someone has started reviewing
    must not be overwritten by a re-run.
    """
    paths = tuple(out_dir / f"{plan.id}.yaml" for plan in plans)
    existing = [path for path in paths if path.exists()]
    if existing and not force:
        raise DraftOutputError(existing)
    out_dir.mkdir(parents=True, exist_ok=True)
    for plan, path in zip(plans, paths, strict=True):
        path.write_text(render_yaml(plan), encoding="utf-8")
    return paths
