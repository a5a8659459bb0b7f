from tests.workflow.conftest import gadget_tables, make_gadget  # noqa: F401  (the Gadget test model)
