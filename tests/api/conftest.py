"""The API tests use the budget tests' PPA trees."""
from tests.budget.conftest import make_tracked_ppa, tracked  # noqa: F401
