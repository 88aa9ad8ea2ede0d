"""duban (督办, "supervise and urge"): a deadline compliance rules engine.

A work plan (工作方案) becomes declarative data (``rules/plans``); its deadline
phrases (完成时限) compile to typed specs (:mod:`duban.engine.deadlines`); a
scheduled tick evaluates them against the SQL store (:mod:`duban.store`) and
writes reminder digests to an outbox (:mod:`duban.notifiers`).
"""

__version__ = "0.1.0"
