"""What people do to a plan once it is imported; the CLI and the web call these same functions.

* ``permissions`` — roles and the one authorization rule.
* ``events``      — triggers and the events that start them, re-projection.
* ``completions`` — completions (办结) and waivers.
* ``extensions``  — extension requests (延期申请) and their approval.
* ``queries``     — obligation listings and their status.
* ``reports``     — 落实情况 reports (html, csv, xlsx), scores and .ics feeds.

May import: :mod:`duban.errors`, :mod:`duban.store`, :mod:`.common`, :mod:`.deadlines`, :mod:`.plans`.
"""
