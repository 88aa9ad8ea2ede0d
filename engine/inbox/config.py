"""The inbox's settings: ``rules/inbox.yaml`` — where documents come from and what each trigger expects.

Kept in its own file (read with the strict YAML reader, every scalar as
written) rather than in ``config.yaml``, because most of it is domain data a
supervising office edits: its jurisdiction (which province is "省", which city
is "市"), what level of issuer each kind of event comes from, the term
expansions its documents use (a ministry renamed, a tax named by its kind) and
the score a proposal needs. ``duban inbox`` and the scheduler's job read the
same file; ``DUBAN_INBOX_CONFIG`` points at another one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..common.strictyaml import read_yaml, to_plain
from .records import InboxError

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "rules" / "inbox.yaml"
CONFIG_ENV = "DUBAN_INBOX_CONFIG"
LEVELS = ("national", "ministry", "province", "city", "county")
SOURCE_KINDS = ("folder", "maildir", "imap", "feed", "html")


@dataclass(frozen=True, kw_only=True, slots=True)
class KindRule:
    """What an event kind (``event:`` of a plan trigger) expects of the document that starts it.

    ``levels``: the issuer levels that can start it; ``local``: a provincial
    document must be of the plan's own province, a city one of its own city
    (揭阳's trigger is not started by 浙江's notice); ``news_ok``: a report is
    the evidence (an emergency, a vote), not a stand-in for the document.
    """

    levels: tuple[str, ...]
    local: bool = True
    news_ok: bool = False
    #: 文号 prefixes of the document series this kind is issued in (财税〔…〕): a document of the
    #: series is the kind of document the trigger waits for, whatever words its title uses
    series: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class Jurisdiction:
    """The plan's own province and city, and the names their documents carry (粤, 揭)."""

    province: tuple[str, ...]
    city: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class SourceConfig:
    """One configured source: ``kind`` (folder, maildir, feed, html), where it is, and a name for the CLI."""

    name: str
    kind: str
    location: str
    base_url: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class InboxConfig:
    jurisdiction: Jurisdiction
    kinds: dict[str, KindRule]
    default_kind: KindRule
    expansions: dict[str, tuple[str, ...]]
    threshold: float = 0.3
    window_years: int = 1
    max_proposals: int = 3
    sources: tuple[SourceConfig, ...] = field(default=())

    def kind(self, event_kind: str) -> KindRule:
        return self.kinds.get(event_kind, self.default_kind)

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        raise InboxError(f"no inbox source {name!r}; configured: {', '.join(s.name for s in self.sources) or '(none)'}")


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InboxError(f"{where}: expected a list of names, got {value!r}")
    return tuple(v.strip() for v in value)


def _kind(value: Any, where: str) -> KindRule:
    if not isinstance(value, dict):
        raise InboxError(f"{where}: expected a mapping with levels, local, news_ok")
    unknown = set(value) - {"levels", "local", "news_ok", "series"}
    if unknown:
        raise InboxError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} (levels, local, news_ok, series)")
    levels = _strs(value.get("levels", []), f"{where}.levels")
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad or not levels:
        raise InboxError(f"{where}.levels: {bad or levels!r} — each must be one of {', '.join(LEVELS)}")
    return KindRule(levels=levels, local=_bool(value.get("local", "true"), f"{where}.local"),
                    news_ok=_bool(value.get("news_ok", "false"), f"{where}.news_ok"),
                    series=_strs(value.get("series", []), f"{where}.series"))


def _bool(value: Any, where: str) -> bool:
    if str(value).lower() in ("true", "yes"):
        return True
    if str(value).lower() in ("false", "no"):
        return False
    raise InboxError(f"{where}: {value!r} is not true or false")


def _number(value: Any, where: str, cast: type[float] | type[int]) -> Any:
    try:
        return cast(value)
    except (TypeError, ValueError):
        raise InboxError(f"{where}: {value!r} is not a number") from None


def _sources(value: Any, where: str, base: Path) -> tuple[SourceConfig, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InboxError(f"{where}: expected a list of sources")
    out = []
    for i, item in enumerate(value):
        w = f"{where}[{i}]"
        if not isinstance(item, dict) or not {"name", "kind", "location"} <= set(item):
            raise InboxError(f"{w}: a source needs name, kind ({', '.join(SOURCE_KINDS)}) and location")
        if item["kind"] not in SOURCE_KINDS:
            raise InboxError(f"{w}.kind: {item['kind']!r} is not one of {', '.join(SOURCE_KINDS)}")
        location = item["location"]
        if item["kind"] not in ("feed", "imap") or "://" not in location:
            location = str((base / location).resolve()) if not Path(location).is_absolute() else location
        out.append(SourceConfig(name=item["name"], kind=item["kind"], location=location,
                                base_url=item.get("base_url")))
    return tuple(out)


def load_inbox_config(path: Path | None = None) -> InboxConfig:
    """Read ``rules/inbox.yaml`` (or ``$DUBAN_INBOX_CONFIG``); every error names the file and the field."""
    path = path or Path(os.environ.get(CONFIG_ENV) or DEFAULT_PATH)
    node, diags = read_yaml(path)
    if diags or node is None:
        raise InboxError(f"{path}: " + "; ".join(str(d) for d in diags) if diags else f"{path}: empty file")
    data = to_plain(node)
    if not isinstance(data, dict):
        raise InboxError(f"{path}: expected a mapping at the top")
    unknown = set(data) - {"jurisdiction", "kinds", "default_kind", "expansions", "threshold", "window_years",
                           "max_proposals", "sources"}
    if unknown:
        raise InboxError(f"{path}: unknown field(s) {', '.join(sorted(unknown))}")
    try:
        jur = data.get("jurisdiction") or {}
        jurisdiction = Jurisdiction(province=_strs(jur.get("province"), f"{path}: jurisdiction.province"),
                                    city=_strs(jur.get("city"), f"{path}: jurisdiction.city"))
        kinds = {k: _kind(v, f"{path}: kinds.{k}") for k, v in (data.get("kinds") or {}).items()}
        expansions = {k: _strs(v, f"{path}: expansions.{k}") for k, v in (data.get("expansions") or {}).items()}
        base = path.resolve().parent.parent if path.resolve() == DEFAULT_PATH else path.resolve().parent
        return InboxConfig(
            jurisdiction=jurisdiction, kinds=kinds,
            default_kind=_kind(data.get("default_kind") or {"levels": list(LEVELS), "local": "false"},
                               f"{path}: default_kind"),
            expansions=expansions,
            threshold=_number(data.get("threshold", 0.3), f"{path}: threshold", float),
            window_years=_number(data.get("window_years", 1), f"{path}: window_years", int),
            max_proposals=_number(data.get("max_proposals", 3), f"{path}: max_proposals", int),
            sources=_sources(data.get("sources"), f"{path}: sources", base))
    except AttributeError:
        raise InboxError(f"{path}: jurisdiction, kinds and expansions must be mappings") from None
