from tests.ppas.conftest import add_tranches, make_ppa, ready_ppa  # noqa: F401  (the PPA factories)
