"""Bulk operations from the lists (PPAs, My tasks): the dry run, the apply, and the job for large ones."""
