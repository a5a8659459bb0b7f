"""My tasks: the signed-in user's tasks and subtasks, grouped by when they fall due, as a list or a board."""
