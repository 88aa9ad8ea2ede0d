"""Digest rendering: Chinese templates, colour groups, StrictUndefined, sandbox, header safety."""

from __future__ import annotations

import dataclasses
import email.policy
import re
from datetime import date, datetime, timezone
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import jinja2
import pytest
from duban.errors import DubanError
from duban.notifiers.abc import HeaderValueError
from duban.notifiers.model import Digest, DigestItem, DigestValueError
from duban.notifiers.render import (
    SAMPLE_SENDER,
    DigestRenderer,
    DigestTemplateError,
    check_address,
    message_id_for,
    mime_bytes,
    render_digest,
    sample_digest,
    shorten,
    to_email,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.sandbox import SecurityError

DOMAIN = "duban.example"
NOW = datetime(2016, 8, 1, 9, 30, tzinfo=timezone.utc)


def render(digest: Digest, renderer: DigestRenderer | None = None):  # type: ignore[no-untyped-def]
    return render_digest(digest, sender=SAMPLE_SENDER, message_id_domain=DOMAIN, renderer=renderer, now=NOW)


def parse(message: EmailMessage) -> EmailMessage:
    """Serialise as SMTP would and read back, as a recipient's client does."""
    parsed = BytesParser(policy=email.policy.default).parsebytes(message.as_bytes(policy=email.policy.SMTP))
    assert isinstance(parsed, EmailMessage)
    return parsed


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    return str(part.get_content())


def display_name_as_sent(message: EmailMessage) -> str:
    """The To display name as an RFC 2047 reader shows it.

    Python's own address parser keeps the folding space between two adjacent
    encoded words of a long display name; RFC 2047 (6.2) says to drop it, as
    mail clients and :func:`email.header.decode_header` do.
    """
    raw = next(value for name, value in message.raw_items() if name.lower() == "to")
    if "<" not in raw:
        return ""
    phrase = " ".join(raw.rsplit("<", 1)[0].split())
    if len(phrase) > 1 and phrase[0] == phrase[-1] == '"':  # an ASCII quoted-string
        return re.sub(r"\\(.)", r"\1", phrase[1:-1])
    return str(make_header(decode_header(phrase))).strip()


def item(**changes: object) -> DigestItem:
    base = sample_digest().items[0]
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- content


def test_clerk_digest_is_chinese_and_grouped_red_yellow_green() -> None:
    digest = sample_digest()
    message = render(digest)
    assert message.subject == "【督办】市地税局完成时限提醒（3项，其中已逾期1项）"
    for text in (message.text, message.html):
        assert "林瑜同志" in text
        assert "2016年8月1日（星期一）" in text
        positions = [text.index(title) for title in ("红色 · 已逾期", "黄色 · 临近截止", "绿色 · 按期推进")]
        assert positions == sorted(positions)
        assert "本方案公布后30个工作日内" in text
        assert "已逾期22个工作日" in text and "剩余3个工作日" in text
        assert "2016年8月4日" in text
        assert "调整县级联席会议成员" in text
        assert "截止前5个工作日提醒" in text
        assert "https://duban.jieyang.example/dashboard" in text
        assert "督办系统" in text and "督办系统管理员" in text
    # The overdue item comes before the yellow one even though the tick listed it second.
    assert message.text.index("调整县级联席会议成员") < message.text.index("制定本单位贯彻落实措施")


def test_empty_colour_groups_are_left_out() -> None:
    digest = dataclasses.replace(sample_digest(), items=(item(colour="yellow"),))
    message = render(digest)
    assert "黄色 · 临近截止" in message.text
    assert "红色" not in message.text and "绿色" not in message.text


def test_escalation_says_so_in_subject_and_lists_notes() -> None:
    base = sample_digest(recipient_role="supervisor")
    overdue = base.items[0]
    digest = dataclasses.replace(
        base,
        items=(overdue, dataclasses.replace(overdue, obligation_id=7), dataclasses.replace(overdue, obligation_id=8)),
    )
    message = render(digest)
    assert message.subject == "【督办】逾期事项升级提醒（3项）"
    assert "升级督办" in message.text
    assert "揭西县人民政府：联络员邮箱地址无效" in message.text
    assert "<li>揭西县人民政府：联络员邮箱地址无效" in message.html

    leader = render(sample_digest(recipient_role="leader"))
    assert leader.subject == "【督办】逾期事项升级提醒（1项）"  # as documented: no unit appended (issue 17, row 12)
    assert "抄送您" in leader.text


def test_long_requirement_text_is_shortened_for_the_digest() -> None:
    message = render(sample_digest())
    long_text = sample_digest().items[2].requirement_text
    assert long_text not in message.text
    assert shorten(long_text) in message.text
    assert shorten(long_text).endswith("…")


@given(st.text(max_size=200), st.integers(min_value=8, max_value=120))
def test_shorten_never_exceeds_its_width(text: str, width: int) -> None:
    flat = " ".join(text.split())
    short = shorten(text, width)
    assert len(short) <= width
    if len(flat) <= width:
        assert short == flat
    else:
        assert short.endswith("…")
        assert flat.startswith(short[:-1].rstrip(" ，,、；;：:"))


def test_html_escapes_requirement_text_but_the_text_part_keeps_it() -> None:
    evil = "<script>alert('督办')</script>&"
    digest = dataclasses.replace(sample_digest(), items=(item(requirement_text=evil, unit="<b>市地税局</b>"),))
    message = render(digest)
    assert "<script>" not in message.html and "<b>市地税局</b>" not in message.html
    assert "&lt;script&gt;alert(&#39;督办&#39;)&lt;/script&gt;&amp;" in message.html
    assert "&lt;b&gt;市地税局&lt;/b&gt;" in message.html
    assert evil in message.text


def test_dashboard_link_must_be_http() -> None:
    with pytest.raises(DigestValueError, match="javascript"):
        dataclasses.replace(sample_digest(), dashboard_url="javascript:alert(1)")


# --------------------------------------------------------------------------- templates


def test_strict_undefined_in_an_edited_template_raises(tmp_path: Path) -> None:
    (tmp_path / "digest.txt.j2").write_text("{{ recipient_name }}：{{ no_such_variable }}\n", encoding="utf-8")
    renderer = DigestRenderer(tmp_path)
    with pytest.raises(DigestTemplateError, match=r"digest\.txt\.j2") as caught:
        render(sample_digest(), renderer)
    assert isinstance(caught.value, DubanError)
    assert isinstance(caught.value.__cause__, jinja2.UndefinedError)
    assert "no_such_variable" in str(caught.value)


def test_strict_undefined_on_a_missing_attribute_of_an_item(tmp_path: Path) -> None:
    (tmp_path / "digest.html.j2").write_text(
        "{% for g in groups %}{% for i in g.items %}{{ i.responsible_person }}{% endfor %}{% endfor %}",
        encoding="utf-8",
    )
    with pytest.raises(DigestTemplateError, match="responsible_person"):
        render(sample_digest(), DigestRenderer(tmp_path))


def test_edited_templates_are_sandboxed(tmp_path: Path) -> None:
    (tmp_path / "digest.txt.j2").write_text("{{ recipient_name.__class__.__mro__ }}\n", encoding="utf-8")
    renderer = DigestRenderer(tmp_path)
    assert renderer.sandboxed and not DigestRenderer().sandboxed
    with pytest.raises(DigestTemplateError) as caught:
        render(sample_digest(), renderer)
    assert isinstance(caught.value.__cause__, SecurityError)


def test_edited_subject_overrides_and_other_templates_fall_back(tmp_path: Path) -> None:
    (tmp_path / "subject.txt.j2").write_text("【督办提醒】{{ recipient_name }}（{{ total }}项）\n", encoding="utf-8")
    message = render(sample_digest(), DigestRenderer(tmp_path))
    assert message.subject == "【督办提醒】林瑜（3项）"
    assert "红色 · 已逾期" in message.text  # the package's body template


def test_a_subject_template_of_two_lines_is_refused(tmp_path: Path) -> None:
    (tmp_path / "subject.txt.j2").write_text("【督办】\n{{ total }}项\n", encoding="utf-8")
    with pytest.raises(HeaderValueError) as caught:
        DigestRenderer(tmp_path).check()
    assert caught.value.field == "subject"


def test_template_syntax_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "digest.html.j2").write_text("{% for x in groups %}unclosed", encoding="utf-8")
    with pytest.raises(DigestTemplateError, match=r"digest\.html\.j2"):
        DigestRenderer(tmp_path).check()


def test_package_templates_pass_their_own_check() -> None:
    messages = DigestRenderer().check()
    assert [m.subject.startswith("【督办】") for m in messages] == [True, True, True]


# --------------------------------------------------------------------------- MIME and headers


def test_mime_structure_headers_and_date_in_shanghai() -> None:
    message = render(sample_digest())
    parsed = parse(to_email(message))
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parsed.iter_parts())
    assert parsed["Subject"] == "【督办】市地税局完成时限提醒（3项，其中已逾期1项）"
    assert parsed["To"].addresses[0].display_name == "林瑜"
    assert parsed["To"].addresses[0].addr_spec == "linyu@dishui.jieyang.example"
    assert parsed["From"].addresses[0].display_name == "督办系统"
    assert parsed["Date"] == "Mon, 01 Aug 2016 17:30:00 +0800"  # 09:30 UTC
    assert parsed["Message-ID"] == message.message_id
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert "林瑜同志" in body(parsed, "plain")
    assert "border-left: 4px solid" in body(parsed, "html")  # compact cards, not a wide table
    raw = to_email(message).as_bytes(policy=email.policy.SMTP)
    assert raw.isascii()  # 7-bit on the wire: encoded headers, base64 bodies


def test_message_id_is_stable_for_a_key_and_mime_is_deterministic() -> None:
    digest = sample_digest()
    first = render_digest(digest, sender=SAMPLE_SENDER, message_id_domain=DOMAIN, now=NOW)
    next_day = datetime(2016, 8, 2, tzinfo=timezone.utc)
    later = render_digest(digest, sender=SAMPLE_SENDER, message_id_domain=DOMAIN, now=next_day)
    assert first.message_id == later.message_id == message_id_for(digest.key, DOMAIN)
    assert first.message_id != message_id_for(digest.key + "x", DOMAIN)
    assert to_email(first).as_bytes() == to_email(first).as_bytes()
    assert mime_bytes(first) == mime_bytes(first) != mime_bytes(later)  # only the Date differs
    assert parse(to_email(later))["Message-ID"] == first.message_id


@given(st.text(min_size=1, max_size=80))
@settings(max_examples=60, deadline=None)
def test_any_key_gives_a_wellformed_message_id_that_survives_parsing(key: str) -> None:
    message_id = message_id_for(key, DOMAIN)
    assert re.fullmatch(r"<duban\.[0-9a-f]{32}@duban\.example>", message_id)
    assert message_id == message_id_for(key, DOMAIN)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"recipient_name": "林瑜\r\nBcc: spy@evil.example"}, "recipient_name"),
        ({"recipient_name": "林瑜\nX-Injected: 1"}, "recipient_name"),
        ({"recipient_name": "林瑜\x00"}, "recipient_name"),
        ({"recipient_name": "林瑜\u2028Bcc: spy@evil.example"}, "recipient_name"),
        ({"recipient_name": "=?utf-8?b?5p6X55Gc?= <spy@evil.example>"}, "recipient_name"),
        ({"units": ("=?utf-8?b?5biC5Zyw56iO5bGA?=",)}, "units[0]"),
        ({"units": ("市地税局", "揭西县\r\nBcc: spy@evil.example")}, "units[1]"),
        ({"key": "k\r\nX-Injected: 1"}, "key"),
        ({"recipient_email": "not-an-address"}, "recipient_email"),
        ({"recipient_email": "linyu@localhost"}, "recipient_email"),
        ({"recipient_email": "linyu@@dishui.example"}, "recipient_email"),
        ({"recipient_email": "lin yu@dishui.example"}, "recipient_email"),
        ({"recipient_email": "a@dishui.example, spy@evil.example"}, "recipient_email"),
        ({"recipient_email": "a@dishui.example\r\nBcc: spy@evil.example"}, "recipient_email"),
        ({"recipient_email": "<a@dishui.example>"}, "recipient_email"),
        ({"recipient_email": "林瑜@dishui.example"}, "recipient_email"),
        ({"recipient_email": "a@dishui.example (comment)"}, "recipient_email"),
        ({"recipient_email": ""}, "recipient_email"),
    ],
)
def test_header_injection_attempts_are_refused(changes: dict[str, object], field: str) -> None:
    digest = dataclasses.replace(sample_digest(), **changes)  # type: ignore[arg-type]
    with pytest.raises(HeaderValueError) as caught:
        render(digest)
    assert caught.value.field == field
    assert isinstance(caught.value, DubanError) and isinstance(caught.value, ValueError)
    assert repr(caught.value.value) in str(caught.value)


@pytest.mark.parametrize(
    "sender",
    ["督办系统 <duban@duban.example>\r\nBcc: spy@evil.example", "two@a.example, three@b.example", "nobody", ""],
)
def test_a_bad_sender_is_refused(sender: str) -> None:
    with pytest.raises(HeaderValueError) as caught:
        render_digest(sample_digest(), sender=sender, message_id_domain=DOMAIN)
    assert caught.value.field == "sender"


def test_a_bad_message_id_domain_is_refused() -> None:
    with pytest.raises(HeaderValueError, match="message_id_domain"):
        render_digest(sample_digest(), sender=SAMPLE_SENDER, message_id_domain="x>\r\nBcc: a@b.example")


def test_to_email_checks_a_stored_message_again() -> None:
    message = render(sample_digest())
    for field, value in [
        ("subject", "【督办】\r\nBcc: spy@evil.example"),
        ("recipient", "spy@evil.example\nBcc: x@evil.example"),
        ("message_id", "<a@b.example>\r\nBcc: x@evil.example"),
    ]:
        with pytest.raises(HeaderValueError):
            to_email(dataclasses.replace(message, **{field: value}))


def test_mime_bytes_are_the_bytes_of_to_email_for_the_samples() -> None:
    for role in ("clerk", "leader", "supervisor"):
        message = render(sample_digest(recipient_role=role))
        reference = to_email(message)
        del reference.get_payload()[1]["MIME-Version"]  # add_alternative() repeats it in the part
        assert mime_bytes(message) == reference.as_bytes(policy=email.policy.SMTP)
        assert mime_bytes(message, linesep="\n") == reference.as_bytes(policy=email.policy.default)


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
_LINE = st.text(
    st.sampled_from(list("督办市地税局逾期升级提醒（）【】：，abcXYZ 0123456789-_.:/\\\"=?")), min_size=1, max_size=120
)


@given(subject=_LINE, name=_LINE, key=_LINE, text=_TEXT, html=_TEXT)
@settings(max_examples=150, deadline=None)
def test_mime_bytes_mean_what_to_email_means(subject: str, name: str, key: str, text: str, html: str) -> None:
    """Differential check: the direct serialiser against the email package's own construction."""
    base = render(sample_digest())
    try:
        message = dataclasses.replace(
            base, subject=subject, key=key, text=text, html=html,
            recipient=str(check_address("recipient", "linyu@dishui.jieyang.example", name)),
        )
        built = BytesParser(policy=email.policy.default).parsebytes(mime_bytes(message))
    except HeaderValueError:
        assert "=?" in subject + name + key and "?=" in subject + name + key
        return
    assert isinstance(built, EmailMessage)
    raw = mime_bytes(message)
    assert raw.isascii() and all(len(line) <= 78 for line in raw.split(b"\r\n")[:12])
    reference = parse(to_email(message))
    for header in ("From", "Date", "Message-ID", "Content-Type", "MIME-Version", "Auto-Submitted"):
        assert str(built[header]) == str(reference[header]), header
    assert built["To"].addresses[0].addr_spec == reference["To"].addresses[0].addr_spec
    assert display_name_as_sent(built) == display_name_as_sent(reference) == " ".join(name.split())
    for header, value in (("Subject", subject), ("X-Duban-Key", key)):
        normal = " ".join(value.split())
        assert " ".join(str(built[header]).split()) == " ".join(str(reference[header]).split()) == normal
    for subtype in ("plain", "html"):
        assert body(built, subtype) == body(reference, subtype)
    expected = b"".join(line + b"\n" for line in text.encode().splitlines()) or b"\n"
    assert body(built, "plain") == expected.decode()
    assert not built.defects and all(not part.defects for part in built.iter_parts())


_NAME_CHARS = st.sampled_from(list("林瑜游绿东市地税局 ,.;:<>@\"'()[]\\=?_-\t\r\n\x00\u2028éaZ"))


@given(name=st.text(_NAME_CHARS, min_size=1, max_size=30), unit=st.text(_NAME_CHARS, min_size=1, max_size=20))
@settings(max_examples=150, deadline=None)
def test_names_either_are_refused_or_survive_the_round_trip(name: str, unit: str) -> None:
    """Whatever the register holds, the recipient's client sees exactly one To and the name given."""
    digest = dataclasses.replace(sample_digest(), recipient_name=name, units=(unit,))
    try:
        message = render(digest)
    except HeaderValueError as exc:
        assert exc.field in ("recipient_name", "units[0]", "recipient_email.display_name")
        assert any(c in exc.value for c in "\r\n\x00\u2028") or "=?" in str(exc.value)
        return
    parsed = parse(to_email(message))
    assert len(parsed.get_all("To")) == 1 and parsed.get_all("Bcc") is None
    addresses = parsed["To"].addresses
    assert len(addresses) == 1
    assert addresses[0].addr_spec == "linyu@dishui.jieyang.example"
    assert display_name_as_sent(parsed) == " ".join(name.split())
    assert parsed["Subject"] == message.subject


def test_check_address_accepts_ordinary_official_addresses() -> None:
    address = check_address("recipient_email", "lin.yu+duban@dishui.jieyang.example", "林瑜")
    assert str(address) == "林瑜 <lin.yu+duban@dishui.jieyang.example>"


def test_digest_values_are_checked() -> None:
    with pytest.raises(DigestValueError, match="purple"):
        item(colour="purple")
    with pytest.raises(DigestValueError, match="before_99"):
        item(stage="before_99")
    with pytest.raises(DigestValueError, match="mayor"):
        dataclasses.replace(sample_digest(), recipient_role="mayor")  # type: ignore[arg-type]
    assert sample_digest(as_of=date(2016, 9, 1)).as_of == date(2016, 9, 1)
