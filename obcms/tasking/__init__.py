"""Task templates and the tasks they generate (DOMAIN.md "Tasks from templates").

    models.py      TaskTemplate, TaskTemplateItem (ordered), TaskGeneration (one row per trigger and template)
    seed.py        the templates obcms ships (ppa_budget_cycle exactly as DOMAIN.md lists it) and their upsert
    generation.py  generate_tasks(triggers): the tasks of each trigger through workitems.services.build_tree
    triggers.py    a new PPA / assessment / meeting-workshop-conference event → the generate_tasks job, after commit
"""
from . import triggers  # noqa: F401  (registers the session listeners that enqueue generation)
