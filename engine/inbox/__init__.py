"""The inbox (收文): notice the outside document a plan waits for, and propose the trigger it starts.

* :mod:`.records` — an arriving document as one record (title, 文号, issuer, date, link, text) and its dedupe key.
* :mod:`.sources` — a folder of received files, a Maildir, an RSS/Atom feed, a saved list page.
* :mod:`.config`  — ``rules/inbox.yaml``: jurisdiction, what each event kind expects, sources.
* :mod:`.match`   — scoring a document against every pending trigger (jieba + BM25, issuer level, kind, date).
* :mod:`.profiles` — what each pending trigger waits for, from the store or from plan files.
* :mod:`.service` — scan, list, accept (through ``record_event``, exactly as ``duban event record``), reject.
* :mod:`.evaluate` — precision and recall of the top proposal on a labelled corpus.

Nothing here records an event on its own: a person accepts a proposal. See docs/inbox.md.
"""
