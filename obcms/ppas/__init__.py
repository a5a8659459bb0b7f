"""PPAs: programs, projects and activities, their funding tranches and the portfolio pages."""
# Importing the package registers the approval machine on Ppa (approval) and subscribes the PPA sync to the
# roll-ups of execution projects (tracking, through obcms.workitems.rollup.AFTER_RECOMPUTE).
from . import approval, tracking  # noqa: F401
