"""The weekly 督办通报 chart: units ranked by on-time rate, with their overdue counts.

Drawn with matplotlib (Agg backend: no display, no GUI toolkit) into a PNG a
mail client shows inline and the dashboard serves as an image. Chinese labels
use the Noto CJK fonts installed with the system (``fonts-noto-cjk``); when
none is found the chart still renders, with a warning in the log, rather than
failing the tick.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from .model import RankRow

log = logging.getLogger(__name__)

#: Where Debian's fonts-noto-cjk puts the OpenType collections.
NOTO_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/truetype/noto"))
_NOTO_FILES = ("NotoSansCJK-Regular.ttc", "NotoSerifCJK-Regular.ttc")


@lru_cache(maxsize=1)
def cjk_font_family() -> str | None:
    """Register a Noto CJK font with matplotlib once; its family name, or None if there is none."""
    from matplotlib import font_manager

    for folder in NOTO_DIRS:
        for name in _NOTO_FILES:
            path = folder / name
            if path.exists():
                font_manager.fontManager.addfont(str(path))
                return font_manager.FontProperties(fname=str(path)).get_name()
    log.warning("no Noto CJK font in %s: the bulletin chart's Chinese labels will not render", NOTO_DIRS)
    return None


def ranking_chart(rows: Sequence[RankRow], *, title: str, limit: int = 20) -> bytes:
    """A horizontal bar chart (PNG): on-time rate per unit, overdue count written beside each bar.

    The ``limit`` best and worst would both matter; the bulletin shows the
    first ``limit`` rows of the ranking it is given (the caller orders it).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    family = cjk_font_family()
    shown = list(rows[:limit])
    height = 1.2 + 0.32 * max(len(shown), 1)
    fig = Figure(figsize=(6.4, height), dpi=100)
    ax = fig.add_subplot()
    labels = [r.unit for r in shown][::-1]
    rates = [(r.on_time_rate or 0.0) * 100 for r in shown][::-1]
    colours = ["#c0392b" if r.overdue else "#1e8449" for r in shown][::-1]
    bars = ax.barh(labels, rates, color=colours)
    for bar, row in zip(bars, shown[::-1]):
        text = f"{(row.on_time_rate or 0) * 100:.0f}%  逾期{row.overdue}" if row.on_time_rate is not None \
            else f"未考核  逾期{row.overdue}"
        ax.text(min(bar.get_width() + 1, 70), bar.get_y() + bar.get_height() / 2, text, va="center", fontsize=8,
                **({"family": family} if family else {}))
    ax.set_xlim(0, 100)
    ax.set_xlabel("按时完成率（%）", **({"family": family} if family else {}))
    ax.set_title(title, fontsize=11, **({"family": family} if family else {}))
    for label in ax.get_yticklabels():
        label.set_fontsize(8)
        if family:
            label.set_family(family)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
