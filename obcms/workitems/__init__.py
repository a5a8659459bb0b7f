"""The work-breakdown tree: work items as a nested set, their rules and roll-ups."""
