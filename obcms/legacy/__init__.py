"""Import from the older system's JSON export (`flask obcms import-legacy`): events, staff tasks and project
workflows become calendar events and work items; legacy ids are remembered in legacy_records."""
