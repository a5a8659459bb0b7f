"""The JSON API (/api/v1): session or bearer-token auth, problem+json errors (obcms/errors.py)."""
