"""Drafting plan files from a notice: read the notice, infer the plan, write it with review notes.

A new input format or notice layout lands here.
May import: :mod:`duban.errors`, :mod:`duban.rules`, :mod:`.common`, :mod:`.deadlines`, :mod:`.plans`.
"""
