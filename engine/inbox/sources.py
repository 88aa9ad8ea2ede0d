"""Where documents arrive: a folder of received files, a mailbox, a government site's list page or feed.

Each reader yields :class:`~.records.IncomingDocument` records and never
writes anything; :func:`.service.scan` stores them. The readers lean on
well-kept libraries: the notice readers of :mod:`..drafting.formats` (text,
HTML, .docx, .xlsx), the stdlib :mod:`mailbox`, :mod:`imaplib` and
:mod:`email` for a Maildir or an IMAP mailbox (read-only), ``feedparser`` for RSS/Atom and ``lxml`` for an HTML list page.

Limits keep a bad source from swamping the inbox: a file over
:data:`MAX_FILE_BYTES` is refused with its name, a folder or mailbox yields at
most :data:`MAX_ITEMS` documents per scan. A PDF is read when ``pypdf`` is
installed, otherwise refused with what to do.
"""

from __future__ import annotations

import datetime as dt
import os
import email.policy
import email.utils
import imaplib
import io
import mailbox
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from ..drafting.formats import NoticeFormatError, html_document, read_document
from .config import SourceConfig
from .records import IncomingDocument, InboxError, find_date

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ITEMS = 5_000
#: the environment variable a configured IMAP source's password is read from (never the config file)
IMAP_PASSWORD_ENV = "DUBAN_INBOX_IMAP_PASSWORD"
_SUFFIXES = (".txt", ".text", ".html", ".htm", ".shtml", ".docx", ".xlsx", ".pdf")


def _pdf_text(data: bytes, label: str) -> str:
    try:
        from pypdf import PdfReader  # optional: only when the operator installed it
    except ImportError:
        raise InboxError(f"{label}: a PDF, and pypdf is not installed; install pypdf or save the text "
                         f"as .txt next to it") from None
    try:
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    except Exception as exc:  # pypdf raises many types for a broken file
        raise InboxError(f"{label}: not a readable PDF ({exc})") from None


def _title_of(text: str, fallback: str) -> str:
    for line in text.splitlines():
        s = line.strip()
        if len(s) >= 4:
            return s[:200]
    return fallback


def read_file(path: Path, *, source: str | None = None) -> IncomingDocument:
    """One received file → a record (title = first line of text, 文号/date/issuer from the opening)."""
    label = source or f"folder:{path}"
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InboxError(f"{path}: {size} bytes, more than the {MAX_FILE_BYTES} a received file may have")
    if path.suffix.lower() == ".pdf":
        text = _pdf_text(path.read_bytes(), str(path))
    else:
        try:
            text = read_document(path).text
        except NoticeFormatError as exc:
            raise InboxError(str(exc)) from None
    received = dt.datetime.fromtimestamp(path.stat().st_mtime).date()
    return IncomingDocument.make(title=_title_of(text, path.stem), text=text, source=label,
                                 link=str(path.resolve()), received=received)


def read_folder(folder: Path) -> Iterator[IncomingDocument]:
    """Every readable file of a folder (sorted by name; hidden files and other suffixes skipped)."""
    if not folder.is_dir():
        raise InboxError(f"{folder}: no such folder (inbox source)")
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in _SUFFIXES)
    for path in files[:MAX_ITEMS]:
        yield read_file(path)


def _message_text(msg: email.message.EmailMessage, label: str) -> tuple[str, list[tuple[str, bytes]]]:
    """The message body as text, and its attachments that are documents."""
    body = msg.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        content = body.get_content()
        text = html_document(content.encode(), source=label).text if body.get_content_subtype() == "html" \
            else content
    files = []
    for part in msg.iter_attachments():
        name = part.get_filename() or ""
        if Path(name).suffix.lower() in _SUFFIXES:
            data = part.get_payload(decode=True) or b""
            if len(data) > MAX_FILE_BYTES:
                raise InboxError(f"{label}: attachment {name!r} is larger than {MAX_FILE_BYTES} bytes")
            files.append((name, data))
    return text, files


def _message_document(msg: email.message.EmailMessage, *, label: str, link: str, key: str,
                      workdir: Path) -> IncomingDocument:
    """One mail message → a record: the subject is the title; a document attachment's text comes first."""
    text, files = _message_text(msg, label)
    for name, data in files:
        tmp = workdir / ".duban-inbox" / Path(name).name
        tmp.parent.mkdir(exist_ok=True)
        tmp.write_bytes(data)
        try:
            text = read_file(tmp).text + "\n" + text
        finally:
            tmp.unlink()
    sent = msg["Date"]
    received = email.utils.parsedate_to_datetime(sent).date() if sent else None
    return IncomingDocument.make(title=str(msg["Subject"] or _title_of(text, key)), text=text, source=label,
                                 link=link, received=received)


def read_maildir(path: Path, *, workdir: Path | None = None) -> Iterator[IncomingDocument]:
    """Every message of a Maildir: the subject is the title; a document attachment's text is the text.

    Messages are only read (never moved or flagged): the dedupe key keeps a
    re-scan from proposing anything twice.
    """
    if not (path / "cur").is_dir() and not (path / "new").is_dir():
        raise InboxError(f"{path}: not a Maildir (no cur/ or new/ folder)")
    box = mailbox.Maildir(path, factory=None, create=False)
    for n, key in enumerate(sorted(box.keys())):
        if n >= MAX_ITEMS:
            break
        with box.get_file(key) as fh:
            msg = email.message_from_binary_file(fh, policy=email.policy.default)
        yield _message_document(msg, label=f"maildir:{path}#{key}", link=f"{path}#{key}", key=key,  # type: ignore[arg-type]
                                workdir=workdir or path)


_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def read_imap(location: str, *, password: str | None = None, timeout: float = 30.0) -> Iterator[IncomingDocument]:
    """Every message of an IMAP mailbox (``imaps://user@host[:port]/MAILBOX``), read-only.

    The mailbox is selected read-only and bodies are fetched with
    ``BODY.PEEK[]``: nothing is flagged, moved or deleted on the server. The
    password comes from the caller (``$DUBAN_INBOX_IMAP_PASSWORD`` for a
    configured source), never from the URL. Plain ``imap://`` is accepted on
    loopback only: a password is not sent in clear over a network.
    """
    url = urlsplit(location)
    if url.scheme not in ("imap", "imaps") or not url.hostname or not url.username:
        raise InboxError(f"{location}: expected imaps://user@host[:port]/MAILBOX")
    if url.scheme == "imap" and url.hostname not in _LOOPBACK:
        raise InboxError(f"{location}: plain imap:// only on loopback; use imaps:// for {url.hostname}")
    if url.password:
        raise InboxError(f"{url.scheme}://{url.username}@{url.hostname}: no password in the URL; "
                         f"set {IMAP_PASSWORD_ENV}")
    if password is None:
        raise InboxError(f"{location}: no password (set {IMAP_PASSWORD_ENV})")
    folder = unquote(url.path.lstrip("/")) or "INBOX"
    cls = imaplib.IMAP4_SSL if url.scheme == "imaps" else imaplib.IMAP4
    try:
        conn = cls(url.hostname, url.port or (993 if url.scheme == "imaps" else 143), timeout=timeout)
    except OSError as exc:
        raise InboxError(f"{location}: cannot connect ({exc})") from None
    try:
        conn.login(unquote(url.username), password)
        yield from _imap_messages(conn, location, folder)
    except imaplib.IMAP4.error as exc:
        raise InboxError(f"{location}: {exc}") from None
    finally:
        try:
            conn.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def _imap_messages(conn: imaplib.IMAP4, location: str, folder: str) -> Iterator[IncomingDocument]:
    url = urlsplit(location)
    status, data = conn.select(_imap_quote(folder), readonly=True)
    if status != "OK":
        raise InboxError(f"{location}: cannot open mailbox {folder!r} ({data!r})")
    status, data = conn.uid("SEARCH", None, "ALL")  # type: ignore[arg-type]
    uids = (data[0] or b"").split() if status == "OK" else []
    with tempfile.TemporaryDirectory(prefix="duban-imap-") as work:
        for uid in uids[:MAX_ITEMS]:
            status, parts = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple)), None) if status == "OK" else None
            if raw is None:
                raise InboxError(f"{location}: message {uid.decode()} could not be fetched")
            if len(raw) > MAX_FILE_BYTES:
                raise InboxError(f"{location}: message {uid.decode()} is larger than {MAX_FILE_BYTES} bytes")
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            key = uid.decode()
            yield _message_document(msg, label=f"imap:{url.hostname}/{folder}#{key}",  # type: ignore[arg-type]
                                    link=f"{url.scheme}://{url.hostname}/{folder};UID={key}", key=key,
                                    workdir=Path(work))


def _imap_quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def read_feed(location: str) -> Iterator[IncomingDocument]:
    """An RSS or Atom feed (a file or a URL): each entry's title, link, date and summary."""
    import feedparser

    if "://" not in location:
        p = Path(location)
        if not p.is_file():
            raise InboxError(f"{location}: no such feed file")
        if p.stat().st_size > MAX_FILE_BYTES:
            raise InboxError(f"{location}: larger than {MAX_FILE_BYTES} bytes")
        parsed = feedparser.parse(p.read_bytes())
    else:
        parsed = feedparser.parse(location)
    if parsed.bozo and not parsed.entries:
        raise InboxError(f"{location}: not an RSS or Atom feed ({parsed.get('bozo_exception')})")
    for n, entry in enumerate(parsed.entries):
        if n >= MAX_ITEMS:
            break
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        on = dt.date(stamp.tm_year, stamp.tm_mon, stamp.tm_mday) if stamp else None
        summary = entry.get("summary", "")
        text = _html_text(summary) if "<" in summary else summary
        title = entry.get("title", "").strip()
        if not title:
            raise InboxError(f"{location}: entry {n + 1} has no title")
        yield IncomingDocument.make(title=title, text=text, source=f"feed:{location}", date=on,
                                    link=entry.get("link"), issuer=entry.get("author") or None)


def _html_text(fragment: str) -> str:
    """The text of an HTML fragment (a feed entry's summary), decoded as the feed was."""
    from lxml import html as lxml_html

    return lxml_html.fromstring(f"<div>{fragment}</div>").text_content().strip()


def read_list_page(path: Path, *, base_url: str | None = None) -> Iterator[IncomingDocument]:
    """A saved document list page (政府信息公开目录): each ``<li>``/``<tr>`` with a link is one document.

    Its title is the link's text (or its ``title`` attribute), its date the
    date printed beside it; the 文号 when the row shows one.
    """
    from lxml import html as lxml_html

    if not path.is_file():
        raise InboxError(f"{path}: no such list page")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InboxError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    tree = lxml_html.fromstring(path.read_bytes())
    count = 0
    for item in tree.iter("li", "tr"):
        links = [a for a in item.iter("a") if a.get("href")]
        if not links or count >= MAX_ITEMS:
            continue
        a = max(links, key=lambda el: len(el.text_content().strip()))
        title = (a.get("title") or a.text_content()).strip()
        if len(title) < 4:
            continue
        row_text = " ".join(item.text_content().split())
        count += 1
        yield IncomingDocument.make(title=title, text=row_text, source=f"html:{path}",
                                    link=urljoin(base_url or "", a.get("href")), date=_row_date(row_text))


def _row_date(text: str) -> dt.date | None:
    m = re.search(r"((?:19|20)\d{2})[-./年](\d{1,2})[-./月](\d{1,2})", text)
    if m:
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    return find_date(text)


def read_source(cfg: SourceConfig) -> Iterator[IncomingDocument]:
    """Read a configured source by its kind."""
    if cfg.kind == "folder":
        # The configured drop folder is where clerks save what arrives: a fresh install has
        # none yet, and an empty inbox is not an error (a folder named on the command line is).
        Path(cfg.location).mkdir(parents=True, exist_ok=True)
        return read_folder(Path(cfg.location))
    if cfg.kind == "maildir":
        return read_maildir(Path(cfg.location))
    if cfg.kind == "imap":
        return read_imap(cfg.location, password=os.environ.get(IMAP_PASSWORD_ENV))
    if cfg.kind == "feed":
        return read_feed(cfg.location)
    if cfg.kind == "html":
        return read_list_page(Path(cfg.location), base_url=cfg.base_url)
    raise InboxError(f"source {cfg.name!r}: unknown kind {cfg.kind!r}")
