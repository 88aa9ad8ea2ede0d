"""The engine, in rooms by concern, read in the order work flows through them.

* :mod:`.common`    — the strict YAML reader and small helpers every room shares.
* :mod:`.deadlines` — time: the working-day calendar, deadline specs, the one
  date + offset rule, the phrase compiler and the projection of specs to due dates.
* :mod:`.plans`     — plans as data: units directories, plan files, the importer
  and the materialisation of obligations and their due instances.
* :mod:`.services`  — what people do to a plan: permissions, events, completions,
  extensions, queries and reports (the CLI and the web call the same functions).
* :mod:`.reminders` — the reminder policy (rules), both evaluators, the tick,
  digest composition and delivery.
* :mod:`.drafting`  — reading a notice and drafting plan files from it.
* :mod:`.runtime`   — settings, the settings → runtime factory, the scheduler and
  the simulator: the only room that wires the others together.

Imports point down only: a room imports :mod:`duban.errors`, :mod:`duban.store`,
:mod:`duban.notifiers`, :mod:`duban.rules` and the rooms listed before it (the
services, reminders and drafting rooms do not import each other); nothing here
imports :mod:`duban.web` or :mod:`duban.cli`. ``tests/test_architecture.py``
enforces it.
"""
