"""Chinese text conventions every layer writes the same way (dates, offsets), in one place.

Emails (notifiers), due-date labels (the projection) and reports (services) all print
"2016年6月30日" and "30个工作日"; a module at the root lets each import it without importing
a room above its own.
"""

from __future__ import annotations

import datetime as dt

OFFSET_UNITS_ZH = {"working_days": "个工作日", "days": "日", "hours": "小时", "months": "个月", "years": "年"}
"""An offset unit as officials write it after the number: 30个工作日, 24小时, 3个月."""


def cn_date(value: dt.date | None) -> str:
    """``2016-06-30`` → ``2016年6月30日`` (no leading zeros, as notices write it); None → ``""``."""
    return f"{value.year}年{value.month}月{value.day}日" if value is not None else ""
