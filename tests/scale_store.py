"""A generated store with a known number of reminders due on one day, and a counting SMTP server.

Shared by ``test_multiprocess.py`` and ``test_faults.py``. The store is
written with bulk DB-API inserts (the importer is not what these tests
exercise): ``units`` units, each with a clerk and a leader on a reserved
``.example`` domain, and ``requirements`` obligations per unit, every one
with a due instance that sits exactly at a clerk reminder stage on
:data:`DAY` (10, 5 or 1 working days ahead, or due that day). So a tick on
``DAY`` decides exactly ``units × requirements`` reminders and writes one
digest per unit clerk. Unit 1 is the supervising office (督查室).
"""

from __future__ import annotations

import datetime as dt
import email
import threading
from collections import Counter

from aiosmtpd.controller import Controller
from duban.engine.deadlines.calendar import WorkingCalendar
from duban.store.db import make_engine, upgrade

CAL = WorkingCalendar.default()
DAY = dt.date(2016, 9, 20)  # a Tuesday, a working day
STAGE_OFFSETS = (10, 5, 1, 0)  # clerk stages only: one digest per unit clerk


def generate(url: str, *, units: int, requirements: int) -> int:
    """Fill a migrated store; returns the number of reminders a tick on :data:`DAY` decides."""
    engine = make_engine(url)
    upgrade(engine)
    dues = [CAL.add_workdays(DAY, k) if k else DAY for k in STAGE_OFFSETS]
    with engine.begin() as conn:
        cur = conn.connection.dbapi_connection.cursor()
        ph = "?" if engine.dialect.name == "sqlite" else "%s"

        def many(sql: str, rows: list[tuple[object, ...]]) -> None:
            cur.executemany(sql.replace("?", ph), rows)

        many("INSERT INTO plans (id, title, issuer, doc_number, published, plan_year, units_directory, source, "
             "file_path, content_hash, imported_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
             [("scale", "规模测试方案", "测试", None, dt.date(2016, 6, 23), 2016, "scale", None, "scale", "0",
               dt.datetime(2016, 6, 23))])
        many("INSERT INTO tasks (id, plan_id, no, title) VALUES (?,?,?,?)", [(1, "scale", 1, "任务1")])
        many("INSERT INTO requirements (id, task_id, no, text, units_as_written, role, inherited, review) "
             "VALUES (?,?,?,?,?,?,?,?)",
             [(r + 1, 1, r + 1, f"要求{r + 1}：按时公开有关信息。", "全体", "lead", "[]", "[]")
              for r in range(requirements)])
        many("INSERT INTO deadline_entries (id, requirement_id, ordinal, phrase, source, spec, spec_overridden, "
             "trigger_key) VALUES (?,?,?,?,?,?,?,?)",
             [(r + 1, r + 1, 1, "2016年12月底前完成", "cell", '{"kind": "fixed", "due": "2016-12-31"}', False, None)
              for r in range(requirements)])
        many("INSERT INTO units (id, name, full_name, directory, is_group, is_supervisor, aliases, note) "
             "VALUES (?,?,?,?,?,?,?,?)",
             [(u + 1, f"单位{u + 1:05d}", None, "scale", False, u == 0, "[]", None) for u in range(units)])
        many("INSERT INTO officials (unit_id, name, role, post, email, phone, demo) VALUES (?,?,?,?,?,?,?)",
             [(u + 1, f"联络员{u + 1}", "clerk", None, f"clerk{u + 1}@scale.example", None, True)
              for u in range(units)]
             + [(u + 1, f"负责人{u + 1}", "leader", None, f"leader{u + 1}@scale.example", None, True)
                for u in range(units)])
        obligations, occurrences = [], []
        oid = 0
        for r in range(requirements):
            for u in range(units):
                oid += 1
                obligations.append((oid, f"scale/{r}/{u}", "scale", r + 1, r + 1, u + 1, 0, "fixed",
                                    '{"kind": "fixed", "due": "2016-12-31"}', None, "active"))
                occurrences.append((oid, oid, "final", "期限", dues[oid % len(dues)], False, "open"))
        many("INSERT INTO obligations (id, okey, plan_id, requirement_id, deadline_id, unit_id, part, kind, spec, "
             "trigger_key, state) VALUES (?,?,?,?,?,?,?,?,?,?,?)", obligations)
        many("INSERT INTO occurrences (id, obligation_id, key, label, due, checkin, state) VALUES (?,?,?,?,?,?,?)",
             occurrences)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("tasks", "requirements", "deadline_entries", "units", "obligations", "occurrences"):
                quoted = conn.dialect.identifier_preparer.quote(table)
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT MAX(id) FROM {quoted}))")
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return units * requirements


class CountingHandler:
    """An aiosmtpd handler that records every accepted Message-ID (and can refuse with 451 for a while)."""

    def __init__(self) -> None:
        self.message_ids: list[str] = []
        self.refused = 0
        self.refusing = threading.Event()
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        if self.refusing.is_set():
            with self._lock:
                self.refused += 1
            return "451 4.3.0 try again later"
        msg = email.message_from_bytes(envelope.original_content or envelope.content)
        with self._lock:
            self.message_ids.append(str(msg["Message-ID"]))
        return "250 OK"

    def duplicates(self) -> dict[str, int]:
        with self._lock:
            return {mid: n for mid, n in Counter(self.message_ids).items() if n > 1}


class EphemeralController(Controller):
    """aiosmtpd's Controller on port 0: read back the port the kernel chose."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def smtp_server(handler: CountingHandler) -> Controller:
    """A started SMTP server on a free loopback port (``controller.port``)."""
    controller = EphemeralController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    return controller


def smtp_config(tmp_path, port: int):  # type: ignore[no-untyped-def]
    """A config file that sends through the test server (DUBAN_CONFIG names it)."""
    path = tmp_path / "config.yaml"
    config = (f"notifier:\n  kind: smtp\n  smtp:\n    host: 127.0.0.1\n    port: {port}\n"
              "    backoff_base: 0\n    backoff_cap: 0\n    max_attempts: 1\n")
    path.write_text(config, encoding="utf-8")
    return path
