"""The official working-day calendar: its data, its arithmetic and its strictness.

The per-year tables below are a second, hand-written reading of each State
Council notice (the way vacanza/holidays tests date tuples year by year); the
chinesecalendar package is a third, independent source, checked for every
day of every covered year.
"""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from pathlib import Path

import chinese_calendar
import pytest
from duban.engine.deadlines.calendar import (
    DEFAULT_DIR,
    CalendarArgumentError,
    WorkingCalendar,
    data_dirs,
)
from duban.errors import CalendarDataError, CalendarYearMissing, DubanError
from hypothesis import given, settings
from hypothesis import strategies as st

D = dt.date
CAL = WorkingCalendar.default()
FIRST, LAST = 2016, 2026

# year: (notice number, notice date, amendments, holiday blocks (name, from, to), make-up workdays)
# Dates are MM-DD of the year unless written in full (a New Year block that the notice starts in the
# old December).
NOTICES: dict[int, tuple[str, str, tuple[str, ...], tuple[tuple[str, str, str], ...], tuple[str, ...]]] = {
    2016: ("国办发明电〔2015〕18号", "2015-12-10", (),
           (("元旦", "01-01", "01-03"), ("春节", "02-07", "02-13"), ("清明节", "04-02", "04-04"),
            ("劳动节", "04-30", "05-02"), ("端午节", "06-09", "06-11"), ("中秋节", "09-15", "09-17"),
            ("国庆节", "10-01", "10-07")),
           ("02-06", "02-14", "06-12", "09-18", "10-08", "10-09")),
    2017: ("国办发明电〔2016〕17号", "2016-12-01", (),
           (("元旦", "01-01", "01-02"), ("春节", "01-27", "02-02"), ("清明节", "04-02", "04-04"),
            ("劳动节", "04-29", "05-01"), ("端午节", "05-28", "05-30"), ("国庆节、中秋节", "10-01", "10-08")),
           ("01-22", "02-04", "04-01", "05-27", "09-30")),
    2018: ("国办发明电〔2017〕12号", "2017-11-30", (),
           (("元旦", "01-01", "01-01"), ("春节", "02-15", "02-21"), ("清明节", "04-05", "04-07"),
            ("劳动节", "04-29", "05-01"), ("端午节", "06-16", "06-18"), ("中秋节", "09-22", "09-24"),
            ("国庆节", "10-01", "10-07")),
           ("02-11", "02-24", "04-08", "04-28", "09-29", "09-30")),
    2019: ("国办发明电〔2018〕15号", "2018-12-04", ("国办发明电〔2019〕3号",),
           (("元旦", "2018-12-30", "01-01"), ("春节", "02-04", "02-10"), ("清明节", "04-05", "04-07"),
            ("劳动节", "05-01", "05-04"), ("端午节", "06-07", "06-09"), ("中秋节", "09-13", "09-15"),
            ("国庆节", "10-01", "10-07")),
           ("2018-12-29", "02-02", "02-03", "04-28", "05-05", "09-29", "10-12")),
    2020: ("国办发明电〔2019〕16号", "2019-11-21", ("国办发明电〔2020〕1号",),
           (("元旦", "01-01", "01-01"), ("春节", "01-24", "02-02"), ("清明节", "04-04", "04-06"),
            ("劳动节", "05-01", "05-05"), ("端午节", "06-25", "06-27"), ("国庆节、中秋节", "10-01", "10-08")),
           ("01-19", "04-26", "05-09", "06-28", "09-27", "10-10")),
    2021: ("国办发明电〔2020〕27号", "2020-11-25", (),
           (("元旦", "01-01", "01-03"), ("春节", "02-11", "02-17"), ("清明节", "04-03", "04-05"),
            ("劳动节", "05-01", "05-05"), ("端午节", "06-12", "06-14"), ("中秋节", "09-19", "09-21"),
            ("国庆节", "10-01", "10-07")),
           ("02-07", "02-20", "04-25", "05-08", "09-18", "09-26", "10-09")),
    2022: ("国办发明电〔2021〕11号", "2021-10-25", (),
           (("元旦", "01-01", "01-03"), ("春节", "01-31", "02-06"), ("清明节", "04-03", "04-05"),
            ("劳动节", "04-30", "05-04"), ("端午节", "06-03", "06-05"), ("中秋节", "09-10", "09-12"),
            ("国庆节", "10-01", "10-07")),
           ("01-29", "01-30", "04-02", "04-24", "05-07", "10-08", "10-09")),
    2023: ("国办发明电〔2022〕16号", "2022-12-08", (),
           (("元旦", "2022-12-31", "01-02"), ("春节", "01-21", "01-27"), ("清明节", "04-05", "04-05"),
            ("劳动节", "04-29", "05-03"), ("端午节", "06-22", "06-24"), ("中秋节、国庆节", "09-29", "10-06")),
           ("01-28", "01-29", "04-23", "05-06", "06-25", "10-07", "10-08")),
    2024: ("国办发明电〔2023〕7号", "2023-10-25", (),
           (("元旦", "01-01", "01-01"), ("春节", "02-10", "02-17"), ("清明节", "04-04", "04-06"),
            ("劳动节", "05-01", "05-05"), ("端午节", "06-08", "06-10"), ("中秋节", "09-15", "09-17"),
            ("国庆节", "10-01", "10-07")),
           ("02-04", "02-18", "04-07", "04-28", "05-11", "09-14", "09-29", "10-12")),
    2025: ("国办发明电〔2024〕12号", "2024-11-12", (),
           (("元旦", "01-01", "01-01"), ("春节", "01-28", "02-04"), ("清明节", "04-04", "04-06"),
            ("劳动节", "05-01", "05-05"), ("端午节", "05-31", "06-02"), ("国庆节、中秋节", "10-01", "10-08")),
           ("01-26", "02-08", "04-27", "09-28", "10-11")),
    2026: ("国办发明电〔2025〕7号", "2025-11-04", (),
           (("元旦", "01-01", "01-03"), ("春节", "02-15", "02-23"), ("清明节", "04-04", "04-06"),
            ("劳动节", "05-01", "05-05"), ("端午节", "06-19", "06-21"), ("中秋节", "09-25", "09-27"),
            ("国庆节", "10-01", "10-07")),
           ("01-04", "02-14", "02-28", "05-09", "09-20", "10-10")),
}


def _day(year: int, text: str) -> dt.date:
    return D.fromisoformat(text if len(text) == 10 else f"{year}-{text}")


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=k) for k in range((end - start).days + 1)]


# --------------------------------------------------------------------------- the data, year by year


def test_covers_exactly_the_shipped_years() -> None:
    assert CAL.years == tuple(range(FIRST, LAST + 1)) == tuple(sorted(NOTICES))
    assert CAL.covers(D(2016, 1, 1)) and CAL.covers(D(2026, 12, 31))
    assert not CAL.covers(D(2015, 12, 31)) and not CAL.covers(D(2027, 1, 1))


@pytest.mark.parametrize("year", sorted(NOTICES))
def test_year_matches_its_notice(year: int) -> None:
    number, date, amendments, blocks, makeups = NOTICES[year]
    notice = CAL.notice(year)
    assert (notice.year, notice.number, notice.date.isoformat()) == (year, number, date)
    assert notice.title == f"国务院办公厅关于{year}年部分节假日安排的通知"
    assert tuple(a.number for a in notice.amendments) == amendments
    got = tuple((h.name, h.start, h.end) for h in CAL.holidays(year))
    assert got == tuple((name, _day(year, a), _day(year, b)) for name, a, b in blocks)
    assert tuple(w.date for w in CAL.makeup_workdays(year)) == tuple(_day(year, m) for m in makeups)
    for name, a, b in blocks:
        for day in _days(_day(year, a), _day(year, b)):
            if CAL.covers(day):
                assert not CAL.is_workday(day), day
                assert CAL.day_info(day).name == name
    for m in makeups:
        day = _day(year, m)
        assert day.weekday() >= 5
        if CAL.covers(day):
            assert CAL.is_workday(day), day
            assert CAL.day_info(day).kind == "makeup_workday"


@pytest.mark.parametrize("year", sorted(NOTICES))
def test_every_day_agrees_with_chinesecalendar(year: int) -> None:
    """The whole year, day by day, against an independent copy of the same notices."""
    for day in _days(D(year, 1, 1), D(year, 12, 31)):
        assert CAL.is_workday(day) == chinese_calendar.is_workday(day), day
        on_holiday, english = chinese_calendar.get_holiday_detail(day)
        if on_holiday and english is not None and day.weekday() < 5:
            # A weekday off: the holiday it belongs to must agree too (中秋 ⊂ 国庆节、中秋节).
            chinese = chinese_calendar.Holiday(english).chinese
            assert chinese in (CAL.day_info(day).name or ""), (day, chinese, CAL.day_info(day))


def test_the_amendments_are_in_force() -> None:
    # 2019: 劳动节 1 → 4 days (国办发明电〔2019〕3号); Sundays 4-28 and 5-5 worked.
    assert [CAL.is_workday(D(2019, 5, d)) for d in range(1, 6)] == [False, False, False, False, True]
    assert CAL.is_workday(D(2019, 4, 28))
    # 2020: the Spring Festival extended to 2-2 (国办发明电〔2020〕1号): Fri 1-31 off, Sat 2-1 no longer worked.
    assert not CAL.is_workday(D(2020, 1, 31)) and not CAL.is_workday(D(2020, 2, 1))
    assert CAL.is_workday(D(2020, 2, 3))
    assert CAL.notice(2020).amendments[0].date == D(2020, 1, 26)


def test_a_new_year_block_set_by_the_next_notice() -> None:
    # 2019's notice starts 元旦 on 2018-12-30 and makes Saturday 2018-12-29 a working day.
    assert CAL.is_workday(D(2018, 12, 29))
    assert not CAL.is_workday(D(2018, 12, 31))
    assert CAL.day_info(D(2018, 12, 31)).name == "元旦"
    # 2024: 除夕 (2-9) was only encouraged as leave; it stays a working day.
    assert CAL.is_workday(D(2024, 2, 9))


def test_days_after_the_last_covered_year_are_not_covered() -> None:
    with pytest.raises(CalendarYearMissing) as caught:
        CAL.is_workday(D(2027, 1, 1))
    assert caught.value.year == 2027
    assert caught.value.covered == (2016, 2026)
    assert "2027" in str(caught.value)


def test_default_is_cached() -> None:
    assert WorkingCalendar.default() is WorkingCalendar.default()


def test_notice_of_an_uncovered_year() -> None:
    with pytest.raises(CalendarYearMissing, match="2015"):
        CAL.notice(2015)


# --------------------------------------------------------------------------- arithmetic: cases


def test_domain_example_thirty_working_days_after_publication() -> None:
    # 揭府办函〔2016〕71号: 本方案公布后30个工作日内, published 2016-06-23 (端午 6-9..11 is before it).
    assert CAL.add_workdays(D(2016, 6, 23), 30) == D(2016, 8, 4)
    assert CAL.workdays_between(D(2016, 6, 23), D(2016, 8, 4)) == 30


def test_start_on_a_holiday() -> None:
    # 国庆 2016-10-01..07; Saturday 10-08 and Sunday 10-09 are 调休 working days.
    assert CAL.add_workdays(D(2016, 10, 1), 1) == D(2016, 10, 8)
    assert CAL.add_workdays(D(2016, 10, 1), 3) == D(2016, 10, 10)
    assert CAL.add_workdays(D(2020, 1, 24), 1) == D(2020, 2, 3)


def test_start_on_a_makeup_workday_is_not_counted() -> None:
    assert CAL.add_workdays(D(2016, 10, 8), 1) == D(2016, 10, 9)
    assert CAL.add_workdays(D(2016, 10, 8), 2) == D(2016, 10, 10)


def test_start_on_an_ordinary_working_day_is_not_counted() -> None:
    assert CAL.add_workdays(D(2016, 6, 6), 1) == D(2016, 6, 7)
    assert CAL.add_workdays(D(2016, 6, 8), 1) == D(2016, 6, 12)  # 端午 6-9..11, Sunday 6-12 worked


def test_zero_returns_the_start_even_on_a_rest_day() -> None:
    assert CAL.add_workdays(D(2016, 10, 1), 0) == D(2016, 10, 1)
    assert CAL.add_workdays(D(2030, 1, 1), 0) == D(2030, 1, 1)


def test_negative_count_is_refused() -> None:
    with pytest.raises(CalendarArgumentError, match="-1") as caught:
        CAL.add_workdays(D(2016, 1, 4), -1)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, DubanError)


def test_non_integer_count_is_refused() -> None:
    with pytest.raises(TypeError):
        CAL.add_workdays(D(2016, 1, 4), 1.5)  # type: ignore[arg-type]


def test_running_past_the_last_year_names_the_missing_year() -> None:
    assert CAL.add_workdays(D(2026, 12, 30), 1) == D(2026, 12, 31)
    with pytest.raises(CalendarYearMissing) as caught:
        CAL.add_workdays(D(2026, 12, 30), 2)
    assert caught.value.year == 2027
    assert "rules/calendars/cn/2027.yaml" in str(caught.value)
    with pytest.raises(CalendarYearMissing, match="2027"):
        CAL.workdays_between(D(2026, 12, 1), D(2027, 1, 5))
    with pytest.raises(CalendarYearMissing, match="2027"):
        CAL.next_workday(D(2026, 12, 31), inclusive=False)


def test_starting_before_the_first_year() -> None:
    # The start day itself is never needed, so the last day before the data is a valid start...
    assert CAL.add_workdays(D(2015, 12, 31), 1) == D(2016, 1, 4)
    assert CAL.workdays_between(D(2015, 12, 31), D(2016, 1, 4)) == 1
    # ...but any earlier start needs 2015's calendar.
    with pytest.raises(CalendarYearMissing) as caught:
        CAL.add_workdays(D(2015, 12, 30), 1)
    assert caught.value.year == 2015
    with pytest.raises(CalendarYearMissing, match="2015"):
        CAL.workdays_between(D(2016, 3, 1), D(2015, 6, 1))


def test_the_very_last_working_day_is_reachable() -> None:
    total = CAL.workdays_between(D(2015, 12, 31), D(2026, 12, 31))
    last = CAL.add_workdays(D(2015, 12, 31), total)
    assert last == D(2026, 12, 31) if CAL.is_workday(D(2026, 12, 31)) else last < D(2026, 12, 31)
    with pytest.raises(CalendarYearMissing, match="2027"):
        CAL.add_workdays(D(2015, 12, 31), total + 1)


def test_workdays_between_is_signed() -> None:
    assert CAL.workdays_between(D(2016, 8, 4), D(2016, 6, 23)) == -30
    assert CAL.workdays_between(D(2016, 6, 23), D(2016, 6, 23)) == 0
    # (a, b]: a rest day b adds nothing; the tick reads this as days left / overdue.
    assert CAL.workdays_between(D(2016, 10, 7), D(2016, 10, 8)) == 1
    assert CAL.workdays_between(D(2016, 9, 30), D(2016, 10, 7)) == 0


def test_next_workday_and_roll_forward() -> None:
    assert CAL.roll_forward(D(2016, 7, 31)) == D(2016, 8, 1)  # "2016年7月底前" falls on a Sunday
    assert CAL.roll_forward(D(2016, 8, 1)) == D(2016, 8, 1)
    assert CAL.next_workday(D(2016, 8, 1), inclusive=False) == D(2016, 8, 2)
    assert CAL.next_workday(D(2016, 10, 1)) == D(2016, 10, 8)


# --------------------------------------------------------------------------- arithmetic: properties

covered_starts = st.dates(min_value=D(2015, 12, 31), max_value=D(2025, 12, 31))
counts = st.integers(min_value=0, max_value=240)  # 240 working days < one year: stays inside the data


def reference_add(start: dt.date, n: int) -> dt.date:
    """Day by day, on chinesecalendar (not its find_workday, which is off by one from a rest day)."""
    day, seen = start, 0
    while seen < n:
        day += dt.timedelta(days=1)
        seen += chinese_calendar.is_workday(day)
    return day


@settings(max_examples=150, deadline=None)
@given(covered_starts, counts)
def test_agrees_with_a_day_by_day_reference(start: dt.date, n: int) -> None:
    assert CAL.add_workdays(start, n) == reference_add(start, n)


@settings(max_examples=300, deadline=None)
@given(covered_starts, counts)
def test_monotone_in_n_and_never_on_a_rest_day(start: dt.date, n: int) -> None:
    after = CAL.add_workdays(start, n + 1)
    assert CAL.add_workdays(start, n) < after
    assert CAL.is_workday(after)
    assert after > start


@settings(max_examples=300, deadline=None)
@given(covered_starts, covered_starts, counts)
def test_monotone_in_start(a: dt.date, b: dt.date, n: int) -> None:
    lo, hi = min(a, b), max(a, b)
    assert CAL.add_workdays(lo, n) <= CAL.add_workdays(hi, n)


@settings(max_examples=300, deadline=None)
@given(covered_starts, st.integers(0, 120), st.integers(0, 120))
def test_additive(start: dt.date, a: int, b: int) -> None:
    assert CAL.add_workdays(start, a + b) == CAL.add_workdays(CAL.add_workdays(start, a), b)


@settings(max_examples=300, deadline=None)
@given(covered_starts, counts)
def test_between_inverts_add(start: dt.date, n: int) -> None:
    end = CAL.add_workdays(start, n)
    assert CAL.workdays_between(start, end) == n
    assert CAL.workdays_between(end, start) == -n


@settings(max_examples=200, deadline=None)
@given(covered_starts, covered_starts)
def test_between_counts_working_days_in_the_half_open_interval(a: dt.date, b: dt.date) -> None:
    lo, hi = min(a, b), max(a, b)
    if (hi - lo).days > 400:
        hi = lo + dt.timedelta(days=400)
    expected = sum(CAL.is_workday(d) for d in _days(lo + dt.timedelta(days=1), hi)) if hi > lo else 0
    assert CAL.workdays_between(lo, hi) == expected
    assert CAL.workdays_between(hi, lo) == -expected


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=D(2016, 1, 1), max_value=D(2025, 12, 31)))
def test_roll_forward_is_the_first_working_day_on_or_after(day: dt.date) -> None:
    rolled = CAL.roll_forward(day)
    assert rolled >= day and CAL.is_workday(rolled)
    assert all(not CAL.is_workday(d) for d in _days(day, rolled - dt.timedelta(days=1)))


# --------------------------------------------------------------------------- data files: operators


FAKE_2027 = """\
# 测试数据（虚构）：not a real notice; exercises an operator-added year.
year: 2027
notice:
  number: 测试明电〔2026〕1号
  title: 测试用（虚构）2027年节假日安排
  date: 2026-11-01
amendments: []
holidays:
  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
  - {name: 测试假, from: 2027-01-05, to: 2027-01-05}
workdays:
  - {date: 2027-01-09, for: 测试假}
"""


def test_an_operator_added_year_is_picked_up_without_code(tmp_path: Path) -> None:
    (tmp_path / "2027.yaml").write_text(FAKE_2027, encoding="utf-8")
    cal = WorkingCalendar.load(data_dirs([tmp_path]))
    assert cal.years == tuple(range(2016, 2028))
    assert cal.notice(2027).source == str(tmp_path / "2027.yaml")
    assert not cal.is_workday(D(2027, 1, 5)) and cal.is_workday(D(2027, 1, 9))
    assert cal.add_workdays(D(2026, 12, 30), 2) == D(2027, 1, 4)
    assert cal.add_workdays(D(2027, 1, 4), 1) == D(2027, 1, 6)
    # The shipped calendar is untouched.
    assert not WorkingCalendar.default().covers(D(2027, 1, 1))


def test_a_dropped_file_in_the_shipped_layout(tmp_path: Path) -> None:
    data = tmp_path / "cn"
    shutil.copytree(DEFAULT_DIR, data)
    (data / "2027.yaml").write_text(FAKE_2027, encoding="utf-8")
    assert WorkingCalendar.load([data]).years[-1] == 2027


def test_a_later_directory_replaces_a_year(tmp_path: Path) -> None:
    text = (DEFAULT_DIR / "2026.yaml").read_text(encoding="utf-8").replace(
        "  - {date: 2026-10-10, for: 国庆节}   # 周六\n", "")
    (tmp_path / "2026.yaml").write_text(text, encoding="utf-8")
    cal = WorkingCalendar.load(data_dirs([tmp_path]))
    assert not cal.is_workday(D(2026, 10, 10))
    assert cal.notice(2026).source == str(tmp_path / "2026.yaml")


def test_one_notice_alone_covers_only_its_year(tmp_path: Path) -> None:
    shutil.copy(DEFAULT_DIR / "2019.yaml", tmp_path)
    cal = WorkingCalendar.load([tmp_path])
    assert cal.years == (2019,)
    assert not cal.covers(D(2018, 12, 31))
    assert cal.add_workdays(D(2018, 12, 31), 1) == D(2019, 1, 2)


# --------------------------------------------------------------------------- data files: strictness


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


VALID_2016 = (DEFAULT_DIR / "2016.yaml").read_text(encoding="utf-8")

BROKEN: list[tuple[str, str, str, str]] = [
    # (id, replace this, with this, expected fragment of the message)
    ("impossible-date", "from: 2016-02-07", "from: 2016-02-30", "bad-date holidays[1].from"),
    ("not-a-date", "to: 2016-02-13", "to: Feb 13", "bad-date holidays[1].to"),
    ("workday-on-a-weekday", "{date: 2016-02-06, for: 春节}", "{date: 2016-02-05, for: 春节}", "not-weekend"),
    ("overlap", "{name: 清明节, from: 2016-04-02", "{name: 清明节, from: 2016-02-12", "overlap holidays"),
    ("holiday-outside-year", "{name: 国庆节, from: 2016-10-01, to: 2016-10-07}",
     "{name: 国庆节, from: 2017-10-01, to: 2017-10-07}", "outside-year holidays[6]"),
    ("reversed-range", "{name: 端午节, from: 2016-06-09, to: 2016-06-11}",
     "{name: 端午节, from: 2016-06-11, to: 2016-06-09}", "bad-range"),
    ("workday-inside-holiday", "{date: 2016-06-12, for: 端午节}", "{date: 2016-02-07, for: 端午节}",
     "overlap workdays[2].date"),
    ("duplicate-workday", "{date: 2016-06-12, for: 端午节}", "{date: 2016-02-06, for: 端午节}",
     "duplicate workdays[2].date"),
    ("unknown-holiday", "{date: 2016-06-12, for: 端午节}", "{date: 2016-06-12, for: 端午}",
     "did you mean '端午节'"),
    ("unknown-key", "holidays:", "holiday:", "unknown-key holiday"),
    ("duplicate-key", "amendments: []", "amendments: []\nyear: 2016", "duplicate-key year"),
    ("year-mismatch", "year: 2016", "year: 2017", "year-mismatch"),
    ("missing-notice-number", "  number: 国办发明电〔2015〕18号\n", "", "missing-key notice.number"),
    ("bad-notice-number", "number: 国办发明电〔2015〕18号", "number: 18", "bad-number"),
    ("notice-after-year-start", "date: 2015-12-10", "date: 2016-01-10", "notice.date"),
    ("unknown-source", "{date: 2016-06-12, for: 端午节}", "{date: 2016-06-12, for: 端午节, source: 某某〔2016〕1号}",
     "unknown-source"),
    ("explicit-tag", "year: 2016", "year: !!int 2016", "bad-type year"),
    ("alias", "amendments: []", "amendments: &a []", "yaml-alias"),
    ("syntax", "holidays:", "holidays: [", "yaml-syntax"),
    ("holidays-not-a-list", "amendments: []", "amendments: none", "bad-type amendments"),
]


@pytest.mark.parametrize(("old", "new", "expected"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_malformed_file_names_file_and_field(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in VALID_2016
    _write(tmp_path, "2016.yaml", VALID_2016.replace(old, new, 1))
    with pytest.raises(CalendarDataError) as caught:
        WorkingCalendar.load([tmp_path])
    message = str(caught.value)
    assert f"{tmp_path / '2016.yaml'}:" in message
    assert expected in message
    assert isinstance(caught.value, ValueError)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = VALID_2016.replace("from: 2016-02-07", "from: 2016-02-30").replace(
        "{date: 2016-06-12, for: 端午节}", "{date: 2016-06-10, for: 端午节}")
    _write(tmp_path, "2016.yaml", text)
    with pytest.raises(CalendarDataError) as caught:
        WorkingCalendar.load([tmp_path])
    assert "bad-date holidays[1].from" in str(caught.value)
    assert "workdays[2].date" in str(caught.value)
    assert str(caught.value).startswith("2 problem(s)")


def test_a_line_number_points_at_the_problem(tmp_path: Path) -> None:
    path = _write(tmp_path, "2016.yaml", VALID_2016.replace("from: 2016-02-07", "from: 2016-02-30"))
    line = next(i for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "2016-02-30" in text)
    with pytest.raises(CalendarDataError, match=rf"2016\.yaml:{line}: bad-date"):
        WorkingCalendar.load([tmp_path])


def test_a_gap_between_years_is_reported(tmp_path: Path) -> None:
    shutil.copy(DEFAULT_DIR / "2016.yaml", tmp_path)
    shutil.copy(DEFAULT_DIR / "2018.yaml", tmp_path)
    with pytest.raises(CalendarDataError, match=r"gap: .* lacks 2017; add 2017\.yaml"):
        WorkingCalendar.load([tmp_path])


def test_two_notices_claiming_one_day(tmp_path: Path) -> None:
    shutil.copy(DEFAULT_DIR / "2019.yaml", tmp_path)
    text = (DEFAULT_DIR / "2018.yaml").read_text(encoding="utf-8") + "  - {date: 2018-12-29, for: 国庆节}\n"
    (tmp_path / "2018.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CalendarDataError) as caught:
        WorkingCalendar.load([tmp_path])
    assert "2018-12-29" in str(caught.value)
    assert "2019.yaml" in str(caught.value) and "2018.yaml" in str(caught.value)


def test_a_spill_far_into_the_old_year_is_refused(tmp_path: Path) -> None:
    text = (DEFAULT_DIR / "2019.yaml").read_text(encoding="utf-8").replace(
        "from: 2018-12-30, to: 2019-01-01", "from: 2018-12-01, to: 2019-01-01")
    _write(tmp_path, "2019.yaml", text)
    with pytest.raises(CalendarDataError, match="outside-year holidays"):
        WorkingCalendar.load([tmp_path])


def test_file_names_must_be_the_year(tmp_path: Path) -> None:
    _write(tmp_path, "calendar-2016.yaml", VALID_2016)
    with pytest.raises(CalendarDataError, match="bad-file-name"):
        WorkingCalendar.load([tmp_path])


def test_missing_and_empty_directories(tmp_path: Path) -> None:
    with pytest.raises(CalendarDataError, match="missing-dir"):
        WorkingCalendar.load([tmp_path / "nowhere"])
    with pytest.raises(CalendarDataError, match="no-data"):
        WorkingCalendar.load([tmp_path])
    _write(tmp_path, "2016.yaml", "")
    with pytest.raises(CalendarDataError, match="empty-file"):
        WorkingCalendar.load([tmp_path])


def test_shipped_files_are_plain_text_scalars() -> None:
    """Every shipped file loads strictly (no tags, anchors or duplicate keys) and names its notice."""
    for path in sorted(DEFAULT_DIR.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert "国办发明电〔" in text and "&" not in text and "!!" not in text, path
