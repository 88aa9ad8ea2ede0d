"""Time: the official working-day calendar, deadline specs and their meaning.

* ``calendar``   — China's working days with 调休, one data file per year.
* ``spec``       — the deadline kinds as frozen values and their JSON contract.
* ``offsets``    — the one rule for "a date plus an offset" (working days, days, hours, months, years).
* ``phrases``    — the compiler from 完成时限 phrases to specs, and the in-text finder.
* ``projection`` — a spec plus a plan's context → concrete due dates.

A new deadline kind lands here. May import: :mod:`duban.errors`, :mod:`duban.rules`, :mod:`.common`.
"""
