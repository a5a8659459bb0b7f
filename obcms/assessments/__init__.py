"""Assessments: a minimal record (title, organization, methodology, start date, lead) whose creation generates
its tasks from the template of its methodology (obcms/tasking)."""
