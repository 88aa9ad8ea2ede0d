"""The inbox's sources on real files: a folder (.txt, .html, .docx, .pdf), a real Maildir, a saved list page and feeds.

IMAP is not covered: no IMAP server runs here; a Maildir (stdlib ``mailbox``,
the format dovecot and postfix write) is the tested mailbox.
"""

from __future__ import annotations

import datetime as dt
import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest
from docx import Document as DocxDocument
from duban.engine.inbox.records import IncomingDocument, InboxError, find_doc_number, normalise_doc_number
from duban.engine.inbox.sources import MAX_FILE_BYTES, read_feed, read_folder, read_list_page, read_maildir

FIX = Path(__file__).parent / "fixtures" / "inbox"
HEAD = "财政部 国家税务总局关于完善股权激励和技术入股有关所得税政策的通知"
BODY = "财税〔2016〕101号\n各省、自治区、直辖市财政厅（局）：\n现就完善股权激励和技术入股有关所得税政策通知如下\n2016年9月20日"


def test_folder_reads_text_html_docx_and_refuses_pdf(tmp_path: Path) -> None:
    content = f"{HEAD}\n{BODY}"
    (tmp_path / "a.txt").write_text(content, encoding="utf-8")
    html = f"<html><head><meta charset=\"utf-8\"></head><body><h1>{HEAD}</h1><p>{BODY}</p></body></html>"
    (tmp_path / "b.html").write_text(html, encoding="utf-8")
    doc = DocxDocument()
    doc.add_paragraph(HEAD)
    for line in BODY.splitlines():
        doc.add_paragraph(line)
    doc.save(str(tmp_path / "c.docx"))
    (tmp_path / ".hidden.txt").write_text("x", encoding="utf-8")
    (tmp_path / "ignored.png").write_bytes(b"\x89PNG")
    docs = list(read_folder(tmp_path))
    assert [d.title for d in docs] == [HEAD] * 3
    assert {d.doc_number for d in docs} == {"财税〔2016〕101号"}
    assert {d.date for d in docs} == {dt.date(2016, 9, 20)}
    assert len({d.key for d in docs}) == 1  # one document, three copies
    (tmp_path / "d.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\n")
    try:
        import pypdf  # noqa: F401
    except ImportError:
        with pytest.raises(InboxError, match=r"d\.pdf.*pypdf"):
            list(read_folder(tmp_path))


def test_folder_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InboxError, match="no such folder"):
        list(read_folder(tmp_path / "missing"))
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(InboxError, match="big.txt"):
        list(read_folder(tmp_path))


def test_maildir_subject_body_and_attachment(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    plain = EmailMessage()
    plain["Subject"], plain["From"], plain["Date"] = HEAD, "caizheng@example.gov.cn", "Wed, 21 Sep 2016 09:00:00 +0800"
    plain.set_content(BODY)
    box.add(plain)
    attached = EmailMessage()
    attached["Subject"], attached["Date"] = "转发：省文件", "Thu, 22 Sep 2016 09:00:00 +0800"
    attached.set_content("请查收附件。")
    attached.add_attachment(f"{HEAD}\n{BODY}".encode(), maintype="text", subtype="plain", filename="wenjian.txt")
    box.add(attached)
    docs = sorted(read_maildir(tmp_path / "mail"), key=lambda d: d.title)
    assert [d.title for d in docs] == sorted([HEAD, "转发：省文件"])
    assert all(d.doc_number == "财税〔2016〕101号" for d in docs)
    assert {d.received for d in docs} == {dt.date(2016, 9, 21), dt.date(2016, 9, 22)}
    assert not list((tmp_path / "mail").rglob("wenjian.txt"))  # the attachment's scratch copy is gone
    with pytest.raises(InboxError, match="not a Maildir"):
        list(read_maildir(tmp_path))


def test_saved_list_page() -> None:
    docs = list(read_list_page(FIX / "list_page.html", base_url="https://www.example.gov.cn/"))
    assert [d.doc_number for d in docs] == ["财税〔2016〕140号", "财税〔2016〕101号", "财预〔2016〕154号"]
    assert docs[0].date == dt.date(2016, 12, 21)
    assert docs[0].link == "https://www.example.gov.cn/zwgk/2016/140.html"


def test_rss_and_atom_feeds() -> None:
    rss = list(read_feed(str(FIX / "feed.rss")))
    assert [d.date for d in rss] == [dt.date(2016, 9, 20), dt.date(2017, 2, 6)]
    assert rss[0].doc_number == "财税〔2016〕101号" and rss[0].link.endswith("/101.html")
    [atom] = read_feed(str(FIX / "feed.atom"))
    assert atom.doc_number == "财税〔2016〕140号" and "营改增" in atom.text
    page = list(read_list_page(FIX / "list_page.html"))
    assert atom.key == page[0].key  # the same document from the feed and the list page


def test_bad_feed_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "x.rss"
    bad.write_text("this is not xml <<<", encoding="utf-8")
    with pytest.raises(InboxError, match="x.rss"):
        list(read_feed(str(bad)))


def test_doc_numbers_normalise_across_spellings() -> None:
    assert normalise_doc_number("財稅[2016]101號") == normalise_doc_number("财税〔2016〕101号")
    assert find_doc_number("生态环境部令第4号 公布") == "生态环境部令第4号"
    assert find_doc_number("国家税务总局公告2016年第62号") == "国家税务总局公告2016年第62号"
    with pytest.raises(InboxError, match="title"):
        IncomingDocument.make(title="x" * 600, text="", source="t")
