"""The work-breakdown tree: work items as a nested set, their rules and roll-ups."""
from . import states  # noqa: F401  (registers the work-item machine on WorkItem)
