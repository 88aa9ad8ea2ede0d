"""Measuring the matcher on a labelled corpus: precision and recall of the top proposal.

The corpus (``tests/fixtures/inbox/documents.jsonl``, see its SOURCES.md) is
one JSON object per line with the document's fields, ``labels`` (the trigger
keys a careful clerk would record it as starting) and ``split``: ``dev`` (the
part the weights were tuned on) or ``heldout`` (fixed by a hash of the id, to
measure on). The gold ``level`` field is *not* given to the matcher: it reads
the issuer's level itself.

* **recall@1** — of the documents a trigger waits for, the share whose top
  proposal is that trigger;
* **precision@1** — of the documents that got a proposal at all, the share
  whose top proposal is one of their labels (a distractor that gets any
  proposal counts as a wrong one).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .match import Matcher
from .records import IncomingDocument, InboxError, parse_date

_FIELDS = {"id", "title", "doc_no", "issuer", "level", "date", "url", "text", "labels", "why", "split"}
SPLITS = ("dev", "heldout")
MAX_LINES = 10_000


@dataclass(frozen=True, kw_only=True, slots=True)
class LabelledDocument:
    id: str
    document: IncomingDocument
    labels: frozenset[str]
    split: str = "dev"


def split_of(doc_id: str) -> str:
    """The part a document belongs to, from a hash of its id alone (never from its scores)."""
    return "heldout" if hashlib.sha256(doc_id.encode("utf-8")).digest()[0] % 2 == 0 else "dev"


def load_labelled(path: Path) -> list[LabelledDocument]:
    """Read a labelled corpus; a bad line names the file, the line and the field."""
    out = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if n > MAX_LINES:
                raise InboxError(f"{path}: more than {MAX_LINES} lines")
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                row: dict[str, Any] = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InboxError(f"{where}: not JSON ({exc.msg})") from None
            missing = _FIELDS - set(row)
            if missing:
                raise InboxError(f"{where}: missing field(s) {', '.join(sorted(missing))}")
            if not isinstance(row["labels"], list):
                raise InboxError(f"{where}: field 'labels' must be a list of trigger keys")
            if row["split"] != split_of(str(row["id"])):
                raise InboxError(f"{where}: field 'split' must be {split_of(str(row['id']))!r} (a hash of the id)")
            doc = IncomingDocument.make(title=row["title"], text=row["text"], source=f"corpus:{row['id']}",
                                        doc_number=row["doc_no"], issuer=row["issuer"],
                                        date=parse_date(row["date"], where=f"{where}: date"), link=row["url"])
            # the corpus gives no date where the page gives none: do not guess one from the text
            if row["date"] is None and doc.date is not None:
                doc = IncomingDocument(title=doc.title, text=doc.text, source=doc.source,
                                       doc_number=doc.doc_number, issuer=doc.issuer, date=None, link=doc.link)
            out.append(LabelledDocument(id=row["id"], document=doc, labels=frozenset(row["labels"]),
                                        split=row["split"]))
    return out


@dataclass(frozen=True, kw_only=True, slots=True)
class Evaluation:
    documents: int
    positives: int
    proposed: int
    correct: int
    found: int
    misses: tuple[str, ...] = field(default=())
    wrong: tuple[str, ...] = field(default=())

    @property
    def precision(self) -> float:
        return self.correct / self.proposed if self.proposed else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.positives if self.positives else 1.0

    def to_json(self) -> dict[str, Any]:
        return {"documents": self.documents, "positives": self.positives, "proposed": self.proposed,
                "correct": self.correct, "precision_at_1": round(self.precision, 3),
                "recall_at_1": round(self.recall, 3), "misses": list(self.misses), "wrong": list(self.wrong)}


def evaluate(matcher: Matcher, corpus: Iterable[LabelledDocument]) -> Evaluation:
    """Rank every document and compare its top proposal with its labels."""
    docs = positives = proposed = correct = found = 0
    misses: list[str] = []
    wrong: list[str] = []
    for item in corpus:
        docs += 1
        ranked = matcher.rank(item.document)
        top = ranked[0].trigger if ranked else None
        if item.labels:
            positives += 1
            if top in item.labels:
                found += 1
            else:
                misses.append(f"{item.id}: {sorted(item.labels)} → {top}")
        if top is not None:
            proposed += 1
            if top in item.labels:
                correct += 1
            else:
                wrong.append(f"{item.id}: {top} ({ranked[0].score:.2f}) {item.document.title[:40]}")
    return Evaluation(documents=docs, positives=positives, proposed=proposed, correct=correct, found=found,
                      misses=tuple(misses), wrong=tuple(wrong))
