"""An arriving document as one record: title, 文号, issuer, date, link or file, text.

Every source (a folder, a mailbox, a list page or feed) turns what it reads
into an :class:`IncomingDocument`; the matcher and the store see nothing else.
The same document often arrives twice — forwarded by mail and published on the
provincial portal — so each record carries a :attr:`~IncomingDocument.dedupe_key`:
the normalised 文号 when there is one (a 文号 names one document), otherwise
the normalised title + issuer + date.

Traditional characters (mirror sites, Hong Kong reprints) are folded to
simplified ones with OpenCC before anything is compared, and NFKC folds
full-width letters and digits, so "財稅〔2016〕101號" and "财税〔2016〕101号" are
one document.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ...errors import DubanError

#: Limits on what one record may hold; a larger text is cut (matching reads the opening anyway).
MAX_TITLE = 500
MAX_TEXT = 20_000
MAX_FIELD = 500


class InboxError(DubanError, ValueError):
    """Bad input to the inbox: a source, file or field that cannot be read; the message names it."""


@functools.cache
def _converter() -> Any:
    import opencc  # imported lazily: building the converter reads its dictionaries once

    return opencc.OpenCC("t2s.json")


def simplify(text: str) -> str:
    """Traditional → simplified characters, NFKC (full-width letters and digits folded)."""
    return unicodedata.normalize("NFKC", _converter().convert(text))


_SPACE = re.compile(r"\s+")
_DOC_NO = re.compile(
    r"([\u4e00-\u9fff]{1,12}(?:〔|\[|【|\(|（)\s*(?:19|20)\d{2}\s*(?:〕|\]|】|\)|）)\s*第?\s*\d{1,4}\s*号"
    r"|[\u4e00-\u9fff]{2,20}令(?:第\s*)?[\d一二三四五六七八九十百零〇]{1,6}\s*号"
    r"|[\u4e00-\u9fff]{2,12}公告\s*(?:19|20)\d{2}年第\s*\d{1,4}\s*号)")
_BRACKETS = str.maketrans({"[": "〔", "]": "〕", "【": "〔", "】": "〕", "(": "〔", ")": "〕", "（": "〔", "）": "〕",
                           "〔": "〔", "〕": "〕"})
_CN_DATE = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_ISO_DATE = re.compile(r"((?:19|20)\d{2})[-./](\d{1,2})[-./](\d{1,2})")
_ISSUER = re.compile(r"^[\u4e00-\u9fff（）()、]{2,40}?(?:人民政府办公厅|人民政府办公室|人民政府|办公厅|办公室|"
                     r"委员会|常务委员会|总局|[部厅局委署院])$")


def normalise_doc_number(value: str) -> str:
    """One spelling per 文号: simplified, no spaces, every bracket form as 〔〕, no 第 before the number."""
    s = _SPACE.sub("", simplify(value)).translate(_BRACKETS)
    return re.sub(r"〕第(\d)", r"〕\1", s)


def find_doc_number(text: str) -> str | None:
    """The first 文号 in a title or an opening (粤府办〔2016〕12号, 生态环境部令第4号, 国家税务总局公告2016年第62号)."""
    m = _DOC_NO.search(simplify(text[:3000]))
    return _SPACE.sub("", m.group(1)) if m else None


_LABELLED_DATE = re.compile(r"(?:成文|发布|印发|发文)日期\s*[:：]?\s*((?:19|20)\d{2})[-./年](\d{1,2})[-./月](\d{1,2})")


def find_date(text: str) -> dt.date | None:
    """The document's date: a labelled one (成文日期：2016-12-21), else the last full date of the opening."""
    s = simplify(text[:3000])
    if m := _LABELLED_DATE.search(s):
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            pass
    found: dt.date | None = None
    for m in _CN_DATE.finditer(s):
        try:
            found = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            continue
    return found


def parse_date(value: str | None, *, where: str) -> dt.date | None:
    """A date from a metadata field (YYYY-MM-DD, YYYY/MM/DD, YYYY年M月D日); a bad one names the field."""
    if value is None or not str(value).strip():
        return None
    s = simplify(str(value).strip())
    m = _ISO_DATE.match(s) or _CN_DATE.match(s)
    if not m:
        raise InboxError(f"{where}: {value!r} is not a date (YYYY-MM-DD or YYYY年M月D日)")
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise InboxError(f"{where}: {value!r} is not a real date") from None


def find_issuer(lines: list[str]) -> str | None:
    """An issuing body standing alone on one of the first lines (a notice's head or signature)."""
    for line in lines[:12]:
        s = line.strip()
        if _ISSUER.match(s):
            return s
    return None


def _clip(value: str | None, limit: int, *, where: str, name: str) -> str | None:
    if value is None:
        return None
    s = _SPACE.sub(" ", value).strip()
    if len(s) > limit:
        raise InboxError(f"{where}: field {name!r} is {len(s)} characters long (at most {limit})")
    return s or None


@dataclass(frozen=True, kw_only=True, slots=True)
class IncomingDocument:
    """One arriving document, as every source reports it.

    ``source`` says where it came from (``folder:/in/x.docx``, ``maildir:/m#key``,
    ``feed:https://…``); ``link`` is the page or file a person opens to read it.
    ``text`` is the plain text (at most :data:`MAX_TEXT` characters).
    """

    title: str
    text: str
    source: str
    doc_number: str | None = None
    issuer: str | None = None
    date: dt.date | None = None
    link: str | None = None
    received: dt.date | None = None
    key: str = field(init=False)

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise InboxError(f"{self.source}: a document needs a title")
        object.__setattr__(self, "key", self.dedupe_key())

    @classmethod
    def make(cls, *, title: str, text: str, source: str, doc_number: str | None = None, issuer: str | None = None,
             date: dt.date | None = None, link: str | None = None,
             received: dt.date | None = None) -> IncomingDocument:
        """Build a record from raw fields: checks sizes, cuts the text, fills 文号/date from the text."""
        clean_title = _clip(title, MAX_TITLE, where=source, name="title") or ""
        body = (text or "").strip()[:MAX_TEXT]
        number = _clip(doc_number, MAX_FIELD, where=source, name="doc_number") or find_doc_number(
            clean_title + "\n" + body[:600])
        return cls(title=clean_title, text=body, source=source, doc_number=number,
                   issuer=_clip(issuer, MAX_FIELD, where=source, name="issuer") or find_issuer(body.splitlines()),
                   date=date or find_date(body[:1500]), link=_clip(link, 2000, where=source, name="link"),
                   received=received)

    def dedupe_key(self) -> str:
        """The same document from two sources gives the same key (文号, else title + issuer + date)."""
        if self.doc_number:
            basis = "no|" + normalise_doc_number(self.doc_number)
        else:
            title = re.sub(r"[\s《》“”\"'（）()、，,。:：]+", "", simplify(self.title))
            issuer = re.sub(r"\s+", "", simplify(self.issuer or ""))
            basis = f"t|{title}|{issuer}|{self.date.isoformat() if self.date else ''}"
        return hashlib.sha256(basis.encode()).hexdigest()[:32]

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "doc_number": self.doc_number, "issuer": self.issuer,
                "date": self.date.isoformat() if self.date else None, "link": self.link, "source": self.source,
                "received": self.received.isoformat() if self.received else None, "key": self.key}
