"""The inbox's hooks in the main job: pending proposals in the digest, the scan on a schedule.

The reminders room may not import the inbox room (they stand side by side),
so the runtime adapts :func:`duban.engine.inbox.service.pending_proposals`
into the note lines the tick puts in a supervising office's digest, and runs
:func:`duban.engine.inbox.service.scan_configured` for ``duban run``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from ..inbox.config import load_inbox_config
from ..inbox.service import ScanResult, pending_proposals, scan_configured


def proposal_notes(session: Session, directory: str) -> Sequence[str]:
    """One line per undecided inbox proposal for the plans of ``directory`` (best match first)."""
    return [f"收文待确认：{p.title}（{p.doc_number or '无文号'}）可能触发「{p.description}」（{p.plan}，"
            f"匹配度{p.score:.2f}），请在督办平台 /inbox 确认或驳回。"
            for p in sorted(pending_proposals(session, directory), key=lambda p: (-p.score, p.id))]


def scan_inbox(sessions: sessionmaker[Session]) -> ScanResult | None:
    """Read the configured inbox sources and store what they propose, in one transaction.

    Returns ``None`` when no source is configured (nothing to do).
    """
    config = load_inbox_config()
    if not config.sources:
        return None
    with sessions() as session, session.begin():
        return scan_configured(session, config)
