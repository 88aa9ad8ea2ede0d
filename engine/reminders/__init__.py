"""Reminders: the rule → tick → email part of the flow.

* ``policy``        — the reminder ladder as data (``rules/rulesets/``), strictly read.
* ``decide``        — candidates, decisions and the evaluator interface.
* ``rules_durable`` — the durable-rules evaluator (the only importer of durable-rules).
* ``rules_plain``   — its plain-Python twin (a differential test keeps them equal).
* ``tick``          — one evaluation of the store for one day: select, decide, compose, write.
* ``delivery``      — hand pending outbox rows to a notifier, record the outcome in the audit log.
* ``claims``        — the same for several sender processes: claim rows (SKIP LOCKED), send, record;
  retries on a backoff, ``expired`` after a lifetime and reported to the supervising office.

A change to the reminder ladder lands here (or in ``rules/rulesets/`` when it is data).
May import: :mod:`duban.errors`, :mod:`duban.store`, :mod:`duban.notifiers`, :mod:`duban.rules`,
:mod:`.common`, :mod:`.deadlines`, :mod:`.plans`.
"""
