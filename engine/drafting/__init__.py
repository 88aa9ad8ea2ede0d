"""Drafting plan files from a notice: read the notice, infer the plan, write it with review notes.

A new input format or notice layout lands here.

* ``draft``       — the entry points (``draft_plans``, ``choose_directory``) and re-exports.
* ``values``      — the draft values every layer shares (plans, requirements, review notes).
* ``tabtext`` → ``drafter``, ``table_rows``, ``notice_text`` — the seed's tab-table text reader.
* ``formats`` → ``layout``, ``infer`` → ``notice`` — any other layout or format (HTML, .docx, .xlsx).
* ``yamlout``     — the plan file text; ``keys`` — scoring drafts against the corpus keys.

May import: :mod:`duban.errors`, :mod:`duban.rules`, :mod:`.common`, :mod:`.deadlines`, :mod:`.plans`.
"""
