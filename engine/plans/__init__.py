"""Plans as data: units directories, plan files, the importer, materialisation.

* ``units``       — a government's units directory (units, groups, officials).
* ``plan_model``  — the plan values (Plan, Task, Requirement, DeadlineEntry…) the loader yields.
* ``planfile``    — the strict plan-file loader and validator (re-exports the values).
* ``importer``    — the idempotent, audited import into the store (diffs a plan already stored).
* ``fresh``       — the importer's bulk path for plans and directories new to the store.
* ``rows``        — the rows a plan becomes, as tuples (shared by both import paths).
* ``materialize`` — obligations → due instances (occurrences) from their specs and events.

May import: :mod:`duban.errors`, :mod:`duban.store`, :mod:`duban.rules`, :mod:`.common`, :mod:`.deadlines`.
"""
