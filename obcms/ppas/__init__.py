"""PPAs: programs, projects and activities, their funding tranches and the portfolio pages."""
