"""The role-aware home page (dashboard shell)."""
