"""Users, roles, organizations, sign-in, permission helpers and query scoping."""
