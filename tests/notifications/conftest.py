from tests.ppas.conftest import make_ppa, ready_ppa  # noqa: F401  (the PPA factories)
