"""Sample data files for the tests (and the scripts that write them)."""
