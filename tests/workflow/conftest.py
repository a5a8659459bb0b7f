import pytest

from obcms.extensions import db
from tests.workflow.gadgets import Gadget, GadgetBase


@pytest.fixture(scope="session")
def gadget_tables(app):
    with app.app_context():
        GadgetBase.metadata.create_all(db.engine)
    yield
    with app.app_context():
        GadgetBase.metadata.drop_all(db.engine)


@pytest.fixture
def make_gadget(gadget_tables, db_session, organizations):
    def make(**values):
        values.setdefault("name", "Water pump")
        values.setdefault("organization_id", organizations["MSSD"].id)
        gadget = Gadget(**values)
        db.session.add(gadget)
        db.session.flush()
        return gadget

    return make
