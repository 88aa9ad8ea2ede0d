"""The notice corpus (tests/fixtures/notices/corpus): real notices, hand-checked keys, every format.

Per notice and format (txt/html/docx/xlsx as the key lists): the file drafts
(a plan notice whose key holds no requirement drafts with no tasks and a
note saying so; text that is no plan at all fails with an error naming the
line and what was expected); no drafted requirement is invented (its text is in
the notice); over the corpus at least 95 % of the keyed requirements present
in that format are found with their lead units and deadline phrase, and at
least 95 % with their co-units. Each notice's own misses are listed in the
failure message. Scoring rules: :mod:`duban.engine.drafting.keys`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from duban.engine.drafting.draft import NoticeReadError
from duban.engine.drafting.formats import NoticeFormatError, read_document
from duban.engine.drafting.keys import Drafted, KeyScore, load_key, score, squash
from duban.engine.drafting.layout import find_requirements
from duban.engine.drafting.notice import draft_document

CORPUS = Path(__file__).resolve().parent / "fixtures" / "notices" / "corpus"


def _cases() -> Iterator[tuple[str, str]]:
    for key_path in sorted(CORPUS.glob("*.key.json")):
        stem = key_path.name[: -len(".key.json")]
        for fmt in load_key(key_path)["formats"]:
            yield stem, fmt


CASES = list(_cases())


def _score(stem: str, fmt: str) -> KeyScore:
    key = dict(load_key(CORPUS / f"{stem}.key.json"))
    document = read_document(CORPUS / f"{stem}.{fmt}")
    present = squash(document.text)
    # a format built from part of the page (015's workbook holds only its table) is judged on what it holds
    key["requirements"] = [r for r in key["requirements"]
                           if squash(r["start"]).lstrip("0123456789.、")[:8] in present]
    found = [Drafted(task_title=f.task_title, text=f.text, lead=f.lead, co=f.co, deadlines=f.deadlines)
             for f in find_requirements(document)]
    return score(key, found, (CORPUS / f"{stem}.txt").read_text(encoding="utf-8"))


def _plan_title(key: dict) -> str:
    """The key's title as the head reader gives it: the 关于… part, whitespace removed."""
    title = key["source"]["title"]
    return title[title.index("关于"):] if "关于" in title else title


def test_the_corpus_is_there() -> None:
    stems = {stem for stem, _ in CASES}
    formats = {fmt for _, fmt in CASES}
    assert len(stems) >= 15 and formats == {"txt", "html", "docx", "xlsx"}


@pytest.mark.parametrize(("stem", "fmt"), CASES, ids=[f"{s[:3]}-{f}" for s, f in CASES])
def test_each_notice_drafts_in_each_format(stem: str, fmt: str) -> None:
    key = load_key(CORPUS / f"{stem}.key.json")
    document = read_document(CORPUS / f"{stem}.{fmt}")
    if not key["requirements"]:
        # a real plan notice with no requirement on the page (targets only, or cut off) drafts empty, and says so
        plan = draft_document(document)
        assert plan.tasks == () and plan.summary().blocking
        assert any(note.startswith("【待核】这是一份工作方案通知，但原文中没有找到") for note in plan.notes)
        assert (plan.title, plan.issuer, plan.doc_number, plan.published.isoformat()) == (
            _plan_title(key), key["source"]["issuer"], key["source"]["doc_no"].replace(" ", ""),
            key["source"]["date"])
        return
    plan = draft_document(document)
    drafted = [req for _task, req in plan.requirements()]
    assert drafted, stem
    result = _score(stem, fmt)
    assert not result.invented, result.invented
    # every notice finds at least most of its own key (the corpus-wide bar is below)
    assert result.found * 4 >= result.expected * 3, result.misses


def test_the_corpus_meets_the_bar() -> None:
    total = {"expected": 0, "found": 0, "all_right": 0, "co_right": 0}
    misses: list[str] = []
    for stem, fmt in CASES:
        result = _score(stem, fmt)
        for name in total:
            total[name] += getattr(result, name)
        misses += [f"{stem}.{fmt}: {m}" for m in result.misses]
    assert total["expected"] >= 150
    assert total["found"] >= 0.95 * total["expected"], misses
    assert total["all_right"] >= 0.95 * total["expected"], misses
    assert total["co_right"] >= 0.95 * total["expected"], misses


def test_old_office_and_pdf_files_are_refused_with_the_format_to_export_to(tmp_path: Path) -> None:
    for suffix, hint in ((".doc", ".docx"), (".pdf", "pdftotext")):
        path = tmp_path / f"notice{suffix}"
        path.write_bytes(b"%PDF-1.4" if suffix == ".pdf" else b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
        with pytest.raises(NoticeFormatError, match=hint):
            read_document(path)


def test_a_text_without_a_plan_names_the_line_and_what_was_expected(tmp_path: Path) -> None:
    path = tmp_path / "n.txt"
    path.write_text("\n\n只是一段说明文字，没有任务。\n", encoding="utf-8")
    with pytest.raises(NoticeReadError, match=r"from line 3\).*牵头单位"):
        draft_document(read_document(path))
