"""Render a digest (督办提醒) to a message, and a message to MIME with safe headers.

Two steps, so a notifier that is not e-mail (the webhook) can use the first:

- :func:`render_digest` fills the Jinja2 templates (subject, plain text, HTML)
  and checks every header value taken from data;
- :func:`to_email` builds the ``multipart/alternative`` MIME message with the
  email package's API; :func:`mime_bytes` writes the same message straight to
  bytes, and is what the outbox and SMTP notifiers use (eight times cheaper,
  held to :func:`to_email` by a differential test).

All are deterministic: the same :class:`~duban.notifiers.abc.OutgoingMessage`
always gives the same bytes (the Message-ID and the MIME boundary derive from
the outbox key, the Date header from the message's ``created`` time). So a
resend after a crash is the very message first attempted, and writing a
message to the outbox folder twice leaves the same file.

Templates. The package's own templates live in ``notifiers/templates``.
Officials may edit copies: a :class:`DigestRenderer` given ``templates_dir``
looks there first and falls back to the package file of the same name, and
renders *all* templates in a :class:`jinja2.sandbox.SandboxedEnvironment`
(an edited template is data from outside the code base, and must not reach
Python internals). Both environments use :class:`jinja2.StrictUndefined`: a
misspelt variable is an error, never a silently blank line in an official
notice. Only the HTML environment autoescapes.

Header safety. Names, addresses, unit names and subjects come from plan files
and unit registers. A CR or LF in one would start a header of its own
(header injection); a raw ``=?utf-8?b?...?=`` encoded word would be decoded
by the reader's client into anything, including another address. Every such
value is checked and a :class:`~duban.notifiers.abc.HeaderValueError` names
the field and the value.
"""

from __future__ import annotations

import base64
import email.policy
import hashlib
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from email.errors import HeaderParseError
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from ..errors import DubanError
from ..zh import cn_date
from .abc import HeaderValueError, NotifierConfigError, OutgoingMessage
from .model import COLOURS, Digest, DigestItem, Role

__all__ = [
    "DEFAULT_CONTACT",
    "SAMPLE_SENDER",
    "DEFAULT_TZ",
    "DigestRenderer",
    "DigestTemplateError",
    "HeaderValueError",
    "check_address",
    "check_header_value",
    "default_renderer",
    "message_id_for",
    "mime_bytes",
    "parse_mailbox",
    "render_digest",
    "safe_token",
    "sample_digest",
    "shorten",
    "to_email",
]

#: Dates and the Date header are given in China Standard Time.
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
"""The zone an email is dated in when the renderer is not given the configured one (北京时间)."""

#: Whom the footer names when the deployment names no one.
DEFAULT_CONTACT = "督办系统管理员"

TEMPLATE_SUBJECT = "subject.txt.j2"
TEMPLATE_TEXT = "digest.txt.j2"
TEMPLATE_HTML = "digest.html.j2"
TEMPLATE_NAMES = (TEMPLATE_SUBJECT, TEMPLATE_TEXT, TEMPLATE_HTML)

#: Group headings, red first: what is late matters most (红色 已逾期, 黄色 临近截止, 绿色).
GROUP_TITLES: Mapping[str, str] = {
    "red": "红色 · 已逾期",
    "yellow": "黄色 · 临近截止",
    "green": "绿色 · 按期推进",
    "blue": "蓝色 · 待报进展",
}
GROUP_ORDER: tuple[str, ...] = ("red", "yellow", "green")

ROLE_LABELS: Mapping[str, str] = {
    "clerk": "联络员",
    "leader": "单位负责人",
    "supervisor": "督办人员",
}

_WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")

# C0 controls (bar TAB), DEL, and the characters str.splitlines() also breaks
# on (NEL, LS, PS): the email package folds headers with splitlines(), so any
# of them can end a header line as surely as CR/LF.
_UNSAFE_CHARS = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
# Deliberately loose: clients decode sloppy encoded words too.
_ENCODED_WORD = re.compile(r"=\?.*?\?=", re.DOTALL)
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_BREAK_AFTER = "。；;，,、：:）)"
_MESSAGE_ID = re.compile(r"<[!-;=?-~]+@[A-Za-z0-9.-]+>")


class DigestTemplateError(DubanError, ValueError):
    """A digest template failed: a missing variable, a syntax error, a sandbox refusal.

    Names the template and the digest key, so an official who edited a
    template sees which file to fix.
    """

    def __init__(self, template: str, key: str, cause: Exception) -> None:
        self.template = template
        self.key = key
        super().__init__(
            f"template {template!r} failed for digest {key!r}: {type(cause).__name__}: {cause}"
        )


# --------------------------------------------------------------------------- header checks


def check_header_value(field: str, value: str) -> str:
    """Return ``value`` if it may go into a header, else raise :class:`HeaderValueError`."""
    if not isinstance(value, str):
        raise HeaderValueError(field, value, "not a string")
    bad = _UNSAFE_CHARS.search(value)
    if bad is not None:
        raise HeaderValueError(field, value, f"control or line-break character {bad.group()!r}")
    if _ENCODED_WORD.search(value):
        raise HeaderValueError(field, value, "contains a raw '=?...?=' encoded-word sequence")
    return value


def check_address(field: str, addr_spec: str, display_name: str = "") -> Address:
    """Parse one e-mail address (and optional display name), strictly.

    Only plain ASCII ``local@host.name`` forms are accepted: the address must
    parse back to exactly the text given (no comments, no trailing text, no
    route or group syntax). An internationalised domain must be written in its
    ``xn--`` form; SMTPUTF8 mailboxes are refused, since not every government
    mail server accepts them.
    """
    check_header_value(field, addr_spec)
    check_header_value(f"{field}.display_name", display_name)
    display_name = " ".join(display_name.split())  # folding would collapse it anyway
    if not addr_spec.isascii():
        raise HeaderValueError(field, addr_spec, "non-ASCII address (write the domain as xn--...)")
    try:
        address = Address(display_name=display_name, addr_spec=addr_spec)
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise HeaderValueError(field, addr_spec, f"not an e-mail address: {exc}") from None
    if address.addr_spec != addr_spec or not address.username or not address.domain:
        raise HeaderValueError(field, addr_spec, "not a plain local@domain address")
    if not _HOSTNAME.match(address.domain) or "." not in address.domain:
        raise HeaderValueError(field, addr_spec, f"domain {address.domain!r} is not a host name")
    return address


@lru_cache(maxsize=4096)
def parse_mailbox(field: str, value: str) -> Address:
    """Parse a mailbox string (``"督办系统 <duban@x.example>"`` or a bare address).

    Cached: the sender is the same for every message of a tick, and a
    recipient's mailbox is parsed by the renderer, the notifier and the MIME
    builder in turn. :class:`Address` values are immutable.
    """
    check_header_value(field, value)
    header = email.policy.default.header_factory("From", value)
    addresses: tuple[Address, ...] = tuple(getattr(header, "addresses", ()))
    if len(addresses) != 1 or header.defects:
        raise HeaderValueError(field, value, "not exactly one valid mailbox")
    parsed = addresses[0]
    return check_address(field, parsed.addr_spec, parsed.display_name)


def safe_token(key: str, *, max_prefix: int = 60) -> str:
    """A readable, file- and header-safe token for ``key``: ASCII prefix + short hash.

    The prefix keeps the key's letters, digits, ``.``, ``_`` and ``-`` (other
    runs become one ``_``), cut to ``max_prefix``; the 16 hex digits of the
    key's SHA-256 keep distinct keys apart, whatever the prefix lost.
    """
    prefix = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._-")[:max_prefix].rstrip("._-")
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{prefix or 'digest'}--{digest}"


def message_id_for(key: str, domain: str) -> str:
    """The Message-ID of digest ``key``: the same for every rendering and every resend.

    A resend after an ambiguous SMTP failure carries this same id, so a
    recipient's client (and many servers) can recognise the duplicate.
    """
    if not _HOSTNAME.match(domain):
        raise HeaderValueError("message_id_domain", domain, "not a host name")
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"<duban.{digest}@{domain}>"


# --------------------------------------------------------------------------- template helpers


def cn_weekday(value: date) -> str:
    """``2016-06-30`` → ``星期四``."""
    return _WEEKDAYS[value.weekday()]


def days_left(value: int) -> str:
    """Working days left, in words: 剩余3个工作日 / 今日截止 / 已逾期2个工作日."""
    if value > 0:
        return f"剩余{value}个工作日"
    if value == 0:
        return "今日截止"
    return f"已逾期{-value}个工作日"


def shorten(text: str, width: int = 60) -> str:
    """Shorten a requirement (具体要求) to about ``width`` characters.

    Whitespace from the PDF extraction is collapsed first. A cut prefers the
    last Chinese punctuation mark in the final third of the window, so the
    reader sees whole clauses; an ellipsis marks the cut. The full text is on
    the dashboard.
    """
    flat = " ".join(str(text).split())
    if len(flat) <= width:
        return flat
    window = flat[: width - 1]
    cut = max(window.rfind(mark) for mark in _BREAK_AFTER)
    if cut >= (2 * width) // 3:
        window = window[: cut + 1]
    return window.rstrip(" ，,、；;：:") + "…"


def urgency(item: DigestItem) -> str:
    """How late, in words; a check-in asks for progress, so a missed one is not called overdue."""
    if item.checkin:
        if item.working_days_left < 0:
            return f"进展未报送（已过{-item.working_days_left}个工作日）"
        return "今日报送进展" if item.working_days_left == 0 else f"{item.working_days_left}个工作日内报送进展"
    return days_left(item.working_days_left)


def rate(value: float | None) -> str:
    """An on-time rate as a percentage; ``None`` (nothing assessed yet) as 未考核."""
    return "未考核" if value is None else f"{value * 100:.0f}%"


_FILTERS: Mapping[str, Any] = {
    "cn_date": cn_date,
    "cn_weekday": cn_weekday,
    "days_left": days_left,
    "shorten": shorten,
    "urgency": urgency,
    "rate": rate,
    "groups": lambda items: group_items(items),  # defined below; looked up at render time
}


@dataclass(frozen=True, kw_only=True, slots=True)
class ItemGroup:
    """Items of one colour, most overdue first, as the templates iterate them."""

    colour: str
    title: str
    items: tuple[DigestItem, ...]


def group_items(items: Iterable[DigestItem]) -> tuple[ItemGroup, ...]:
    """Non-empty colour groups, red → yellow → green; within one, most urgent first."""
    groups = []
    ordered = sorted(
        items,
        key=lambda i: (i.working_days_left, i.due, i.unit, i.task_no, i.requirement_no, i.occurrence_key),
    )
    for colour in GROUP_ORDER:
        members = tuple(item for item in ordered if item.colour == colour and not item.checkin)
        if members:
            groups.append(ItemGroup(colour=colour, title=GROUP_TITLES[colour], items=members))
    checkins = tuple(item for item in ordered if item.checkin)
    if checkins:  # asked for progress, not late work: a group of its own, never "已逾期"
        groups.append(ItemGroup(colour="blue", title=GROUP_TITLES["blue"], items=checkins))
    return tuple(groups)


def digest_context(digest: Digest, *, contact: str, requirement_width: int = 60) -> dict[str, Any]:
    """The variables every template sees (documented in docs/notifications.md)."""
    sections = digest.parts
    kinds = {section.kind for section in sections}
    totals = {kind: sum(s.total for s in sections if s.kind == kind) for kind in ("changes", "cc", "weekly", "escalation")}
    return {
        "sections": sections,
        "sections_shown": any(s.items or s.summary or s.ranking for s in sections),
        "kinds": kinds,
        "changes_total": totals["changes"],
        "weekly_total": totals["weekly"],
        "cc_total": totals["cc"],
        "escalation_total": totals["escalation"],
        "week": digest.as_of.isocalendar().week,
        "default_title": "督办事项",
        "key": digest.key,
        "recipient_name": digest.recipient_name,
        "recipient_email": digest.recipient_email,
        "recipient_role": digest.recipient_role,
        "role_label": ROLE_LABELS[digest.recipient_role],
        "units": digest.units,
        "units_text": "、".join(digest.units),
        "as_of": digest.as_of,
        "as_of_text": f"{cn_date(digest.as_of)}（{cn_weekday(digest.as_of)}）",
        "groups": group_items(digest.items),
        "total": len(digest.items),
        "counts": {colour: digest.count(colour) for colour in COLOURS},  # type: ignore[arg-type]
        "overdue": sum(1 for item in digest.items if item.overdue),
        "escalation": digest.escalation,
        "plan_titles": tuple(dict.fromkeys(item.plan_title for item in digest.items)),
        "notes": digest.notes,
        "dashboard_url": digest.dashboard_url,
        "contact": contact,
        "requirement_width": requirement_width,
        "system_name": "督办系统",
    }


# --------------------------------------------------------------------------- sample data

#: Demo sender. Every sample address is under the reserved ``.example`` domain: not a real mailbox.
SAMPLE_SENDER = "督办系统 <duban@duban.example>"


def sample_digest(*, recipient_role: Role = "clerk", key: str | None = None, as_of: date = date(2016, 8, 1)) -> Digest:
    """A small digest drawn from the 2016 Jieyang notices, for template checks, tests and benchmarks.

    Demo data: the names are from the seed notices, the addresses are made up
    under ``.example`` (reserved, never deliverable).
    """
    plan = "揭府办函〔2016〕71号 2016年政府信息公开工作要点分工方案"
    items: tuple[DigestItem, ...] = (
        DigestItem(
            obligation_id=101, occurrence_key="final", plan_title=plan,
            task_no=1, task_title="制定本单位贯彻落实措施",
            requirement_no=1,
            requirement_text="各单位在本方案公布后30个工作日内制定本单位具体贯彻落实措施，并在门户网站公开。",
            unit="市地税局", deadline_phrase="本方案公布后30个工作日内", due=date(2016, 8, 4),
            working_days_left=3, colour="yellow", stage="before_5", stage_label="截止前5个工作日提醒",
        ),
        DigestItem(
            obligation_id=102, occurrence_key="final", plan_title="市涉税信息交换共享联席会议通知",
            task_no=1, task_title="调整县级联席会议成员",
            requirement_no=1, requirement_text="各县（市、区）联席会议调整成员后，于6月30日前报市联席会议办公室。",
            unit="市地税局", deadline_phrase="6月30日前", due=date(2016, 6, 30),
            working_days_left=-22, colour="red", stage="overdue_repeat", stage_label="已逾期22个工作日",
        ),
        DigestItem(
            obligation_id=103, occurrence_key="2016-Q3", plan_title=plan,
            task_no=12, task_title="推进财政预决算信息公开",
            requirement_no=2, requirement_text="每季度向社会公开本部门涉税信息交换共享工作进展情况，"
            "公开内容应当包括工作安排、完成情况、存在问题及下一步措施，做到细化、完整、易懂。",
            unit="市地税局", deadline_phrase="每季度", due=date(2016, 9, 30),
            working_days_left=38, colour="green", stage="before_10", stage_label="季度公开提醒",
        ),
    )
    units: tuple[str, ...] = ("市地税局",)
    notes: tuple[str, ...] = ()
    if recipient_role == "clerk":
        name, addr = "林瑜", "linyu@dishui.jieyang.example"
    else:
        items = tuple(i for i in items if i.colour == "red")
        if recipient_role == "leader":
            name, addr = "游绿东", "youlvdong@dishui.jieyang.example"
        else:
            name, addr, units = "督查室", "ducha@gov.jieyang.example", ("市地税局", "揭西县人民政府")
            notes = ("揭西县人民政府：联络员邮箱地址无效，本期提醒未能送达，请核实联系方式。",)
        label = "逾期升级（抄送单位负责人）" if recipient_role == "leader" else "逾期升级（报督查室）"
        items = tuple(replace(i, stage=f"escalate_{recipient_role}", stage_label=label) for i in items)
    return Digest(
        key=key or f"sample:{as_of.isoformat()}:{recipient_role}",
        recipient_name=name, recipient_email=addr, recipient_role=recipient_role,
        units=units, as_of=as_of, items=items,
        dashboard_url="https://duban.jieyang.example/dashboard", notes=notes,
    )


# --------------------------------------------------------------------------- renderer


class DigestRenderer:
    """Holds the two Jinja2 environments (text, HTML) over one template search path.

    Build one per configuration and reuse it: environments cache compiled
    templates. With ``templates_dir`` the official-edited copies there win over
    the package's, and everything renders sandboxed.
    """

    def __init__(
        self,
        templates_dir: Path | str | None = None,
        *,
        contact: str = DEFAULT_CONTACT,
        requirement_width: int = 60,
        tz: ZoneInfo = DEFAULT_TZ,
    ) -> None:
        self.tz = tz
        package = jinja2.PackageLoader("duban.notifiers", "templates")
        env_class: type[jinja2.Environment]
        loader: jinja2.BaseLoader
        if templates_dir is None:
            env_class, loader = jinja2.Environment, package
        else:
            folder = Path(templates_dir)
            if not folder.is_dir():
                raise NotifierConfigError("templates", [f"templates_dir {str(folder)!r} is not a folder"])
            env_class = SandboxedEnvironment
            loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(folder), package])
        self.templates_dir = None if templates_dir is None else Path(templates_dir)
        self.contact = contact
        self.requirement_width = requirement_width
        common: dict[str, Any] = {
            "loader": loader,
            "undefined": jinja2.StrictUndefined,
            "trim_blocks": True,
            "lstrip_blocks": True,
            "keep_trailing_newline": True,
        }
        self._text = env_class(autoescape=False, **common)
        self._html = env_class(autoescape=True, **common)
        for env in (self._text, self._html):
            env.filters.update(_FILTERS)

    @property
    def sandboxed(self) -> bool:
        """True when templates come from outside the package (and so run sandboxed)."""
        return isinstance(self._text, SandboxedEnvironment)

    def _render(self, env: jinja2.Environment, name: str, key: str, context: Mapping[str, Any]) -> str:
        try:
            return env.get_template(name).render(context)
        except jinja2.TemplateError as exc:
            raise DigestTemplateError(name, key, exc) from exc

    def render(
        self,
        digest: Digest,
        *,
        sender: str,
        message_id_domain: str,
        now: datetime | None = None,
    ) -> OutgoingMessage:
        """Render ``digest``; see :func:`render_digest`."""
        sender_address = parse_mailbox("sender", sender)
        check_header_value("recipient_name", digest.recipient_name)
        recipient = check_address("recipient_email", digest.recipient_email, digest.recipient_name)
        check_header_value("key", digest.key)
        for index, unit in enumerate(digest.units):
            check_header_value(f"units[{index}]", unit)
        message_id = message_id_for(digest.key, message_id_domain)

        context = digest_context(digest, contact=self.contact, requirement_width=self.requirement_width)
        subject = self._render(self._text, TEMPLATE_SUBJECT, digest.key, context).strip()
        check_header_value("subject", subject)
        if not subject:
            raise HeaderValueError("subject", subject, "the subject template rendered nothing")
        text = self._render(self._text, TEMPLATE_TEXT, digest.key, context)
        html = self._render(self._html, TEMPLATE_HTML, digest.key, context)
        created = (now or datetime.now(self.tz)).astimezone(self.tz).replace(microsecond=0)
        return OutgoingMessage(
            key=digest.key,
            message_id=message_id,
            sender=str(sender_address),
            recipient=str(recipient),
            subject=subject,
            text=text,
            html=html,
            created=created,
            attachments=digest.attachments,
        )

    def check(self) -> tuple[OutgoingMessage, ...]:
        """Render the sample digests of every role: a quick test after editing templates.

        Raises :class:`DigestTemplateError` (or :class:`HeaderValueError` for a
        subject template that renders more than one line) naming the template.
        """
        roles: tuple[Role, ...] = ("clerk", "leader", "supervisor")
        return tuple(
            self.render(sample_digest(recipient_role=role), sender=SAMPLE_SENDER, message_id_domain="duban.example")
            for role in roles
        )


@lru_cache(maxsize=1)
def default_renderer() -> DigestRenderer:
    """The renderer over the package templates (built once; it is never mutated)."""
    return DigestRenderer()


def render_digest(
    digest: Digest,
    *,
    sender: str,
    message_id_domain: str,
    renderer: DigestRenderer | None = None,
    now: datetime | None = None,
) -> OutgoingMessage:
    """Render ``digest`` to subject, text and HTML, with checked headers.

    ``sender`` is the From mailbox (``"督办系统 <duban@gov.example>"``);
    ``message_id_domain`` the right-hand side of the Message-ID; ``now`` the
    composition time for the Date header (default: the current time in
    Asia/Shanghai). Raises :class:`HeaderValueError` for an unsafe header
    value and :class:`DigestTemplateError` for a failing template.
    """
    return (renderer or default_renderer()).render(
        digest, sender=sender, message_id_domain=message_id_domain, now=now
    )


def _boundary(key: str) -> str:
    # Both parts are base64, whose alphabet has no '-': a line "--==duban..."
    # can never occur inside a part, so a fixed boundary is safe.
    return "==duban_" + hashlib.sha256(b"boundary:" + key.encode("utf-8", "surrogatepass")).hexdigest()[:24] + "=="


def _checked(msg: OutgoingMessage, now: datetime | None) -> tuple[Address, Address, datetime]:
    """Check every header value of ``msg`` again (it may have been stored and loaded)."""
    sender = parse_mailbox("sender", msg.sender)
    recipient = parse_mailbox("recipient", msg.recipient)
    check_header_value("subject", msg.subject)
    check_header_value("key", msg.key)
    if not _MESSAGE_ID.fullmatch(msg.message_id):
        raise HeaderValueError("message_id", msg.message_id, "not a <id@domain> Message-ID")
    created = msg.created or now or datetime.now(DEFAULT_TZ)
    if created.tzinfo is None:
        raise HeaderValueError("created", created, "a naive datetime (give a time zone)")
    return sender, recipient, created  # dated in the zone it was created in (the renderer's)


def _body_lines(text: str) -> bytes:
    """UTF-8 text with line ends normalised as ``set_content`` does: LF inside, one at the end."""
    return b"\n".join(text.encode("utf-8").splitlines()) + b"\n"


def to_email(msg: OutgoingMessage, *, now: datetime | None = None) -> EmailMessage:
    """Build the ``multipart/alternative`` (text + HTML, UTF-8) MIME message.

    Headers are checked again here, since an :class:`OutgoingMessage` may have
    been stored and loaded again. The Date header is ``msg.created`` (or
    ``now``, or the current time) in Asia/Shanghai. Bodies are base64: plain
    7-bit on the wire whatever the server, and immune to boundary collisions.
    This is the reference construction; the notifiers send :func:`mime_bytes`.
    """
    sender, recipient, created = _checked(msg, now)
    message = EmailMessage(policy=email.policy.default)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = msg.subject
    message["Date"] = format_datetime(created)
    message["Message-ID"] = msg.message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a robot
    message["X-Duban-Key"] = msg.key
    message.set_content(msg.text, subtype="plain", charset="utf-8", cte="base64")
    message.add_alternative(msg.html, subtype="html", charset="utf-8", cte="base64")
    if msg.attachments:
        _attach(message, msg)
    message.set_boundary(_boundary(msg.key))
    return message


def _attach(message: EmailMessage, msg: OutgoingMessage) -> None:
    """Inline images into ``multipart/related`` beside the HTML, files into ``multipart/mixed``.

    Every boundary derives from the key (the top one as without
    attachments, the nested ones numbered), so the bytes stay deterministic.
    """
    html_part = message.get_payload()[1]  # type: ignore[index]
    for a in msg.attachments:
        check_header_value("attachment", a.filename)
        maintype, subtype = a.content_type.split("/", 1)
        if a.content_id:
            html_part.add_related(a.data, maintype, subtype, cid=f"<{a.content_id}>", filename=a.filename,
                                  disposition="inline")
    for a in msg.attachments:
        if not a.content_id:
            maintype, subtype = a.content_type.split("/", 1)
            message.add_attachment(a.data, maintype, subtype, filename=a.filename)
    nested = [part for part in message.walk() if part.is_multipart() and part is not message]
    for index, part in enumerate(nested, start=1):
        part.set_boundary(f"{_boundary(msg.key)[:-2]}_{index}==")


# Header lines stay within RFC 5322's recommended 78 characters.
_MAX_LINE = 78
_ATEXT_PHRASE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*$")


def _unstructured(name: str, value: str, linesep: str) -> str:
    """``name: value`` with ``value`` encoded by :class:`email.header.Header` unless short ASCII."""
    value = " ".join(value.split())
    if value.isascii() and len(name) + 2 + len(value) <= _MAX_LINE:
        return f"{name}: {value}"
    encoded = Header(value, "utf-8", header_name=name).encode(linesep=linesep)
    return f"{name}: {encoded}"


def _address(name: str, address: Address, linesep: str) -> str:
    """``name: display name <addr>``, the display name quoted or encoded as the email package would."""
    if not address.display_name:
        return f"{name}: {address.addr_spec}"
    display = address.display_name
    if display.isascii():
        phrase = display if _ATEXT_PHRASE.match(display) else '"' + re.sub(r'(["\\])', r"\\\1", display) + '"'
        line = f"{name}: {phrase} <{address.addr_spec}>"
        if len(line) <= _MAX_LINE:
            return line
    encoded = Header(display, "utf-8", header_name=name).encode(linesep=linesep)
    last = f"{name}: {encoded}".rsplit(linesep, 1)[-1]
    angle = f"<{address.addr_spec}>"
    glue = " " if len(last) + 1 + len(angle) <= _MAX_LINE else linesep + " "
    return f"{name}: {encoded}{glue}{angle}"


def _base64_lines(data: bytes, linesep: str) -> str:
    return base64.encodebytes(data).decode("ascii").replace("\n", linesep)


def mime_bytes(msg: OutgoingMessage, *, linesep: str = "\r\n", now: datetime | None = None) -> bytes:
    """The serialised form of :func:`to_email`, built directly; what the notifiers send and store.

    Same checks, same headers (encoded by the email package's
    :class:`~email.header.Header`), same base64 parts and boundary: a parser
    reads back the very message :func:`to_email` builds (a differential test
    in tests/test_render.py holds the two together). Built without the
    generic generator, whose header re-parsing and re-folding cost about
    eight times as much; at thousands of digests per tick that is the
    difference between the renderer and the mail server being the bottleneck.
    ``linesep`` is CRLF for SMTP, LF for files.
    """
    if msg.attachments:
        # Nested multiparts with binary parts: the email package's generator is
        # the reference and is used as is (bulletins and summaries are few).
        policy = email.policy.default.clone(linesep=linesep, max_line_length=_MAX_LINE)
        return to_email(msg, now=now).as_bytes(policy=policy)
    sender, recipient, created = _checked(msg, now)
    boundary = _boundary(msg.key)
    headers = [
        _address("From", sender, linesep),
        _address("To", recipient, linesep),
        _unstructured("Subject", msg.subject, linesep),
        f"Date: {format_datetime(created)}",
        f"Message-ID: {msg.message_id}",
        "Auto-Submitted: auto-generated",
        _unstructured("X-Duban-Key", msg.key, linesep),
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative;{linesep} boundary="{boundary}"',
    ]
    chunks = [linesep.join(headers), linesep, linesep]
    for index, (subtype, text) in enumerate((("plain", msg.text), ("html", msg.html))):
        chunks += [
            # The line end before a delimiter belongs to the delimiter (RFC 2046 5.1.1).
            linesep if index else "",
            f"--{boundary}{linesep}",
            f'Content-Type: text/{subtype}; charset="utf-8"{linesep}',
            f"Content-Transfer-Encoding: base64{linesep}{linesep}",
            _base64_lines(_body_lines(text), linesep),  # ends with linesep
        ]
    chunks.append(f"{linesep}--{boundary}--{linesep}")
    return "".join(chunks).encode("ascii")
